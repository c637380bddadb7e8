"""The env files: each exists, parses, and holds what the guide says.

The scenarios of the server's env files check what the guide requires on every deployment and,
where the guide's own files run, its example values too (``EnvFileChecks``); each step adds its
checks and the scenario's last step reports every one that fails.
"""

from __future__ import annotations

import base64
import binascii
from email.utils import parseaddr
from urllib.parse import urlsplit

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pytest_bdd import parsers, then

from fixtures.blockstore import parse_blockstore, split_escaped
from fixtures.bundle import Bundle
from fixtures.errors import BundleError, NotChecked
from fixtures.living_guide.evidence import Evidence
from fixtures.releases import Release
from fixtures.sections.admin_token import TOKEN_FILE, TOKEN_VARIABLE
from fixtures.sections.compose_file import ComposeFileSection
from fixtures.sections.env_files import CheckFailed, EnvFileChecks, EnvFilesSection
from steps.common import ScriptRun, server_named, server_step

SECRETS_DIR = "/run/secrets/"


@then(parsers.parse('"{name}" holds PARSEC_ADMINISTRATION_TOKEN made of 63 random bytes'))
def token_file(env_files: EnvFilesSection, name: str) -> None:
    path = env_files.path(name)
    stray = env_files.path("ENV_FILE")
    assert path.is_file(), f"gen-admin-token.sh should create {name}; it does not exist" + (
        " (it wrote a file named ENV_FILE instead: the upstream 2.16 defect)" if stray.exists() else ""
    )
    length = _decoded_length(_setting(env_files.read(name), name, TOKEN_VARIABLE))
    assert length is not None, f"{TOKEN_VARIABLE} should be base64 of random bytes; it does not decode"
    assert length == 63, f"the guide's token is 63 random bytes (openssl rand 63); it holds {length}"


def _decoded_length(token: str) -> int | None:
    """How many bytes a base64 token holds (the bytes stay out of the step's locals)."""
    try:
        return len(base64.b64decode(token, validate=True))
    except binascii.Error:
        return None


@then("the administration token is unchanged")
def token_unchanged(script_run: ScriptRun) -> None:
    before, after = script_run.before.get(TOKEN_FILE), script_run.after.get(TOKEN_FILE)
    assert before is not None, f"{TOKEN_FILE} did not exist before the second run"
    assert after is not None and before[0] == after[0], (
        f"a second run of gen-admin-token.sh must keep the token; {TOKEN_FILE} "
        + ("disappeared" if after is None else "changed")
    )


@pytest.fixture
def env_checks(env_files: EnvFilesSection) -> EnvFileChecks:
    """The scenario's checks of the env files, reported together by its last step."""
    return env_files.checks()


def _setting(env: dict[str, str], file: str, key: str) -> str:
    value = env.get(key)
    if not value:
        raise CheckFailed(f"the guide's {file} sets {key}; it is {'empty' if key in env else 'absent'}")
    return value


def _expect(holds: bool, message: str) -> None:
    if not holds:
        raise CheckFailed(message)


def require_sender_and_login(env_files: EnvFilesSection, env_checks: EnvFileChecks, name: str) -> None:
    """Adds the checks that env file ``name`` sets the emails' sender address and the SMTP login."""

    def sender() -> None:
        value = _setting(env_files.read(name), name, "PARSEC_EMAIL_SENDER")
        _expect("@" in parseaddr(value)[1], f"PARSEC_EMAIL_SENDER must be an email address; it is {value!r}")

    def login() -> None:
        env = env_files.read(name)
        _setting(env, name, "PARSEC_EMAIL_HOST_USER")
        _setting(env, name, "PARSEC_EMAIL_HOST_PASSWORD")

    env_checks.require("PARSEC_EMAIL_SENDER is an email address", sender)
    env_checks.require("the SMTP login: PARSEC_EMAIL_HOST_USER and PARSEC_EMAIL_HOST_PASSWORD", login)


