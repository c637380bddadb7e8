"""A candidate build given with --parsec-wheel is the one that is installed and runs.

The published 3.9.3 wheel is repacked as ``3.9.3+acceptance.1`` with a marker in the server's
start-up line, a build no registry has. The features must pass with it, every report must name
it, and the server's own log must show the marker.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from fixtures.errors import HarnessError
from fixtures.releases.interpreters import find_interpreter
from fixtures.releases.venvs import default_cache_dir
from tests.runner import run_features

PUBLISHED = "3.9.3"
CANDIDATE = "3.9.3+acceptance.1"
STARTUP_LINE = 'f"Starting Parsec server on {host}:{port}"'
MARKER = "candidate build acceptance.1"


def _published_wheel(folder: Path) -> Path:
    """The published wheel, downloaded once into the harness's cache."""
    found = sorted(folder.glob(f"parsec_cloud-{PUBLISHED}-cp312-*.whl"))
    if found:
        return found[0]
    try:
        python, _ = find_interpreter(">=3.12,<3.13")
    except HarnessError as exc:
        pytest.skip(f"no CPython 3.12 to download the {PUBLISHED} wheel for: {exc.problem}")
    subprocess.run(
        [str(python), "-m", "pip", "download", "-q", "--no-deps", f"parsec-cloud=={PUBLISHED}", "-d", str(folder)],
        check=True,
        capture_output=True,
    )
    return sorted(folder.glob(f"parsec_cloud-{PUBLISHED}-cp312-*.whl"))[0]


def _candidate_wheel(published: Path, work: Path) -> Path:
    """Repack ``published`` as another version whose server says MARKER when it starts."""
    subprocess.run([sys.executable, "-m", "wheel", "unpack", str(published), "-d", str(work)], check=True)
    (tree,) = work.iterdir()
    run_py = tree / "parsec" / "cli" / "run.py"
    text = run_py.read_text(encoding="utf-8")
    assert STARTUP_LINE in text, "the 3.9.3 server's start-up line moved: update this test"
    run_py.write_text(text.replace(STARTUP_LINE, f'f"Starting Parsec server ({MARKER}) on {{host}}:{{port}}"'))
    version_py = tree / "parsec" / "_version.py"
    version_py.write_text(version_py.read_text().replace(f'"{PUBLISHED}"', f'"{CANDIDATE}"'))
    dist_info = tree / f"parsec_cloud-{PUBLISHED}.dist-info"
    metadata = dist_info / "METADATA"
    metadata.write_text(metadata.read_text().replace(f"\nVersion: {PUBLISHED}\n", f"\nVersion: {CANDIDATE}\n", 1))
    dist_info.rename(tree / f"parsec_cloud-{CANDIDATE}.dist-info")
    out = work / "dist"
    out.mkdir()
    # Same bytes on every run (fixed zip timestamps): one cached virtualenv, not one per run.
    env = {**os.environ, "SOURCE_DATE_EPOCH": "315532800"}
    subprocess.run([sys.executable, "-m", "wheel", "pack", str(tree), "-d", str(out)], check=True, env=env)
    (wheel,) = out.glob("*.whl")
    return wheel


def test_the_given_wheel_is_the_release_that_runs(tmp_path: Path) -> None:
    cache = default_cache_dir() / "wheels"
    cache.mkdir(parents=True, exist_ok=True)
    wheel = _candidate_wheel(_published_wheel(cache), tmp_path / "repack")
    # Kept after the run to read the server's log; PostgreSQL (not root) must be able to enter it.
    parent = Path(tempfile.mkdtemp(prefix="parsec-acceptance-wheel-test-"))
    parent.chmod(0o711)
    workdir = parent / "work"
    try:
        run = run_features(tmp_path, "--parsec-wheel", str(wheel), "--workdir", str(workdir), timeout=600)
        server_log = (workdir / "services" / "parsec-server" / "server.log").read_text(encoding="utf-8")
    finally:
        shutil.rmtree(parent)

    assert run.returncode == 0, run.output[-3000:]
    assert f"qualified: Parsec {CANDIDATE} (wheel {wheel.name}" in run.output
    assert f"installed parsec-cloud {CANDIDATE}" in run.output
    assert f"Starting Parsec server ({MARKER})" in server_log, "the server that ran is not the wheel's"
    properties = {p.get("name"): p.get("value", "") for p in ET.parse(run.reports_dir / "junit.xml").iter("property")}
    assert properties["parsec_installed"] == CANDIDATE
    assert wheel.name in properties["parsec_release"]
    features = json.loads((run.reports_dir / "cucumber.json").read_text(encoding="utf-8"))
    tags = {tag["name"] for feature in features for tag in feature["tags"]}
    assert f"parsec_installed={CANDIDATE}" in tags
