"""Self-tests of the variable and env-reader checks: a misspelled variable, an env file bash mangles.

Each breakage is one upstream made or could make: a variable name the server does not read (it
is silently ignored), and v3.9.3's unquoted ``s3:parsec-s3\\:9000:...`` whose backslash bash's
``set -a; source`` drops (docker compose keeps it, so only the Linux path's scenario fails).
A control runs the same selection on the healthy bundle of each edition and must pass.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from fixtures import BUNDLES_DIR
from tests.runner import FeatureRun, Scenario, broken_bundle, not_in_the_features, replace_in, run_features
from tests.scenarios import ENV_COMPOSE_READS_39, ENV_VARIABLES, ENV_VARIABLES_39, LINUX_BASH_READS_39

pytestmark = pytest.mark.selftest

V2, V39 = BUNDLES_DIR / "v2", BUNDLES_DIR / "v3.9"
SELECTION = "every_variable or read_the_same_by_docker_compose or bash_reads_the_env_files"
QUOTED_BLOCKSTORE = "PARSEC_BLOCKSTORE='s3:parsec-s3\\:9000:region1:parsec:S3_ROOT_USER:S3_ROOT_PASS'"


def _misspelled(bundle: Path) -> None:
    """parsec.env misspells a variable: the server ignores it and runs on its default."""
    replace_in(bundle / "parsec.env", "PARSEC_SENTRY_ENVIRONMENT=", "PARSEC_SENTRY_ENVIROMENT=")


def _misspelled_and_unquoted_blockstore(bundle: Path) -> None:
    """The misspelling, and parsec-s3.env's value unquoted as upstream's v3.9.3 has it."""
    _misspelled(bundle)
    replace_in(bundle / "parsec-s3.env", QUOTED_BLOCKSTORE, QUOTED_BLOCKSTORE.replace("'", ""))


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, FeatureRun]:
    def run(name: str, source: Path, version: str, edit: Callable[[Path], None] | None) -> FeatureRun:
        folder = tmp_path_factory.mktemp(name)
        bundle = broken_bundle(folder, edit, source=source) if edit else source
        return run_features(folder, "--parsec-version", version, "-k", SELECTION, bundle=bundle)

    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {
            "2.16 broken": pool.submit(run, "v2-broken", V2, "2.16.3", _misspelled),
            "3.9 broken": pool.submit(run, "v39-broken", V39, "3.9.3", _misspelled_and_unquoted_blockstore),
            "2.16 healthy": pool.submit(run, "v2-healthy", V2, "2.16.3", None),
            "3.9 healthy": pool.submit(run, "v39-healthy", V39, "3.9.3", None),
        }
        return {name: future.result() for name, future in futures.items()}


def test_the_scenarios_named_here_are_in_the_features() -> None:
    missing = not_in_the_features((ENV_VARIABLES, ENV_VARIABLES_39, ENV_COMPOSE_READS_39, LINUX_BASH_READS_39))
    assert not missing, f"this module names scenarios no feature has: {', '.join(missing)}"


@pytest.mark.parametrize("edition", ["2.16", "3.9"])
def test_the_healthy_bundle_passes(runs: dict[str, FeatureRun], edition: str) -> None:
    run = runs[f"{edition} healthy"]
    assert run.returncode == 0 and run.failed() == [], run.output[-3000:]
    assert "passed" in set(run.outcomes().values()), run.output[-3000:]


@pytest.mark.parametrize(("edition", "scenario"), [("2.16", ENV_VARIABLES), ("3.9", ENV_VARIABLES_39)])
def test_a_misspelled_variable_is_named_with_the_one_the_release_reads(
    runs: dict[str, FeatureRun], edition: str, scenario: Scenario
) -> None:
    run = runs[f"{edition} broken"]
    assert scenario in run.failed(), run.output[-3000:]
    message = run.outcome(scenario).message
    assert "parsec.env gives parsec-" in message and "PARSEC_SENTRY_ENVIROMENT, which Parsec" in message, message
    assert "(the closest name it reads: PARSEC_SENTRY_ENVIRONMENT)" in message, message


def test_the_backslash_bash_drops_fails_the_linux_path_only(runs: dict[str, FeatureRun]) -> None:
    run = runs["3.9 broken"]
    assert sorted(map(str, run.failed())) == sorted(map(str, (ENV_VARIABLES_39, LINUX_BASH_READS_39))), run.output[
        -3000:
    ]
    assert run.outcomes()[ENV_COMPOSE_READS_39] == "passed", "docker compose keeps the backslash"
    message = run.outcome(LINUX_BASH_READS_39).message
    assert "for PARSEC_BLOCKSTORE of parsec-s3.env; the guide wrote 's3:parsec-s3\\:9000:" in message, message
    assert "it drops the backslashes" in message, message
    assert "S3_ROOT_PASS" not in run.output, "the S3 secret is redacted"
