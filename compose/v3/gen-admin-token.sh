#!/bin/bash
# Parsec 3.x bundle (the 2.16 guide's steps): make the administration token env file once.
#
# Parsec 3.x also requires PARSEC_FAKE_ACCOUNT_PASSWORD_ALGORITHM_SEED, a server secret that
# must stay the same across restarts: it is made here, with the token, as upstream's 3.x
# script does.
# Fixes against the upstream v2.16 script, as in compose/v2 (see README.md beside this file):
#   FIX(env-file-name): upstream 2.16 wrote `> ENV_FILE`; it writes "$ENV_FILE".
#   FIX(mode-600): the file is created readable by its owner only (umask 077).
#   Neither secret is printed.
set -euo pipefail

ENV_FILE=parsec-admin-token.env
if [ ! -f "$ENV_FILE" ]; then
    TOKEN=$(openssl rand 63 | base64 --wrap=86)
    SEED=$(openssl rand -hex 32)
    (
        umask 077
        echo "PARSEC_ADMINISTRATION_TOKEN=$TOKEN" > "$ENV_FILE"
        echo "PARSEC_FAKE_ACCOUNT_PASSWORD_ALGORITHM_SEED=$SEED" >> "$ENV_FILE"
    )
    echo "Parsec administration token generated in: $ENV_FILE"
else
    echo "Parsec administration token already exists in: $ENV_FILE"
fi
