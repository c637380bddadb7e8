"""The env files: each exists, parses, and holds what the guide says."""

from __future__ import annotations

import base64
import binascii
from email.utils import parseaddr
from urllib.parse import urlsplit

from pytest_bdd import parsers, then

from fixtures import bundle as b
from fixtures.blockstore import parse_blockstore, split_escaped
from fixtures.releases import Release
from fixtures.sections.admin_token import TOKEN_FILE, TOKEN_VARIABLE
from fixtures.sections.compose_file import ComposeFileSection
from fixtures.sections.env_files import EnvFilesSection
from steps.common import ScriptRun

SECRETS_DIR = "/run/secrets/"


def _get(env: dict[str, str], file: str, key: str) -> str:
    value = env.get(key)
    assert value, f"the guide's {file} sets {key}; it is {'empty' if key in env else 'absent'}"
    return value


@then(parsers.parse('"{name}" holds PARSEC_ADMINISTRATION_TOKEN made of 63 random bytes'))
def token_file(env_files: EnvFilesSection, name: str) -> None:
    path = env_files.path(name)
    stray = env_files.path("ENV_FILE")
    assert path.is_file(), f"gen-admin-token.sh should create {name}; it does not exist" + (
        " (it wrote a file named ENV_FILE instead: the upstream 2.16 defect)" if stray.exists() else ""
    )
    length = _decoded_length(_get(env_files.read(name), name, TOKEN_VARIABLE))
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


@then(parsers.parse('"{name}" sets PARSEC_DB to the PostgreSQL database of the compose file'))
def db_dsn(env_files: EnvFilesSection, compose_file: ComposeFileSection, name: str) -> None:
    dsn = urlsplit(_get(env_files.read(name), name, "PARSEC_DB"))
    db = compose_file.service(b.DATABASE).environment
    assert dsn.scheme in ("postgresql", "postgres"), f"PARSEC_DB is a postgresql:// URL; its scheme is {dsn.scheme}"
    assert dsn.hostname == b.DATABASE, f"PARSEC_DB reaches the service {b.DATABASE}; it names {dsn.hostname}"
    assert (dsn.port or 5432) == 5432, f"PostgreSQL listens on 5432 in its container; PARSEC_DB says {dsn.port}"
    assert dsn.username == db.get("POSTGRES_USER"), (
        f"PARSEC_DB's user must be the compose file's POSTGRES_USER ({db.get('POSTGRES_USER')}); it is {dsn.username}"
    )
    assert dsn.password == db.get("POSTGRES_PASSWORD"), (
        "PARSEC_DB's password must be the compose file's POSTGRES_PASSWORD; it differs"
    )
    database = db.get("POSTGRES_DB") or db.get("POSTGRES_USER")
    assert dsn.path.lstrip("/") == database, (
        f"PARSEC_DB's database must be the compose file's POSTGRES_DB ({database}); it is {dsn.path.lstrip('/')}"
    )


@then(parsers.parse('"{name}" sets {key1} to "{value1}" and {key2} to "{value2}"'))
def two_values(env_files: EnvFilesSection, name: str, key1: str, value1: str, key2: str, value2: str) -> None:
    env = env_files.read(name)
    for key, value in ((key1, value1), (key2, value2)):
        assert env.get(key) == value, f"the guide's {name} sets {key}={value}; found {env.get(key)!r}"


@then(parsers.parse('"{name}" sets PARSEC_EMAIL_HOST and PARSEC_EMAIL_PORT to the SMTP service of the compose file'))
def smtp_host(env_files: EnvFilesSection, compose_file: ComposeFileSection, name: str) -> None:
    env = env_files.read(name)
    host = _get(env, name, "PARSEC_EMAIL_HOST")
    port = _get(env, name, "PARSEC_EMAIL_PORT")
    assert host == b.SMTP, f"PARSEC_EMAIL_HOST must name the service {b.SMTP}; it is {host!r}"
    ports = {p.container_port for p in compose_file.service(b.SMTP).ports}
    assert port.isdigit() and int(port) in ports, (
        f"PARSEC_EMAIL_PORT must be a port {b.SMTP} serves ({', '.join(map(str, sorted(ports)))}); it is {port!r}"
    )


@then(parsers.parse('"{name}" sets the sender, the user, the password and the language of the emails'))
def smtp_identity(env_files: EnvFilesSection, name: str) -> None:
    env = env_files.read(name)
    sender = _get(env, name, "PARSEC_EMAIL_SENDER")
    assert "@" in parseaddr(sender)[1], f"PARSEC_EMAIL_SENDER must be an email address; it is {sender!r}"
    _get(env, name, "PARSEC_EMAIL_HOST_USER")
    _get(env, name, "PARSEC_EMAIL_HOST_PASSWORD")
    _get(env, name, "PARSEC_EMAIL_LANGUAGE")


