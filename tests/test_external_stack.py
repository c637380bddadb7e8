"""--stack external, tried for real: against a local stack kept with --keep-stack, through the file it writes.

One kept deployment serves the module. It must pass read-only (writing nothing into it) and
with --allow-writes; pointed at a bucket without object lock, the bucket's scenario must fail
saying so. The runs use the command --keep-stack prints, as a user would. The offline tests
at the end check what the stack skips, and why, when the deployment file gives no access.
"""

from __future__ import annotations

import contextlib
import re
import shlex
import shutil
import stat
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import psycopg
import pytest
from botocore.config import Config

from fixtures.deployment_file import ENV_DSN, ENV_S3_KEY, ENV_S3_SECRET, ENV_TOKEN, load
from fixtures.editions import DEFAULT_EDITION
from fixtures.errors import NotChecked
from fixtures.progress import Progress
from fixtures.releases import Release
from fixtures.releases.source import from_version
from fixtures.sections.scripts import GuideScript
from fixtures.stacks.base import ObservingStack
from fixtures.stacks.external import ExternalStack
from tests.runner import BUNDLE, PROJECT, FeatureRun, not_in_the_features, run_features
from tests.scenarios import (
    COMPONENT,
    COMPOSE_SERVICES,
    DB_ACCESSIBLE,
    DB_MIGRATIONS,
    ENV_PARSEC,
    ENV_S3,
    ORG_CREATE,
    ORG_WRONG_TOKEN,
    S3_CREATE,
    S3_RESTART,
    S3_WRONG_SECRET,
    SERVICES_UP,
    TLS_CA,
    TLS_GROUP,
    TLS_SERVICE,
    USER_INVITATION,
    USER_JOIN,
)

ROLES = DEFAULT_EDITION.roles  # the 2.16 bundle's service names
CHECK_COMMAND = re.compile(r"^check it with: (.+)$", re.MULTILINE)
STOP_COMMAND = re.compile(r"^stop it with: (.+)$", re.MULTILINE)


READ_ONLY_CHECKS = (
    SERVICES_UP,
    DB_MIGRATIONS,
    S3_CREATE,
    S3_WRONG_SECRET,
    S3_RESTART,
    TLS_SERVICE.format("parsec-s3"),
    TLS_SERVICE.format("parsec-backend"),
    TLS_GROUP,
    ENV_PARSEC,
)
WRITES = (ORG_CREATE, ORG_WRONG_TOKEN, USER_JOIN, USER_INVITATION)  # the wrong-token probe too: it may create


def test_the_scenarios_named_here_are_in_the_features() -> None:
    named = (
        *READ_ONLY_CHECKS,
        *WRITES,
        COMPONENT.format("A TLS/SSL server certificate"),
        TLS_CA,
        COMPOSE_SERVICES,
        DB_ACCESSIBLE,
    )
    missing = not_in_the_features(named)
    assert not missing, f"this module names scenarios no feature has: {', '.join(missing)}"


@dataclass(frozen=True)
class Kept:
    output: str
    toml: Path
    env_file: Path
    check_command: str
    environ: dict[str, str]

    def run(self, tmp_path: Path, *args: str, toml: Path | None = None, env_file: Path | None = None) -> FeatureRun:
        """The printed command, run from the project as a user would (its own reports directory)."""
        reports = tmp_path / "reports"
        reports.mkdir(parents=True, exist_ok=True)
        command = self.check_command
        if toml is not None:
            command = command.replace(shlex.quote(str(self.toml)), shlex.quote(str(toml)))
        if env_file is not None:
            command = command.replace(shlex.quote(str(self.env_file)), shlex.quote(str(env_file)))
        extra = shlex.join(["--reports-dir", str(reports), *args])
        done = subprocess.run(
            ["bash", "-c", f"{command} {extra}"], cwd=PROJECT, capture_output=True, text=True, timeout=300
        )
        return FeatureRun(done.returncode, done.stdout + done.stderr, reports)


def _environ(env_file: Path) -> dict[str, str]:
    names = [line.split("=", 1)[0] for line in env_file.read_text().splitlines() if "=" in line]
    script = f"set -a; . {shlex.quote(str(env_file))}; " + "; ".join(f'printf "%s\\0" "${n}"' for n in names)
    values = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True).stdout.split("\0")
    return dict(zip(names, values, strict=False))


