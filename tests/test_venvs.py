"""Release virtualenvs and their interpreters: reuse, rebuild, one build at a time, clear refusals."""

from __future__ import annotations

import hashlib
import json
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from filelock import FileLock
from packaging.version import Version

from fixtures import PROJECT_ROOT
from fixtures.errors import CommandFailed, HarnessError, OptionError, PrerequisiteMissing
from fixtures.progress import Progress
from fixtures.releases import Release, venvs
from fixtures.releases.interpreters import find_interpreter
from fixtures.releases.locks import freeze_with_hashes, lock_file, lock_for, read_lock, write_lock
from fixtures.releases.source import from_version, from_wheel
from fixtures.releases.venvs import MARKER, built_venv, default_cache_dir, venv_key

REQUIREMENTS = ["parsec-cloud[backend]==2.16.3", "pypac>=0.16,<0.17"]


def _fake_venv(cache: Path, *, complete: bool, works: bool) -> Path:
    venv = cache / "venvs" / venv_key("2.16.3", REQUIREMENTS, Version("3.9.18"))
    (venv / "bin").mkdir(parents=True)
    python = venv / "bin" / "python"
    python.write_text(f"#!/bin/sh\nexit {0 if works else 1}\n")
    python.chmod(0o755)
    if complete:
        (venv / MARKER).write_text("\n".join(REQUIREMENTS))
    return python


def _lookup(cache: Path, requirements: list[str] = REQUIREMENTS) -> Path | None:
    return built_venv(cache_dir=cache, version="2.16.3", requirements=requirements, import_check="import parsec")


def test_a_complete_working_venv_is_reused(tmp_path: Path) -> None:
    python = _fake_venv(tmp_path, complete=True, works=True)
    assert _lookup(tmp_path) == python


def test_a_half_built_venv_is_not(tmp_path: Path) -> None:
    _fake_venv(tmp_path, complete=False, works=True)
    assert _lookup(tmp_path) is None


def test_a_broken_venv_is_not(tmp_path: Path) -> None:
    _fake_venv(tmp_path, complete=True, works=False)
    assert _lookup(tmp_path) is None


def test_other_requirements_are_another_venv(tmp_path: Path) -> None:
    _fake_venv(tmp_path, complete=True, works=True)
    assert _lookup(tmp_path, [*REQUIREMENTS, "extra==1"]) is None


# -- building: two runs at once, and a broken one rebuilt (real venv + pip, a tiny package) -----

_BUILD = """
import json, sys
from pathlib import Path
from fixtures.progress import Progress
from fixtures.releases.venvs import ensure_venv
python = ensure_venv(
    cache_dir=Path(sys.argv[1]), key="tiny", interpreter=Path(sys.executable),
    requirements=json.loads(sys.argv[2]), import_check="import tinypkg", progress=Progress(print),
)
print("PYTHON", python)
"""


def _tiny_wheel(folder: Path, *, depends_on: str | None = None) -> Path:
    """A wheel of an empty package ``tinypkg`` (depending on ``depends_on``), built offline."""
    source = folder / "src"
    (source / "tinypkg").mkdir(parents=True)
    (source / "tinypkg" / "__init__.py").write_text("")
    dependencies = f"dependencies = [{depends_on!r}]\n" if depends_on else ""
    (source / "pyproject.toml").write_text(f'[project]\nname = "tinypkg"\nversion = "1.0"\n{dependencies}')
    wheels = folder / "wheels"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(wheels),
            str(source),
        ],
        check=True,
        capture_output=True,
    )
    return wheels


def _pinned(wheels: Path) -> list[str]:
    """The lines of a lock of the tiny wheel: offline, pinned, with its hash."""
    (wheel,) = wheels.glob("tinypkg-*.whl")
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    return ["--no-index", f"--find-links {wheels}", "--require-hashes", f"tinypkg==1.0 --hash=sha256:{digest}"]


