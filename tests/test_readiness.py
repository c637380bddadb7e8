"""Readiness is waited for, bounded, and explained; assertions are never retried.

A service that never answers its probe, or dies while being waited for, fails with a message
naming it and showing its log tail, within the bound; it is stopped, not left running.
"""

from __future__ import annotations

import ast
import inspect
import math
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from fixtures import PROJECT_ROOT
from fixtures.errors import ServiceNotReady
from fixtures.services.base import READY_TIMEOUT, ManagedProcess
from fixtures.services.mailsink import MailSinkServer
from fixtures.services.postgres import PostgresServer
from fixtures.services.seaweedfs import SeaweedS3Server


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _process(tmp_path: Path, script: str, probe: Callable[[], bool], timeout: float = 1.0) -> ManagedProcess:
    return ManagedProcess(
        "parsec-fake", ["sh", "-c", script], tmp_path / "fake.log", probe, ready_timeout=timeout, stop_timeout=2
    )


def test_a_service_that_never_answers_fails_in_bounded_time_with_its_name_and_log(tmp_path: Path) -> None:
    def refused() -> bool:
        raise ConnectionRefusedError("nothing listens on 127.0.0.1:1")

    process = _process(tmp_path, "echo booting; echo waiting for the config; exec sleep 60", refused)
    started = time.monotonic()
    with pytest.raises(ServiceNotReady) as caught:
        process.start()
    elapsed = time.monotonic() - started
    message = str(caught.value)
    assert elapsed < 1.0 + 3.0, f"the wait was not bounded: {elapsed:.1f} s"
    assert "parsec-fake did not become ready within 1 s" in message
    assert "last probe: ConnectionRefusedError: nothing listens on 127.0.0.1:1" in message
    assert "waiting for the config" in message and str(tmp_path / "fake.log") in message
    assert not process.running()


def test_a_service_that_dies_while_waited_for_fails_at_once_with_its_exit_code_and_log(tmp_path: Path) -> None:
    process = _process(tmp_path, "echo 'fatal: bad config' >&2; exit 3", lambda: False, timeout=20)
    started = time.monotonic()
    with pytest.raises(ServiceNotReady) as caught:
        process.start()
    assert time.monotonic() - started < 5, "a dead service should not be waited for until the timeout"
    assert "parsec-fake exited with code 3 before it was ready" in str(caught.value)
    assert "fatal: bad config" in str(caught.value)


def test_the_process_is_stopped_when_the_wait_runs_out(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    process = _process(tmp_path, f"echo $$ > {pidfile}; exec sleep 60", lambda: False, timeout=0.5)
    with pytest.raises(ServiceNotReady):
        process.start()
    assert not process.running() and not _alive(int(pidfile.read_text()))


@pytest.mark.parametrize("executor", [ManagedProcess, PostgresServer, SeaweedS3Server, MailSinkServer])
def test_every_executor_waits_a_bounded_time_by_default(executor: type) -> None:
    default = inspect.signature(executor).parameters["ready_timeout"].default
    assert default == READY_TIMEOUT and math.isfinite(default) and 0 < default <= 60


def _loops_and_sleeps(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.While):
            found.append(f"{path.name}:{node.lineno} while loop")
        if isinstance(node, ast.Attribute) and node.attr == "sleep":
            found.append(f"{path.name}:{node.lineno} sleep")
    return found


def test_no_step_retries_an_assertion() -> None:
    """Steps check once; only readiness (services) and mail delivery (a bounded wait) poll."""
    found = [hit for path in sorted((PROJECT_ROOT / "steps").glob("*.py")) for hit in _loops_and_sleeps(path)]
    assert not found, "steps must not retry: " + ", ".join(found)
    config = (PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert "--reruns" not in config and "flaky" not in config, "no rerun plugin may retry a failed scenario"
