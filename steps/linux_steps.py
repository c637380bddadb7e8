"""Deploy with Linux: the guide's venv, install, migrate and ``run-parsec-server`` on the host."""

from __future__ import annotations

import secrets

from packaging.version import Version
from pytest_bdd import given, parsers, then, when

from fixtures import step_notes
from fixtures.clients.admin import AdminClient
from fixtures.living_guide.evidence import Evidence
from fixtures.releases.guide_venv import GuideVenv
from fixtures.sections.admin_token import AdminTokenSection
from fixtures.sections.linux import WRAPPER, LinuxSection
from fixtures.sections.tls import TlsSection
from steps.stack_steps import peer_certificate


@when(
    parsers.parse('I set up the virtual env and install Parsec Server with "{command}"'),
    target_fixture="guide_venv",
)
def install(linux: LinuxSection, command: str, evidence: Evidence) -> GuideVenv:
    made = linux.install()
    ran = made.commands[-1]
    evidence.record(
        "The guide's virtual env",
        {
            "commands": list(made.commands),
            "python": str(made.interpreter),
            "venv": f"{linux.directory / 'venv'} -> {made.venv}",
            "made": "by an earlier run (reused from the harness cache)" if made.reused else "now",
        },
    )
    if made.reused:
        step_notes.checked_instead(
            f"the venv the guide's commands made in an earlier run from the same lock and interpreter ({made.venv}) "
            "is reused: nothing was installed now"
        )
    if ran != command:
        evidence.record("Install command", f"the guide names {command}; the release under test installs with {ran}")
    return made


@then("the virtual env runs Parsec Server of the release under test")
def venv_runs_release(linux: LinuxSection, guide_venv: GuideVenv, evidence: Evidence) -> None:
    said = linux.venv_version()
    evidence.record("python -m parsec --version (in the venv)", said)
    expected = linux.context.release.version
    words = said.split()
    assert words and _is_version(words[-1]) and Version(words[-1]) == Version(expected), (
        f"the guide's venv should run Parsec Server {expected}; 'python -m parsec --version' says {said!r}"
    )


def _is_version(text: str) -> bool:
    try:
        Version(text)
    except ValueError:
        return False
    return True


@given("the Parsec Server is installed in the virtual env and the database is migrated")
def installed_and_migrated(linux: LinuxSection) -> None:
    linux.ensure_migrated()


@when(parsers.parse('I start Parsec Server with the wrapper "{command}"'))
def start_wrapper(linux: LinuxSection, command: str) -> None:
    assert command == f"./{WRAPPER}", f"the guide starts the server with ./{WRAPPER}, not {command}"
    linux.start()


@then(parsers.parse("the server of the wrapper serves HTTPS with the certificate of {service}"))
def wrapper_certificate(linux: LinuxSection, tls: TlsSection, service: str, evidence: Evidence) -> None:
    endpoint = linux.endpoint
    presented = peer_certificate(endpoint.host, endpoint.port, tls.ca_file())
    expected = tls.certificate(f"{service}.crt")
    evidence.record("Certificate the wrapper's server presents", {"subject": presented.subject.rfc4514_string()})
    assert presented == expected, (
        f"./{WRAPPER}'s server at {endpoint} should present {service}.crt; it presents "
        f"{presented.subject.rfc4514_string()}, another certificate.\n{linux.log_tail()}"
    )


@then(parsers.parse('the server of the wrapper accepts the administration token of "{name}"'))
def wrapper_token(linux: LinuxSection, admin_token: AdminTokenSection, tls: TlsSection, name: str) -> None:
    url = f"https://{linux.endpoint}"
    token = admin_token.token()
    reply = AdminClient(url, token, tls.ca_file()).server_stats()
    assert reply.status == 200, (
        f"./{WRAPPER}'s server should accept the administration token of {name}: GET /administration/stats "
        f"answered {reply.status} {reply.body}\n{linux.log_tail()}"
    )
    wrong = secrets.token_hex(32)
    refused = AdminClient(url, wrong, tls.ca_file()).server_stats()
    assert refused.status == 403, (
        f"./{WRAPPER}'s server should refuse a wrong administration token with 403 (Bad authorization token); "
        f"GET /administration/stats answered {refused.status} {refused.body}"
    )
