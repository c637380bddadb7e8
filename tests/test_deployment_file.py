"""The deployment file of --stack external: read once, credentials only by variable name, clear errors."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from fixtures.deployment_file import ENV_TOKEN, KeptDeployment, load, write
from fixtures.errors import OptionError

ENV = {"TOKEN": "the-admin-token", "DSN": "postgresql://u:db-pass@127.0.0.1:5432/parsec", "KEY": "k", "SECRET": "s3s"}

FULL = """
[server]
url = "parsec://127.0.0.1:6777"
ca_file = "ca.crt"
admin_token_env = "TOKEN"

[database]
dsn_env = "DSN"

[s3]
endpoint = "https://127.0.0.1:9000"
bucket = "parsec"
access_key_env = "KEY"
secret_key_env = "SECRET"

[mail]
api_url = "http://127.0.0.1:8025"
smtp = "127.0.0.1:1025"

[host]
url = "ssh://admin@parsec.example.com"
files = "/srv/parsec"
"""


def _file(tmp_path: Path, text: str) -> Path:
    (tmp_path / "ca.crt").write_text("a CA\n")
    path = tmp_path / "deployment.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_full_file_reads_every_section(tmp_path: Path) -> None:
    loaded = load(_file(tmp_path, FULL), ENV)
    assert (loaded.server.scheme, loaded.server.netloc) == ("parsec", "127.0.0.1:6777")
    assert loaded.server.ca_file == tmp_path / "ca.crt", "a relative ca_file is relative to the deployment file"
    assert loaded.server.admin_token == "the-admin-token"
    assert loaded.database_dsn == ENV["DSN"]
    assert loaded.s3 is not None and (loaded.s3.bucket, loaded.s3.secret_key, loaded.s3.region) == (
        "parsec",
        "s3s",
        "us-east-1",
    )
    assert loaded.s3.ca_file == tmp_path / "ca.crt", "S3's CA defaults to the server's"
    assert loaded.mail is not None and str(loaded.mail.smtp) == "127.0.0.1:1025"
    assert loaded.host is not None and loaded.host.files == "/srv/parsec"
    secrets = {value for _, value in loaded.secret_values()}
    assert {"the-admin-token", "db-pass", "s3s"} <= secrets


def test_only_the_server_section_is_required(tmp_path: Path) -> None:
    text = FULL.split("[database]")[0]
    loaded = load(_file(tmp_path, text), ENV)
    assert (loaded.database_dsn, loaded.s3, loaded.mail, loaded.host) == (None, None, None, None)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('admin_token_env = "TOKEN"', 'admin_token = "hunter2-typed-in"'), "credentials are never written"),
        (('admin_token_env = "TOKEN"', 'admin_token_env = "UNSET"'), "names $UNSET, which is not set"),
        (('url = "parsec://127.0.0.1:6777"', 'url = "ftp://127.0.0.1"'), "is not a server address"),
        (('ca_file = "ca.crt"', 'ca_file = "missing.crt"'), "missing.crt is not a file"),
        (('bucket = "parsec"', 'bucket = "parsec"\nbukket = "x"'), "[s3] has no key 'bukket'"),
        (("[mail]", "[mailbox]"), "unknown section [mailbox]"),
        (('smtp = "127.0.0.1:1025"', 'smtp = "127.0.0.1"'), "[mail] smtp must be HOST:PORT"),
        (('url = "ssh://admin@parsec.example.com"', 'url = "parsec.example.com"'), "is not a testinfra host"),
        (('files = "/srv/parsec"', 'files = "srv/parsec"'), "must be an absolute path"),
        (("[server]", "[server\n"), "is not valid TOML"),
    ],
    ids=[
        "literal-credential",
        "unset-variable",
        "bad-url",
        "missing-ca",
        "unknown-key",
        "unknown-section",
        "smtp-without-port",
        "host-not-testinfra",
        "relative-files",
        "invalid-toml",
    ],
)
def test_a_bad_file_is_one_clear_error(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    old, new = change
    assert old in FULL
    with pytest.raises(OptionError) as raised:
        load(_file(tmp_path, FULL.replace(old, new, 1)), ENV)
    assert message in str(raised.value)
    assert str(tmp_path / "deployment.toml") in str(raised.value), "the error names the file"
    assert "hunter2" not in str(raised.value), "the error never repeats a credential"


def test_a_missing_file_is_an_option_error(tmp_path: Path) -> None:
    with pytest.raises(OptionError, match="no such file"):
        load(tmp_path / "nope.toml", ENV)


def test_kept_files_round_trip_and_the_env_file_is_private(tmp_path: Path) -> None:
    (tmp_path / "ca.crt").write_text("a CA\n")
    kept = KeptDeployment(
        server_url="parsec://127.0.0.1:4000",
        ca_file=tmp_path / "ca.crt",
        admin_token='to\'ken with $pecial "chars"',
        dsn=ENV["DSN"],
        s3_endpoint="https://127.0.0.1:4001",
        s3_bucket="parsec",
        s3_access_key="key",
        s3_secret_key="secret",
        mail_api_url="http://127.0.0.1:4002",
        smtp="127.0.0.1:4003",
        host_url="local://",
        files=tmp_path,
    )
    toml_path, env_path = tmp_path / "deployment.toml", tmp_path / "deployment.env"
    write(kept, toml_path, env_path)
    assert stat.S_IMODE(env_path.stat().st_mode) == 0o600
    assert "to'ken" not in toml_path.read_text(), "credentials stay out of the deployment file"
    import subprocess

    # The env file is what `set -a; . FILE` reads: let a shell read it back.
    shown = subprocess.run(
        ["bash", "-c", f'set -a; . "{env_path}"; printf %s "${ENV_TOKEN}"'], capture_output=True, text=True, check=True
    ).stdout
    assert shown == kept.admin_token
    environ = dict(line.split("=", 1) for line in env_path.read_text().splitlines())
    environ = {
        name: subprocess.run(
            ["bash", "-c", f'. "{env_path}"; printf %s "${name}"'], capture_output=True, text=True, check=True
        ).stdout
        for name in environ
    }
    loaded = load(toml_path, environ)
    assert loaded.server.netloc == "127.0.0.1:4000" and loaded.server.admin_token == kept.admin_token
    assert loaded.s3 is not None and loaded.s3.secret_key == "secret"
    assert loaded.host is not None and loaded.host.url == "local://"


def test_the_url_scheme_must_be_the_release_s(tmp_path: Path) -> None:
    deployed = load(_file(tmp_path, FULL.replace("parsec://", "parsec3://")), ENV)
    deployed.check_release("parsec3", ["--parsec-version", "3.9.3"])
    with pytest.raises(OptionError, match=r"url is parsec3://, but the release under test \(--parsec-version 2.16.3\)"):
        deployed.check_release("parsec", ["--parsec-version", "2.16.3"])
