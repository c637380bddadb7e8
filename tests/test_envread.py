"""The env readers and the variables a release reads: each against the real consumer (bash, compose, the release)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixtures import BUNDLES_DIR
from fixtures.envread import BASH, COMPOSE, Setting, as_written, bash_reading, compose_reading, mangled, unknown
from fixtures.errors import BundleError, NotChecked
from fixtures.progress import Progress
from fixtures.releases import Release
from fixtures.releases.source import from_version
from fixtures.releases.variables import OUTSIDE_CLICK
from fixtures.releases.venvs import default_cache_dir
from fixtures.services.engine import compose_cli

V39 = BUNDLES_DIR / "v3.9"
UPSTREAM_S3 = "PARSEC_BLOCKSTORE=s3:parsec-s3\\:9000:region1:parsec:S3_ROOT_USER:S3_ROOT_PASS\n"
CIPHERS = "PARSEC_SSL_CIPHERS=\nPARSEC_SSL_CIPHERS=${PARSEC_SSL_CIPHERS}A,\nPARSEC_SSL_CIPHERS=${PARSEC_SSL_CIPHERS}B\n"


def test_the_guide_builds_a_list_line_by_line() -> None:
    assert as_written(CIPHERS, "parsec.env")["PARSEC_SSL_CIPHERS"] == "A,B"


def test_as_written_keeps_quotes_rules() -> None:
    text = "A=1\nB='$A\\:x'\nC=\"$A\\:x\"\nD=$A\\:x # comment\nE=$UNSET\n"
    assert as_written(text, "f.env") == {"A": "1", "B": "$A\\:x", "C": "1\\:x", "D": "1\\:x", "E": ""}


def test_as_written_refuses_a_line_that_is_no_assignment() -> None:
    with pytest.raises(BundleError, match="f.env, line 2"):
        as_written("A=1\nnot an assignment\n", "f.env")


def _written(path: Path) -> list[Setting]:
    return [Setting(k, path.name, v) for k, v in as_written(path.read_text(encoding="utf-8"), path.name).items()]


def test_bash_drops_the_backslash_of_the_upstream_s3_file(tmp_path: Path) -> None:
    path = tmp_path / "parsec-s3.env"
    path.write_text(UPSTREAM_S3, encoding="utf-8")
    [found] = mangled(BASH, _written(path), bash_reading(path))
    assert found.got == "s3:parsec-s3:9000:region1:parsec:S3_ROOT_USER:S3_ROOT_PASS"
    assert "drops the backslashes" in found.describe()
    assert "PARSEC_BLOCKSTORE of parsec-s3.env" in found.describe()


@pytest.mark.parametrize("name", ["parsec.env", "parsec-s3.env", "parsec-db.env", "parsec-smtp.env"])
def test_bash_reads_the_bundles_env_files_as_written(name: str) -> None:
    path = V39 / name
    assert mangled(BASH, _written(path), bash_reading(path)) == []


def test_bash_reads_alone_whatever_the_caller_exports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARSEC_SSL_CIPHERS", "FROM_THE_SHELL,")
    path = tmp_path / "parsec.env"
    path.write_text(CIPHERS, encoding="utf-8")
    assert bash_reading(path)["PARSEC_SSL_CIPHERS"] == "A,B"


def test_a_file_bash_cannot_source_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.env"
    path.write_text("A='unterminated\n", encoding="utf-8")
    with pytest.raises(BundleError, match="bash cannot source bad.env"):
        bash_reading(path)


def test_without_the_compose_cli_compose_is_not_checked(tmp_path: Path) -> None:
    with pytest.raises(NotChecked, match="no compose CLI"):
        compose_reading(None, tmp_path / "parsec-server.docker.yaml", "parsec-server")


@pytest.mark.skipif(compose_cli() is None, reason="no compose CLI here")
def test_compose_reads_the_ciphers_and_the_escape_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    compose = tmp_path / "parsec-server.docker.yaml"
    compose.write_text("services:\n  s:\n    image: x\n    env_file: [a.env, b.env]\n", encoding="utf-8")
    (tmp_path / "a.env").write_text(CIPHERS, encoding="utf-8")
    (tmp_path / "b.env").write_text(UPSTREAM_S3, encoding="utf-8")
    monkeypatch.setenv("PARSEC_SSL_CIPHERS", "FROM_THE_SHELL,")  # the reader's own environment ignores it
    got = compose_reading(compose_cli(), compose, "s")
    settings = _written(tmp_path / "a.env") + _written(tmp_path / "b.env")
    assert mangled(COMPOSE, settings, got) == [], got


def test_an_unknown_variable_names_the_closest_known_one() -> None:
    accepted = frozenset({"PARSEC_PROXY_TRUSTED_ADDRESSES", "PARSEC_HOST"})
    found = unknown(["PARSEC_HOST", "PARSEC_PROXY_TRUSTED_ADDRESS", "ZZZ"], accepted)
    assert found == {"PARSEC_PROXY_TRUSTED_ADDRESS": "PARSEC_PROXY_TRUSTED_ADDRESSES", "ZZZ": None}


@pytest.mark.parametrize(
    ("version", "reads", "ignores"),
    [
        ("2.16.3", {"PARSEC_BACKEND_ADDR", "PARSEC_FORWARD_PROTO_ENFORCE_HTTPS"}, {"PARSEC_EMAIL_LANGUAGE"}),
        ("3.9.3", {"PARSEC_SERVER_ADDR", "PARSEC_PROXY_TRUSTED_ADDRESSES"}, {"PARSEC_PROXY_TRUSTED_ADDRESS"}),
    ],
)
def test_the_release_says_which_variables_its_server_reads(version: str, reads: set[str], ignores: set[str]) -> None:
    release = Release(from_version(version), cache_dir=default_cache_dir(), progress=Progress(print))
    accepted = release.adapter.accepted_variables(release.python)
    assert reads | {"PARSEC_DB", "PARSEC_BLOCKSTORE", "PARSEC_ADMINISTRATION_TOKEN"} <= accepted
    assert set(OUTSIDE_CLICK) <= accepted, "botocore and the interpreter's OpenSSL read them"
    assert not ignores & accepted
    assert release.adapter.accepted_variables(release.python) is accepted, "asked once per run"


def test_upstreams_trusted_proxy_variable_is_named_with_the_one_3_9_3_reads() -> None:
    release = Release(from_version("3.9.3"), cache_dir=default_cache_dir(), progress=Progress(print))
    upstream = as_written("PARSEC_PROXY_TRUSTED_ADDRESS=parsec-proxy\n", "parsec.env")
    found = unknown(upstream, release.adapter.accepted_variables(release.python))
    assert found == {"PARSEC_PROXY_TRUSTED_ADDRESS": "PARSEC_PROXY_TRUSTED_ADDRESSES"}
