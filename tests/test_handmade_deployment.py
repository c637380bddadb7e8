"""A deployment the harness did not make passes --stack external, and its breakages are caught.

``tests/handmade.py`` brings up Parsec 2.16.3 the way an administrator would, with its own
layout, names, ports and random passwords. The harness must pass it read-only (writing nothing)
and with --allow-writes, with 0 failures; switched to an unlocked bucket, or with its database one
migration short, the scenario the breakage belongs to must fail with the message that says so.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.handmade import LAST_MIGRATION, HandMadeDeployment, release_python
from tests.runner import FeatureRun, not_in_the_features
from tests.scenarios import (
    DB_ACCESSIBLE,
    DB_MIGRATIONS,
    ENV_DB,
    ENV_PARSEC,
    ENV_S3,
    ENV_SMTP,
    ORG_CREATE,
    S3_CREATE,
    S3_RESTART,
    S3_WRONG_SECRET,
    USER_INVITATION,
    USER_JOIN,
)

pytestmark = pytest.mark.selftest

ENV_SCENARIOS = (ENV_DB, ENV_SMTP, ENV_S3, ENV_PARSEC)


def test_the_scenarios_named_here_are_in_the_features() -> None:
    named = (*ENV_SCENARIOS, DB_ACCESSIBLE, DB_MIGRATIONS, S3_CREATE, S3_RESTART, S3_WRONG_SECRET)
    assert not not_in_the_features((*named, ORG_CREATE, USER_JOIN, USER_INVITATION))


@pytest.fixture(scope="module")
def deployment() -> Iterator[HandMadeDeployment]:
    """The admin's folder is a fresh one under $TMPDIR (pytest's is 0700: PostgreSQL's account must enter it)."""
    try:
        release_python()
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    made = HandMadeDeployment(Path(tempfile.mkdtemp(prefix="parsec-handmade-")))
    try:
        made.up()
        yield made
    finally:
        try:
            made.down()
        finally:
            shutil.rmtree(made.root, ignore_errors=True)


def _failed(run: FeatureRun) -> list[str]:
    return [str(scenario) for scenario in run.failed()]


def _organizations(deployment: HandMadeDeployment) -> int:
    with psycopg.connect(deployment.environ["PARSEC_DB"], connect_timeout=5) as conn:
        return int(conn.execute("SELECT count(*) FROM organization").fetchone()[0])  # type: ignore[index]


def test_read_only_passes_and_writes_nothing(deployment: HandMadeDeployment, tmp_path: Path) -> None:
    organizations = _organizations(deployment)
    run = deployment.check(tmp_path / "reports")
    assert run.returncode == 0 and not _failed(run), run.output[-5000:]
    for scenario in (*ENV_SCENARIOS, DB_ACCESSIBLE, DB_MIGRATIONS, S3_CREATE, S3_RESTART):
        assert run.outcome(scenario).state == "passed", f"{scenario}: {run.outcome(scenario)}"
    assert _organizations(deployment) == organizations, "a read-only run created an organization"
    for secret in ("db", "s3_secret", "smtp", "token"):
        assert deployment.passwords[secret] not in run.output, f"the {secret} secret was printed"


def test_allow_writes_passes(deployment: HandMadeDeployment, tmp_path: Path) -> None:
    run = deployment.check(tmp_path / "reports", "--allow-writes", "--invite-email", "admin@parsec.example.org")
    assert run.returncode == 0 and not _failed(run), run.output[-5000:]
    for scenario in (ORG_CREATE, USER_JOIN, USER_INVITATION):
        assert run.outcome(scenario).state == "passed", f"{scenario}: {run.outcome(scenario)}"


def test_a_server_on_an_unlocked_bucket_is_caught(deployment: HandMadeDeployment, tmp_path: Path) -> None:
    with deployment.server_on_an_unlocked_bucket("parsec-unlocked"):
        run = deployment.check(tmp_path / "reports", "-m", "env_files or s3_bucket")
    state, message = run.outcome(S3_CREATE)
    assert state == "failed", run.outcomes()
    assert "the guide creates parsec (here parsec-unlocked) with object locking toggled on" in message, message
    assert "ObjectLockConfigurationNotFoundError" in message
    state, message = run.outcome(ENV_S3)
    assert state == "failed" and "differ in the bucket (parsec-unlocked / parsec)" in message, message
    assert run.outcome(S3_WRONG_SECRET).state == "passed", "the other checks of the bucket are not affected"


def test_a_database_missing_its_last_migration_is_caught(deployment: HandMadeDeployment, tmp_path: Path) -> None:
    with deployment.database_missing_its_last_migration():
        run = deployment.check(tmp_path / "reports", "-m", "database_migration")
    state, message = run.outcome(DB_MIGRATIONS)
    assert state == "failed", run.outcomes()
    assert f"ships 14 migrations; 1 is not applied (neither recorded nor in the schema): {LAST_MIGRATION}" in message
    assert "should succeed" not in message and "exited with code" not in message, "migrate never ran: " + message
    assert run.outcome(DB_ACCESSIBLE).state == "passed"


def test_every_failing_requirement_of_a_scenario_is_reported(deployment: HandMadeDeployment, tmp_path: Path) -> None:
    with deployment.server_settings_astray():
        run = deployment.check(tmp_path / "reports", "-m", "env_server")
    state, message = run.outcome(ENV_PARSEC)
    assert state == "failed", run.outcomes()
    assert "4 of the 8 checks fail" in message, message
    assert "PARSEC_SPONTANEOUS_ORGANIZATION_BOOTSTRAP=false, so that only the administrator" in message
    assert "PARSEC_BACKEND_ADDR (parsec://parsec.example.org:443) must be the address clients use" in message
    assert "parsec-backend.key is not readable by others; its mode is 644" in message
    assert "parsec-backend serves the certificate PARSEC_SSL_CERTFILE names" in message
    assert "parsec-s3.crt); it serves another" in message


def test_database_settings_that_differ_from_the_database_are_reported(
    deployment: HandMadeDeployment, tmp_path: Path
) -> None:
    with deployment.database_settings_astray():
        run = deployment.check(tmp_path / "reports", "-m", "env_database")
    state, message = run.outcome(ENV_DB)
    assert state == "failed", run.outcomes()
    assert "2 of the 7 checks fail" in message, message
    assert "and the database the harness checks (user parsec, database parsec" in message
    assert "differ in password" in message
    assert "the minimum not above the maximum; they are '20' and '3'" in message
    assert deployment.passwords["db"] not in run.output and "not-the-password" not in run.output
