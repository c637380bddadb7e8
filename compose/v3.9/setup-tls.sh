# shellcheck disable=SC2148
function generate_cert_conf() {
    local name=$1
    local san=$2

    echo "Generating $name.crt.conf"

    cat << EOF > "$name".crt.conf
[req]
distinguished_name = req_dist_name
req_extensions = req_ext
prompt = no

[req_dist_name]
CN = $name

[req_ext]
subjectAltName = $san
EOF
}

function generate_certificate_request() {
    local name=$1
    echo "Generate certificate request $name.csr"
    openssl req -batch \
        -new -sha512 -noenc -newkey rsa:4096 \
        -config "$name".crt.conf \
        -keyout "$name".key -out "$name".csr
}

function sign_crt_with_ca() {
    local ca_crt=$1
    local ca_key=$2
    local name=$3

    echo "Sign certificate request $name.crt"

    openssl x509 -req -in "$name".csr \
        -CA "$ca_crt" -CAkey "$ca_key" \
        -extfile "$name".crt.conf \
        -extensions req_ext \
        -CAcreateserial -out "$name".crt \
        -days 10 -sha512
}

if [ ! -f custom-ca.key ]; then
    echo "Generate a mini Certificate Authority"
    openssl req -batch \
        -x509 -sha512 -nodes -days 10 -newkey rsa:4096 \
        -subj "/CN=Mini Certificate Authority" \
        -keyout custom-ca.key -out custom-ca.crt
fi

for service in parsec-{s3,server,proxy}; do
    if [ ! -f "$service".crt.conf ]; then
        san=DNS:"$service",DNS:localhost,IP:127.0.0.1
        # FIX(proxy-san): clients reach the proxy by the name of PARSEC_SERVER_ADDR (parsec.env)
        # and server_name (parsec-nginx.conf): example.com. Upstream's certificate omits it.
        if [ "$service" = parsec-proxy ]; then san="$san",DNS:example.com; fi
        generate_cert_conf "$service" "$san"
    fi

    # Generate key + csr if missing or if the key is older than the conf
    if [ ! -f "$service".key ] || [ "$service".key -ot "$service".crt.conf ]; then
        generate_certificate_request "$service"
    fi

    # Generate crt if missing or if it's older than the csr or the custom CA
    if [ ! -f "$service".crt ] || [ "$service".crt -ot "$service".csr ] || [ "$service".crt -ot custom-ca.key ]; then
        sign_crt_with_ca custom-ca.{crt,key} "$service"
    fi
done

if [ "$(stat -c %g parsec-server.key)" -ne 1234 ]; then
    echo "Changing group id of parsec-server.key to 1234"
    # FIX(no-sudo-as-root): root needs no sudo, and containers and CI machines often have none.
    if [ "$(id -u)" -eq 0 ]; then chgrp 1234 parsec-server.key; else sudo chown "$USER":1234 parsec-server.key; fi
fi

if [ "$(stat -c %a parsec-server.key)" -ne 640 ]; then
    echo "Changing permission of parsec-server.key to 640"
    chmod 640 parsec-server.key
fi
