"""Self-tests: break a copy of the guide's bundle and see the guide section's own check fail.

A test that cannot fail is a defect. For each of the guide's sections, a child run of the
features gets a bundle (``--bundle``) with breakages in it, runs only that section's scenarios,
and must fail in exactly the scenarios the breakages belong to, each saying what is wrong. A
control runs the same selections on the healthy bundle and must pass.

Breakages of one section (or of two neighbouring sections) share a child run when they do not
mask each other: each one fails its own scenario. A breakage that would hide another behind an
earlier failing step of the same scenario gets a child run of its own.

What a text edit of the bundle cannot break comes from ``tests/faults``: TLS files as an earlier
run or another CA left them (seeded runs only: the guide's script keeps existing files), a bucket
made without object locking, and misbehaviours of the Parsec server itself (an administration
API that takes any token, a bootstrap link that works twice, a migrate that stops short) that no
setting of the release produces. README.md ("What the harness catches") maps each kind of
breakage to the scenario that catches it.

Certificates: the scenarios after section 2 only consume the TLS files, so their child runs get
a bundle that already holds the files the guide's own ``setup-tls.sh`` made once from the
healthy bundle ("seeded"). The harness still runs the script, which keeps them (its idempotence
is section 2's own check); each run is spared ~4 s of RSA 4096 key generation. Sections 1 and 2,
and the checks that run no certificate step, use the bundle as is ("fresh"); each kind has its
own control.

The child runs the selected tests need start together when the first of them asks, WORKERS at a
time (each keeps about one core busy); the whole module (22 child runs and 2 controls) takes
~90 s on two idle cores, ~135 s when they are shared with other work.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.faults import certificates
from tests.runner import BUNDLE, FeatureRun, Scenario, broken_bundle, not_in_the_features, replace_in, run_features
from tests.scenarios import (
    COMPONENT,
    COMPOSE_BACKEND,
    COMPOSE_LOOPBACK,
    COMPOSE_SERVICES,
    DB_ACCESSIBLE,
    DB_MIGRATIONS,
    ENV_DB,
    ENV_PARSEC,
    ENV_REFERENCED,
    ENV_S3,
    ENV_SMTP,
    ENV_TOKEN,
    ENV_VARIABLES,
    ORG_CREATE,
    ORG_ONLY_ADMIN,
    ORG_WRONG_TOKEN,
    S3_BLOCKS,
    S3_CREATE,
    S3_RESTART,
    S3_WRONG_SECRET,
    SERVICES_UP,
    SMTP_PING,
    TLS_AGAIN,
    TLS_CA,
    TLS_GROUP,
    TLS_SERVICE,
    USER_INVITATION,
    USER_JOIN,
)

pytestmark = pytest.mark.selftest

WORKERS = 2  # child runs at a time
COMPOSE = "parsec-server.docker.yaml"
BACKEND_ENVIRONMENT = "      AWS_CA_BUNDLE: /run/secrets/mini-ca-crt\n"
SERVER_FAULTS = Path(__file__).parent / "faults" / "server"  # its sitecustomize.py
FAULTS_VARIABLE = "PARSEC_ACCEPTANCE_FAULTS"


Edit = Callable[[Path], None]


def replace(name: str, old: str, new: str) -> Edit:
    """An edit of the bundle: ``old`` becomes ``new`` in its file ``name`` (``old`` must be there)."""
    return lambda bundle: replace_in(bundle / name, old, new)


def backend_environment(key: str, value: str) -> Edit:
    """Set ``key`` in the ``environment:`` of parsec-backend, which overrides its env files."""
    return replace(COMPOSE, BACKEND_ENVIRONMENT, f"{BACKEND_ENVIRONMENT}      {key}: {value}\n")


def server_fault(name: str) -> Edit:
    """Make the Parsec server misbehave as no setting can (tests/faults/server/sitecustomize.py)."""

    def edit(bundle: Path) -> None:
        listed = f"      {FAULTS_VARIABLE}: "
        if listed in (bundle / COMPOSE).read_text(encoding="utf-8"):
            replace_in(bundle / COMPOSE, listed, f"{listed}{name},")
        else:
            backend_environment("PYTHONPATH", str(SERVER_FAULTS))(bundle)
            backend_environment(FAULTS_VARIABLE, name)(bundle)

    return edit


@dataclass(frozen=True)
class Breakage:
    """One thing broken, and what each scenario it breaks says about it."""

    id: str
    edits: tuple[Edit, ...] = ()
    # scenario -> telling part(s) of its failure message
    fails: dict[Scenario, str | tuple[str, ...]] = field(default_factory=dict)
    hidden_programs: tuple[str, ...] = ()  # left out of the child's PATH
    args: tuple[str, ...] = ()  # given to the child


@dataclass(frozen=True)
class ChildRun:
    """One child run of the features: a broken bundle and the scenarios of one guide section."""

    id: str
    sections: tuple[str, ...]  # feature tags, given to -m
    breakages: tuple[Breakage, ...]
    passes: tuple[Scenario, ...] = ()  # selected scenarios the breakages leave alone
    # Narrows the selection (-k). pytest matches it against test names (it cannot select by a title); a
    # keyword that no longer selects its scenario fails the run's tests, which name the scenarios they expect.
    keyword: str | None = None
    seeded: bool = True  # the bundle holds certificates made beforehand (see the module's doc)

    @property
    def fails(self) -> set[Scenario]:
        return {scenario for breakage in self.breakages for scenario in breakage.fails}

    def selection(self) -> list[str]:
        return ["-m", " or ".join(self.sections), *(["-k", self.keyword] if self.keyword else [])]


RUNS = (
    ChildRun(
        "requirements",
        ("requirements",),
        (
            Breakage(
                "no-openssl",
                hidden_programs=("openssl",),
                fails={
                    COMPONENT.format(
                        "A TLS/SSL server certificate"
                    ): "openssl is not on PATH. How to fix: apt-get install openssl"
                },
            ),
            Breakage(
                "no-bash",
                hidden_programs=("bash",),
                fails={
                    COMPONENT.format(
                        "The guide's shell scripts"
                    ): "bash is not on PATH. How to fix: apt-get install bash"
                },
            ),
            Breakage(
                "parsec-python-not-a-python",
                args=("--parsec-python", "/bin/false"),
                fails={COMPONENT.format("Parsec server and client"): "/bin/false is not a working CPython interpreter"},
            ),
        ),
        passes=tuple(COMPONENT.format(c) for c in ("A PostgreSQL database", "An S3 object storage", "An SMTP server")),
        seeded=False,
    ),
    ChildRun(
        "tls",
        ("tls_certificates",),
        (
            Breakage(
                "ca-rsa-2048",
                (replace("setup-tls.sh", "-nodes -days 10 -newkey rsa:4096", "-nodes -days 10 -newkey rsa:2048"),),
                {TLS_CA: "the guide's CA key is RSA 4096; found RSAPublicKey 2048 bits"},
            ),
            Breakage(
                "backend-key-rsa-2048",
                (
                    replace(
                        "setup-tls.sh",
                        "-noenc -newkey rsa:4096",
                        '-noenc -newkey "rsa:$([ "$name" = parsec-backend ] && echo 2048 || echo 4096)"',
                    ),
                ),
                {TLS_SERVICE.format("parsec-backend"): "parsec-backend.crt has a 2048-bit key"},
            ),
            Breakage(
                "s3-san-without-ip",
                (
                    replace(
                        "setup-tls.sh",
                        '"DNS:$service,DNS:localhost,IP:127.0.0.1"',
                        '"DNS:$service,DNS:localhost$([ "$service" = parsec-s3 ] || echo ,IP:127.0.0.1)"',
                    ),
                ),
                {
                    TLS_SERVICE.format("parsec-s3"): (
                        "names DNS:parsec-s3, DNS:localhost, IP:127.0.0.1; it names DNS:localhost, DNS:parsec-s3"
                    )
                },
            ),
            Breakage(
                "no-chgrp",
                (replace("setup-tls.sh", "chgrp 1234 parsec-backend.key", ":"),),
                {TLS_GROUP: "the group 1234 (the server container's); it has 0"},
            ),
            Breakage(
                "ca-made-again",
                (replace("setup-tls.sh", "if [ ! -f custom-ca.key ]; then", "if true; then"),),
                {TLS_AGAIN: "should change nothing; it changed custom-ca.crt, custom-ca.key"},
            ),
        ),
        seeded=False,
    ),
    ChildRun(
        "tls-files",  # TLS files an earlier run or a hasty fix left behind; the script keeps them
        ("tls_certificates",),
        (
            Breakage(
                "s3-certificate-expired",
                (certificates.expired("parsec-s3"),),
                {TLS_SERVICE.format("parsec-s3"): ("parsec-s3.crt is valid from", "UTC; it is now")},
            ),
            Breakage(
                "backend-key-made-again",
                (certificates.key_made_again("parsec-backend"),),
                {
                    TLS_SERVICE.format("parsec-backend"): (
                        "parsec-backend.key is not the key of parsec-backend.crt: the server could not use them"
                    )
                },
            ),
            Breakage(
                "backend-key-readable-by-all",
                (replace("setup-tls.sh", "640", "644"),),
                {TLS_GROUP: "the guide gives parsec-backend.key mode 640; it has 644"},
            ),
        ),
        passes=(TLS_CA, TLS_AGAIN),
    ),
    ChildRun(
        "tls-issuer-and-dates",
        ("tls_certificates",),
        (
            Breakage(
                "s3-certificate-of-another-ca",
                (certificates.issued_by_another_ca("parsec-s3"),),
                {
                    TLS_SERVICE.format("parsec-s3"): (
                        "parsec-s3.crt should be issued by the custom CA (CN=Mini Certificate Authority); "
                        "its issuer is CN=Another Certificate Authority"
                    )
                },
            ),
            Breakage(
                "backend-certificate-not-yet-valid",
                (certificates.not_yet_valid("parsec-backend"),),
                {TLS_SERVICE.format("parsec-backend"): ("parsec-backend.crt is valid from", "UTC; it is now")},
            ),
        ),
        passes=(TLS_CA, TLS_GROUP, TLS_AGAIN),
    ),
    ChildRun(
        "env-files",
        ("env_files",),
        (
            Breakage(
                "token-in-ENV_FILE",  # the upstream 2.16 defect
                (replace("gen-admin-token.sh", '> "$ENV_FILE")', "> ENV_FILE)"),),
                {
                    ENV_TOKEN: "it wrote a file named ENV_FILE instead",
                    ENV_REFERENCED: "never create: parsec-admin-token.env (parsec-backend env_file)",
                    ENV_VARIABLES: "env file parsec-admin-token.env does not exist",
                },
            ),
            Breakage(
                "db-password-differs",
                (replace("parsec-db.env", "DB_USER:DB_PASS@", "DB_USER:DB_PASSWORD@"),),
                {ENV_DB: "PARSEC_DB's password must be the compose file's POSTGRES_PASSWORD; it differs"},
            ),
            Breakage(
                "smtp-sender-not-an-address",
                (replace("parsec-smtp.env", "PARSEC_EMAIL_SENDER=parsec@test.xyz", "PARSEC_EMAIL_SENDER=parsec"),),
                {ENV_SMTP: "PARSEC_EMAIL_SENDER must be an email address; it is 'parsec'"},
            ),
            Breakage(
                "s3-port-not-escaped",
                (replace("parsec-s3.env", "parsec-s3\\:9000", "parsec-s3:9000"),),
                {ENV_S3: "escape the colon before the port as '\\:'"},
            ),
            Breakage(
                "spontaneous-bootstrap",
                (
                    replace(
                        "parsec.env",
                        "PARSEC_SPONTANEOUS_ORGANIZATION_BOOTSTRAP=false",
                        "PARSEC_SPONTANEOUS_ORGANIZATION_BOOTSTRAP=true",
                    ),
                ),
                {ENV_PARSEC: "PARSEC_SPONTANEOUS_ORGANIZATION_BOOTSTRAP=false, so that only the administrator"},
            ),
        ),
    ),
    ChildRun(
        "env-files-token-again",  # behind the ENV_FILE breakage in the same scenario
        ("env_files",),
        (
            Breakage(
                "new-token-each-run",
                (replace("gen-admin-token.sh", 'if [ ! -f "$ENV_FILE" ]; then', "if true; then"),),
                {ENV_TOKEN: "a second run of gen-admin-token.sh must keep the token; parsec-admin-token.env changed"},
            ),
        ),
        keyword="test_the_administration_token",
        seeded=False,
    ),
    ChildRun(
        "env-files-token-empty",  # behind the ENV_FILE breakage in the same scenario
        ("env_files",),
        (
            Breakage(
                "token-empty",
                (replace("gen-admin-token.sh", "TOKEN=$(openssl rand 63 | base64 --wrap=86)", 'TOKEN=""'),),
                {ENV_TOKEN: "the guide's parsec-admin-token.env sets PARSEC_ADMINISTRATION_TOKEN; it is empty"},
            ),
        ),
        keyword="test_the_administration_token",
        seeded=False,
    ),
    ChildRun(
        "compose-file",
        ("compose_file", "env_files"),
        (
            Breakage(
                "console-on-all-interfaces",
                (replace(COMPOSE, "- 127.0.0.1:9090:9090", '- "9090:9090"'),),
                {COMPOSE_LOOPBACK: "publishes port 9090 of parsec-s3 on 127.0.0.1 only; it is published on all"},
            ),
            Breakage(
                "mail-web-ui-on-all-interfaces",
                (replace(COMPOSE, "- 127.0.0.1:8025:8025", '- "8025:8025"'),),
                {COMPOSE_LOOPBACK: "publishes port 8025 of parsec-smtp on 127.0.0.1 only; it is published on all"},
            ),
            Breakage(
                "server-on-all-interfaces",
                (replace(COMPOSE, "- 127.0.0.1:6777:6777", '- "6777:6777"'),),
                {COMPOSE_LOOPBACK: "publishes port 6777 of parsec-backend on 127.0.0.1 only; it is published on all"},
            ),
            Breakage(
                "secret-file-never-created",
                (replace(COMPOSE, "file: ./parsec-backend.key", "file: ./parsec-backend.pem"),),
                {ENV_REFERENCED: "./parsec-backend.pem (secret parsec-pem-key)"},
            ),
            Breakage(
                "upstream-env-file-names",
                (
                    replace(COMPOSE, "      - parsec-s3.env\n", "      - parsec-blockstore.env\n"),
                    replace(COMPOSE, "      - parsec-smtp.env\n", "      - parsec-email.env\n"),
                ),
                {
                    COMPOSE_BACKEND: "files the guide never creates: parsec-blockstore.env, parsec-email.env",
                    ENV_REFERENCED: "parsec-blockstore.env (parsec-backend env_file), parsec-email.env",
                },
            ),
            Breakage(
                "image-not-pinned",
                (replace(COMPOSE, "quay.io/minio/minio:RELEASE.2023-09-20T22-49-55Z", "quay.io/minio/minio"),),
                {COMPOSE_SERVICES: "names a version; these do not: parsec-s3: quay.io/minio/minio"},
            ),
        ),
        keyword="compose_file or every_file",
    ),
    ChildRun(
        "compose-file-host-network",  # the compose model from the compose CLI sees network_mode
        ("compose_file",),
        (
            Breakage(
                "postgres-on-the-host-network",
                (replace(COMPOSE, "    container_name: parsec-postgres\n", "    network_mode: host\n"),),
                {COMPOSE_LOOPBACK: "parsec-postgres (network_mode: host: every port it listens on)"},
            ),
        ),
        keyword="published_on_127",
    ),
    ChildRun(
        "compose-file-later-steps",  # behind the breakages above in the same scenarios
        ("compose_file",),
        (
            Breakage(
                "postgres-on-all-interfaces",
                (
                    replace(
                        COMPOSE,
                        "      - parsec-db-data:/var/lib/postgresql/data\n",
                        '      - parsec-db-data:/var/lib/postgresql/data\n    ports:\n      - "5432:5432"\n',
                    ),
                ),
                {COMPOSE_LOOPBACK: "these ports are published on all interfaces: parsec-postgres:5432"},
            ),
            Breakage(
                "aws-ca-bundle-not-the-ca",
                (
                    replace(
                        COMPOSE, "AWS_CA_BUNDLE: /run/secrets/mini-ca-crt", "AWS_CA_BUNDLE: /run/secrets/parsec-pem-crt"
                    ),
                ),
                {COMPOSE_BACKEND: "AWS_CA_BUNDLE=/run/secrets/<the CA secret>; it is '/run/secrets/parsec-pem-crt'"},
            ),
            Breakage(
                "another-mail-server",
                (replace(COMPOSE, "image: mailhog/mailhog:v1.0.1", "image: axllent/mailpit:v1.20"),),
                {COMPOSE_SERVICES: "parsec-smtp (A mock SMTP server) runs mailhog/mailhog; found 'axllent/mailpit'"},
            ),
        ),
        seeded=False,
    ),
    ChildRun(
        "starting-services",
        ("starting_services",),
        (
            Breakage(
                "s3-serves-the-backend-certificate",
                (
                    replace(
                        COMPOSE,
                        "./parsec-s3.key:/opts/certs/private.key",
                        "./parsec-backend.key:/opts/certs/private.key",
                    ),
                    replace(
                        COMPOSE, "./parsec-s3.crt:/opts/certs/public.crt", "./parsec-backend.crt:/opts/certs/public.crt"
                    ),
                ),
                {SERVICES_UP: "parsec-s3 should present parsec-s3.crt; it presents CN=parsec-backend"},
            ),
        ),
    ),
    ChildRun(
        "services-do-not-start",  # a failed start is said again, not met as a dead service later
        ("starting_services", "smtp"),
        (
            Breakage(
                "s3-serves-its-key-as-certificate",
                (replace(COMPOSE, "./parsec-s3.crt:/opts/certs/public.crt", "./parsec-s3.key:/opts/certs/public.crt"),),
                {
                    SERVICES_UP: "parsec-s3: the TLS certificate",
                    SMTP_PING: ("parsec-s3: the TLS certificate", "(as when the run first tried it)"),
                },
            ),
        ),
    ),
    ChildRun(
        "database-wrong-password",
        ("database_migration",),
        (
            Breakage(
                "dsn-wrong-password",
                (replace("parsec-db.env", "DB_USER:DB_PASS@", "DB_USER:NOT_DB_PASS@"),),
                {
                    DB_ACCESSIBLE: (
                        "the DSN of parsec-db.env does not connect to the database",
                        'password authentication failed for user "DB_USER"',
                    ),
                    DB_MIGRATIONS: 'password authentication failed for user "DB_USER"',
                },
            ),
        ),
    ),
    ChildRun(
        "database-read-only",
        ("database_migration",),
        (
            Breakage(
                "dsn-read-only-sessions",
                (
                    replace(
                        "parsec-db.env",
                        "5432/parsec\n",
                        "5432/parsec?options=-c%20default_transaction_read_only%3Don\n",
                    ),
                ),
                {
                    DB_MIGRATIONS: (
                        "exited 0 but reports failed migrations",
                        "0001_initial.sql ✘: cannot execute CREATE TABLE in a read-only transaction",
                    )
                },
            ),
        ),
        passes=(DB_ACCESSIBLE,),
    ),
    ChildRun(
        "database-and-s3-credentials",  # two sections, neither breakage hides the other
        ("database_migration", "s3_bucket"),
        (
            Breakage(
                "migrate-stops-short",
                (server_fault("partial-migrations"),),
                {
                    DB_MIGRATIONS: (
                        "migrations; 2 are not applied (neither recorded nor in the schema):",
                        "0014_add_realm_archiving.sql",
                    )
                },
            ),
            Breakage(
                "server-with-a-wrong-s3-secret",
                (replace("parsec-s3.env", ":S3_ROOT_USER:S3_ROOT_PASS", ":S3_ROOT_USER:not-the-s3-secret"),),
                dict.fromkeys(
                    (S3_RESTART, S3_BLOCKS),
                    ("parsec-backend exited with code 1 before it was ready", "HeadBucket operation: Forbidden"),
                ),
            ),
        ),
        passes=(DB_ACCESSIBLE, S3_CREATE, S3_WRONG_SECRET),
    ),
    ChildRun(
        "s3-bucket",
        ("s3_bucket",),
        (
            Breakage(
                "server-configured-with-another-bucket",
                (replace("parsec-s3.env", ":region1:parsec:", ":region1:other:"),),
                dict.fromkeys(
                    (S3_RESTART, S3_BLOCKS),
                    ("parsec-backend exited with code 1 before it was ready", "HeadBucket operation: Not Found"),
                ),
            ),
        ),
        passes=(S3_CREATE, S3_WRONG_SECRET),
    ),
    ChildRun(
        "s3-ca-bundle",
        ("compose_file", "s3_bucket"),
        (
            Breakage(
                "server-without-aws-ca-bundle",
                (replace(COMPOSE, f"    environment:\n{BACKEND_ENVIRONMENT}", ""),),
                {
                    COMPOSE_BACKEND: "trusts the S3 certificate through AWS_CA_BUNDLE=/run/secrets/<the CA secret>",
                    S3_RESTART: ("parsec-backend exited with code 1 before it was ready", "CERTIFICATE_VERIFY_FAILED"),
                    S3_BLOCKS: ("parsec-backend exited with code 1 before it was ready", "CERTIFICATE_VERIFY_FAILED"),
                },
            ),
        ),
        passes=(COMPOSE_SERVICES, COMPOSE_LOOPBACK, S3_CREATE, S3_WRONG_SECRET),
    ),
    ChildRun(
        "s3-lock-and-blockstore",
        ("s3_bucket",),
        (
            Breakage(
                "bucket-without-object-locking",
                args=("-p", "tests.faults.plain_bucket"),
                fails=dict.fromkeys(
                    (S3_CREATE, S3_RESTART),
                    "the guide creates parsec with object locking toggled on; the bucket has no lock configuration",
                ),
            ),
            Breakage(
                "server-stores-blocks-in-postgresql",
                (backend_environment("PARSEC_BLOCKSTORE", "POSTGRESQL"),),
                {
                    S3_BLOCKS: (
                        "stores the data blocks: the server accepted the file blocks-check.bin",
                        "it got no new object",
                    )
                },
            ),
        ),
        passes=(S3_WRONG_SECRET,),
    ),
    ChildRun(
        "smtp",
        ("smtp",),
        (
            Breakage(
                "smtp-port-not-served",
                (replace("parsec-smtp.env", "PARSEC_EMAIL_PORT=1025", "PARSEC_EMAIL_PORT=1026"),),
                {SMTP_PING: ("(1026, published here on 127.0.0.1:1026); it exited 7", "Failed to connect")},
            ),
        ),
    ),
    ChildRun(
        "smtp-login",  # the guide's own script runs: its login is the one checked
        ("smtp",),
        (
            Breakage(
                "ping-with-a-wrong-password",
                (replace("ping-mailhog.sh", ":$PARSEC_EMAIL_HOST_PASSWORD", ":not-the-smtp-password"),),
                {SMTP_PING: "ping-mailhog.sh logged in with another password than PARSEC_EMAIL_HOST_PASSWORD"},
            ),
        ),
    ),
    ChildRun(
        "create-organization",
        ("create_organization",),
        (
            Breakage(
                "server-token-typed-in-compose-file",
                (backend_environment("PARSEC_ADMINISTRATION_TOKEN", "a-token-typed-into-the-compose-file"),),
                {
                    ORG_CREATE: "the server refused the administration token",
                    # Fail too: each confirms its refusal through the administration API with the
                    # token of parsec-admin-token.env, which the server refuses as well.
                    ORG_WRONG_TOKEN: "administration API answers 403, not 404",
                    ORG_ONLY_ADMIN: "administration API answers 403, not 404",
                },
            ),
        ),
    ),
    ChildRun(
        "create-organization-no-token",  # the server does not start: the Background fails
        ("create_organization",),
        (
            Breakage(
                "token-env-file-not-read",
                (replace(COMPOSE, "      - parsec-admin-token.env\n", ""),),
                {
                    ORG_CREATE: (
                        "parsec-backend exited with code 2 before it was ready",
                        "Error: Missing option '--administration-token'.",
                    )
                },
            ),
        ),
        keyword="test_create_the_first_organization",
    ),
    ChildRun(
        "first-user-address",
        ("first_user",),
        (
            Breakage(
                "server-address-typed-in-compose-file",
                (backend_environment("PARSEC_BACKEND_ADDR", "parsec://parsec.example.com:6777"),),
                {USER_INVITATION: "should point at the server's public address 127.0.0.1:"},
            ),
        ),
        passes=(USER_JOIN,),
    ),
    ChildRun(
        "first-user-smtp-login",  # behind the address breakage in the same scenario
        ("first_user",),
        (
            Breakage(
                "smtp-user-typed-in-compose-file",
                (backend_environment("PARSEC_EMAIL_HOST_USER", "someone-else"),),
                {
                    USER_INVITATION: (
                        "should log in to SMTP as PARSEC_EMAIL_HOST_USER (SMTP_USER); it logged in as someone-else"
                    )
                },
            ),
            Breakage(
                "smtp-password-typed-in-compose-file",
                (backend_environment("PARSEC_EMAIL_HOST_PASSWORD", "not-the-smtp-password"),),
                {USER_INVITATION: "logged in to SMTP with another password than PARSEC_EMAIL_HOST_PASSWORD"},
            ),
        ),
        passes=(USER_JOIN,),
    ),
    ChildRun(
        "organization-and-first-user-faults",  # two sections, no breakage hides another
        ("create_organization", "first_user"),
        (
            Breakage(
                "server-accepts-any-token",
                (server_fault("any-admin-token"),),
                {ORG_WRONG_TOKEN: "create_organization Intruder succeeded with a wrong administration token"},
            ),
            Breakage(
                "spontaneous-bootstrap-on-the-server",
                (backend_environment("PARSEC_SPONTANEOUS_ORGANIZATION_BOOTSTRAP", "true"),),
                {
                    ORG_ONLY_ADMIN: (
                        "the server let a client bootstrap Unannounced, an organization the administrator never created"
                    )
                },
            ),
            Breakage(
                "bootstrap-link-works-twice",
                (server_fault("reusable-bootstrap"),),
                {USER_JOIN: "the bootstrap link was accepted a second time"},
            ),
            Breakage(
                "server-mails-to-a-port-nobody-serves",
                (backend_environment("PARSEC_EMAIL_PORT", "1026"),),
                {USER_INVITATION: "reported 'Email could not be sent'"},
            ),
        ),
        passes=(ORG_CREATE,),
    ),
    ChildRun(
        "refusals-of-another-kind",  # each refusal check, on a server that fails instead of refusing
        ("create_organization", "first_user"),
        (
            Breakage(
                "errors-instead-of-refusals",
                (server_fault("errors-instead-of-refusals"),),
                {
                    ORG_WRONG_TOKEN: (
                        "should be refused because the administration token is refused; it failed otherwise",
                        "HTTP Error 503",
                    ),
                    ORG_ONLY_ADMIN: (
                        "should refuse the bootstrap of Unannounced because the organization does not exist; "
                        "the bootstrap failed otherwise",
                        "HTTP Error 503",
                    ),
                    USER_JOIN: (
                        "should be refused because the organization is already bootstrapped; it failed otherwise"
                    ),
                },
            ),
        ),
        passes=(ORG_CREATE, USER_INVITATION),
    ),
)

RUNS_BY_ID = {run.id: run for run in RUNS}
HEALTHY = {False: "healthy-fresh", True: "healthy-seeded"}  # the controls, by seeded


# -- running the children --------------------------------------------------------------------


def path_without(programs: Iterable[str], directory: Path) -> str:
    """A PATH that finds every program of this one but ``programs`` (as symbolic links)."""
    hidden = set(programs)
    directory.mkdir(parents=True, exist_ok=True)
    for entry in os.environ.get("PATH", "").split(os.pathsep):
        folder = Path(entry)
        if not folder.is_dir():
            continue
        for program in folder.iterdir():
            link = directory / program.name
            if program.name not in hidden and not link.exists() and not link.is_symlink():
                link.symlink_to(program)
    return str(directory)


@dataclass(frozen=True)
class Plan:
    """How to make one child run."""

    edits: tuple[Edit, ...]
    args: tuple[str, ...]
    seeded: bool
    hidden_programs: tuple[str, ...] = ()


def plan(key: str) -> Plan:
    """The plan of a ChildRun by its id, or of a control (``healthy-fresh``, ``healthy-seeded``)."""
    if key in HEALTHY.values():
        seeded = key == HEALTHY[True]
        sections = sorted({s for run in RUNS if run.seeded == seeded for s in run.sections})
        return Plan((), ("-m", " or ".join(sections)), seeded)
    run = RUNS_BY_ID[key]
    return Plan(
        edits=tuple(e for b in run.breakages for e in b.edits),
        args=(*run.selection(), *(a for b in run.breakages for a in b.args)),
        seeded=run.seeded,
        hidden_programs=tuple(p for b in run.breakages for p in b.hidden_programs),
    )


class Children:
    """The child runs, WORKERS at a time, each started once and kept for the module's tests."""

    def __init__(self, factory: pytest.TempPathFactory) -> None:
        self._factory = factory
        self._pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="selftest")
        self._runs: dict[str, Future[FeatureRun]] = {}
        self._certificates: list[Path] | None = None

    def start(self, keys: Iterable[str]) -> None:
        """Queue ``keys``: fresh ones first, as the seeded ones wait for the certificates; controls first."""
        for key in sorted(keys, key=lambda k: (plan(k).seeded, k not in HEALTHY.values())):
            self._submit(key)

    def result(self, key: str) -> FeatureRun:
        return self._submit(key).result()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _submit(self, key: str) -> Future[FeatureRun]:
        if key not in self._runs:
            how = plan(key)
            tmp = self._factory.mktemp(key)
            certificates = self._made_certificates() if how.seeded else []

            def edit(bundle: Path) -> None:
                for path in certificates:
                    shutil.copy2(path, bundle / path.name)
                for change in how.edits:
                    change(bundle)

            bundle = broken_bundle(tmp, edit)
            env = {"PATH": path_without(how.hidden_programs, tmp / "path")} if how.hidden_programs else {}
            self._runs[key] = self._pool.submit(run_features, tmp, *how.args, bundle=bundle, env=env)
        return self._runs[key]

    def _made_certificates(self) -> list[Path]:
        """The files setup-tls.sh makes, made once from the healthy bundle."""
        if self._certificates is None:
            work = self._factory.mktemp("certificates") / "bundle"
            shutil.copytree(BUNDLE, work)
            before = {p.name for p in work.iterdir()}
            result = subprocess.run(
                ["bash", "setup-tls.sh"], cwd=work, capture_output=True, text=True, timeout=300, check=False
            )
            assert result.returncode == 0, f"self-test setup: setup-tls.sh failed:\n{result.stdout}{result.stderr}"
            self._certificates = sorted(p for p in work.iterdir() if p.name not in before)
        return self._certificates


