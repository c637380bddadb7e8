"""Self-tests of ``--stack compose`` on a real engine: breakages only containers show.

The local stack cannot see these: it runs the server as a process of this machine, reaching
the services on 127.0.0.1. On compose the server runs as user 1234 in its container and reaches
``parsec-postgres`` and ``parsec-s3`` by their service names, as the guide's deployment does.
Each child run selects the few scenarios the breakage belongs to; they share the module's engine
(a private Podman service when no Docker engine answers) and the images built once.
The healthy compose stack is CI's own run of ``pytest features/ --stack compose --compose-images build``.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fixtures import BUNDLES_DIR
from fixtures import bundle as b
from fixtures.editions import DEFAULT_EDITION, EDITIONS
from fixtures.errors import ServiceNotReady
from fixtures.images.build import ImageBuilder
from fixtures.progress import Progress
from fixtures.releases import Release
from fixtures.releases.source import from_version
from fixtures.releases.venvs import default_cache_dir
from fixtures.services.compose import ComposeProject
from fixtures.services.engine import Engine, compose_command, engine_version
from fixtures.stacks.compose import OVERRIDE_FILE, ComposeStack, container_instance
from tests.runner import FeatureRun, broken_bundle, replace_in, run_features
from tests.scenarios import DB_MIGRATIONS, S3_RESTART, SERVICES_UP

ROLES = DEFAULT_EDITION.roles  # the 2.16 bundle's service names

pytestmark = pytest.mark.selftest

V2 = BUNDLES_DIR / "v2"
BUILD = ("--stack", "compose", "--compose-images", "build")


@pytest.fixture(scope="module")
def engine_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The engine every child run of this module uses (DOCKER_HOST), started once."""
    engine = Engine(tmp_path_factory.mktemp("engine"))
    try:
        engine.ensure(print)
    except Exception as exc:  # no engine and no podman: nothing of this module can run
        pytest.skip(f"no container engine: {exc}")

    yield {"DOCKER_HOST": os.environ.get("DOCKER_HOST", "")} if engine.started_here else {}
    engine.stop()