@pytest.fixture(scope="module")
def kept(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kept]:
    """A local stack kept after the S3 section (server migrated, bucket made, server running)."""
    base = tmp_path_factory.mktemp("kept")
    bundle = base / "bundle"
    shutil.copytree(BUNDLE, bundle)
    subprocess.run(["bash", "setup-tls.sh"], cwd=bundle, check=True, capture_output=True, timeout=300)
    # The work directory is the harness's own temporary one: PostgreSQL's account must reach it.
    run = run_features(base, "--keep-stack", "-m", "s3_bucket", bundle=bundle)
    stop = STOP_COMMAND.search(run.output)
    try:
        assert run.returncode == 0, run.output[-3000:]
        check = CHECK_COMMAND.search(run.output)
        assert check, f"--keep-stack prints the command checking the kept deployment:\n{run.output[-2000:]}"
        words = shlex.split(check.group(1).replace(";", " ; "))
        toml, env_file = Path(words[words.index("--deployment") + 1]), Path(words[words.index(".") + 1])
        yield Kept(run.output, toml, env_file, check.group(1), _environ(env_file))
    finally:
        if stop:
            subprocess.run(["bash", "-c", stop.group(1)], capture_output=True, timeout=120)


def _organizations(kept: Kept) -> int:
    with psycopg.connect(kept.environ[ENV_DSN], connect_timeout=5) as conn:
        return int(conn.execute("SELECT count(*) FROM organization").fetchone()[0])  # type: ignore[index]


def _s3(kept: Kept) -> Any:  # boto3 has no static types
    loaded = load(kept.toml, kept.environ)
    assert loaded.s3 is not None
    return boto3.client(
        "s3",
        endpoint_url=loaded.s3.endpoint_url,
        aws_access_key_id=kept.environ[ENV_S3_KEY],
        aws_secret_access_key=kept.environ[ENV_S3_SECRET],
        region_name=loaded.s3.region,
        verify=str(loaded.s3.ca_file),
        config=Config(s3={"addressing_style": "path"}),
    )


@pytest.mark.selftest
def test_keep_stack_writes_a_ready_deployment_file(kept: Kept) -> None:
    assert stat.S_IMODE(kept.env_file.stat().st_mode) == 0o600, "the env file holds the credentials: mode 600"
    text = kept.toml.read_text()
    for name in (ENV_TOKEN, ENV_DSN, ENV_S3_KEY, ENV_S3_SECRET):
        assert f'"{name}"' in text, f"the deployment file names {name}"
        assert kept.environ[name] not in text, f"the value of {name} is in the deployment file"
        assert kept.environ[name] not in kept.output, f"the value of {name} was printed"
    loaded = load(kept.toml, kept.environ)
    assert loaded.host is not None and loaded.host.url == "local://", "host checks go through testinfra's local://"


@pytest.mark.selftest
def test_read_only_passes_and_writes_nothing(kept: Kept, tmp_path: Path) -> None:
    organizations = _organizations(kept)
    buckets = sorted(bucket["Name"] for bucket in _s3(kept).list_buckets()["Buckets"])
    run = kept.run(tmp_path)
    assert run.returncode == 0, run.output[-4000:]
    outcomes = run.outcomes()
    not_passed = {str(name): outcomes.get(name, "absent") for name in READ_ONLY_CHECKS}
    assert set(not_passed.values()) == {"passed"}, f"read-only checks that did not pass: {not_passed}"
    for name in WRITES:
        state, message = run.outcome(name)
        assert state == "skipped" and "--allow-writes" in message, f"{name}: {state} {message}"
    assert run.outcome(COMPOSE_SERVICES).state == "skipped" and run.outcome(TLS_CA).state == "skipped"
    assert "runs none of the guide's scripts" in run.outcome(TLS_CA).message
    assert _organizations(kept) == organizations, "a read-only run created an organization"
    assert sorted(bucket["Name"] for bucket in _s3(kept).list_buckets()["Buckets"]) == buckets
    assert kept.environ[ENV_TOKEN] not in run.output


@pytest.mark.selftest
def test_allow_writes_creates_bootstraps_and_invites(kept: Kept, tmp_path: Path) -> None:
    organizations = _organizations(kept)
    run = kept.run(tmp_path, "--allow-writes", "--invite-email", "someone@example.org")
    assert run.returncode == 0, run.output[-4000:]
    states = {str(name): run.outcome(name).state for name in (*WRITES, *READ_ONLY_CHECKS)}
    assert set(states.values()) == {"passed"}, states
    created = re.search(r"create the organization (MyOrg-[0-9a-f]{8}): done", run.output)
    assert created, f"the organization gets a unique name:\n{run.output[-2000:]}"
    assert "invite someone@example.org by email: done" in run.output, "the invitation goes to --invite-email"
    assert _organizations(kept) == organizations + 2, (
        "two organizations are created, the guide's and the one the data blocks are written in "
        "(the wrong token's and the uncreated one's are refused)"
    )


