"""Applying the database migration."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from pytest_bdd import parsers, then, when

from fixtures.deployment import GuideDeployment
from fixtures.living_guide.evidence import Evidence
from fixtures.stacks.base import CommandResult


@dataclass(frozen=True)
class ConnInfo:
    database: str
    user: str
    host: str
    port: int
    dsn_user: str


@dataclass(frozen=True)
class MigrationRun:
    result: CommandResult
    applied_before: list[tuple[object, ...]]
    applied_after: list[tuple[object, ...]]


def applied(deployment: GuideDeployment) -> list[tuple[object, ...]]:
    return deployment.applied_migrations()


@when(parsers.parse('I connect with the DSN of "{name}"'), target_fixture="conninfo")
def connect(deployment: GuideDeployment, name: str) -> ConnInfo:
    dsn = deployment.database_dsn()
    try:
        with psycopg.connect(dsn, connect_timeout=5) as conn:
            info = conn.info
            return ConnInfo(
                info.dbname, info.user, info.host, info.port, psycopg.conninfo.conninfo_to_dict(dsn)["user"]
            )
    except psycopg.OperationalError as exc:
        raise AssertionError(f"the DSN of {name} does not connect to the database: {exc}") from None


@then(parsers.parse('I am connected to database "{database}" as the user of the DSN'))
def connected(conninfo: ConnInfo, database: str, evidence: Evidence) -> None:
    evidence.record("Database connection", {"database": conninfo.database, "user": conninfo.user})
    print(
        f'You are connected to database "{conninfo.database}" as user "{conninfo.user}" '
        f'on host "{conninfo.host}" at port "{conninfo.port}".'
    )
    assert conninfo.database == database, f"the guide's database is {database!r}; connected to {conninfo.database!r}"
    assert conninfo.user == conninfo.dsn_user, f"connected as {conninfo.user!r}, not as the DSN's {conninfo.dsn_user!r}"


def _migrate(deployment: GuideDeployment) -> MigrationRun:
    deployment.ensure_services()
    before = applied(deployment)
    result = deployment.migrate()
    return MigrationRun(result, before, applied(deployment))


@when(parsers.parse('I apply the migrations with "{command}"'), target_fixture="migration")
def apply_migrations(deployment: GuideDeployment, command: str) -> MigrationRun:
    return _migrate(deployment)


@when("I apply the migrations again", target_fixture="migration")
def apply_again(deployment: GuideDeployment) -> MigrationRun:
    return _migrate(deployment)


@then("the migration succeeds")
def migration_succeeds(deployment: GuideDeployment, migration: MigrationRun) -> None:
    result = migration.result
    assert result.returncode == 0, (
        f"{result.argv_display} should succeed; it exited with code {result.returncode}:\n{result.output[-1500:]}"
    )
    errors = deployment.release.adapter.migration_errors(result.output)
    assert not errors, f"{result.argv_display} exited 0 but reports failed migrations:\n" + "\n".join(errors[:5])


@then("every migration the release ships is recorded as applied")
def all_applied(deployment: GuideDeployment, migration: MigrationRun, evidence: Evidence) -> None:
    shipped = deployment.release.adapter.shipped_migrations(deployment.release.python)
    recorded = {str(row[0]) for row in migration.applied_after}
    evidence.record("Migrations applied", {"shipped": len(shipped), "recorded": sorted(recorded)})
    missing = [name for name in shipped if name not in recorded]
    assert shipped, "the release ships no migration: the harness cannot find them"
    assert not missing, (
        f"Parsec {deployment.release.version} ships {len(shipped)} migrations; {len(missing)} are not applied: "
        + ", ".join(missing[:5])
    )


@then("no migration is applied twice")
def nothing_new(migration: MigrationRun) -> None:
    assert migration.applied_before, "no migration was recorded before the second run"
    assert migration.applied_after == migration.applied_before, (
        "a second migrate should apply nothing; the recorded migrations changed from "
        f"{len(migration.applied_before)} to {len(migration.applied_after)} rows"
    )