@pytest.fixture(scope="module")
def children(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Children]:
    """Starts every child run the selected tests of this module need, WORKERS at a time."""
    keys: dict[str, None] = {}
    for item in request.session.items:
        callspec = getattr(item, "callspec", None)
        if getattr(item, "module", None) is request.module and callspec is not None:
            if "run_id" in callspec.params:
                keys[callspec.params["run_id"]] = None
            elif "seeded" in callspec.params:
                keys[HEALTHY[callspec.params["seeded"]]] = None
    runs = Children(tmp_path_factory)
    try:
        runs.start(keys)
        yield runs
    finally:
        runs.close()


def _show(run: FeatureRun) -> str:
    return "\n--- child output (tail) ---\n" + run.output[-6000:]


def _ends(outcomes: dict[Scenario, str]) -> str:
    return "".join(f"\n  {state}: {scenario}" for scenario, state in outcomes.items()) or " (no scenario)"


# -- the self-tests --------------------------------------------------------------------------


def test_the_scenarios_named_here_are_in_the_features() -> None:
    """A scenario renamed in its feature file fails here, by name, before any child run."""
    named = {scenario for run in RUNS for scenario in (*run.fails, *run.passes)}
    missing = not_in_the_features(named)
    assert not missing, "the self-tests name scenarios no feature has:\n  " + "\n  ".join(missing)