@then(parsers.parse('"{name}" sets PARSEC_DB to the PostgreSQL database of the compose file'))
def db_dsn(env_files: EnvFilesSection, compose_file: ComposeFileSection, env_checks: EnvFileChecks, name: str) -> None:
    database_service = compose_file.roles.database

    def scheme() -> None:
        found = urlsplit(_setting(env_files.read(name), name, "PARSEC_DB")).scheme
        _expect(found in ("postgresql", "postgres"), f"PARSEC_DB is a postgresql:// URL; its scheme is {found}")

    def same_database() -> None:
        server = urlsplit(_setting(env_files.read(name), name, "PARSEC_DB"))
        reached = urlsplit(env_files.reached_dsn(server.geturl()))
        differ = [
            what
            for what, mine, theirs in (
                ("user", server.username, reached.username),
                ("password", server.password, reached.password),
                ("database", server.path, reached.path),
            )
            if mine != theirs
        ]
        _expect(
            not differ,
            f"the server's PARSEC_DB ({name}: user {server.username}, database {server.path.lstrip('/')} "
            f"at {server.hostname}:{server.port}) and the database the harness checks (user {reached.username}, "
            f"database {reached.path.lstrip('/')} at {reached.hostname}:{reached.port}) differ in " + ", ".join(differ),
        )

    def service_name() -> None:
        host = urlsplit(_setting(env_files.read(name), name, "PARSEC_DB")).hostname
        _expect(host == database_service, f"PARSEC_DB reaches the service {database_service}; it names {host}")

    def container_port() -> None:
        port = urlsplit(_setting(env_files.read(name), name, "PARSEC_DB")).port
        _expect((port or 5432) == 5432, f"PostgreSQL listens on 5432 in its container; PARSEC_DB says {port}")

    def compose_login() -> None:
        found = urlsplit(_setting(env_files.read(name), name, "PARSEC_DB"))
        db = compose_file.service(database_service).environment
        _expect(
            found.username == db.get("POSTGRES_USER"),
            f"PARSEC_DB's user must be the compose file's POSTGRES_USER ({db.get('POSTGRES_USER')}); "
            f"it is {found.username}",
        )
        _expect(
            found.password == db.get("POSTGRES_PASSWORD"),
            "PARSEC_DB's password must be the compose file's POSTGRES_PASSWORD; it differs",
        )
        database = db.get("POSTGRES_DB") or db.get("POSTGRES_USER")
        _expect(
            found.path.lstrip("/") == database,
            f"PARSEC_DB's database must be the compose file's POSTGRES_DB ({database}); it is {found.path.lstrip('/')}",
        )

    env_checks.require("PARSEC_DB is a postgresql:// URL", scheme)
    env_checks.require("PARSEC_DB names the database the harness checks, with the same login", same_database)
    env_checks.example(f"PARSEC_DB reaches the service {database_service}", service_name)
    env_checks.example("PARSEC_DB uses PostgreSQL's port 5432", container_port)
    env_checks.example("PARSEC_DB logs in as the compose file's POSTGRES_USER into POSTGRES_DB", compose_login)


@then(parsers.parse('"{name}" sets PARSEC_DB_MIN_CONNECTIONS to "{low}" and PARSEC_DB_MAX_CONNECTIONS to "{high}"'))
def connection_limits(env_files: EnvFilesSection, env_checks: EnvFileChecks, name: str, low: str, high: str) -> None:
    def limits() -> None:
        env = env_files.read(name)
        values = [_setting(env, name, key) for key in ("PARSEC_DB_MIN_CONNECTIONS", "PARSEC_DB_MAX_CONNECTIONS")]
        _expect(
            all(v.isdigit() and int(v) > 0 for v in values) and int(values[0]) <= int(values[1]),
            "PARSEC_DB_MIN_CONNECTIONS and PARSEC_DB_MAX_CONNECTIONS are connection counts, the minimum not above "
            f"the maximum; they are {values[0]!r} and {values[1]!r}",
        )

    def guide_values() -> None:
        env = env_files.read(name)
        for key, value in (("PARSEC_DB_MIN_CONNECTIONS", low), ("PARSEC_DB_MAX_CONNECTIONS", high)):
            _expect(env.get(key) == value, f"the guide's {name} sets {key}={value}; found {env.get(key)!r}")

    env_checks.require("the connection limits are counts, the minimum not above the maximum", limits)
    env_checks.example(f"the connection limits are {low} and {high}", guide_values)