@pytest.fixture(scope="module")
def images(engine_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The stand-ins and the 3.x server image (built once, reused by tag)."""
    progress = Progress(print)
    builder = ImageBuilder(tmp_path_factory.mktemp("images"), progress)
    base = builder.base()
    built = builder.stand_ins(base, DEFAULT_EDITION.roles)
    release = Release(from_version("3.9.3"), cache_dir=default_cache_dir(), progress=progress)
    built["server-3.9.3"] = builder.server(base, release).tag
    return built


def _docker(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=False, timeout=120)


def _left_behind(run: FeatureRun, wait: float = 10.0) -> list[str]:
    """What of parsec-acceptance projects is still there after a child run (given ``wait`` s to end)."""
    deadline = time.monotonic() + wait
    while (found := _still_there()) and time.monotonic() < deadline:
        time.sleep(0.2)
    return found


def _still_there() -> list[str]:
    """Containers, networks, volumes and exec monitors of parsec-acceptance projects."""
    found = []
    for kind in ("ps -a", "network ls", "volume ls"):
        listed = _docker(*kind.split(), "--format", "{{.Names}}" if kind == "ps -a" else "{{.Name}}").stdout
        found += [f"{kind}: {name}" for name in listed.split() if name.startswith("parsec-acceptance-")]
    # Podman's conmon of each exec session (testinfra's docker:// checks) outlives its container.
    monitors = subprocess.run(["pgrep", "-af", "conmon .*-n parsec-acceptance-"], capture_output=True, text=True)
    found += [f"process: {line[:120]}" for line in monitors.stdout.splitlines()]
    return found


def _failed_with(run: FeatureRun, scenario: object, *words: str) -> str:
    outcome = run.outcome(scenario)  # type: ignore[arg-type]
    assert outcome.state == "failed", f"{scenario} should fail; it {outcome.state}:\n{run.output[-3000:]}"
    for word in words:
        assert word in outcome.message, f"{scenario} fails without saying {word!r}:\n{outcome.message[-2000:]}"
    return outcome.message


def test_pull_refuses_a_server_image_of_another_release(
    tmp_path: Path, engine_env: dict[str, str], images: dict[str, str]
) -> None:
    """``--compose-images pull`` with the bundle's pinned names: the server's version is read in its container."""
    bundle = b.Bundle.load(V2, DEFAULT_EDITION.roles)
    pinned = {name: bundle.service(name).image for name in ROLES.services}
    sources = {
        **{name: images[name] for name in (ROLES.database, ROLES.s3, ROLES.smtp)},
        ROLES.server: images["server-3.9.3"],
    }
    for name, image in pinned.items():
        assert _docker("tag", sources[name], image).returncode == 0
    try:
        run = run_features(
            tmp_path, "--stack", "compose", "--compose-images", "pull", "-k", "services_are_up", env=engine_env
        )
    finally:
        for image in pinned.values():
            _docker("rmi", image)  # only the names: the built images stay
    message = _failed_with(run, SERVICES_UP, "runs parsec-cloud 3.9.3, not Parsec 2.16.3 (PyPI)")
    assert len([line for line in message.splitlines() if "runs parsec-cloud" in line]) == 1
    assert not _left_behind(run), _left_behind(run)


def _server_network_without_postgres(bundle: Path) -> None:
    """parsec-backend alone on a network of its own: ``parsec-postgres`` does not resolve there."""
    compose = bundle / b.COMPOSE_FILE
    replace_in(
        compose, "    container_name: parsec-backend\n", "    container_name: parsec-backend\n    networks: [apart]\n"
    )
    compose.write_text(compose.read_text(encoding="utf-8") + "\nnetworks:\n  apart: {}\n", encoding="utf-8")


def test_server_on_a_network_where_postgres_does_not_resolve(tmp_path: Path, engine_env: dict[str, str]) -> None:
    bundle = broken_bundle(tmp_path, _server_network_without_postgres, V2)
    run = run_features(tmp_path, *BUILD, "-k", "apply_the_migrations", bundle=bundle, env=engine_env)
    _failed_with(run, DB_MIGRATIONS, "are not applied")  # 2.16.3's migrate exits 0 when it cannot connect
    assert not _left_behind(run), _left_behind(run)


def test_s3_certificate_without_the_service_name(tmp_path: Path, engine_env: dict[str, str]) -> None:
    """The S3 certificate names localhost and 127.0.0.1 but not parsec-s3: the server, in its container, refuses it."""

    def edit(bundle: Path) -> None:
        replace_in(
            bundle / "setup-tls.sh",
            'generate_cert_conf "$service" "DNS:$service,DNS:localhost,IP:127.0.0.1"',
            'san="DNS:localhost,IP:127.0.0.1"; [ "$service" = parsec-backend ] && san="$san,DNS:$service"\n'
            '        generate_cert_conf "$service" "$san"',
        )

    run = run_features(
        tmp_path, *BUILD, "-k", "restart_the_parsecbackend", bundle=broken_bundle(tmp_path, edit, V2), env=engine_env
    )
    _failed_with(run, S3_RESTART, "stopped before it answered")
    assert not _left_behind(run), _left_behind(run)


def test_key_not_readable_by_group_1234_in_the_container(tmp_path: Path, engine_env: dict[str, str]) -> None:
    """The key's group is left as it is: user 1234 in the server's container cannot read its secret."""

    def edit(bundle: Path) -> None:
        replace_in(bundle / "setup-tls.sh", "        chgrp 1234 parsec-backend.key\n", "        true\n")

    run = run_features(
        tmp_path, *BUILD, "-k", "restart_the_parsecbackend", bundle=broken_bundle(tmp_path, edit, V2), env=engine_env
    )
    _failed_with(run, S3_RESTART, "stopped before it answered", "/run/secrets/parsec-pem-key' is not readable")
    assert not _left_behind(run), _left_behind(run)


def test_the_engine_answers(engine_env: dict[str, str]) -> None:
    assert engine_version() is not None


def test_the_postgres_stand_in_serves_the_compose_files_major(images: dict[str, str]) -> None:
    """parsec-postgres built here is PostgreSQL of each bundle's ``postgres:<major>`` or later (not Debian 12's 15)."""
    ran = _docker("run", "--rm", images[ROLES.database], "sh", "-c", '"$PGBIN/postgres" --version')
    assert ran.returncode == 0, ran.stderr
    found = int(re.search(r"PostgreSQL\) (\d+)", ran.stdout).group(1))  # type: ignore[union-attr]
    for edition in EDITIONS.values():
        pinned = b.Bundle.load(edition.bundle_dir, edition.roles).service(edition.roles.database).image
        assert found >= int(re.search(r":(\d+)", pinned).group(1)), (ran.stdout, pinned)  # type: ignore[union-attr]


def test_the_candidate_wheel_runs_inside_the_container(tmp_path: Path, engine_env: dict[str, str]) -> None:
    """``--parsec-wheel``: the server image is built from the candidate, and its container's log shows it."""
    from tests.test_release_wheel import CANDIDATE, MARKER, _candidate_wheel, _published_wheel

    cache = default_cache_dir() / "wheels"
    cache.mkdir(parents=True, exist_ok=True)
    wheel = _candidate_wheel(_published_wheel(cache), tmp_path / "repack")
    workdir = tmp_path / "work"
    run = run_features(
        tmp_path,
        *BUILD,
        "--parsec-wheel",
        str(wheel),
        "--workdir",
        str(workdir),
        "-k",
        "restart_the_parsecserver",  # a 3.x candidate: the 3.9 edition; the full guide is CI's run
        env=engine_env,
        timeout=900,
    )
    assert run.returncode == 0, run.output[-3000:]
    server = EDITIONS["3.9"].roles.server
    assert f"the {server} container runs parsec-cloud {CANDIDATE}" in run.output
    server_log = (workdir / "services" / server / "container.log").read_text(encoding="utf-8")
    assert f"Starting Parsec server ({MARKER})" in server_log, "the server that ran in the container is not the wheel's"
    assert not _left_behind(run), _left_behind(run)