@contextlib.contextmanager
def _server_bucket(kept: Kept, bucket: str) -> Iterator[None]:
    """The kept server's own settings (parsec-s3.env of [host] files) name ``bucket`` for the run."""
    loaded = load(kept.toml, kept.environ)
    assert loaded.host is not None and loaded.host.files is not None
    path = Path(loaded.host.files) / "parsec-s3.env"
    text = path.read_text(encoding="utf-8")
    assert ":parsec:" in text
    path.write_text(text.replace(":parsec:", f":{bucket}:"), encoding="utf-8")
    try:
        yield
    finally:
        path.write_text(text, encoding="utf-8")


@pytest.mark.selftest
def test_a_bucket_without_object_lock_fails_its_scenario(kept: Kept, tmp_path: Path) -> None:
    _s3(kept).create_bucket(Bucket="unlocked")
    with _server_bucket(kept, "unlocked"):
        run = kept.run(tmp_path, "-m", "s3_bucket")
    assert run.returncode == 1, run.output[-3000:]
    state, message = run.outcome(S3_CREATE)
    assert state == "failed", run.outcomes()
    assert "the guide creates parsec (here unlocked) with object locking toggled on" in message
    assert "ObjectLockConfigurationNotFoundError" in message
    assert run.outcome(S3_WRONG_SECRET).state == "passed", "the other bucket checks are not affected"


@pytest.mark.selftest
def test_a_missing_bucket_fails_saying_so(kept: Kept, tmp_path: Path) -> None:
    with _server_bucket(kept, "never-made"):
        run = kept.run(tmp_path, "-m", "s3_bucket", "-k", "create_a_new_bucket")
    state, message = run.outcome(S3_CREATE)
    assert state == "failed" and "the guide creates the bucket never-made" in message, message


@pytest.mark.selftest
def test_a_deployment_file_naming_another_bucket_fails_naming_both(kept: Kept, tmp_path: Path) -> None:
    broken = tmp_path / "other-bucket.toml"
    broken.write_text(kept.toml.read_text().replace('bucket = "parsec"', 'bucket = "another"'))
    run = kept.run(tmp_path, "-m", "env_files or s3_bucket", "-k", "s3_service or create_a_new_bucket", toml=broken)
    state, message = run.outcome(ENV_S3)
    assert state == "failed" and "differ in the bucket (parsec / another)" in message, message
    assert run.outcome(S3_CREATE).state == "passed", "the bucket checks follow the server's own settings"


@pytest.mark.selftest
def test_a_database_without_the_migrations_fails_its_scenario(kept: Kept, tmp_path: Path) -> None:
    with psycopg.connect(kept.environ[ENV_DSN], connect_timeout=5, autocommit=True) as conn:
        conn.execute("CREATE DATABASE never_migrated")
    env_file = tmp_path / "deployment.env"
    dsn = kept.environ[ENV_DSN].rsplit("/", 1)[0] + "/never_migrated"
    env_file.write_text(kept.env_file.read_text().replace(shlex.quote(kept.environ[ENV_DSN]), shlex.quote(dsn)))
    assert env_file.read_text() != kept.env_file.read_text()
    run = kept.run(tmp_path, "-m", "database_migration", env_file=env_file)
    state, message = run.outcome(DB_MIGRATIONS)
    assert state == "failed" and "14 are not applied (neither recorded nor in the schema): 0001_initial.sql" in message
    assert "should succeed" not in message, "migrate never ran on this stack: " + message
    state, message = run.outcome(DB_ACCESSIBLE)
    assert state == "failed", message
    assert "the database the server's PARSEC_DB names is 'parsec'; connected to 'never_migrated'" in message


