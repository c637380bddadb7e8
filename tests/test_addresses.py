"""Compose addresses rewritten for processes on this machine."""

from __future__ import annotations

from pathlib import Path

from fixtures.addresses import AddressMap

MAP = AddressMap(
    services={
        "parsec-postgres": {5432: 41001},
        "parsec-s3": {9000: 41002},
        "parsec-smtp": {1025: 41003, 8025: 41004},
        "parsec-backend": {6777: 41005},
    },
    published={1025: 41003, 8025: 41004, 6777: 41005},
    secrets={"mini-ca-crt": Path("/w/custom-ca.crt"), "parsec-pem-key": Path("/w/parsec-backend.key")},
)


def test_database_url() -> None:
    assert (
        MAP.rewrite_value("postgresql://DB_USER:DB_PASS@parsec-postgres:5432/parsec")
        == "postgresql://DB_USER:DB_PASS@127.0.0.1:41001/parsec"
    )


def test_blockstore_keeps_the_escape() -> None:
    assert (
        MAP.rewrite_value(r"s3:parsec-s3\:9000:region1:parsec:S3_ROOT_USER:S3_ROOT_PASS")
        == r"s3:127.0.0.1\:41002:region1:parsec:S3_ROOT_USER:S3_ROOT_PASS"
    )


def test_published_address() -> None:
    assert MAP.rewrite_value("parsec://127.0.0.1:6777") == "parsec://127.0.0.1:41005"
    assert MAP.rewrite_value("parsec://localhost:6777") == "parsec://127.0.0.1:41005"


def test_secrets_become_files() -> None:
    assert MAP.rewrite_value("/run/secrets/mini-ca-crt") == "/w/custom-ca.crt"
    assert MAP.rewrite_value("/run/secrets/unknown") == "/run/secrets/unknown"


def test_host_and_port_pairs() -> None:
    env = MAP.rewrite_env({"PARSEC_EMAIL_HOST": "parsec-smtp", "PARSEC_EMAIL_PORT": "1025", "PARSEC_HOST": "0.0.0.0"})
    assert env == {"PARSEC_EMAIL_HOST": "127.0.0.1", "PARSEC_EMAIL_PORT": "41003", "PARSEC_HOST": "127.0.0.1"}


def test_unknown_port_or_host_is_left_alone() -> None:
    # A port the service does not serve stays wrong, as it would in compose.
    env = MAP.rewrite_env({"PARSEC_EMAIL_HOST": "parsec-smtp", "PARSEC_EMAIL_PORT": "1026"})
    assert env["PARSEC_EMAIL_PORT"] == "1026"
    assert MAP.rewrite_value("smtp.example.com:25") == "smtp.example.com:25"
    assert MAP.rewrite_value("parsec-postgres:5433") == "parsec-postgres:5433"


def test_other_values_pass_through() -> None:
    for value in ("WARNING", "false", "parsec@test.xyz", "X-Forwarded-Proto:https", "30"):
        assert MAP.rewrite_value(value) == value


def test_names_inside_longer_names_are_not_touched() -> None:
    assert MAP.rewrite_value("my-parsec-s3:9000") == "my-parsec-s3:9000"