@pytest.mark.parametrize(
    ("run_id", "breakage"),
    [pytest.param(run.id, breakage, id=f"{run.id}-{breakage.id}") for run in RUNS for breakage in run.breakages],
)
def test_breakage_fails_its_scenario_saying_why(children: Children, run_id: str, breakage: Breakage) -> None:
    """The scenario the breakage belongs to fails, and its failure names the problem."""
    run = children.result(run_id)
    assert run.returncode != 0, f"the features passed with the breakage {breakage.id}" + _show(run)
    for scenario, message in breakage.fails.items():
        outcome = run.outcome(scenario)  # fails, saying why, if the run has no such scenario
        assert scenario in run.failed(), f"{scenario} did not fail with the breakage {breakage.id}" + _show(run)
        for says in (message,) if isinstance(message, str) else message:
            assert says in outcome.message, (
                f"{scenario} failed, but without saying {says!r}:\n{outcome.message[-3000:]}"
            )
            assert says in run.output, f"{says!r} is in the report, not in the output" + _show(run)


@pytest.mark.parametrize("run_id", [run.id for run in RUNS])
def test_only_the_broken_scenarios_fail(children: Children, run_id: str) -> None:
    """The selection is what the self-test means, and no other scenario fails."""
    spec = RUNS_BY_ID[run_id]
    expected = {scenario: "failed" for scenario in spec.fails} | {scenario: "passed" for scenario in spec.passes}
    missing = not_in_the_features(expected)
    assert not missing, f"{run_id} names scenarios no feature has: {', '.join(missing)}"
    run = children.result(run_id)
    outcomes = run.outcomes()
    assert outcomes == expected, (
        f"with the breakages {', '.join(b.id for b in spec.breakages)}, the scenarios should end:{_ends(expected)}\n"
        f"they end:{_ends(outcomes)}" + _show(run)
    )