@pytest.mark.selftest
def test_a_ca_that_did_not_issue_the_certificate_fails_its_requirement(kept: Kept, tmp_path: Path) -> None:
    loaded = load(kept.toml, kept.environ)
    other_ca = tmp_path / "other-ca.crt"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=Another CA", "-days", "1",
         "-keyout", str(tmp_path / "other-ca.key"), "-out", str(other_ca)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    broken = tmp_path / "other-ca.toml"
    broken.write_text(kept.toml.read_text().replace(str(loaded.server.ca_file), str(other_ca)))
    run = kept.run(tmp_path, "-m", "requirements or tls_certificates", toml=broken)
    state, message = run.outcome(COMPONENT.format("A TLS/SSL server certificate"))
    assert state == "failed" and "no verified TLS handshake" in message and "certificate verify failed" in message
    state, message = run.outcome(TLS_SERVICE.format("parsec-backend"))
    assert state == "failed" and "should be issued by the custom CA (CN=Another CA)" in message, message


# -- what the stack skips without access -------------------------------------------------------------


def _stack(tmp_path: Path, text: str = "", *, allow_writes: bool = False) -> ExternalStack:
    (tmp_path / "ca.crt").write_text("a CA\n")
    toml = tmp_path / "d.toml"
    toml.write_text(
        '[server]\nurl = "parsec://127.0.0.1:1"\nca_file = "ca.crt"\nadmin_token_env = "T"\n' + text, encoding="utf-8"
    )
    release = Release(from_version("2.16.3"), cache_dir=tmp_path, progress=Progress(lambda line: None))
    return ExternalStack(
        load(toml, {"T": "token"}), tmp_path / "mirror", release, roles=DEFAULT_EDITION.roles, allow_writes=allow_writes
    )


@pytest.mark.parametrize(
    ("call", "reason"),
    [
        (lambda s: s.s3_access(), "names no [s3]"),
        (lambda s: s.database_dsn("x"), "names no [database]"),
        (lambda s: s.mail_api_url, "names no [mail] api_url"),
        (lambda s: s.service(ROLES.smtp), "names no [mail] smtp"),
        (lambda s: s.bound_sockets(ROLES.server), "names no [host]"),
        (lambda s: s.invitation_address("invitee@example.com"), "give --invite-email"),
        (lambda s: s.guide_files().path("parsec.env"), "names no [host] (url, files)"),
        (lambda s: s.guide_files().path("parsec-backend.key"), "never copies it off the deployment's host"),
    ],
    ids=["s3", "database", "mail-api", "smtp", "sockets", "invitee", "env-file", "private-key"],
)
def test_a_check_without_access_is_skipped_with_the_reason(tmp_path: Path, call: object, reason: str) -> None:
    stack = _stack(tmp_path)
    with pytest.raises(NotChecked, match=re.escape(reason)):
        call(stack)  # type: ignore[operator]


def test_it_performs_nothing_and_writes_only_when_allowed(tmp_path: Path) -> None:
    stack = _stack(tmp_path)
    assert isinstance(stack, ObservingStack)
    for provisioning in ("run_script", "start_services", "migrate", "restart_backend", "keep"):
        assert not hasattr(stack, provisioning), f"an observing stack has no {provisioning}"
    with pytest.raises(NotChecked, match="runs none of the guide's scripts"):
        stack.carry_out(GuideScript("setup-tls.sh", Progress(lambda line: None)))
    with pytest.raises(NotChecked, match="--allow-writes"):
        stack.guard_write("creates an organization")
    _stack(tmp_path, allow_writes=True).guard_write("creates an organization")
    assert stack.organization_name("MyOrg") != _stack(tmp_path).organization_name("MyOrg"), "unique per run"
    assert stack.server_address("parsec://127.0.0.1:6777") == "parsec://127.0.0.1:1"
    assert stack.guide_files().path("custom-ca.crt").read_text() == "a CA\n", "the CA is the deployment file's"
    stack.stop()
    assert not (tmp_path / "mirror").exists(), "the mirror of the deployment's files never outlives the run"


def test_the_guide_files_come_from_the_named_host(tmp_path: Path) -> None:
    files = tmp_path / "on-the-host"
    files.mkdir()
    (files / "parsec.env").write_text("PARSEC_SPONTANEOUS_ORGANIZATION_BOOTSTRAP=false\n")
    stack = _stack(tmp_path, f'[host]\nurl = "local://"\nfiles = "{files}"\n')
    mirror = stack.guide_files()
    mirror.prepare(BUNDLE)
    assert mirror.path("parsec.env").read_text() == (files / "parsec.env").read_text()
    assert stat.S_IMODE(mirror.path("parsec.env").stat().st_mode) == 0o600
    assert not mirror.path("parsec-db.env").exists(), "a file the host lacks is absent: its check fails"
    assert mirror.exists("parsec.env") and not mirror.exists("parsec-db.env")
