#!/bin/bash
# Parsec 2.16 server install guide: make the administration token env file once.
#
# Fixes against the upstream v2.16 script (see README.md beside this file):
#   FIX(env-file-name): upstream wrote `> ENV_FILE` (a file literally named ENV_FILE), so
#     parsec-admin-token.env never existed and each run made a new token. It now writes
#     "$ENV_FILE", and a second run keeps the token.
#   FIX(mode-600): the file is created readable by its owner only (umask 077): it holds a
#     secret. docker compose reads env_file as the user running it, so 600 is enough.
#   The token is never printed.
set -euo pipefail

ENV_FILE=parsec-admin-token.env
if [ ! -f "$ENV_FILE" ]; then
    TOKEN=$(openssl rand 63 | base64 --wrap=86)
    (umask 077 && echo "PARSEC_ADMINISTRATION_TOKEN=$TOKEN" > "$ENV_FILE")
    echo "Parsec administration token generated in: $ENV_FILE"
else
    echo "Parsec administration token already exists in: $ENV_FILE"
fi
