"""Applying the database migration."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from pytest_bdd import parsers, then, when

from fixtures import step_notes
from fixtures.living_guide.evidence import Evidence
from fixtures.sections import Deployment
from fixtures.sections.migration import MigrationRun, MigrationSection


@dataclass(frozen=True)
class ConnInfo:
    database: str
    user: str
    host: str
    port: int
    dsn_user: str


@when(parsers.parse('I connect with the DSN of "{name}"'), target_fixture="conninfo")
def connect(migration: MigrationSection, name: str) -> ConnInfo:
    dsn = migration.dsn()
    try:
        with psycopg.connect(dsn, connect_timeout=5) as conn:
            info = conn.info
            return ConnInfo(
                info.dbname, info.user, info.host, info.port, str(psycopg.conninfo.conninfo_to_dict(dsn)["user"])
            )
    except psycopg.OperationalError as exc:
        raise AssertionError(f"the DSN of {name} does not connect to the database: {exc}") from None


@then(parsers.parse('I am connected to database "{database}" as the user of the DSN'))
def connected(migration: MigrationSection, conninfo: ConnInfo, database: str, evidence: Evidence) -> None:
    expected, whose = migration.expected_database(database)
    evidence.record(
        "Database connection", {"database": conninfo.database, "user": conninfo.user, "expected": f"{whose}"}
    )
    print(
        f'You are connected to database "{conninfo.database}" as user "{conninfo.user}" '
        f'on host "{conninfo.host}" at port "{conninfo.port}".'
    )
    assert conninfo.database == expected, f"{whose} is {expected!r}; connected to {conninfo.database!r}"
    assert conninfo.user == conninfo.dsn_user, f"connected as {conninfo.user!r}, not as the DSN's {conninfo.dsn_user!r}"


@when(parsers.parse('I apply the migrations with "{command}"'), target_fixture="migration_run")
def apply_migrations(deployment: Deployment, command: str) -> MigrationRun:
    return deployment.migrations_applied_by(command)


@when("I apply the migrations again", target_fixture="migration_run")
def apply_again(migration: MigrationSection) -> MigrationRun:
    return migration.apply()


@then("the migration succeeds")
def migration_succeeds(migration: MigrationSection, migration_run: MigrationRun) -> None:
    result = migration_run.result
    if result is None:
        step_notes.not_run("migrate did not run on this stack: the migrations recorded are checked instead")
        return
    assert result.returncode == 0, (
        f"{result.argv_display} should succeed; it exited with code {result.returncode}:\n{result.output[-1500:]}"
    )
    errors = migration.release.adapter.migration_errors(result.output)
    assert not errors, f"{result.argv_display} exited 0 but reports failed migrations:\n" + "\n".join(errors[:5])


@then("every migration the release ships is recorded as applied")
def all_applied(migration: MigrationSection, migration_run: MigrationRun, evidence: Evidence) -> None:
    shipped = migration.shipped()
    recorded = {str(row[0]) for row in migration_run.applied_after}
    evidence.record("Migrations applied", {"shipped": len(shipped), "recorded": sorted(recorded)})
    assert shipped, "the release ships no migration: the harness cannot find them"
    problem = migration.not_applied(migration_run.applied_after)
    assert problem is None, problem


@then("no migration is applied twice")
def nothing_new(migration: MigrationSection, migration_run: MigrationRun) -> None:
    after = migration_run.applied_after
    assert after, "no migration is recorded as applied"
    twice = migration.recorded_twice(after)
    assert not twice, f"each migration is applied once; the database records these twice: {', '.join(twice)}"
    if migration_run.result is None:
        step_notes.checked_instead(
            "no second migrate ran on this stack: the bookkeeping table was checked for a migration recorded twice"
        )
        return
    assert after == migration_run.applied_before, (
        "a second migrate should apply nothing; the recorded migrations changed from "
        f"{len(migration_run.applied_before)} to {len(after)} rows"
    )
