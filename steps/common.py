"""Steps shared by several sections: running the guide's scripts and reaching a state."""

from __future__ import annotations

from pytest_bdd import given, parsers, then, when

from fixtures.sections import Deployment
from fixtures.sections.admin_token import AdminTokenSection
from fixtures.sections.migration import MigrationSection
from fixtures.sections.scripts import ScriptRun
from fixtures.sections.server import ServerSection
from fixtures.sections.services import ServicesSection
from fixtures.sections.tls import TlsSection


@when(parsers.parse('I run "{script}"'), target_fixture="script_run")
def run_script(deployment: Deployment, script: str) -> ScriptRun:
    return deployment.section_run_by(script).run_script()


@when(parsers.parse('I run "{script}" again'), target_fixture="script_run")
def run_script_again(deployment: Deployment, script: str) -> ScriptRun:
    return deployment.section_run_by(script).run_again()


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