def test_a_kept_compose_stack_is_stopped_by_its_script(tmp_path: Path, engine_env: dict[str, str]) -> None:
    """``--keep-stack``: the project outlives the run; the printed stop command ends it, its Podman service too.

    The child starts its own private Podman service (no ``DOCKER_HOST``), as a user's run does.
    """
    run = run_features(tmp_path, *BUILD, "--keep-stack", "-k", "services_are_up", env={"DOCKER_HOST": ""})
    stop = re.search(r"^stop it with: (.+)$", run.output, re.MULTILINE)
    assert run.returncode == 0 and stop is not None, run.output[-3000:]
    script = Path(shlex.split(stop.group(1))[-1])
    try:
        assert _still_there(), "nothing of the kept stack runs after the run"
        service = subprocess.run(["pgrep", "-f", f"podman system service .*{script.parent}"], capture_output=True)
        assert service.returncode == 0, "the kept stack's Podman service does not run after the run"
    finally:
        stopped = subprocess.run(["bash", "-c", stop.group(1)], capture_output=True, text=True, timeout=180)
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert not _left_behind(run), _left_behind(run)
    left = subprocess.run(["pgrep", "-af", f"podman system service .*{script.parent}"], capture_output=True, text=True)
    assert left.returncode == 1, f"the kept stack's Podman service outlives its stop script: {left.stdout}"
    assert not script.parent.exists(), f"{script.parent} is left"


# -- the 3.9 edition: parsec-proxy in front of parsec-server -----------------------------------


def _stack_3_9(tmp_path: Path, notes: list[str]) -> ComposeStack:
    """The 3.9 bundle on compose after the guide's scripts, every image built here (the stack's own code)."""
    edition = EDITIONS["3.9"]
    deployment = tmp_path / "deployment"
    shutil.copytree(edition.bundle_dir, deployment)
    for script in ("setup-tls.sh", "gen-admin-token.sh"):
        subprocess.run(["bash", script], cwd=deployment, check=True, capture_output=True, timeout=300)
    files = [str(deployment / b.COMPOSE_FILE), str(tmp_path / OVERRIDE_FILE)]
    project = ComposeProject.from_fixtures(
        compose_command(), files, f"parsec-acceptance-{tmp_path.name[-12:].lower()}", ["up -d"], ["down -v"]
    )
    progress = Progress(notes.append)
    release = Release(from_version("3.9.3"), cache_dir=default_cache_dir(), progress=progress)
    bundle = b.Bundle.load(deployment, edition.roles)
    return ComposeStack(bundle, deployment, tmp_path, release, progress, project=project, images="build")


def _through(endpoint: object, ca: str) -> str:
    """What a POST through the proxy gets, and how long it takes (the measure of a stale upstream)."""
    import requests

    started = time.monotonic()
    try:
        answer = requests.post(f"https://{endpoint}/administration/organizations", verify=ca, timeout=40)
        got = f"{answer.status_code} {answer.reason}"
    except requests.RequestException as exc:
        got = type(exc).__name__
    return f"{got} in {time.monotonic() - started:.1f} s"


