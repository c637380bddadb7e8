"""Unit tests of the Parsec 2.x adapter's pure logic (no server, no Parsec install)."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest

from fixtures.releases.base import ClientCommandError, ClientContext, Device, ReleaseAdapter
from fixtures.releases.cli_output import clean_output, migration_errors
from fixtures.releases.source import from_version, from_wheel
from fixtures.releases.v2 import (
    BOOTSTRAP_URL_VARIABLE,
    PASSWORD_VARIABLE,
    ParsecV2,
    parse_bootstrap_url,
    parse_saved_device,
)

URL = (
    "parsec://127.0.0.1:6777/Org1?action=bootstrap_organization"
    "&token=06a10b6ad497ec853b8c6675a7e88306b5846eb67df5eb4b6e0b2d54aac8607f"
)
SLUGHASH = "8b7e1e394d1be9987f5bff6c2dfc7050362e7bedda50cf1a42da2f9277edf08e"

# What 2.16.3 printed to a pipe (click strips colours there, not the carriage returns).
CREATE_OUTPUT = (
    f"\rCreating organization in backend ⠋\rCreating organization in backend ✔\nBootstrap organization url: {URL}\n"
)
# The same on a terminal: erase-line and colour codes around every frame and the URL.
CREATE_OUTPUT_TTY = (
    "\r\x1b[KCreating organization in backend \x1b[35m⠋\x1b[0m"
    "\r\x1b[KCreating organization in backend \x1b[32m✔\x1b[0m\n"
    f"Bootstrap organization url: \x1b[33m{URL}\x1b[0m\n"
)
BOOTSTRAP_OUTPUT = (
    "\rBootstrapping organization in the backend ⠋\rBootstrapping organization in the backend ⠙"
    "\rBootstrapping organization in the backend ✔\n"
    f"Saving device {SLUGHASH}\rSaving device {SLUGHASH} ✔\n"
)


@pytest.fixture
def adapter() -> ParsecV2:
    return ParsecV2("2.16.3")


# -- output parsing -------------------------------------------------------------------------


@pytest.mark.parametrize("output", [CREATE_OUTPUT, CREATE_OUTPUT_TTY], ids=["pipe", "tty"])
def test_bootstrap_url_is_read_through_spinner_noise(output: str) -> None:
    assert parse_bootstrap_url(output) == URL


def test_bootstrap_url_on_the_spinner_line_itself() -> None:
    output = f"\rCreating organization in backend ⠋\rBootstrap organization url: {URL}\r\n"
    assert parse_bootstrap_url(output) == URL


def test_bootstrap_url_survives_warnings_around_it() -> None:
    output = (
        "/venv/lib/python3.9/site-packages/quart_trio/app.py:165: TrioDeprecationWarning: ...\n"
        + CREATE_OUTPUT
        + "  self, error: Union[Exception, trio.MultiError]\n"
    )
    assert parse_bootstrap_url(output) == URL


@pytest.mark.parametrize(
    "output",
    [
        "\rCreating organization in backend ⠋\rCreating organization in backend ✘\nError: HTTP Error 403: \n",
        "",
        "Bootstrap organization url: \n",
        "Bootstrap organization url: parsec://127.0.0.1:6777/Org1?action=claim_user&token=x\n",
    ],
    ids=["refused", "empty", "no-url", "not-a-bootstrap-url"],
)
def test_missing_bootstrap_url_is_a_client_error(output: str) -> None:
    with pytest.raises(ClientCommandError) as caught:
        parse_bootstrap_url(output)
    assert "Bootstrap organization url" in str(caught.value)


def test_clean_output_keeps_the_last_frame_of_each_line() -> None:
    assert clean_output(CREATE_OUTPUT_TTY) == (f"Creating organization in backend ✔\nBootstrap organization url: {URL}")
    assert clean_output(BOOTSTRAP_OUTPUT).splitlines() == [
        "Bootstrapping organization in the backend ✔",
        f"Saving device {SLUGHASH} ✔",
    ]


def test_saved_device_slughash() -> None:
    assert parse_saved_device(BOOTSTRAP_OUTPUT) == SLUGHASH
    assert parse_saved_device("Error: InviteAlreadyUsedError()\n") is None


def test_migration_errors_are_found_although_migrate_exits_0() -> None:
    output = (
        "\rMigrate ⠋\rMigrate ✔\n0001_initial.sql (already applied)\n"
        "0002_add_migration_table.sql ✔\n"
        "0003_human_handle.sql ✘: there is no unique constraint matching given keys\n"
    )
    assert migration_errors(output) == ["0003_human_handle.sql ✘: there is no unique constraint matching given keys"]
    assert migration_errors("\rMigrate ⠋\rMigrate ✔\n0001_initial.sql ✔\n") == []


# -- organization status --------------------------------------------------------------------


STATUS = {
    "active_users_limit": None,
    "is_bootstrapped": False,
    "is_expired": False,
    "minimum_archiving_period": 2592000,
    "user_profile_outsider_allowed": True,
}


def test_organization_is_bootstrapped(adapter: ParsecV2) -> None:
    assert adapter.organization_is_bootstrapped(STATUS) is False
    assert adapter.organization_is_bootstrapped({**STATUS, "is_bootstrapped": True}) is True


@pytest.mark.parametrize(
    "status",
    [{"error": "not_found"}, {**STATUS, "is_bootstrapped": "true"}, {**STATUS, "is_bootstrapped": 1}],
    ids=["missing", "string", "int"],
)
def test_unreadable_status_is_a_client_error(adapter: ParsecV2, status: dict[str, object]) -> None:
    with pytest.raises(ClientCommandError) as caught:
        adapter.organization_is_bootstrapped(status)
    assert "is_bootstrapped" in str(caught.value)


# -- static description ---------------------------------------------------------------------


def test_requirements_pin_the_release_and_the_client_extras(adapter: ParsecV2) -> None:
    assert adapter.requirements(from_version("2.16.3")) == [
        "parsec-cloud[backend]==2.16.3",
        "pypac>=0.16,<0.17",
        "packaging>=21.3,<24",
    ]
    assert ParsecV2("2.16.1").requirements(from_version("2.16.1"))[0] == "parsec-cloud[backend]==2.16.1"


def test_a_wheel_keeps_the_server_extra_and_its_digest(adapter: ParsecV2, tmp_path: Path) -> None:
    wheel = tmp_path / "parsec_cloud-2.16.3-py3-none-any.whl"
    wheel.write_bytes(b"not really a wheel")
    first = adapter.requirements(from_wheel(wheel))[0]
    assert first.startswith(f"parsec-cloud[backend] @ {wheel.as_uri()}#sha256=")


def test_generation_description(adapter: ParsecV2) -> None:
    assert isinstance(adapter, ReleaseAdapter)
    assert adapter.generation == "2.x"
    assert adapter.python_specifier == ">=3.9.10,<3.10"
    assert adapter.server_image == "ghcr.io/scille/parsec-cloud/parsec-backend-server"
    assert adapter.public_address_variable == "PARSEC_BACKEND_ADDR"
    assert adapter.address_scheme == "parsec"
    assert (adapter.port_variable, adapter.host_variable) == ("PARSEC_PORT", "PARSEC_HOST")


def test_server_commands(adapter: ParsecV2) -> None:
    python = Path("/venv/bin/python")
    assert adapter.server_argv(python) == [str(python), "-m", "parsec.cli", "backend", "run"]
    assert adapter.migrate_argv(python) == [str(python), "-m", "parsec.cli", "backend", "migrate"]


def test_applied_migrations_query_reads_the_migration_table(adapter: ParsecV2) -> None:
    query = adapter.applied_migrations_query()
    assert "FROM migration" in query
    assert "'0001_initial.sql'" in query  # 0001 is never recorded: it is implied
    assert "|| '.sql'" in query  # same spelling as shipped_migration_sql


# -- client commands against a fake interpreter ---------------------------------------------

FAKE_PYTHON = """\
#!{python}
import json, os, sys
from pathlib import Path
record = Path(os.environ["FAKE_RECORD"])
record.write_text(json.dumps({{"argv": sys.argv[1:], "env": dict(os.environ), "cwd": os.getcwd()}}))
command = sys.argv[4]
if command == "create_organization":
    if os.environ.get("PARSEC_ADMINISTRATION_TOKEN") != "t0ken":
        sys.stdout.write("\\rCreating organization in backend ⠋\\rCreating organization in backend ✘\\n")
        sys.stdout.write("Error: HTTP Error 403: \\n")
        sys.exit(1)
    sys.stdout.write({create!r})
