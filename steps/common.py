"""Steps shared by several sections: running the guide's scripts and reaching a state."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from pytest_bdd import given, parsers, then, when

from fixtures.deployment import GuideDeployment
from fixtures.stacks.base import CommandResult

FileState = tuple[str, int, int]  # sha256, mode, gid


def snapshot(directory: Path) -> dict[str, FileState]:
    """Content, mode and group of every file the guide's steps wrote."""
    state: dict[str, FileState] = {}
    for path in sorted(directory.iterdir()):
        if path.is_file():
            info = path.stat()
            state[path.name] = (hashlib.sha256(path.read_bytes()).hexdigest(), info.st_mode, info.st_gid)
    return state


@dataclass
class ScriptRun:
    result: CommandResult
    before: dict[str, FileState] = field(default_factory=dict)
    after: dict[str, FileState] = field(default_factory=dict)


@when(parsers.parse('I run "{script}"'), target_fixture="script_run")
def run_script(deployment: GuideDeployment, script: str) -> ScriptRun:
    return ScriptRun(deployment.run_script(script))


@when(parsers.parse('I run "{script}" again'), target_fixture="script_run")
def run_script_again(deployment: GuideDeployment, script: str) -> ScriptRun:
    deployment.copy_bundle()
    before = snapshot(deployment.directory)
    result = deployment.run_script(script)
    return ScriptRun(result, before, snapshot(deployment.directory))


@then("the script succeeds")
def script_succeeds(script_run: ScriptRun) -> None:
    result = script_run.result
    assert result.returncode == 0, (
        f"the guide runs {result.argv_display} without error; it exited with code {result.returncode}:\n"
        f"{result.output[-1500:]}"
    )


@given("the TLS certificates are generated")
def tls_generated(deployment: GuideDeployment) -> None:
    deployment.ensure_tls()


@given("the administration token is generated")
def token_generated(deployment: GuideDeployment) -> None:
    deployment.ensure_admin_token()


@given("the services are started")
def services_started(deployment: GuideDeployment) -> None:
    deployment.ensure_services()


@given("the database is migrated")
def database_migrated(deployment: GuideDeployment) -> None:
    deployment.ensure_migrated()


@given("parsec-backend is running")
def backend_running(deployment: GuideDeployment) -> None:
    deployment.ensure_backend()
