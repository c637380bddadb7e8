"""Secrets are replaced in every form they may take."""

from __future__ import annotations

import base64
import logging
from urllib.parse import quote

from fixtures.redaction import RedactingFilter, Secrets

TOKEN = "qZ3+/abcdEFGH==xyz"


def test_raw_and_encoded_forms() -> None:
    secrets = Secrets()
    secrets.add(TOKEN, "administration token")
    for form in (
        TOKEN,
        quote(TOKEN, safe=""),
        base64.b64encode(TOKEN.encode()).decode(),
        base64.urlsafe_b64encode(TOKEN.encode()).decode(),
    ):
        redacted = secrets.redact(f"before {form} after")
        assert form not in redacted
        assert redacted == "before <redacted administration token> after"


def test_pem_key_lines() -> None:
    key = (
        "-----BEGIN PRIVATE KEY-----\nMIIJQgIBADANBgkqhkiG9w0BAQEFAASC\nCSwwggkoAgEAAoICAQC7\n"
        "-----END PRIVATE KEY-----\n"
    )
    secrets = Secrets()
    secrets.add(key, "private key")
    assert "MIIJQgIBADANBgkqhkiG9w0BAQEFAASC" not in secrets.redact("line MIIJQgIBADANBgkqhkiG9w0BAQEFAASC")


def test_empty_values_are_ignored() -> None:
    secrets = Secrets()
    secrets.add("", "x")
    secrets.add(None, "x")
    secrets.add("  ", "x")
    assert len(secrets) == 0


def test_short_secrets_are_redacted_as_whole_words() -> None:
    """A secret under 4 characters goes too, wherever it stands alone; inside a longer word it stays."""
    secrets = Secrets()
    secrets.add("a&1", "SMTP password")
    secrets.add("pw", "DB password")
    text = "login parsec:a&1 with pw, url user:a%261@host; a&12 and pwd and upw stay"
    assert secrets.redact(text) == (
        "login parsec:<redacted SMTP password> with <redacted DB password>, url user:<redacted SMTP password>@host;"
        " a&12 and pwd and upw stay"
    )


def test_longest_form_first() -> None:
    secrets = Secrets()
    secrets.add("secret-password", "a")
    secrets.add("secret-password-longer", "b")
    assert secrets.redact("secret-password-longer") == "<redacted b>"


def test_logging_filter() -> None:
    secrets = Secrets()
    secrets.add(TOKEN, "token")
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "token is %s", (TOKEN,), None)
    RedactingFilter(secrets).filter(record)
    assert TOKEN not in record.getMessage()


def test_a_links_token_is_a_secret_its_action_is_not() -> None:
    secrets = Secrets()
    token = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
    secrets.add_url_tokens(f"parsec://127.0.0.1:6777/MyOrg?action=bootstrap_organization&token={token}", "bootstrap")
    assert secrets.redact(f"action=bootstrap_organization&token={token}") == (
        "action=bootstrap_organization&token=<redacted bootstrap>"
    )