@pytest.mark.parametrize("seeded", [False, True], ids=["fresh", "seeded"])
def test_the_healthy_bundle_passes_the_same_selections(children: Children, seeded: bool) -> None:
    """The control: without the breakages, every scenario the self-tests select passes."""
    run = children.result(HEALTHY[seeded])
    outcomes = run.outcomes()
    selected = {s for spec in RUNS if spec.seeded == seeded for s in (*spec.fails, *spec.passes)}
    assert run.returncode == 0 and set(outcomes.values()) == {"passed"}, (
        f"the healthy bundle should pass; failed: {', '.join(map(str, run.failed()))}" + _show(run)
    )
    assert selected <= set(outcomes), f"the control did not run {', '.join(sorted(map(str, selected - set(outcomes))))}"


LINK_TOKEN = re.compile(r"[?&](?:token|p)=[0-9A-Za-z_-]{16,}")


@pytest.mark.parametrize("run_id", [run.id for run in RUNS])
def test_a_broken_run_shows_no_link_token(children: Children, run_id: str) -> None:
    """Failures print client output; the bootstrap and invitation tokens in it stay redacted."""
    run = children.result(run_id)
    leaked = sorted({match.group(0)[:12] + "…" for match in LINK_TOKEN.finditer(run.output)})
    assert not leaked, f"the output of a broken run shows link tokens: {', '.join(leaked)} (not shown in full)"
