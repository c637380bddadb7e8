"""Self-tests of the 3.9 edition's bundle (compose/v3.9): the mistakes of a 2.x deployment moved to 3.x are caught.

The checks are the same for every generation (tests/test_selftests.py breaks the 2.x bundle);
these break what only 3.x has (its public address variable, its required account seed) and what
the 3.x adapter does through the release's bindings (writing a block, bootstrapping without a
token), and run the 3.9 edition's features (features/guide-3.9/) on them.
The healthy 3.9 bundle is CI's own full run of ``pytest features/ --parsec-version 3.9.3``.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from fixtures.editions import EDITIONS
from tests.runner import FeatureRun, broken_bundle, not_in_the_features, replace_in, run_features
from tests.scenarios import (
    V39_ENV_SERVER,
    V39_ORG_ONLY_ADMIN,
    V39_S3_BLOCKS,
    V39_S3_RESTART,
)

pytestmark = pytest.mark.selftest

V3 = EDITIONS["3.9"].bundle_dir
VERSION = "3.9.3"


def _v2_address(bundle: Path) -> None:
    """parsec.env keeps 2.x's variable: 3.x reads PARSEC_SERVER_ADDR only."""
    replace_in(bundle / "parsec.env", "PARSEC_SERVER_ADDR=parsec3://", "PARSEC_BACKEND_ADDR=parsec://")


def _no_seed(bundle: Path) -> None:
    """gen-admin-token.sh as 2.x wrote it: no account seed, which 3.x requires."""
    replace_in(
        bundle / "gen-admin-token.sh",
        '    echo "PARSEC_FAKE_ACCOUNT_PASSWORD_ALGORITHM_SEED=$PARSEC_FAKE_ACCOUNT_PASSWORD_ALGORITHM_SEED"'
        " >> $ENV_FILE\n",
        "",
    )


def _blocks_in_postgresql_and_open_bootstrap(bundle: Path) -> None:
    """The server stores its blocks in PostgreSQL and lets anyone bootstrap a new organization."""
    replace_in(
        bundle / "parsec-server.docker.yaml",
        "      AWS_CA_BUNDLE: /run/secrets/mini-ca-crt\n",
        "      AWS_CA_BUNDLE: /run/secrets/mini-ca-crt\n"
        "      PARSEC_BLOCKSTORE: POSTGRESQL\n"
        "      PARSEC_SPONTANEOUS_ORGANIZATION_BOOTSTRAP: 'true'\n",
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, FeatureRun]:
    def run(name: str, edit: Callable[[Path], None], marks: str) -> FeatureRun:
        folder = tmp_path_factory.mktemp(name)
        bundle = broken_bundle(folder, edit, source=V3)
        return run_features(folder, "--parsec-version", VERSION, "-m", marks, bundle=bundle)

    with ThreadPoolExecutor(max_workers=2) as pool:
        address = pool.submit(run, "v2-address", _v2_address, "env_files")
        seed = pool.submit(run, "no-seed", _no_seed, "s3_bucket")
        server = pool.submit(
            run, "server-faults", _blocks_in_postgresql_and_open_bootstrap, "s3_bucket or create_organization"
        )
        return {"address": address.result(), "seed": seed.result(), "server": server.result()}


def test_the_scenarios_named_here_are_in_the_features() -> None:
    missing = not_in_the_features((V39_ENV_SERVER, V39_S3_RESTART, V39_S3_BLOCKS, V39_ORG_ONLY_ADMIN))
    assert not missing, f"this module names scenarios no feature has: {', '.join(missing)}"


def test_the_2x_address_variable_fails_the_server_configuration(runs: dict[str, FeatureRun]) -> None:
    run = runs["address"]
    assert run.failed() == [V39_ENV_SERVER], run.output[-3000:]
    assert "PARSEC_SERVER_ADDR" in run.output, run.output[-3000:]


def test_a_missing_account_seed_stops_the_server_from_starting(runs: dict[str, FeatureRun]) -> None:
    run = runs["seed"]
    # Both scenarios of the section that need the server running.
    assert sorted(run.failed()) == sorted([V39_S3_RESTART, V39_S3_BLOCKS]), run.output[-3000:]
    assert "PARSEC_FAKE_ACCOUNT_PASSWORD_ALGORITHM_SEED" in run.output, run.output[-3000:]


def test_blocks_elsewhere_and_an_open_bootstrap_are_caught_through_the_bindings(runs: dict[str, FeatureRun]) -> None:
    run = runs["server"]
    assert sorted(run.failed()) == sorted([V39_ORG_ONLY_ADMIN, V39_S3_BLOCKS]), run.output[-3000:]
    assert "it got no new object" in run.output, run.output[-3000:]
    assert "an organization the administrator never created" in run.output, run.output[-3000:]