def _build(cache: Path, requirements: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", _BUILD, str(cache), json.dumps(requirements)],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_two_runs_building_the_same_venv_build_it_once(tmp_path: Path) -> None:
    requirements = _pinned(_tiny_wheel(tmp_path))
    first, second = _build(tmp_path / "cache", requirements), _build(tmp_path / "cache", requirements)
    outputs = [first.communicate(timeout=300)[0], second.communicate(timeout=300)[0]]
    assert first.returncode == second.returncode == 0, outputs
    installs = [line for out in outputs for line in out.splitlines() if "install the virtualenv" in line]
    assert len(installs) == 1, f"the venv was built {len(installs)} times:\n{outputs}"
    pythons = {line for out in outputs for line in out.splitlines() if line.startswith("PYTHON ")}
    assert len(pythons) == 1, pythons


def test_a_broken_venv_is_rebuilt(tmp_path: Path) -> None:
    requirements = _pinned(_tiny_wheel(tmp_path))
    build = _build(tmp_path / "cache", requirements)
    build.communicate(timeout=300)
    venv = tmp_path / "cache" / "venvs" / "tiny"
    shutil.rmtree(next((venv / "lib").glob("python*/site-packages/tinypkg")))
    again = _build(tmp_path / "cache", requirements)
    output = again.communicate(timeout=300)[0]
    assert again.returncode == 0, output
    assert "install the virtualenv" in output, "a venv that fails its import check must be rebuilt"
    assert next((venv / "lib").glob("python*/site-packages/tinypkg")).is_dir()


# -- locks: what a run installs is exactly what the lock pins --------------------------------------


def test_a_file_whose_hash_differs_from_the_lock_is_refused(tmp_path: Path) -> None:
    """The lock's sha256 is checked: a rebuilt file of the same name and version is not installed."""
    requirements = _pinned(_tiny_wheel(tmp_path))
    requirements[-1] = "tinypkg==1.0 --hash=sha256:" + "0" * 64
    output = _build(tmp_path / "cache", requirements).communicate(timeout=300)[0]
    assert "DO NOT MATCH THE HASHES" in output, output
    assert not (tmp_path / "cache" / "venvs" / "tiny").exists(), "a refused install leaves no virtualenv"


def test_a_package_that_needs_what_the_lock_lacks_is_refused(tmp_path: Path) -> None:
    """A candidate resolves against the lock: a dependency the lock does not pin fails, by name."""
    requirements = _pinned(_tiny_wheel(tmp_path, depends_on="notinthelock>=1"))
    output = _build(tmp_path / "cache", requirements).communicate(timeout=300)[0]
    assert "pip check" in output and "notinthelock" in output, output
    assert not (tmp_path / "cache" / "venvs" / "tiny").exists()


def test_a_hung_pip_is_one_line_naming_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A pip waiting on an index that never answers is stopped after the bound, with what hung."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()  # accepts, never answers
    monkeypatch.setattr(venvs, "PIP_TIMEOUT", 4.0)
    url = f"http://127.0.0.1:{silent.getsockname()[1]}/simple/"
    try:
        with pytest.raises(CommandFailed) as caught:
            venvs.ensure_venv(
                cache_dir=tmp_path,
                key="hung",
                interpreter=Path(sys.executable),
                requirements=[f"--index-url {url}", "tinypkg==1.0"],
                import_check="import tinypkg",
                progress=Progress(lambda line: None),
            )
    finally:
        silent.close()
    assert caught.value.problem.startswith("pip install --no-deps -r "), caught.value.problem
    assert "did not finish within 4 s" in caught.value.problem.splitlines()[0]
    assert not (tmp_path / "venvs" / "hung").exists()


def test_waiting_for_another_build_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A run that waits too long for another one building the same virtualenv says so in one error."""
    monkeypatch.setattr(venvs, "LOCK_TIMEOUT", 0.5)
    (tmp_path / "venvs").mkdir()
    busy = FileLock(str(tmp_path / "venvs" / "busy") + ".lock")
    with busy, pytest.raises(CommandFailed, match=r"another run has been building .*busy for 0 s"):
        venvs.ensure_venv(
            cache_dir=tmp_path,
            key="busy",
            interpreter=Path(sys.executable),
            requirements=["tinypkg==1.0"],
            import_check="import tinypkg",
            progress=Progress(lambda line: None),
        )


def test_each_release_has_a_lock_of_its_whole_dependency_set() -> None:
    """The locks kept in the repository parse, pin parsec-cloud itself and hash every file."""
    for version, python in (("2.16.3", "3.9"), ("3.9.3", "3.12")):
        lock = read_lock(lock_file(version))
        assert (lock.version, lock.python) == (version, python)
        assert f"parsec-cloud=={version}" in {pin.line for pin in lock.pins}
        assert len(lock.pins) > 20, "the whole dependency set, not only the release"
        assert lock.label.startswith(f"locks/parsec-{version}-py{python}.txt (sha256 ")


def test_the_venv_built_from_a_lock_holds_exactly_the_lock(tmp_path: Path) -> None:
    """Round trip: the 3.9.3 virtualenv the harness installs, locked again, gives the same pins and hashes."""
    release = Release(from_version("3.9.3"), cache_dir=default_cache_dir(), progress=Progress(lambda line: None))
    try:
        python = release.python
    except HarnessError as exc:
        pytest.skip(f"no 3.9.3 virtualenv here: {exc.problem}")
    again = read_lock(write_lock("3.9.3", python, freeze_with_hashes(python), locks_dir=tmp_path))
    assert again.pins == release.lock.pins


def test_a_release_without_a_lock_is_refused_with_the_command_that_makes_one(tmp_path: Path) -> None:
    with pytest.raises(OptionError) as caught:
        lock_for(from_version("2.16.2"))
    assert "Parsec 2.16.2 has no lock" in caught.value.problem
    assert caught.value.fix == "make one (and commit it): python -m fixtures.releases.locks 2.16.2"


def test_a_published_release_installs_its_lock_as_it_is() -> None:
    lock = read_lock(lock_file("2.16.3"))
    lines = lock.install_lines(from_version("2.16.3"), ("backend",))
    own = next(pin for pin in lock.pins if pin.name == "parsec-cloud")
    assert lines[:2] == ["--require-hashes", f"parsec-cloud[backend]==2.16.3 --hash=sha256:{own.sha256}"]
    assert len(lines) == len(lock.pins) + 1


def test_a_candidate_wheel_resolves_against_its_generations_lock(tmp_path: Path) -> None:
    """A wheel of a version with no lock takes the newest lock of its generation; its own digest replaces the pin."""
    wheel = tmp_path / "parsec_cloud-3.10.0rc1-cp312-cp312-manylinux_2_28_x86_64.whl"
    wheel.write_bytes(b"not really a wheel")
    source = from_wheel(wheel)
    lock = lock_for(source)
    assert lock.version == "3.9.3"
    lines = lock.install_lines(source, ())
    digest = hashlib.sha256(b"not really a wheel").hexdigest()
    assert lines[1].startswith("parsec-cloud @ file://") and lines[1].endswith(f" --hash=sha256:{digest}")
    assert not any(line.startswith("parsec-cloud==") for line in lines)


def test_a_malformed_lock_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "parsec-2.16.3-py3.9.txt"
    path.write_text("parsec-cloud>=2.16 --hash=sha256:" + "a" * 64 + "\n")
    with pytest.raises(HarnessError, match=r"parsec-2.16.3-py3.9.txt:1 is not 'name==version"):
        read_lock(path)


def test_a_missing_interpreter_names_the_cpython_the_release_needs(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(PrerequisiteMissing) as caught:
        find_interpreter(">=3.99,<3.100")
    assert "no CPython >=3.99,<3.100 found" in caught.value.problem
    assert "--parsec-python" in (caught.value.fix or "")


def test_a_given_interpreter_of_the_wrong_version_is_refused() -> None:
    with pytest.raises(OptionError, match=r"is CPython 3\.\d+\.\d+; this release needs >=3.99"):
        find_interpreter(">=3.99", Path(sys.executable))


@pytest.mark.parametrize("manager", ["pyenv", "uv"])
def test_interpreters_are_found_under_pyenv_and_uv(
    manager: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With nothing on PATH, an interpreter that only pyenv or uv installed is found."""
    version = ".".join(map(str, sys.version_info[:3]))
    if manager == "pyenv":
        bindir = tmp_path / "pyenv" / "versions" / version / "bin"
        monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "pyenv"))
        monkeypatch.setenv("UV_PYTHON_INSTALL_DIR", str(tmp_path / "no-uv"))
    else:
        bindir = tmp_path / "uv" / f"cpython-{version}-linux-x86_64-gnu" / "bin"
        monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "no-pyenv"))
        monkeypatch.setenv("UV_PYTHON_INSTALL_DIR", str(tmp_path / "uv"))
    bindir.mkdir(parents=True)
    (bindir / "python3").symlink_to(sys.executable)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    python, found = find_interpreter(f"=={version}")
    assert python == bindir / "python3"
    assert str(found) == version


def test_a_failed_install_is_remembered_for_the_run(tmp_path: Path) -> None:
    """Each later use of a release whose install failed says the same failure at once (no new install)."""
    calls = []

    class Counting(Release):
        def _installed_python(self) -> Path:
            calls.append(1)
            raise CommandFailed("pip install --no-deps -r … failed (exit 1)")

    release = Counting(from_version("2.16.3"), cache_dir=tmp_path, progress=Progress(lambda line: None))
    with pytest.raises(CommandFailed) as first:
        release.python  # noqa: B018
    with pytest.raises(CommandFailed) as second:
        release.python  # noqa: B018
    assert second.value is first.value
    assert calls == [1], "the install was tried again"