def _address(container: str) -> str:
    ran = _docker("inspect", "--format", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", container)
    return ran.stdout.strip()


def test_the_proxy_reaches_the_server_after_the_guides_order(tmp_path: Path, engine_env: dict[str, str]) -> None:
    """parsec-proxy at its fixed address; after the guide's restart of the server it serves the server.

    nginx resolves ``parsec-server`` once, when it starts: ``start_proxy`` waits for the server's
    container to settle, restarts a proxy started before the server's current container, and says
    why. The server restarted by its own ``restart: on-failure`` after that (its process killed)
    leaves the proxy on its old address: the next ``start_proxy`` sees it by the start times and
    restarts the proxy again. A proxy that exited ("host not found in upstream") is restarted,
    with nginx's words; a stopped server fails in one sentence.
    """
    import boto3
    import requests

    notes: list[str] = []
    stack = _stack_3_9(tmp_path, notes)
    roles = stack.bundle.roles
    assert roles.proxy is not None
    proxy, server = f"{stack.project.project}-{roles.proxy}", f"{stack.project.project}-{roles.server}"

    def defects() -> list[str]:
        said = [note for note in notes if "upstream defect" in note]
        notes.clear()
        return said

    try:
        stack.start_services()
        assert _address(proxy) == "172.29.77.10", "parsec-proxy has the fixed address the server trusts"
        assert stack.migrate().returncode == 0
        s3 = stack.s3_access()
        boto3.client(
            "s3",
            endpoint_url=s3.endpoint_url,
            aws_access_key_id=s3.access_key,
            aws_secret_access_key=s3.secret_key,
            region_name=s3.region,
            verify=s3.ca_file,
        ).create_bucket(Bucket="parsec", ObjectLockEnabledForBucket=True)
        before = _address(server)
        stack.restart_backend()
        moved = _address(server) != before
        notes.clear()
        access = stack.start_proxy()
        answer = requests.get(f"https://{access.https}/", verify=s3.ca_file, timeout=10)
        assert answer.status_code == 200 and "Parsec server" in answer.text, (answer.status_code, answer.text[:300])
        guide_conf = (stack.deployment_dir / "parsec-nginx.conf").read_text(encoding="utf-8")
        assert guide_conf.strip() in access.dump_config(), "nginx runs the guide's parsec-nginx.conf unchanged"
        said = defects()  # the proxy started with `up`, before the guide's restart of the server
        assert said and f"before {roles.server}'s current container" in said[0], said
        assert f"restart {roles.proxy}" in said[0], said
        if moved:
            assert "answering 502" in said[0], said
        stack.start_proxy()
        assert not defects(), "a proxy started after the server's current container is left as it is"
        # The server's process dies (not stopped by anyone): its restart policy starts it again.
        first = container_instance(server)
        os.kill(int(_docker("inspect", "--format", "{{.State.Pid}}", server).stdout.strip()), signal.SIGKILL)
        deadline = time.monotonic() + 60
        while (again := container_instance(server)).restarts == first.restarts or not again.running:
            assert time.monotonic() < deadline, "the server's restart policy did not restart it"
            time.sleep(0.5)
        print(f"after the policy restart ({first.said()} -> {again.said()}): {_through(access.https, s3.ca_file)}")
        stack.start_proxy()
        said = defects()
        assert said and f"before {roles.server}'s current container" in said[0], said
        answer = requests.get(f"https://{access.https}/", verify=s3.ca_file, timeout=10)
        assert answer.status_code == 200, (answer.status_code, answer.text[:300])
        # The server stopped, the proxy started again: nginx cannot resolve parsec-server and exits.
        stack.project.run("stop", roles.server)
        stack.project.run("restart", roles.proxy)
        stack.project.run("start", roles.server)
        stack.start_proxy()
        said = defects()
        assert said and 'host not found in upstream "parsec-server"' in said[0], said
        stack.project.run("stop", roles.server)
        with pytest.raises(ServiceNotReady, match=f"{roles.server}'s container did not stay up"):
            stack.start_proxy()
    finally:
        stack.stop()
    deadline = time.monotonic() + 10
    while (left := _still_there()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not left, left
