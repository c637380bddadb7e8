"""Run the features in a child pytest, as a user would, and read what it wrote.

Self-tests use it to break a copy of the bundle (or the stack) and see the right scenario
fail; the child gets its own reports directory so the user's reports/ is left alone.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fixtures import DEFAULT_BUNDLE as BUNDLE
from fixtures import PROJECT_ROOT as PROJECT


@dataclass(frozen=True)
class FeatureRun:
    returncode: int
    output: str
    reports_dir: Path

    def outcomes(self) -> dict[str, str]:
        """Test name -> passed / failed / error / skipped, from the JUnit report."""
        tree = ET.parse(self.reports_dir / "junit.xml")
        found: dict[str, str] = {}
        for case in tree.iter("testcase"):
            name = case.get("name", "")
            state = "passed"
            for tag in ("failure", "error", "skipped"):
                if case.find(tag) is not None:
                    state = {"failure": "failed"}.get(tag, tag)
            found[name] = state
        return found

    def failed(self) -> list[str]:
        return [name for name, state in self.outcomes().items() if state in ("failed", "error")]

    def cucumber(self) -> list[dict]:
        return json.loads((self.reports_dir / "cucumber.json").read_text(encoding="utf-8"))


def broken_bundle(tmp_path: Path, edit: Callable[[Path], None], source: Path = BUNDLE) -> Path:
    """A copy of the guide's bundle (``source``, links followed), with ``edit`` applied to it."""
    bundle = tmp_path / "bundle"
    shutil.copytree(source, bundle)
    edit(bundle)
    return bundle


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"self-test setup: {old!r} not in {path.name}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def run_features(
    tmp_path: Path,
    *args: str,
    bundle: Path | None = None,
    timeout: float = 300,
    env: dict[str, str] | None = None,
) -> FeatureRun:
    reports = tmp_path / "reports"
    reports.mkdir(parents=True, exist_ok=True)  # pytest-bdd's cucumber.json is not written otherwise
    argv = [sys.executable, "-m", "pytest", str(PROJECT / "features"), "--reports-dir", str(reports), *args]
    if bundle is not None:
        argv += ["--bundle", str(bundle)]
    result = subprocess.run(
        argv,
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        check=False,
    )
    return FeatureRun(result.returncode, result.stdout + result.stderr, reports)
