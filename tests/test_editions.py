"""Guide editions: a release runs its own edition's features, outline and bundle, and only those.

``pytest features/`` collects the folder of the release's edition; asking for the other edition's
folder is one clear line, not a run of a guide that release's users never read.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from fixtures import PROJECT_ROOT
from fixtures.bundle import Bundle
from fixtures.editions import DEFAULT_EDITION, EDITIONS, Edition, edition_for
from fixtures.living_guide.outline import load_outline
from fixtures.releases import adapter_for
from steps.common import server_named, server_step


def _collect(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "pytest", *args, "--collect-only", "-q", "--reports-dir", str(tmp_path)]
    return subprocess.run(argv, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.parametrize(("version", "edition"), [("2.16.3", "2.16"), ("3.9.3", "3.9")])
def test_features_collects_the_releases_edition_only(tmp_path: Path, version: str, edition: str) -> None:
    done = _collect(tmp_path, "features/", "--parsec-version", version)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    modules = set(re.findall(r"<Module (\S+)>", done.stdout))
    assert modules == {f"test_guide_{edition.replace('.', '_')}.py"}, done.stdout[-2000:]


def test_the_other_editions_folder_is_one_clear_line(tmp_path: Path) -> None:
    done = _collect(tmp_path, "features/guide-3.9/")
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, done.stdout[-2000:]
    error = [line for line in done.stderr.splitlines() if line.strip()]
    assert error == [
        "ERROR: features/guide-3.9/ is the guide's 3.9 edition, but Parsec 2.16.3 follows its 2.16 edition: "
        "run features/guide-2.16/, or give --parsec-version a release of the 3.9 edition"
    ], done.stderr


@pytest.mark.parametrize("edition", EDITIONS.values(), ids=EDITIONS.keys())
def test_each_editions_bundle_declares_its_roles(edition: Edition) -> None:
    bundle = Bundle.load(edition.bundle_dir, edition.roles)
    assert set(edition.roles.services) <= set(bundle.services), sorted(bundle.services)


def test_the_default_release_follows_the_default_edition() -> None:
    assert edition_for(adapter_for("2.16.3")) is DEFAULT_EDITION
    assert EDITIONS["3.9"].roles.server == "parsec-server" and EDITIONS["3.9"].roles.proxy == "parsec-proxy"
    assert DEFAULT_EDITION.roles.server == "parsec-backend" and DEFAULT_EDITION.roles.proxy is None


def test_a_step_naming_another_server_fails_naming_both() -> None:
    bundle = Bundle.load(EDITIONS["3.9"].bundle_dir, EDITIONS["3.9"].roles)
    assert server_named(bundle, "parsec-server") == "parsec-server"
    with pytest.raises(AssertionError) as raised:
        server_named(bundle, "parsec-backend")
    assert str(raised.value).startswith(
        "the step names parsec-backend, but the server of the bundle's compose file is parsec-server"
    )


@pytest.mark.parametrize(
    ("text", "name"),
    [("parsec-server is running", "parsec-server"), ("parsec-backend is running", "parsec-backend")],
)
def test_the_server_steps_take_the_name_from_the_text(text: str, name: str) -> None:
    assert server_step("{server} is running").parse_arguments(text) == {"server_name": name}


def test_the_server_steps_leave_the_proxy_to_its_own_steps() -> None:
    assert not server_step("{server} is running").is_matching("parsec-proxy is running")


def test_the_page_of_a_3x_run_renders_the_39_outline_checked_against_its_guide(tmp_path: Path) -> None:
    """Nothing selected (no stack starts): the page still renders the edition's outline, and its drift check."""
    guide = PROJECT_ROOT.parent / "shared" / "guide" / "v3.9.3" / "install-guide.rst"
    args = ["--parsec-version", "3.9.3", "-m", "deployment_options", "--reports-dir", str(tmp_path)]
    if guide.is_file():
        args.append(f"--guide={guide}")
    argv = [sys.executable, "-m", "pytest", "features/", *args]
    done = subprocess.run(argv, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120, check=False)
    page = (tmp_path / "guide.html").read_text(encoding="utf-8")
    assert "<h1>Server Deployment</h1>" in page, done.stdout[-2000:]
    outline = load_outline(EDITIONS["3.9"].outline_file)
    for section in outline.walk():
        assert f'data-tag="{section.tag}"' in page, f"the page lacks the 3.9 section {section.title}"
    assert 'data-tag="preamble"' not in page, "the page shows a section of the 2.16 edition"
    if guide.is_file():
        assert "matches the outline" in page