@then(parsers.parse('"{name}" sets PARSEC_EMAIL_HOST and PARSEC_EMAIL_PORT to the SMTP service of the compose file'))
def smtp_host(
    env_files: EnvFilesSection, compose_file: ComposeFileSection, env_checks: EnvFileChecks, name: str
) -> None:
    smtp_service = compose_file.roles.smtp

    def address() -> str:
        env = env_files.read(name)
        host, port = _setting(env, name, "PARSEC_EMAIL_HOST"), _setting(env, name, "PARSEC_EMAIL_PORT")
        _expect(port.isdigit(), f"PARSEC_EMAIL_PORT is a port number; it is {port!r}")
        return f"{host}:{port}"

    def accepts_login() -> None:
        import smtplib

        env = env_files.read(name)
        address()
        user = _setting(env, name, "PARSEC_EMAIL_HOST_USER")
        password = _setting(env, name, "PARSEC_EMAIL_HOST_PASSWORD")
        host, _, port = env_files.smtp_endpoint().rpartition(":")
        try:
            with smtplib.SMTP(host, int(port), timeout=10) as smtp:
                smtp.ehlo()
                if env.get("PARSEC_EMAIL_USE_TLS", "").lower() in ("true", "1", "yes"):
                    smtp.starttls()
                    smtp.ehlo()
                smtp.login(user, password)
        except smtplib.SMTPAuthenticationError as exc:
            raise CheckFailed(
                f"the SMTP server at {host}:{port} accepts the server's login ({user}); it refused it: "
                f"{exc.smtp_code} {exc.smtp_error!r}"
            ) from None
        except smtplib.SMTPNotSupportedError:
            raise CheckFailed(
                f"the SMTP server at {host}:{port} offers AUTH for the server's login; it does not"
            ) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise CheckFailed(f"the SMTP server the harness checks answers at {host}:{port}; {exc}") from None

    def service_name() -> None:
        env = env_files.read(name)
        host, port = env.get("PARSEC_EMAIL_HOST"), env.get("PARSEC_EMAIL_PORT", "")
        _expect(host == smtp_service, f"PARSEC_EMAIL_HOST must name the service {smtp_service}; it is {host!r}")
        ports = {p.container_port for p in compose_file.service(smtp_service).ports}
        _expect(
            port.isdigit() and int(port) in ports,
            f"PARSEC_EMAIL_PORT must be a port {smtp_service} serves ({', '.join(map(str, sorted(ports)))}); "
            f"it is {port!r}",
        )

    env_checks.require("the SMTP server answers and accepts the login of the server's settings", accepts_login)
    env_checks.example(f"PARSEC_EMAIL_HOST and PARSEC_EMAIL_PORT name the service {smtp_service}", service_name)


@then(parsers.parse('"{name}" sets the sender, the user, the password and the language of the emails'))
def smtp_identity(env_files: EnvFilesSection, env_checks: EnvFileChecks, name: str) -> None:
    require_sender_and_login(env_files, env_checks, name)

    def language() -> None:
        if not env_files.release_reads("PARSEC_EMAIL_LANGUAGE"):
            raise NotChecked(
                f"Parsec {env_files.context.release.version} has no setting for the language of the emails "
                "(it reads no PARSEC_EMAIL_LANGUAGE)"
            )
        _setting(env_files.read(name), name, "PARSEC_EMAIL_LANGUAGE")

    env_checks.example("PARSEC_EMAIL_LANGUAGE is set, where the release reads it", language)


