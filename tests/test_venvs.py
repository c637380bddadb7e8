"""Release virtualenvs and their interpreters: reuse, rebuild, one build at a time, clear refusals."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.version import Version

from fixtures import PROJECT_ROOT
from fixtures.errors import OptionError, PrerequisiteMissing
from fixtures.releases.interpreters import find_interpreter
from fixtures.releases.venvs import MARKER, built_venv, venv_key

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
import sys
from pathlib import Path
from fixtures.progress import Progress
from fixtures.releases.venvs import ensure_venv
python = ensure_venv(
    cache_dir=Path(sys.argv[1]), key="tiny", interpreter=Path(sys.executable),
    requirements=["--no-index", "--find-links", sys.argv[2], "tinypkg"],
    import_check="import tinypkg", progress=Progress(print),
)
print("PYTHON", python)
"""


def _tiny_wheel(folder: Path) -> Path:
    """A wheel of an empty package ``tinypkg``, built offline."""
    source = folder / "src"
    (source / "tinypkg").mkdir(parents=True)
    (source / "tinypkg" / "__init__.py").write_text("")
    (source / "pyproject.toml").write_text('[project]\nname = "tinypkg"\nversion = "1.0"\n')
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


def _build(cache: Path, wheels: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", _BUILD, str(cache), str(wheels)],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_two_runs_building_the_same_venv_build_it_once(tmp_path: Path) -> None:
    wheels = _tiny_wheel(tmp_path)
    first, second = _build(tmp_path / "cache", wheels), _build(tmp_path / "cache", wheels)
    outputs = [first.communicate(timeout=300)[0], second.communicate(timeout=300)[0]]
    assert first.returncode == second.returncode == 0, outputs
    installs = [line for out in outputs for line in out.splitlines() if "install --no-index" in line]
    assert len(installs) == 1, f"the venv was built {len(installs)} times:\n{outputs}"
    pythons = {line for out in outputs for line in out.splitlines() if line.startswith("PYTHON ")}
    assert len(pythons) == 1, pythons


def test_a_broken_venv_is_rebuilt(tmp_path: Path) -> None:
    wheels = _tiny_wheel(tmp_path)
    build = _build(tmp_path / "cache", wheels)
    build.communicate(timeout=300)
    venv = tmp_path / "cache" / "venvs" / "tiny"
    shutil.rmtree(next((venv / "lib").glob("python*/site-packages/tinypkg")))
    again = _build(tmp_path / "cache", wheels)
    output = again.communicate(timeout=300)[0]
    assert again.returncode == 0, output
    assert "install --no-index" in output, "a venv that fails its import check must be rebuilt"
    assert next((venv / "lib").glob("python*/site-packages/tinypkg")).is_dir()


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
