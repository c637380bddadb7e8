"""Read-only writes nothing, even to a broken server: every write goes through Stack.guard_write.

A local stack is kept with a server that takes any administration token (the server fault
``any-admin-token``). Checked read-only with --stack external, the run sends no probe that
could create anything (the wrong-token probe included): the database counts the same
organizations afterwards. With --allow-writes the same probe runs and catches the fault,
which shows that the fault is on and that read-only is what kept the organization out.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.runner import BUNDLE, run_features
from tests.scenarios import ORG_CREATE, ORG_WRONG_TOKEN
from tests.test_external_stack import CHECK_COMMAND, STOP_COMMAND, Kept, _environ, _organizations
from tests.test_selftests import server_fault

pytestmark = pytest.mark.selftest


@pytest.fixture(scope="module")
def kept_any_token(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kept]:
    """A kept local stack (up to the S3 section) whose server accepts any administration token."""
    base = tmp_path_factory.mktemp("kept-any-token")
    bundle = base / "bundle"
    shutil.copytree(BUNDLE, bundle)
    subprocess.run(["bash", "setup-tls.sh"], cwd=bundle, check=True, capture_output=True, timeout=300)
    server_fault("any-admin-token")(bundle)
    run = run_features(base, "--keep-stack", "-m", "s3_bucket", bundle=bundle)
    stop = STOP_COMMAND.search(run.output)
    try:
        assert run.returncode == 0, run.output[-3000:]
        check = CHECK_COMMAND.search(run.output)
        assert check, run.output[-2000:]
        words = shlex.split(check.group(1).replace(";", " ; "))
        toml, env_file = Path(words[words.index("--deployment") + 1]), Path(words[words.index(".") + 1])
        yield Kept(run.output, toml, env_file, check.group(1), _environ(env_file))
    finally:
        if stop:
            subprocess.run(["bash", "-c", stop.group(1)], capture_output=True, timeout=120)


def test_read_only_sends_no_write_to_a_server_that_takes_any_token(kept_any_token: Kept, tmp_path: Path) -> None:
    before = _organizations(kept_any_token)
    run = kept_any_token.run(tmp_path / "read-only", "-m", "create_organization or first_user")
    assert _organizations(kept_any_token) == before, (
        "a read-only run changed the organizations of a server that takes any token:\n" + run.output[-3000:]
    )
    state, message = run.outcome(ORG_WRONG_TOKEN)
    assert state == "skipped" and "read-only" in message and "--allow-writes" in message, (state, message)
    assert "PARTIAL:" in run.output and "not checked" in run.output, run.output[-1500:]


def test_allow_writes_runs_the_probe_and_catches_the_fault(kept_any_token: Kept, tmp_path: Path) -> None:
    before = _organizations(kept_any_token)
    run = kept_any_token.run(tmp_path / "writes", "--allow-writes", "-m", "create_organization")
    state, message = run.outcome(ORG_WRONG_TOKEN)
    assert state == "failed" and "succeeded with a wrong administration token" in message, (state, message)
    assert run.outcome(ORG_CREATE).state == "passed"
    assert "NOT qualified:" in run.output
    assert _organizations(kept_any_token) == before + 2, "the guide's organization and the intruder's"