@then(parsers.parse('"{name}" sets PARSEC_BLOCKSTORE to the bucket "{bucket}" of the S3 service of the compose file'))
def blockstore(
    env_files: EnvFilesSection, compose_file: ComposeFileSection, env_checks: EnvFileChecks, name: str, bucket: str
) -> None:
    s3_service = compose_file.roles.s3

    def store() -> object:
        value = _setting(env_files.read(name), name, "PARSEC_BLOCKSTORE")
        try:
            return parse_blockstore(value)
        except BundleError as exc:
            raise CheckFailed(exc.detail() + (f" ({exc.fix})" if exc.fix else "")) from None

    def parses() -> None:
        store()

    def same_s3() -> None:
        found = parse_blockstore(_setting(env_files.read(name), name, "PARSEC_BLOCKSTORE"))
        access = env_files.s3_access()
        differ = []
        if access.bucket is not None and found.bucket != access.bucket:
            differ.append(f"the bucket ({found.bucket} / {access.bucket})")
        if found.key != access.access_key:
            differ.append(f"the access key ({found.key} / {access.access_key})")
        if found.secret != access.secret_key:
            differ.append("the secret key")
        _expect(
            not differ,
            f"the server's PARSEC_BLOCKSTORE ({name}) and the S3 service the harness checks differ in "
            + ", ".join(differ),
        )

    def service_name() -> None:
        found = parse_blockstore(_setting(env_files.read(name), name, "PARSEC_BLOCKSTORE"))
        host = found.endpoint.split("://")[-1].rsplit(":", 1)[0]
        _expect(
            host == s3_service,
            f"PARSEC_BLOCKSTORE's endpoint must be the service {s3_service}; it is {found.endpoint!r}",
        )

    def guide_bucket() -> None:
        found = parse_blockstore(_setting(env_files.read(name), name, "PARSEC_BLOCKSTORE"))
        _expect(found.bucket == bucket, f"the guide's bucket is {bucket!r}; PARSEC_BLOCKSTORE names {found.bucket!r}")

    def root_login() -> None:
        found = parse_blockstore(_setting(env_files.read(name), name, "PARSEC_BLOCKSTORE"))
        s3 = compose_file.service(s3_service).environment
        _expect(
            found.key == s3.get("MINIO_ROOT_USER"),
            f"PARSEC_BLOCKSTORE's key must be MINIO_ROOT_USER of the compose file ({s3.get('MINIO_ROOT_USER')}); "
            f"it is {found.key!r}",
        )
        _expect(
            found.secret == s3.get("MINIO_ROOT_PASSWORD"),
            "PARSEC_BLOCKSTORE's secret must be MINIO_ROOT_PASSWORD of the compose file; it differs",
        )

    env_checks.require("PARSEC_BLOCKSTORE is s3:<endpoint>:<region>:<bucket>:<key>:<secret>", parses)
    env_checks.require("PARSEC_BLOCKSTORE names the bucket and the login the harness checks", same_s3)
    env_checks.example(f"PARSEC_BLOCKSTORE's endpoint is the service {s3_service}", service_name)
    env_checks.example(f"PARSEC_BLOCKSTORE's bucket is {bucket}", guide_bucket)
    env_checks.example("PARSEC_BLOCKSTORE logs in with the compose file's MINIO_ROOT_USER/PASSWORD", root_login)


@then("the port in PARSEC_BLOCKSTORE is escaped with a backslash")
def blockstore_escaped(env_files: EnvFilesSection, env_checks: EnvFileChecks) -> None:
    def escaped() -> None:
        value = _setting(env_files.read("parsec-s3.env"), "parsec-s3.env", "PARSEC_BLOCKSTORE")
        fields = split_escaped(value)
        endpoint = fields[1] if len(fields) > 1 else ""
        _expect(
            ":" in endpoint and "\\:" in value,
            f"the guide escapes the ':' before the S3 port as '\\:'; PARSEC_BLOCKSTORE's endpoint reads {endpoint!r}",
        )

    env_checks.require("the ':' before the S3 port is escaped as '\\:'", escaped)


@then(server_step('"{name}" sets the TLS key and certificate to the secrets of the {server} service'))
def tls_secrets(
    env_files: EnvFilesSection,
    compose_file: ComposeFileSection,
    env_checks: EnvFileChecks,
    bundle: Bundle,
    name: str,
    server_name: str,
) -> None:
    server_service = server_named(bundle, server_name)

    def files() -> tuple[str, str]:
        env = env_files.read(name)
        return _setting(env, name, "PARSEC_SSL_KEYFILE"), _setting(env, name, "PARSEC_SSL_CERTFILE")

    def certificate() -> x509.Certificate:
        path = files()[1]
        found = env_files.host_file(path)
        _expect(bool(found.is_file), f"PARSEC_SSL_CERTFILE names {path}; there is no such file")  # type: ignore[attr-defined]
        try:
            return x509.load_pem_x509_certificate(found.content)  # type: ignore[attr-defined]
        except ValueError as exc:
            raise CheckFailed(f"PARSEC_SSL_CERTFILE ({path}) is a PEM certificate; it does not load: {exc}") from None

    def key_private() -> None:
        path = files()[0]
        found = env_files.host_file(path)
        _expect(bool(found.is_file), f"PARSEC_SSL_KEYFILE names {path}; there is no such file")  # type: ignore[attr-defined]
        mode = found.mode  # type: ignore[attr-defined]
        _expect(not mode & 0o007, f"the server's private key {path} is not readable by others; its mode is {mode:o}")

    def served() -> None:
        served_der = env_files.served_certificate()
        mine = certificate().public_bytes(serialization.Encoding.DER)
        _expect(
            served_der == mine,
            f"{server_service} serves the certificate PARSEC_SSL_CERTFILE names ({files()[1]}); it serves another",
        )

    def secrets_paths() -> None:
        env = env_files.read(name)
        server = compose_file.service(server_service)
        for key, file in (
            ("PARSEC_SSL_KEYFILE", f"{server_service}.key"),
            ("PARSEC_SSL_CERTFILE", f"{server_service}.crt"),
        ):
            value = _setting(env, name, key)
            _expect(value.startswith(SECRETS_DIR), f"{key} must be a secret under {SECRETS_DIR}; it is {value!r}")
            secret = value[len(SECRETS_DIR) :]
            _expect(secret in server.secrets, f"{key} names the secret {secret!r}, which {server_service} does not get")
            source = compose_file.secrets.get(secret, "")
            _expect(source.removeprefix("./") == file, f"the secret {secret} should be ./{file}; it is {source!r}")

    env_checks.require("PARSEC_SSL_CERTFILE names a PEM certificate", lambda: None if certificate() else None)
    env_checks.require("PARSEC_SSL_KEYFILE names a key file not readable by others", key_private)
    env_checks.require("the server serves the certificate PARSEC_SSL_CERTFILE names", served)
    env_checks.example(
        f"the key and certificate are the secrets under {SECRETS_DIR} of {server_service}", secrets_paths
    )


