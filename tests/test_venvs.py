"""Release virtualenvs: a complete one is reused, a half-built or broken one is not."""

from __future__ import annotations

from pathlib import Path

from packaging.version import Version

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
