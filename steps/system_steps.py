"""System Requirements: the server's machine and its database meet the guide's minimum."""

from __future__ import annotations

from pytest_bdd import parsers, then

from fixtures.bundle import Bundle
from fixtures.living_guide.evidence import Evidence
from fixtures.sections.system import SystemSection
from steps.common import server_named, server_step

GB = 10**9  # the guide's "1GB RAM"; a 1 GiB machine reports a little less than 2**30 as its total


@then(server_step("the machine of {server} has at least {cpus:d} CPU core and {memory:d} GB of RAM"))
def machine_minimum(
    system: SystemSection, bundle: Bundle, evidence: Evidence, server_name: str, cpus: int, memory: int
) -> None:
    service = server_named(bundle, server_name)
    machine = system.server_machine()
    evidence.record(
        f"the machine of {service}",
        {"asked": machine.asked, "CPUs": machine.cpus, "memory": f"{machine.memory_bytes / GB:.1f} GB"},
    )
    short = []
    if machine.cpus < cpus:
        short.append(f"{machine.cpus} CPU core(s)")
    if machine.memory_bytes < memory * GB:
        short.append(f"{machine.memory_bytes / GB:.2f} GB of RAM")
    assert not short, (
        f"the guide's minimum for {service} is {cpus} CPU core and {memory} GB of RAM; "
        f"{machine.asked} has {' and '.join(short)}"
    )


@then(parsers.parse('the database of "{env_file}" is PostgreSQL {major:d} or later'))
def database_version(system: SystemSection, evidence: Evidence, env_file: str, major: int) -> None:
    version = system.database_version(env_file)
    evidence.record(
        f"the database of {env_file}", {"server_version": version.text, "server_version_num": version.number}
    )
    assert version.major >= major, (
        f"the guide requires PostgreSQL {major} or later; the database PARSEC_DB of {env_file} names "
        f"runs PostgreSQL {version.text} (server_version_num {version.number})"
    )
