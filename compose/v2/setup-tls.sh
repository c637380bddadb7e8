#!/bin/bash
# Parsec 2.16 server install guide: TLS certificates signed by a throw-away CA.
#
# Writes into the current directory:
#   custom-ca.{key,crt}                         the mini Certificate Authority
#   parsec-{s3,backend}.{crt.conf,key,csr,crt}  one key/certificate per service
#   custom-ca.srl                               the CA's serial number file
# Each step is skipped when its output already exists, so a second run changes nothing.
#
# Needs OpenSSL >= 3.0 (`-noenc`).
#
# Fixes against the upstream v2.16 script (see README.md beside this file):
#   FIX(strict-mode): `set -euo pipefail` and quoted expansions: a failing openssl
#     command stops the script instead of leaving half-made files behind.
#   FIX(ca-key-usage): the CA carries keyUsage keyCertSign,cRLSign; without it strict
#     verifiers (Python >= 3.13's default ssl context, openssl -x509_strict) reject the chain.
#   FIX(no-sudo-as-root): upstream always ran `sudo chown $USER:1234`; as root (containers,
#     CI) sudo may be missing and $USER unset. Root now uses chgrp directly; a normal user
#     still goes through sudo, as upstream.
set -euo pipefail

function generate_cert_conf() {
    local name=$1
    local san=$2

    echo "Generating $name.crt.conf"

    cat << EOF_CONF > "$name.crt.conf"
[req]
distinguished_name = req_dist_name
req_extensions = req_ext
prompt = no

[req_dist_name]
CN = $name

[req_ext]
subjectAltName = $san
EOF_CONF
}

function generate_certificate_request() {
    local name=$1
    echo "Generate certificate request $name.csr"
    openssl req -batch \
        -new -sha512 -noenc -newkey rsa:4096 \
        -config "$name.crt.conf" \
        -keyout "$name.key" -out "$name.csr"
}

function sign_crt_with_ca() {
    local ca_crt=$1
    local ca_key=$2
    local name=$3

    echo "Sign certificate request $name.crt"

    openssl x509 -req -in "$name.csr" \
        -CA "$ca_crt" -CAkey "$ca_key" \
        -extfile "$name.crt.conf" \
        -extensions req_ext \
        -CAcreateserial -out "$name.crt" \
        -days 10 -sha512
}

if [ ! -f custom-ca.key ]; then
    echo "Generate a mini Certificate Authority"
    openssl req -batch \
        -x509 -sha512 -nodes -days 10 -newkey rsa:4096 \
        -subj "/CN=Mini Certificate Authority" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -keyout custom-ca.key -out custom-ca.crt
fi

for service in parsec-{s3,backend}; do
    if [ ! -f "$service.crt.conf" ]; then
        generate_cert_conf "$service" "DNS:$service,DNS:localhost,IP:127.0.0.1"
    fi

    if [ ! -f "$service.key" ]; then
        generate_certificate_request "$service"
    fi

    if [ ! -f "$service.crt" ]; then
        sign_crt_with_ca custom-ca.crt custom-ca.key "$service"
    fi
done

# The parsec-backend container runs with GID 1234: it must be able to read its key.
if [ "$(stat -c %g parsec-backend.key)" -ne 1234 ]; then
    echo "Changing group id of parsec-backend.key to 1234"
    # FIX(no-sudo-as-root): no sudo when already root.
    if [ "$(id -u)" -eq 0 ]; then
        chgrp 1234 parsec-backend.key
    else
        sudo chown "${USER:-$(id -un)}":1234 parsec-backend.key
    fi
fi

if [ "$(stat -c %a parsec-backend.key)" -ne 640 ]; then
    echo "Changing permission of parsec-backend.key to 640"
    chmod 640 parsec-backend.key
fi
