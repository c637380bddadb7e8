#!/bin/bash
# Parsec 2.16 server install guide: send one mail to MailHog's SMTP port with curl.
#
# Fix against the upstream v2.16 script (see README.md beside this file):
#   FIX(smtp-env-name): upstream sourced parsec-email.env, a file the guide never creates;
#     the guide's SMTP settings are in parsec-smtp.env.

set -a
# shellcheck disable=SC1091  # parsec-smtp.env sits beside this script
source parsec-smtp.env
set +a

curl \
    --url "smtp://127.0.0.1:$PARSEC_EMAIL_PORT" \
    --user "$PARSEC_EMAIL_HOST_USER@localhost:$PARSEC_EMAIL_HOST_PASSWORD" \
    --mail-from "$PARSEC_EMAIL_SENDER" \
    --mail-rcpt rcpt@test.com \
    --upload-file <(date --rfc-3339=seconds)
