"""Steps shared by several sections: running the guide's scripts and reaching a state."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from pytest_bdd import given, parsers, then, when

from fixtures.sections import Deployment
from fixtures.sections.admin_token import AdminTokenSection
from fixtures.sections.migration import MigrationSection
from fixtures.sections.scripts import ScriptSection
from fixtures.sections.server import ServerSection
from fixtures.sections.services import ServicesSection
from fixtures.sections.tls import TlsSection
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


def script_section(deployment: Deployment, script: str) -> ScriptSection:
    """The section whose step is the guide's script ``script``."""
    sections = {section.script: section for section in (deployment.tls, deployment.admin_token)}
    assert script in sections, f"the guide has no section run by {script}; its scripts are {', '.join(sections)}"
    return sections[script]


@when(parsers.parse('I run "{script}"'), target_fixture="script_run")
def run_script(deployment: Deployment, script: str) -> ScriptRun:
    return ScriptRun(script_section(deployment, script).run_script())


@when(parsers.parse('I run "{script}" again'), target_fixture="script_run")
def run_script_again(deployment: Deployment, script: str) -> ScriptRun:
    directory = deployment.context.files.directory
    before = snapshot(directory)
    result = script_section(deployment, script).run_script()
    return ScriptRun(result, before, snapshot(directory))


@then("the script succeeds")
def script_succeeds(script_run: ScriptRun) -> None:
    result = script_run.result
    assert result.returncode == 0, (
        f"the guide runs {result.argv_display} without error; it exited with code {result.returncode}:\n"
        f"{result.output[-1500:]}"
    )


@given("the TLS certificates are generated")
def tls_generated(tls: TlsSection) -> None:
    tls.ensure()


@given("the administration token is generated")
def token_generated(admin_token: AdminTokenSection) -> None:
    admin_token.ensure()


@given("the services are started")
def services_started(services: ServicesSection) -> None:
    services.ensure()


@given("the database is migrated")
def database_migrated(migration: MigrationSection) -> None:
    migration.ensure()


@given("parsec-backend is running")
def backend_running(server: ServerSection) -> None:
    server.ensure()