elif command == "bootstrap_organization":
    config = Path(sys.argv[sys.argv.index("--config-dir") + 1])
    (config / "devices").mkdir(parents=True, exist_ok=True)
    (config / "devices" / "{slughash}.keys").write_text("key")
    sys.stdout.write({bootstrap!r})
elif command == "invite_user":
    spinner = "\\rCreating user invitation "
    if os.environ.get("FAKE_MAIL_FAILS"):
        sys.stdout.write(spinner + "⠋" + spinner + "⠙Email could not be sent\\n")
    sys.stdout.write(spinner + "✔\\nurl: parsec://127.0.0.1:6777/Org1?action=claim_user&token=ab\\n")
"""


@pytest.fixture
def fake_ctx(tmp_path: Path) -> ClientContext:
    python = tmp_path / "venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(
        FAKE_PYTHON.format(python=sys.executable, create=CREATE_OUTPUT, bootstrap=BOOTSTRAP_OUTPUT, slughash=SLUGHASH)
    )
    python.chmod(python.stat().st_mode | stat.S_IXUSR)
    return ClientContext(
        python=python,
        server_addr="parsec://127.0.0.1:6777",
        ca_file=tmp_path / "custom-ca.crt",
        workdir=tmp_path / "work",
        base_env={
            "PATH": os.environ.get("PATH", os.defpath),
            "FAKE_RECORD": str(tmp_path / "record.json"),
            "PARSEC_CMD_ARGS": "--debug",  # must not reach the client
            "PARSEC_DEVICE": "other",
        },
    )


def _record(ctx: ClientContext) -> dict[str, object]:
    data = json.loads(Path(ctx.base_env["FAKE_RECORD"]).read_text())
    assert isinstance(data, dict)
    return data


def test_create_organization_passes_the_token_by_environment(adapter: ParsecV2, fake_ctx: ClientContext) -> None:
    created = adapter.create_organization(fake_ctx, "Org1", "t0ken")
    assert created.bootstrap_url == URL
    assert created.organization == "Org1"
    assert "\r" not in created.output
    record = _record(fake_ctx)
    argv, env = record["argv"], record["env"]
    assert isinstance(argv, list) and isinstance(env, dict)
    assert argv == [
        "-m",
        "parsec.cli",
        "core",
        "create_organization",
        "--addr",
        "parsec://127.0.0.1:6777",
        "Org1",
    ]
    assert "t0ken" not in " ".join(argv)
    assert env["PARSEC_ADMINISTRATION_TOKEN"] == "t0ken"
    assert env["SSL_CAFILE"] == str(fake_ctx.ca_file)
    assert "127.0.0.1" in env["NO_PROXY"].split(",")
    assert "PARSEC_CMD_ARGS" not in env and "PARSEC_DEVICE" not in env
    assert record["cwd"] == str(fake_ctx.workdir)


def test_refused_token_raises_with_the_output(adapter: ParsecV2, fake_ctx: ClientContext) -> None:
    with pytest.raises(ClientCommandError) as caught:
        adapter.create_organization(fake_ctx, "Org1", "wrong")
    assert "exited 1" in str(caught.value)
    assert "refused the administration token" in str(caught.value)
    assert "Error: HTTP Error 403:" in caught.value.output
    assert "wrong" not in str(caught.value)


def test_bootstrap_keeps_the_password_and_the_token_out_of_argv(adapter: ParsecV2, fake_ctx: ClientContext) -> None:
    result = adapter.bootstrap_organization(
        fake_ctx,
        URL,
        human_label="Alice Owner",
        human_email="alice@example.com",
        device_label="laptop",
        password="pa ss$word",
    )
    assert result.device_file == fake_ctx.workdir / "client" / "devices" / f"{SLUGHASH}.keys"
    assert result.device_file.is_file()
    record = _record(fake_ctx)
    argv, env = record["argv"], record["env"]
    assert isinstance(argv, list) and isinstance(env, dict)
    assert "pa ss$word" not in argv and "--password" not in argv
    assert argv[argv.index("--config-dir") + 1] == str(fake_ctx.workdir / "client")
    assert argv[argv.index("--human-label") + 1] == "Alice Owner"
    assert env["PARSEC_CMD_ARGS"] == f"${BOOTSTRAP_URL_VARIABLE} --password ${PASSWORD_VARIABLE}"
    assert env[PASSWORD_VARIABLE] == "pa ss$word"
    assert env[BOOTSTRAP_URL_VARIABLE] == URL
    token = URL.rsplit("token=", 1)[1]
    assert not any(token in word for word in argv), "the bootstrap URL's token is on the command line"
    assert env["XDG_DATA_HOME"].startswith(str(fake_ctx.workdir))


def test_bootstrap_refuses_an_empty_password(adapter: ParsecV2, fake_ctx: ClientContext) -> None:
    with pytest.raises(ClientCommandError):
        adapter.bootstrap_organization(
            fake_ctx, URL, human_label="A", human_email="a@example.com", device_label="d", password=""
        )


def _device(ctx: ClientContext) -> Device:
    config_dir = ctx.workdir / "client"
    return Device(
        config_dir=config_dir,
        device_file=config_dir / "devices" / f"{SLUGHASH}.keys",
        password="s3cret",
        human_email="alice@example.com",
    )


def test_invite_user_selects_the_device(adapter: ParsecV2, fake_ctx: ClientContext) -> None:
    output = adapter.invite_user(fake_ctx, _device(fake_ctx), "bob@example.com")
    assert "action=claim_user" in output
    record = _record(fake_ctx)
    argv, env = record["argv"], record["env"]
    assert isinstance(argv, list) and isinstance(env, dict)
    assert argv[2:5] == ["core", "invite_user", "--send-email"]
    assert argv[argv.index("--device") + 1] == SLUGHASH
    assert argv[-1] == "bob@example.com"
    assert "s3cret" not in argv
    assert env["PARSEC_DEVICE_PASSWORD"] == "s3cret"


def test_invite_user_reports_an_unsent_mail(adapter: ParsecV2, fake_ctx: ClientContext) -> None:
    ctx = ClientContext(
        python=fake_ctx.python,
        server_addr=fake_ctx.server_addr,
        ca_file=fake_ctx.ca_file,
        workdir=fake_ctx.workdir,
        base_env={**fake_ctx.base_env, "FAKE_MAIL_FAILS": "1"},
    )
    with pytest.raises(ClientCommandError) as caught:
        adapter.invite_user(ctx, _device(ctx), "bob@example.com")
    assert "Email could not be sent" in str(caught.value)
    assert "action=claim_user" in caught.value.output


def test_missing_interpreter_is_a_client_error(adapter: ParsecV2, fake_ctx: ClientContext) -> None:
    ctx = ClientContext(
        python=fake_ctx.python.with_name("nope"),
        server_addr=fake_ctx.server_addr,
        ca_file=fake_ctx.ca_file,
        workdir=fake_ctx.workdir,
        base_env=fake_ctx.base_env,
    )
    with pytest.raises(ClientCommandError):
        adapter.create_organization(ctx, "Org1", "t0ken")


def test_spontaneous_bootstrap_url_carries_no_token(adapter: ParsecV2) -> None:
    url = adapter.spontaneous_bootstrap_url("parsec://127.0.0.1:6777", "Unannounced")
    assert url == "parsec://127.0.0.1:6777/Unannounced?action=bootstrap_organization"
    assert parse_bootstrap_url(f"Bootstrap organization url: {url}") == url


def test_store_data_runs_the_client_library_with_the_password_in_the_environment(
    adapter: ParsecV2, fake_ctx: ClientContext
) -> None:
    device = _device(fake_ctx)
    adapter.store_data(fake_ctx, device, "data.bin", b"\x00" * 10)
    record = _record(fake_ctx)
    argv, env = record["argv"], record["env"]
    assert isinstance(argv, list) and isinstance(env, dict)
    assert argv[0] == "-c" and "logged_core_factory" in argv[1] and "write_bytes" in argv[1]
    assert argv[2:6] == [str(device.config_dir), str(device.device_file), "acceptance-data", "data.bin"]
    assert not Path(argv[6]).exists(), "the data file handed to the client is removed afterwards"
    assert "s3cret" not in argv and env["PARSEC_DEVICE_PASSWORD"] == "s3cret"
    assert env["SSL_CAFILE"] == str(fake_ctx.ca_file)
