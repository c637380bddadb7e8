"""Every setting the server gets is one the release reads; the env files read the way their consumer reads them.

A variable the release does not read is silently ignored, and a value its reader mangles is
silently another setting: the deployment starts either way. So the names are checked against
the release under test, and the values against what compose (Docker path) and bash (Linux
path) actually make of the guide's lines (:mod:`fixtures.envread`).
"""

from __future__ import annotations

from pytest_bdd import then

from fixtures.bundle import Bundle
from fixtures.envread import RUN_PARSEC_SERVER_SOURCES
from fixtures.living_guide.evidence import Evidence
from fixtures.sections.env_files import CheckFailed, EnvFilesSection
from steps.common import server_named, server_step


@then(server_step("every variable the env files and the compose file give {server} is one the release reads"))
def every_variable_is_read(env_files: EnvFilesSection, bundle: Bundle, evidence: Evidence, server_name: str) -> None:
    server = server_named(bundle, server_name)
    settings = env_files.server_settings(server)
    unknown = env_files.unknown_variables(server)
    evidence.record(f"variables {server} gets", {"set": len(settings), "not read by the release": len(unknown)})
    if unknown:
        raise CheckFailed("\n".join(unknown))


@then(server_step("docker compose reads every env file of {server} as the guide wrote it"))
def compose_reads_as_written(env_files: EnvFilesSection, bundle: Bundle, evidence: Evidence, server_name: str) -> None:
    server = server_named(bundle, server_name)
    mangled = env_files.compose_mangled(server)
    evidence.record(f"docker compose reads the env files of {server}", {"mangled values": len(mangled)})
    if mangled:
        raise CheckFailed(f"docker compose does not give {server} the values the guide wrote:\n" + "\n".join(mangled))


@then("bash reads every env file that run-parsec-server sources as the guide wrote it")
def bash_reads_as_written(env_files: EnvFilesSection, evidence: Evidence) -> None:
    mangled = env_files.bash_mangled(RUN_PARSEC_SERVER_SOURCES)
    evidence.record(
        "bash reads the env files of run-parsec-server",
        {"files": len(RUN_PARSEC_SERVER_SOURCES), "mangled values": len(mangled)},
    )
    if mangled:
        raise CheckFailed(
            "run-parsec-server's `set -a; source` does not give the server the values the guide wrote:\n"
            + "\n".join(mangled)
        )