@then(server_step('"{name}" sets the server\'s public address to the address {server} is published on'))
def public_address(
    env_files: EnvFilesSection,
    compose_file: ComposeFileSection,
    release: Release,
    env_checks: EnvFileChecks,
    bundle: Bundle,
    name: str,
    server_name: str,
) -> None:
    server_service = server_named(bundle, server_name)
    key = release.adapter.public_address_variable

    def address() -> str:
        value = _setting(env_files.read(name), name, key)
        scheme = urlsplit(value).scheme
        _expect(
            scheme == release.adapter.address_scheme,
            f"{key} must be a {release.adapter.address_scheme}:// address; it is {value!r}",
        )
        return value

    def clients_use() -> None:
        value = address()
        used = env_files.public_address(value)
        _expect(
            urlsplit(env_files.reached(value)).netloc == urlsplit(used).netloc,
            f"{key} ({value}) must be the address clients use ({used}); they differ",
        )

    def published() -> None:
        found = urlsplit(address())
        ports = [(p.host_ip, p.host_port) for p in compose_file.published(server_service)]
        _expect(
            any(port == found.port and ip in (None, found.hostname) for ip, port in ports),
            f"{key} ({found.hostname}:{found.port}) must be where {server_service} is published "
            f"({', '.join(f'{ip}:{port}' for ip, port in ports) or 'nowhere'})",
        )

    env_checks.require(f"{key} is a {release.adapter.address_scheme}:// address", lambda: None if address() else None)
    env_checks.require(f"{key} is the address clients use", clients_use)
    env_checks.example(f"{key} is where the compose file publishes {server_service}", published)


@then(parsers.parse('"{name}" disables the spontaneous organization bootstrap'))
def no_spontaneous_bootstrap(env_files: EnvFilesSection, env_checks: EnvFileChecks, name: str) -> None:
    def disabled() -> None:
        value = env_files.read(name).get("PARSEC_SPONTANEOUS_ORGANIZATION_BOOTSTRAP", "")
        _expect(
            value.lower() == "false",
            "the guide sets PARSEC_SPONTANEOUS_ORGANIZATION_BOOTSTRAP=false, so that only the administrator "
            f"creates organizations; it is {value!r}",
        )

    env_checks.require("PARSEC_SPONTANEOUS_ORGANIZATION_BOOTSTRAP is false", disabled)


@then(parsers.parse('none of the checks of "{name}" fails'))
def no_check_fails(env_checks: EnvFileChecks, evidence: Evidence, name: str) -> None:
    evidence.record(f"{name}: what was checked", env_checks.summary())
    env_checks.verdict()


@then("every env file, secret and volume file the compose file references exists")
def references_exist(env_files: EnvFilesSection, compose_file: ComposeFileSection) -> None:
    missing = [
        f"{path} ({what})"
        for what, path in compose_file.referenced_files()
        if not env_files.exists(path.removeprefix("./"))
    ]
    assert not missing, "the compose file references files the guide's steps never create: " + ", ".join(missing)
