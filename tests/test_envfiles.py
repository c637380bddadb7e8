"""Env files are read as compose reads them, not as bash's ``source`` does."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixtures.envfiles import parse_env_text, read_env_file
from fixtures.errors import BundleError


def test_unquoted_value_keeps_the_escaped_colon() -> None:
    env = parse_env_text(r"PARSEC_BLOCKSTORE=s3:parsec-s3\:9000:region1:parsec:U:P")
    assert env["PARSEC_BLOCKSTORE"] == r"s3:parsec-s3\:9000:region1:parsec:U:P"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A=1", "1"),
        ("A = 1  ", "1"),
        ("export A=1", "1"),
        ("A=1 # comment", "1"),
        ("A=a#b", "a#b"),
        ("A='x \\n y # z'", "x \\n y # z"),
        ('A="x\\ny \\"q\\""', 'x\ny "q"'),
        ("A=", ""),
        ("A=postgresql://U:P@h:5432/db", "postgresql://U:P@h:5432/db"),
    ],
)
def test_values(text: str, expected: str) -> None:
    assert parse_env_text(text)["A"] == expected


def test_comments_and_blank_lines_are_skipped() -> None:
    assert parse_env_text("# PARSEC_EMAIL_USE_SSL=true\n\nA=1\n") == {"A": "1"}


@pytest.mark.parametrize("text", ["just words", "A='open", 'A="open'])
def test_bad_lines_name_the_file_and_line(text: str) -> None:
    with pytest.raises(BundleError, match=r"x\.env, line 1"):
        parse_env_text(text, source="x.env")


def test_missing_file_is_a_bundle_error(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="parsec-email.env does not exist"):
        read_env_file(tmp_path / "parsec-email.env")


def test_unreadable_file_is_a_bundle_error(tmp_path: Path) -> None:
    (tmp_path / "bin.env").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(BundleError, match="cannot be read"):
        read_env_file(tmp_path / "bin.env")


def test_earlier_lines_are_interpolated_as_compose_does_outside_single_quotes() -> None:
    text = "A=1\nB=\"x${A}y\\$A\"\nC='${A}'\nD=$A$UNSET.\n"
    assert parse_env_text(text) == {"A": "1", "B": "x1y$A", "C": "${A}", "D": "1."}


def test_the_guides_cipher_list_is_built_line_by_line() -> None:
    from fixtures.editions import EDITIONS

    env = read_env_file(EDITIONS["3.9"].bundle_dir / "parsec.env")
    ciphers = env["PARSEC_SSL_CIPHERS"].split(",")
    assert ciphers[0] == "TLS_AES_256_GCM_SHA384" and ciphers[-1] == "ECDHE-RSA-CHACHA20-POLY1305"
    assert len(ciphers) == 12 and "$" not in env["PARSEC_SSL_CIPHERS"]
