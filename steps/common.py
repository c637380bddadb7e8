"""Steps shared by several sections: running the guide's scripts and reaching a state."""

from __future__ import annotations

from pytest_bdd import given, parsers, then, when

from fixtures.bundle import Bundle
from fixtures.sections import Deployment
from fixtures.sections.admin_token import AdminTokenSection
from fixtures.sections.migration import MigrationSection
from fixtures.sections.scripts import ScriptRun
from fixtures.sections.server import ServerSection
from fixtures.sections.services import ServicesSection
from fixtures.sections.tls import TlsSection


class _ServiceName:
    """A service name in a step's text, the proxy's aside (``parsec-proxy`` has steps of its own)."""

    pattern = r"(?![\w-]*-proxy\b)[a-z][\w-]*"  # what parse matches for ``{field:Server}``

    def __call__(self, text: str) -> str:
        return text


SERVER_TYPE = {"Server": _ServiceName()}  # ``{field:Server}``: a service name that is not the proxy's


def server_step(text: str) -> parsers.parse:
    """A step's text where ``{server}`` stands for the server's name (``I restart {server}``).

    The name comes to the step as ``server_name`` (``server`` is the section's fixture); the step
    checks it with :func:`server_named`.
    """
    return parsers.parse(text.replace("{server}", "{server_name:Server}"), extra_types=SERVER_TYPE)


def server_named(bundle: Bundle, name: str) -> str:
    """``name``, when it is the bundle's server; a step naming another service fails, naming both."""
    assert name == bundle.roles.server, (
        f"the step names {name}, but the server of the bundle's compose file is {bundle.roles.server}"
    )
    return name


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


@given(server_step("{server} is running"))
def server_running(server: ServerSection, bundle: Bundle, server_name: str) -> None:
    server_named(bundle, server_name)
    server.ensure()
