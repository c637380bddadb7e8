"""Self-tests of the 3.x bundle: the mistakes of a 2.x deployment moved to 3.x are caught.

The checks are the same for every generation (tests/test_selftests.py breaks the 2.x bundle);
these break what only 3.x has: its public address variable and its required account seed.
The healthy 3.x bundle is CI's own full run of ``pytest features/ --parsec-version 3.9.3``.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from fixtures import BUNDLES_DIR
from tests.runner import FeatureRun, broken_bundle, replace_in, run_features

pytestmark = pytest.mark.selftest

V3 = BUNDLES_DIR / "v3"
VERSION = "3.9.3"


def _v2_address(bundle: Path) -> None:
    """parsec.env keeps 2.x's variable: 3.x reads PARSEC_SERVER_ADDR only."""
    replace_in(bundle / "parsec.env", "PARSEC_SERVER_ADDR=parsec3://", "PARSEC_BACKEND_ADDR=parsec://")


def _no_seed(bundle: Path) -> None:
    """gen-admin-token.sh as 2.x wrote it: no account seed, which 3.x requires."""
    replace_in(
        bundle / "gen-admin-token.sh",
        '        echo "PARSEC_FAKE_ACCOUNT_PASSWORD_ALGORITHM_SEED=$SEED" >> "$ENV_FILE"\n',
        "",
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, FeatureRun]:
    def run(name: str, edit, marks: str) -> FeatureRun:  # noqa: ANN001 - a bundle edit
        folder = tmp_path_factory.mktemp(name)
        bundle = broken_bundle(folder, edit, source=V3)
        return run_features(folder, "--parsec-version", VERSION, "-m", marks, bundle=bundle)

    with ThreadPoolExecutor(max_workers=2) as pool:
        address = pool.submit(run, "v2-address", _v2_address, "env_files")
        seed = pool.submit(run, "no-seed", _no_seed, "s3_bucket")
        return {"address": address.result(), "seed": seed.result()}


def test_the_2x_address_variable_fails_the_server_configuration(runs: dict[str, FeatureRun]) -> None:
    run = runs["address"]
    assert run.failed() == ["test_parsec_server_configuration"], run.output[-3000:]
    assert "PARSEC_SERVER_ADDR" in run.output, run.output[-3000:]


def test_a_missing_account_seed_stops_the_server_from_starting(runs: dict[str, FeatureRun]) -> None:
    run = runs["seed"]
    assert run.failed() == ["test_restart_the_parsecbackend"], run.output[-3000:]
    assert "PARSEC_FAKE_ACCOUNT_PASSWORD_ALGORITHM_SEED" in run.output, run.output[-3000:]