@then(parsers.parse('"{name}" sets PARSEC_BLOCKSTORE to the bucket "{bucket}" of the S3 service of the compose file'))
def blockstore(env_files: EnvFilesSection, compose_file: ComposeFileSection, name: str, bucket: str) -> None:
    store = parse_blockstore(_get(env_files.read(name), name, "PARSEC_BLOCKSTORE"))
    s3 = compose_file.service(b.S3).environment
    host = store.endpoint.split("://")[-1].rsplit(":", 1)[0]
    assert host == b.S3, f"PARSEC_BLOCKSTORE's endpoint must be the service {b.S3}; it is {store.endpoint!r}"
    assert store.bucket == bucket, f"the guide's bucket is {bucket!r}; PARSEC_BLOCKSTORE names {store.bucket!r}"
    assert store.key == s3.get("MINIO_ROOT_USER"), (
        f"PARSEC_BLOCKSTORE's key must be MINIO_ROOT_USER of the compose file ({s3.get('MINIO_ROOT_USER')}); "
        f"it is {store.key!r}"
    )
    assert store.secret == s3.get("MINIO_ROOT_PASSWORD"), (
        "PARSEC_BLOCKSTORE's secret must be MINIO_ROOT_PASSWORD of the compose file; it differs"
    )


@then("the port in PARSEC_BLOCKSTORE is escaped with a backslash")
def blockstore_escaped(env_files: EnvFilesSection) -> None:
    value = env_files.read("parsec-s3.env")["PARSEC_BLOCKSTORE"]
    fields = split_escaped(value)
    endpoint = fields[1] if len(fields) > 1 else ""
    assert ":" in endpoint and "\\:" in value, (
        f"the guide escapes the ':' before the S3 port as '\\:'; PARSEC_BLOCKSTORE's endpoint reads {endpoint!r}"
    )


@then(parsers.parse('"{name}" sets the TLS key and certificate to the secrets of the parsec-backend service'))
def tls_secrets(env_files: EnvFilesSection, compose_file: ComposeFileSection, name: str) -> None:
    env = env_files.read(name)
    server = compose_file.service(b.SERVER)
    for key, file in (
        ("PARSEC_SSL_KEYFILE", "parsec-backend.key"),
        ("PARSEC_SSL_CERTFILE", "parsec-backend.crt"),
    ):
        value = _get(env, name, key)
        assert value.startswith(SECRETS_DIR), f"{key} must be a secret under {SECRETS_DIR}; it is {value!r}"
        secret = value[len(SECRETS_DIR) :]
        assert secret in server.secrets, f"{key} names the secret {secret!r}, which {b.SERVER} does not get"
        source = compose_file.secrets.get(secret, "")
        assert source.removeprefix("./") == file, f"the secret {secret} should be ./{file}; it is {source!r}"


@then(parsers.parse('"{name}" sets the server\'s public address to the address parsec-backend is published on'))
def public_address(env_files: EnvFilesSection, compose_file: ComposeFileSection, release: Release, name: str) -> None:
    key = release.adapter.public_address_variable
    address = urlsplit(_get(env_files.read(name), name, key))
    assert address.scheme == release.adapter.address_scheme, (
        f"{key} must be a {release.adapter.address_scheme}:// address; it is {address.geturl()!r}"
    )
    published = [(p.host_ip, p.host_port) for p in compose_file.published(b.SERVER)]
    assert any(port == address.port and ip in (None, address.hostname) for ip, port in published), (
        f"{key} ({address.hostname}:{address.port}) must be where {b.SERVER} is published "
        f"({', '.join(f'{ip}:{port}' for ip, port in published) or 'nowhere'})"
    )


@then(parsers.parse('"{name}" disables the spontaneous organization bootstrap'))
def no_spontaneous_bootstrap(env_files: EnvFilesSection, name: str) -> None:
    value = env_files.read(name).get("PARSEC_SPONTANEOUS_ORGANIZATION_BOOTSTRAP", "")
    assert value.lower() == "false", (
        "the guide sets PARSEC_SPONTANEOUS_ORGANIZATION_BOOTSTRAP=false, so that only the administrator "
        f"creates organizations; it is {value!r}"
    )


@then("every env file, secret and volume file the compose file references exists")
def references_exist(env_files: EnvFilesSection, compose_file: ComposeFileSection) -> None:
    missing = [
        f"{path} ({what})"
        for what, path in compose_file.referenced_files()
        if not env_files.exists(path.removeprefix("./"))
    ]
    assert not missing, "the compose file references files the guide's steps never create: " + ", ".join(missing)
