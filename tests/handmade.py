"""A Parsec 2.16.3 deployment made by hand, as an administrator would, without the harness's stacks.

It follows the 2.16 guide without Docker and with the admin's own choices: one folder
(``conf/`` for the TLS files and env files, ``data/`` for the services), PostgreSQL with role
and database ``parsec`` and a random password, SeaweedFS serving S3 over TLS with a locked
bucket, the harness's mail sink as the mail server (MailHog's stand-in), 127.0.0.1 instead of
the guide's service names, ports of its own, the server's key and certificate named by absolute
paths in ``conf/`` rather than ``/run/secrets/``. The env files are written here, by this
script; the server reads them as ``docker --env-file`` would (values taken literally).

The service executors of ``fixtures/services`` start the processes (they know how to run
PostgreSQL as root's child and SeaweedFS); everything else (layout, names, ports, env files,
the deployment file) is this script's own, as a real deployment's would be.
"""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
import shlex
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import psycopg
import requests
from botocore.config import Config

from fixtures.envfiles import read_env_file
from fixtures.ports import free_port
from fixtures.services.base import Endpoint, ManagedProcess
from fixtures.services.mailsink import MailSinkServer
from fixtures.services.postgres import PostgresServer
from fixtures.services.seaweedfs import SeaweedS3Server
from tests.runner import BUNDLE, PROJECT, FeatureRun

HOST = "127.0.0.1"
RELEASE = "2.16.3"
BUCKET = "parsec"
REGION = "eu-west-1"
VENVS = Path(os.environ.get("PARSEC_ACCEPTANCE_CACHE", Path.home() / ".cache" / "parsec-acceptance")) / "venvs"
# What 0014_add_realm_archiving.sql of 2.16.3 does, undone: a database one migration short.
UNDO_LAST_MIGRATION = (
    "DROP TABLE realm_archiving",
    "DROP TYPE realm_archiving_configuration",
    "ALTER TABLE organization DROP COLUMN minimum_archiving_period",
    "ALTER TABLE realm_user_change DROP COLUMN last_archiving_change",
    "DELETE FROM migration WHERE name = 'add_realm_archiving'",
)
LAST_MIGRATION = "0014_add_realm_archiving.sql"


def release_python() -> Path:
    """The 2.16.3 interpreter of the harness's release cache (installed by an earlier run)."""
    found = sorted(VENVS.glob(f"parsec-{RELEASE}-py3.9-*/bin/python"))
    if not found:
        raise FileNotFoundError(f"no Parsec {RELEASE} virtualenv under {VENVS}: run pytest features/ once")
    return found[0]


