"""Upstream's v3.9.3 files, unchanged, fail the 3.9 edition: each failure names a defect of theirs.

The child run's ``--bundle`` is a copy of ``../shared/guide/v3.9.3/`` (the page and the files it
includes, as upstream ships them at tag v3.9.3). compose/v3.9/README.md lists the fixes the
harness's own bundle makes; here the run must fail in exactly the scenarios those defects
belong to, each saying the defect in plain words, and nowhere else: no crash, no error outside
a step, no traceback.
"""

from __future__ import annotations

import shutil

import pytest

from fixtures import PROJECT_ROOT
from tests.runner import FeatureRun, Scenario, not_in_the_features, run_features

pytestmark = pytest.mark.selftest

UPSTREAM = PROJECT_ROOT.parent / "shared" / "guide" / "v3.9.3"
VERSION = "3.9.3"

# Each scenario upstream's files fail, and words of its message that name the defect.
DEFECTS: dict[Scenario, tuple[str, ...]] = {
    # setup-tls.sh runs `sudo chown` even as root, where sudo is absent.
    Scenario("TLS certificates", "The key of parsec-server is readable by the group 1234"): ("could not run sudo",),
    # parsec.env's PARSEC_PROXY_TRUSTED_ADDRESS: a name 3.9.3 does not read, and a host name.
    Scenario("Set up the env files", "Parsec env file"): (
        "PARSEC_PROXY_TRUSTED_ADDRESS is set, which the server does not read",
        "a host name, which never matches",
    ),
    Scenario("Set up the env files", "Every variable of the env files is one the Parsec server reads"): (
        "PARSEC_PROXY_TRUSTED_ADDRESS, which Parsec 3.9.3 does not read",
        "PARSEC_PROXY_TRUSTED_ADDRESSES",
    ),
    Scenario(
        "Running behind a reverse proxy", "The server takes the client's address and scheme from the proxy only"
    ): ("PARSEC_PROXY_TRUSTED_ADDRESS=parsec-proxy",),
    # The mock SMTP server published on every interface.
    Scenario("The Docker Compose file", "Only the proxy is published beyond 127.0.0.1"): (
        "port 1025 of parsec-smtp",
        "published on all interfaces",
    ),
    # parsec-s3.env's unquoted `\:`, which bash's `source` drops (Deploy with Linux).
    Scenario("Deploy with Linux", "Set up: bash reads the env files as the guide wrote them"): (
        "for PARSEC_BLOCKSTORE of parsec-s3.env",
        "drops the backslashes",
    ),
    # The guide's run-parsec-server gets the blockstore bash mangled, and the server exits on it. (Its
    # other defect, no CA for S3 on the Linux path, shows once the blockstore is quoted: that is
    # tests/test_selftests_linux.py's upstream wrapper.)
    Scenario("Deploy with Linux", "Start the server"): ("for PARSEC_BLOCKSTORE", "drops the backslashes"),
    # parsec-proxy's certificate does not name example.com, the name clients reach it by.
    Scenario("Running behind a reverse proxy", "The proxy serves its certificate for the name clients use"): (
        "must name example.com",
    ),
    Scenario("Running behind a reverse proxy", "A request through the proxy reaches the server"): (
        "it does not name example.com",
    ),
}


@pytest.fixture(scope="module")
def upstream_run(tmp_path_factory: pytest.TempPathFactory) -> FeatureRun:
    if not (UPSTREAM / "install-guide.rst").is_file():
        pytest.skip(f"upstream's v3.9.3 files are not beside this clone ({UPSTREAM})")
    folder = tmp_path_factory.mktemp("upstream")
    bundle = folder / "v3.9.3"
    shutil.copytree(UPSTREAM, bundle)
    for path in bundle.rglob("*"):  # shared/ is read-only in CI: the run's copy must be writable
        path.chmod(path.stat().st_mode | 0o200)
    bundle.chmod(0o755)
    return run_features(folder, "--parsec-version", VERSION, bundle=bundle, timeout=600)


def test_the_scenarios_named_here_are_in_the_features() -> None:
    missing = not_in_the_features(DEFECTS)
    assert not missing, f"this module names scenarios no feature has: {', '.join(missing)}"


def test_upstreams_files_fail_exactly_where_their_defects_are(upstream_run: FeatureRun) -> None:
    run = upstream_run
    assert run.returncode == 1, (
        f"the run should fail its scenarios (exit 1), it exited {run.returncode}:\n{run.output[-3000:]}"
    )
    assert "NOT qualified" in run.output, run.output[-2000:]
    failed = set(run.failed())
    assert failed == set(DEFECTS), (
        f"failed but no defect of upstream's explains it: {sorted(map(str, failed - set(DEFECTS)))}\n"
        f"a defect not caught: {sorted(map(str, set(DEFECTS) - failed))}"
    )


@pytest.mark.parametrize("scenario", list(DEFECTS), ids=[s.title for s in DEFECTS])
def test_each_failure_names_its_defect_in_plain_words(upstream_run: FeatureRun, scenario: Scenario) -> None:
    outcome = upstream_run.outcome(scenario)
    assert outcome.state == "failed", f"{scenario}: {outcome.state} (a failing step, not a fixture's error)"
    for words in DEFECTS[scenario]:
        assert words in outcome.message, f"{scenario} should say {words!r}:\n{outcome.message}"
    assert "Traceback" not in outcome.message, outcome.message
