"""The 2.x CLI forked from a fork server is the same CLI as a new process.

Each call runs twice, as a new process (``python -m parsec.cli ...``) and forked from a
fork server of the same interpreter, in two directories laid out alike: output, exit code
and the files written must be the same, failures included.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fixtures.progress import Progress
from fixtures.releases import Release
from fixtures.releases.forkserver import ForkServer
from fixtures.releases.source import from_version
from fixtures.releases.v2 import _STORE_DATA_SCRIPT, CLI_MODULE, _new_process
from fixtures.releases.venvs import default_cache_dir

VERSION = "2.16.3"

# A script with an exit status, output on both streams and a file written relative to the cwd.
_SCRIPT = """\
import os, sys
from pathlib import Path
Path(sys.argv[1]).write_text(os.environ["PARSEC_CMD_ARGS"] + "|" + os.getcwd())
print("to stdout", sys.argv[1:])
print("to stderr", file=sys.stderr)
sys.exit(3)
"""

CALLS: list[tuple[str, list[str], dict[str, str]]] = [
    ("version", ["-m", CLI_MODULE, "--version"], {}),
    ("help of core", ["-m", CLI_MODULE, "core", "--help"], {}),
    ("unknown command (usage error, exit 2)", ["-m", CLI_MODULE, "nonsense"], {}),
    (
        "create_organization with no server listening (a failure)",
        ["-m", CLI_MODULE, "core", "create_organization", "--addr", "parsec://127.0.0.1:9/?no_ssl=true", "Org"],
        {"PARSEC_ADMINISTRATION_TOKEN": "not-a-token"},
    ),
    (
        "bootstrap_organization of a malformed URL given through PARSEC_CMD_ARGS",
        ["-m", CLI_MODULE, "core", "bootstrap_organization", "--config-dir", "config"],
        {"PARSEC_CMD_ARGS": "not-an-url --password secret"},
    ),
    ("a script: both streams, a file, exit 3", ["-c", _SCRIPT, "written.txt"], {"PARSEC_CMD_ARGS": "x"}),
    ("the data script without its arguments (a traceback)", ["-c", _STORE_DATA_SCRIPT], {}),
]


@pytest.fixture(scope="module")
def python() -> Path:
    release = Release(from_version(VERSION), cache_dir=default_cache_dir(), progress=Progress(lambda line: None))
    return release.python


@pytest.fixture(scope="module")
def base_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("home")
    return {"PATH": os.defpath, "HOME": str(home), "LANG": "C.UTF-8", "PYTHONWARNINGS": "ignore"}


@pytest.fixture(scope="module")
def server_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("forked")


@pytest.fixture(scope="module")
def server(python: Path, base_env: dict[str, str], server_dir: Path) -> Iterator[ForkServer]:
    started = ForkServer(
        python,
        CLI_MODULE,
        env=base_env,
        cwd=server_dir,
        per_call={"PARSEC_ADMINISTRATION_TOKEN", "PARSEC_CMD_ARGS"},
        preload=("parsec.core.cli", "parsec.backend.cli"),
    )
    yield started
    started.close()


# A warning 2.16.3 logs when its event loop was held up, as a busy machine makes it, in either way.
_TIMING_WARNING = "Blocking IO detected"


def _comparable(output: bytes, directory: Path) -> str:
    """The output with the run's directory named alike, and without the timing warning."""
    text = output.decode(errors="replace").replace(str(directory), "<cwd>")
    return "".join(line for line in text.splitlines(keepends=True) if _TIMING_WARNING not in line)


def _files(directory: Path) -> dict[str, str]:
    return {
        str(path.relative_to(directory)): path.read_text(errors="replace").replace(str(directory), "<cwd>")
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


@pytest.mark.parametrize(("what", "argv", "extra"), CALLS, ids=[c[0] for c in CALLS])
def test_a_forked_call_is_the_same_as_a_new_process(
    python: Path,
    base_env: dict[str, str],
    server: ForkServer,
    server_dir: Path,
    tmp_path: Path,
    what: str,
    argv: list[str],
    extra: dict[str, str],
) -> None:
    for path in server_dir.iterdir():  # the server's cwd is fixed: start each call from an empty one
        if path.is_file():
            path.unlink()
    (server_dir / "config").mkdir(exist_ok=True)
    (tmp_path / "config").mkdir()
    command = [str(python), *argv]
    env = {**base_env, **extra}
    assert server.accepts(command, env, server_dir)
    fresh = _new_process(command, env, tmp_path)
    forked = server.run(command, env, server_dir, timeout=60)
    assert not fresh.timed_out and not forked.timed_out
    assert forked.returncode == fresh.returncode, f"{what}: exit {forked.returncode} forked, {fresh.returncode} new"
    norm = [_comparable(out.output, d) for out, d in ((fresh, tmp_path), (forked, server_dir))]
    assert norm[1] == norm[0], f"{what}: the outputs differ"
    assert _files(server_dir) == _files(tmp_path), f"{what}: the files written differ"


def test_a_server_serves_only_its_own_environment(python: Path, server: ForkServer, server_dir: Path) -> None:
    command = [str(python), "-m", CLI_MODULE, "--version"]
    env = {**server.env, "UNSTABLE_OXIDIZED_CLIENT_CONNECTION": "true"}  # read when parsec is imported
    assert not server.accepts(command, env, server_dir)
    assert not server.accepts([str(python), "-m", "parsec.backend"], server.env, server_dir)
    assert not server.accepts(command, server.env, server_dir / "elsewhere")


def test_a_forked_call_is_faster(python: Path, base_env: dict[str, str], server: ForkServer, server_dir: Path) -> None:
    command = [str(python), "-m", CLI_MODULE, "--version"]
    started = time.monotonic()
    _new_process(command, base_env, server_dir)
    fresh = time.monotonic() - started
    started = time.monotonic()
    server.run(command, base_env, server_dir, timeout=60)
    forked = time.monotonic() - started
    print(f"new process {fresh:.2f} s, forked {forked:.2f} s")
    assert forked < fresh


def test_a_hung_call_is_stopped(python: Path, base_env: dict[str, str], server: ForkServer, server_dir: Path) -> None:
    finished = server.run(
        [str(python), "-c", "import time; print('waiting', flush=True); time.sleep(60)"], base_env, server_dir, 1.0
    )
    assert finished.timed_out and finished.output == b"waiting\n" and finished.returncode < 0
    assert server.run([str(python), "-m", CLI_MODULE, "--version"], base_env, server_dir, 60).returncode == 0


def test_a_server_that_cannot_start_leaves_no_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    with pytest.raises(OSError):
        ForkServer(tmp_path / "no-such-python", CLI_MODULE, env={}, cwd=tmp_path)
    assert not list(tmp_path.glob("parsec-forkserver-*"))