@dataclass
class HandMadeDeployment:
    """The admin's folder, its services and the deployment file describing it to the harness."""

    root: Path
    python: Path = field(default_factory=release_python)
    ports: dict[str, int] = field(default_factory=dict)
    passwords: dict[str, str] = field(default_factory=dict)
    services: list[Any] = field(default_factory=list)
    server: ManagedProcess | None = None

    @property
    def conf(self) -> Path:
        return self.root / "conf"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def toml(self) -> Path:
        return self.root / "deployment.toml"

    @property
    def env_file(self) -> Path:
        return self.root / "deployment.env"

    # -- bring it up ------------------------------------------------------------------------------

    def up(self) -> None:
        self.root.chmod(0o711)  # PostgreSQL's account traverses it
        self.conf.mkdir(mode=0o700)
        self.data.mkdir(mode=0o711)
        self.ports = {name: free_port(HOST) for name in ("postgres", "s3", "smtp", "mail_api", "server")}
        self.passwords = {
            "db": secrets.token_urlsafe(18),
            "s3_key": "parsec-" + secrets.token_hex(4),
            "s3_secret": secrets.token_urlsafe(24),
            "smtp": secrets.token_urlsafe(12),
            "token": base64.b64encode(secrets.token_bytes(63)).decode(),
        }
        self._tls()
        self._env_files()
        self._start_services()
        self._create_bucket(BUCKET, locked=True)
        self.migrate()
        self.start_server()
        self._deployment_file()

    def _tls(self) -> None:
        """The guide's setup-tls.sh, run in the admin's conf folder (RSA 4096, the CA of 10 days)."""
        script = self.conf / "setup-tls.sh"
        script.write_bytes((BUNDLE / "setup-tls.sh").read_bytes())
        subprocess.run(["bash", str(script)], cwd=self.conf, check=True, capture_output=True, timeout=300)

    def _env_files(self) -> None:
        p, port = self.passwords, self.ports
        files = {
            "parsec-db.env": {
                "PARSEC_DB": f"postgresql://parsec:{p['db']}@{HOST}:{port['postgres']}/parsec",
                "PARSEC_DB_MIN_CONNECTIONS": "2",
                "PARSEC_DB_MAX_CONNECTIONS": "10",
            },
            "parsec-smtp.env": {
                "PARSEC_EMAIL_HOST": HOST,
                "PARSEC_EMAIL_PORT": str(port["smtp"]),
                "PARSEC_EMAIL_HOST_USER": "parsec-mailer",
                "PARSEC_EMAIL_HOST_PASSWORD": p["smtp"],
                "PARSEC_EMAIL_SENDER": "Parsec <no-reply@parsec.example.org>",
            },
            "parsec-s3.env": {
                "PARSEC_BLOCKSTORE": f"s3:{HOST}\\:{port['s3']}:{REGION}:{BUCKET}:{p['s3_key']}:{p['s3_secret']}",
            },
            "parsec.env": {
                "PARSEC_HOST": HOST,
                "PARSEC_PORT": str(port["server"]),
                "PARSEC_SSL_KEYFILE": str(self.conf / "parsec-backend.key"),
                "PARSEC_SSL_CERTFILE": str(self.conf / "parsec-backend.crt"),
                "PARSEC_LOG_LEVEL": "WARNING",
                "PARSEC_BACKEND_ADDR": f"parsec://{HOST}:{port['server']}",
                "PARSEC_SPONTANEOUS_ORGANIZATION_BOOTSTRAP": "false",
            },
            "parsec-admin-token.env": {"PARSEC_ADMINISTRATION_TOKEN": p["token"]},
        }
        for name, values in files.items():
            path = self.conf / name
            path.write_text("".join(f"{key}={value}\n" for key, value in values.items()), encoding="utf-8")
            path.chmod(0o600)

    def _start_services(self) -> None:
        ca = self.conf / "custom-ca.crt"
        postgres = PostgresServer(
            self.data, user="parsec", password=self.passwords["db"], database="parsec", port=self.ports["postgres"]
        )
        s3 = SeaweedS3Server(
            self.data,
            access_key=self.passwords["s3_key"],
            secret_key=self.passwords["s3_secret"],
            cert_file=self.conf / "parsec-s3.crt",
            key_file=self.conf / "parsec-s3.key",
            ca_file=ca,
            port=self.ports["s3"],
        )
        smtp = MailSinkServer(self.data, smtp_port=self.ports["smtp"], http_port=self.ports["mail_api"])
        for service in (postgres, s3, smtp):
            self.services.append(service)  # known before it starts: stopped even if it fails
            service.start()

    def s3(self) -> Any:  # boto3 has no static types
        return boto3.client(
            "s3",
            endpoint_url=f"https://{HOST}:{self.ports['s3']}",
            aws_access_key_id=self.passwords["s3_key"],
            aws_secret_access_key=self.passwords["s3_secret"],
            region_name=REGION,
            verify=str(self.conf / "custom-ca.crt"),
            config=Config(s3={"addressing_style": "path"}),
        )

    def _create_bucket(self, name: str, *, locked: bool) -> None:
        self.s3().create_bucket(Bucket=name, ObjectLockEnabledForBucket=locked)

    def server_env(self) -> dict[str, str]:
        """The env files, read as ``docker --env-file`` reads them, and the CA for boto3."""
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.root),
            "LANG": "C.UTF-8",
            "PYTHONWARNINGS": "ignore",
            "AWS_CA_BUNDLE": str(self.conf / "custom-ca.crt"),
        }
        for name in ("parsec-db.env", "parsec-smtp.env", "parsec-s3.env", "parsec.env", "parsec-admin-token.env"):
            env.update(read_env_file(self.conf / name))
        return env

    def migrate(self) -> None:
        argv = [str(self.python), "-m", "parsec.cli", "backend", "migrate"]
        done = subprocess.run(argv, env=self.server_env(), capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"migrate failed:\n{done.stdout}{done.stderr}")

    def start_server(self) -> None:
        if self.server is not None:
            self.server.stop()
        url = f"https://{HOST}:{self.ports['server']}/"

        def ready() -> bool:
            return requests.get(url, verify=str(self.conf / "custom-ca.crt"), timeout=2).status_code < 500

        self.server = ManagedProcess(
            "parsec-backend",
            [str(self.python), "-m", "parsec.cli", "backend", "run"],
            self.data / "parsec-backend.log",
            ready,
            env=self.server_env(),
            cwd=self.data,
            inherit_env=False,
            endpoint=Endpoint(HOST, self.ports["server"]),
        )
        self.server.start()

    def _deployment_file(self) -> None:
        """The deployment file an admin writes for --stack external, and the env file of its credentials."""
        self.toml.write_text(
            f"""\
[server]
url = "parsec://{HOST}:{self.ports["server"]}"
ca_file = "conf/custom-ca.crt"
admin_token_env = "PARSEC_ADMINISTRATION_TOKEN"

[database]
dsn_env = "PARSEC_DB"

[s3]
endpoint = "https://{HOST}:{self.ports["s3"]}"
region = "{REGION}"
bucket = "{BUCKET}"
access_key_env = "S3_ACCESS_KEY"
secret_key_env = "S3_SECRET_KEY"

[mail]
api_url = "http://{HOST}:{self.ports["mail_api"]}"
smtp = "{HOST}:{self.ports["smtp"]}"

[host]
url = "local://"
files = "{self.conf}"
""",
            encoding="utf-8",
        )
        env = {
            "PARSEC_ADMINISTRATION_TOKEN": self.passwords["token"],
            "PARSEC_DB": read_env_file(self.conf / "parsec-db.env")["PARSEC_DB"],
            "S3_ACCESS_KEY": self.passwords["s3_key"],
            "S3_SECRET_KEY": self.passwords["s3_secret"],
        }
        self.env_file.write_text("".join(f"{k}={shlex.quote(v)}\n" for k, v in env.items()), encoding="utf-8")
        self.env_file.chmod(0o600)

    @property
    def environ(self) -> dict[str, str]:
        """The deployment file's credentials, as ``set -a; . deployment.env`` exports them."""
        return {k: v for k, v in read_env_file(self.env_file).items()}

    # -- break it, the way an admin might -----------------------------------------------------------

    @contextlib.contextmanager
    def server_on_an_unlocked_bucket(self, name: str = "parsec-unlocked") -> Iterator[None]:
        """The server switched to a bucket made without object lock; the deployment file still names parsec."""
        self._create_bucket(name, locked=False)
        try:
            with self._edited(
                "parsec-s3.env", {"PARSEC_BLOCKSTORE": f":{BUCKET}:"}, {"PARSEC_BLOCKSTORE": f":{name}:"}
            ):
                self.start_server()
                yield
        finally:
            self.start_server()

    @contextlib.contextmanager
    def database_missing_its_last_migration(self) -> Iterator[None]:
        """The last migration undone (schema and record), as a migrate stopped one short leaves it."""
        with psycopg.connect(self.environ["PARSEC_DB"], autocommit=True) as conn:
            for statement in UNDO_LAST_MIGRATION:
                conn.execute(statement)
        try:
            yield
        finally:
            self.migrate()

    @contextlib.contextmanager
    def server_settings_astray(self) -> Iterator[None]:
        """Four faults at once: bootstrap on, another public address, another certificate, a key all can read.

        The files change, the running server does not: its settings now say what it does not serve.
        """
        key = self.conf / "parsec-backend.key"
        mode = key.stat().st_mode
        public = f"parsec://{HOST}:{self.ports['server']}"
        with self._edited(
            "parsec.env",
            {
                "PARSEC_SPONTANEOUS_ORGANIZATION_BOOTSTRAP": "false",
                "PARSEC_BACKEND_ADDR": public,
                "PARSEC_SSL_CERTFILE": "parsec-backend.crt",
            },
            {
                "PARSEC_SPONTANEOUS_ORGANIZATION_BOOTSTRAP": "true",
                "PARSEC_BACKEND_ADDR": "parsec://parsec.example.org:443",
                "PARSEC_SSL_CERTFILE": "parsec-s3.crt",
            },
        ):
            key.chmod(0o644)
            try:
                yield
            finally:
                key.chmod(mode)

    @contextlib.contextmanager
    def database_settings_astray(self) -> Iterator[None]:
        """The server's PARSEC_DB names another password than the database takes; its limits are reversed."""
        dsn = read_env_file(self.conf / "parsec-db.env")["PARSEC_DB"]
        with self._edited(
            "parsec-db.env",
            {"PARSEC_DB": dsn, "PARSEC_DB_MIN_CONNECTIONS": "2", "PARSEC_DB_MAX_CONNECTIONS": "10"},
            {
                "PARSEC_DB": dsn.replace(self.passwords["db"], "not-the-password"),
                "PARSEC_DB_MIN_CONNECTIONS": "20",
                "PARSEC_DB_MAX_CONNECTIONS": "3",
            },
        ):
            yield

    @contextlib.contextmanager
    def _edited(self, name: str, old: Mapping[str, str], new: Mapping[str, str]) -> Iterator[None]:
        path = self.conf / name
        text = path.read_text(encoding="utf-8")
        edited = text
        for key in old:
            line = next(line for line in text.splitlines() if line.startswith(f"{key}="))
            edited = edited.replace(line, line.replace(old[key], new[key]))
        path.write_text(edited, encoding="utf-8")
        try:
            yield
        finally:
            path.write_text(text, encoding="utf-8")

    # -- the harness, as a user runs it -------------------------------------------------------------

    def check(self, reports: Path, *args: str) -> FeatureRun:
        """``set -a; . deployment.env; set +a; pytest features/ --stack external --deployment deployment.toml``."""
        reports.mkdir(parents=True, exist_ok=True)
        argv = [
            sys.executable, "-m", "pytest", str(PROJECT / "features"), "--stack", "external",
            "--deployment", str(self.toml), "--parsec-version", RELEASE, "--reports-dir", str(reports), *args,
        ]  # fmt: skip
        env = {**os.environ, **self.environ}
        done = subprocess.run(argv, cwd=PROJECT, env=env, capture_output=True, text=True, timeout=600, check=False)
        return FeatureRun(done.returncode, done.stdout + done.stderr, reports)

    # -- take it down --------------------------------------------------------------------------------

    def down(self) -> None:
        errors: list[BaseException] = []
        for service in [self.server, *reversed(self.services)]:
            if service is None:
                continue
            try:
                service.stop()
            except Exception as exc:  # keep stopping the others
                errors.append(exc)
        self.server, self.services = None, []
        if errors:
            raise errors[0]
