"""Self-tests of Deploy with Linux: what bash and the Linux path get wrong is caught in its scenarios.

Each child run breaks a copy of the 3.9 bundle and runs the section's scenarios only
(``-m deploy_linux``); the guide's venv is reused from the harness cache after the first run.
The healthy bundle is the 3.9 edition's own run (CI: ``pytest features/ --parsec-version 3.9.3``).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from fixtures import BUNDLES_DIR
from tests.runner import FeatureRun, broken_bundle, not_in_the_features, replace_in, run_features
from tests.scenarios import LINUX_INSTALL, LINUX_START
from tests.test_linux_path import without_fixes

pytestmark = pytest.mark.selftest

V39 = BUNDLES_DIR / "v3.9"
VERSION = "3.9.3"
QUOTED_BLOCKSTORE = "PARSEC_BLOCKSTORE='s3:parsec-s3\\:9000:region1:parsec:S3_ROOT_USER:S3_ROOT_PASS'"


def _dsn_bash_cannot_source(bundle: Path) -> None:
    """parsec-db.env's DSN with a space before '=': read alike by compose's parser, a command to bash."""
    replace_in(bundle / "parsec-db.env", "PARSEC_DB=postgresql://", "PARSEC_DB =postgresql://")


def _upstream_blockstore(bundle: Path) -> None:
    """parsec-s3.env as upstream ships it: the value unquoted, so bash drops the backslash of ``\\:``."""
    replace_in(bundle / "parsec-s3.env", QUOTED_BLOCKSTORE, QUOTED_BLOCKSTORE.replace("'", ""))


def _upstream_wrapper(bundle: Path) -> None:
    """run-parsec-server as the guide writes it (its FIX block left out): no CA for S3."""
    wrapper = bundle / "run-parsec-server"
    wrapper.write_text(without_fixes(wrapper.read_text(encoding="utf-8")), encoding="utf-8")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, FeatureRun]:
    def run(name: str, edit: Callable[[Path], None]) -> FeatureRun:
        folder = tmp_path_factory.mktemp(name)
        bundle = broken_bundle(folder, edit, source=V39)
        return run_features(folder, "--parsec-version", VERSION, "-m", "deploy_linux", bundle=bundle)

    first = run("dsn", _dsn_bash_cannot_source)  # alone: it may make the guide's venv (first use)
    with ThreadPoolExecutor(max_workers=2) as pool:
        blockstore = pool.submit(run, "blockstore", _upstream_blockstore)
        wrapper = pool.submit(run, "wrapper", _upstream_wrapper)
        return {"dsn": first, "blockstore": blockstore.result(), "wrapper": wrapper.result()}


def test_the_scenarios_named_here_are_in_the_features() -> None:
    missing = not_in_the_features((LINUX_INSTALL, LINUX_START))
    assert not missing, f"this module names scenarios no feature has: {', '.join(missing)}"


def test_a_migrate_that_fails_on_the_linux_path_fails_its_installation(runs: dict[str, FeatureRun]) -> None:
    run = runs["dsn"]
    assert LINUX_INSTALL in run.failed(), run.output[-3000:]
    message = run.outcome(LINUX_INSTALL).message
    assert "set -a; source parsec-db.env; python -m parsec migrate should succeed" in message, message
    assert "PARSEC_DB: command not found" in message, message
    # The server of the wrapper needs that migration: it says the same failure again.
    assert LINUX_START in run.failed(), run.output[-3000:]
    assert "the Linux path's migrate" in run.outcome(LINUX_START).message


def test_upstreams_blockstore_is_named_as_mangled_by_bash(runs: dict[str, FeatureRun]) -> None:
    run = runs["blockstore"]
    assert LINUX_START in run.failed() and LINUX_INSTALL not in run.failed(), run.output[-3000:]
    message = run.outcome(LINUX_START).message
    assert "bash (set -a; source) reads" in message and "for PARSEC_BLOCKSTORE of parsec-s3.env" in message, message
    assert "drops the backslashes" in message, message
    assert "S3_ROOT_PASS" not in message, "the S3 secret is shown"


def test_the_guides_wrapper_is_named_as_giving_no_ca_for_s3(runs: dict[str, FeatureRun]) -> None:
    run = runs["wrapper"]
    assert LINUX_START in run.failed() and LINUX_INSTALL not in run.failed(), run.output[-3000:]
    message = run.outcome(LINUX_START).message
    assert "never sets AWS_CA_BUNDLE" in message, message
