"""Self-tests of the 3.9 edition's checks that reuse today's mechanics: each breaks compose/v3.9.

- the database is PostgreSQL 15 (the compose file's image says 15, so the local stack runs
  Debian's 15): System Requirements fails, naming the version the database answers;
- the server negotiates every cipher (a server fault: uvicorn is given every suite whatever
  PARSEC_SSL_CIPHERS says): TLS Server configuration fails, naming the suite it accepted;
- upstream's proxy settings (PARSEC_PROXY_TRUSTED_ADDRESS=parsec-proxy, and parsec-smtp's 1025
  on every interface): the env file and compose file scenarios name each defect in plain words;
- parsec-nginx.conf missing while the compose file mounts it: the env file and compose file
  scenarios fail naming the missing file (not "not checked").
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from fixtures.editions import EDITIONS
from tests.runner import FeatureRun, broken_bundle, not_in_the_features, replace_in, run_features
from tests.scenarios import V39_CIPHERS, V39_COMPOSE_PUBLISHED, V39_COMPOSE_SERVER, V39_ENV_SERVER, V39_MINIMUM
from tests.test_selftests import server_fault

pytestmark = pytest.mark.selftest

V39 = EDITIONS["3.9"].bundle_dir
VERSION = "3.9.3"
COMPOSE = "parsec-server.docker.yaml"


def _postgres_15_and_any_cipher(bundle: Path) -> None:
    replace_in(bundle / COMPOSE, "image: postgres:16.10-alpine", "image: postgres:15.14-alpine")
    server_fault("any-cipher")(bundle)


def _upstream_proxy_settings(bundle: Path) -> None:
    replace_in(
        bundle / "parsec.env",
        "PARSEC_PROXY_TRUSTED_ADDRESSES=172.29.77.10",
        "PARSEC_PROXY_TRUSTED_ADDRESS=parsec-proxy",
    )
    replace_in(bundle / COMPOSE, "      - 127.0.0.1:1025:1025\n", "      - 1025:1025\n")


def _no_nginx_conf(bundle: Path) -> None:
    (bundle / "parsec-nginx.conf").unlink()


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, FeatureRun]:
    def run(name: str, edit: Callable[[Path], None], marks: str) -> FeatureRun:
        folder = tmp_path_factory.mktemp(name)
        bundle = broken_bundle(folder, edit, source=V39)
        return run_features(folder, "--parsec-version", VERSION, "-m", marks, bundle=bundle)

    with ThreadPoolExecutor(max_workers=2) as pool:
        server = pool.submit(
            run, "pg15-any-cipher", _postgres_15_and_any_cipher, "system_requirements or tls_server_configuration"
        )
        settings = pool.submit(run, "upstream-proxy-settings", _upstream_proxy_settings, "env_server or compose_file")
        no_conf = pool.submit(run, "no-nginx-conf", _no_nginx_conf, "env_server or compose_file")
        return {"server": server.result(), "settings": settings.result(), "no_conf": no_conf.result()}


def test_the_scenarios_named_here_are_in_the_features() -> None:
    missing = not_in_the_features((V39_MINIMUM, V39_CIPHERS, V39_ENV_SERVER, V39_COMPOSE_PUBLISHED, V39_COMPOSE_SERVER))
    assert not missing, f"this module names scenarios no feature has: {', '.join(missing)}"


def test_postgresql_15_fails_the_system_requirements(runs: dict[str, FeatureRun]) -> None:
    run = runs["server"]
    assert V39_MINIMUM in run.failed(), run.output[-3000:]
    assert "the guide requires PostgreSQL 16 or later" in run.output, run.output[-3000:]
    assert "runs PostgreSQL 15." in run.output, run.output[-3000:]


def test_a_server_taking_any_cipher_fails_the_tls_configuration(runs: dict[str, FeatureRun]) -> None:
    run = runs["server"]
    assert sorted(run.failed()) == sorted([V39_MINIMUM, V39_CIPHERS]), run.output[-3000:]
    assert "a cipher outside its PARSEC_SSL_CIPHERS: the server does not restrict TLS" in run.output, run.output[-3000:]


def test_upstream_proxy_settings_are_named(runs: dict[str, FeatureRun]) -> None:
    run = runs["settings"]
    assert sorted(run.failed()) == sorted([V39_ENV_SERVER, V39_COMPOSE_PUBLISHED]), run.output[-3000:]
    for said in (
        "does not set PARSEC_PROXY_TRUSTED_ADDRESSES, the variable Parsec 3.9.3 reads "
        "(PARSEC_PROXY_TRUSTED_ADDRESS is set, which the server does not read)",
        "parsec-proxy is a host name, which never matches the address a request comes from",
        "the guide publishes port 1025 of parsec-smtp on 127.0.0.1 only; it is published on all interfaces",
    ):
        assert said in run.output, run.output[-3000:]


def test_a_missing_nginx_conf_is_a_failure(runs: dict[str, FeatureRun]) -> None:
    run = runs["no_conf"]
    assert sorted(run.failed()) == sorted([V39_ENV_SERVER, V39_COMPOSE_SERVER]), run.output[-3000:]
    for said in (
        "the compose file mounts parsec-nginx.conf as parsec-proxy's configuration; "
        "the deployment's files have no parsec-nginx.conf",
        "the compose file mounts parsec-nginx.conf as parsec-proxy's nginx.conf; "
        "the deployment's files have no parsec-nginx.conf",
    ):
        assert said in run.output, run.output[-3000:]
