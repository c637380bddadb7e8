"""Unit tests of the Parsec 3.x adapter's pure logic (no server, no Parsec install)."""

from __future__ import annotations

from pathlib import Path

from fixtures.releases.base import ReleaseAdapter
from fixtures.releases.source import from_version
from fixtures.releases.v3 import CLIENT_SCRIPT, ParsecV3


def test_generation_description() -> None:
    adapter = ParsecV3("3.9.3")
    assert isinstance(adapter, ReleaseAdapter)
    assert adapter.python_specifier == ">=3.12,<3.13"
    assert adapter.server_image == "ghcr.io/scille/parsec-cloud/parsec-server"
    assert (adapter.public_address_variable, adapter.address_scheme) == ("PARSEC_SERVER_ADDR", "parsec3")
    assert adapter.proxy_trust_variable == "PARSEC_PROXY_TRUSTED_ADDRESSES"
    assert adapter.requirements(from_version("3.9.3")) == ["parsec-cloud==3.9.3"]


def test_server_commands() -> None:
    python = Path("/venv/bin/python")
    adapter = ParsecV3("3.9.3")
    assert adapter.server_argv(python) == [str(python), "-m", "parsec", "run"]
    assert adapter.migrate_argv(python) == [str(python), "-m", "parsec", "migrate"]


def test_applied_migrations_are_spelled_as_files() -> None:
    query = ParsecV3("3.9.3").applied_migrations_query()
    assert "FROM migration" in query and "|| '.sql'" in query and "ORDER BY _id" in query


def test_the_client_script_ships_with_the_harness() -> None:
    assert CLIENT_SCRIPT.is_file()
    assert "import fixtures" not in CLIENT_SCRIPT.read_text(encoding="utf-8"), "it runs in the release's venv"
