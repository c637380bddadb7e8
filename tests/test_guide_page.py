"""The living guide's page, checked in a real browser, for a passing and for a failing run.

Each run is a child ``pytest features/`` on a bundle whose TLS files are already made (the
guide's setup-tls.sh then skips its RSA 4096 keys); the failing run's bundle configures the
server with another bucket than the one the guide creates, which fails sections 3.2.4, 3.5.2
and everything that needs the server. Headless Chromium (Debian's ``chromium``) renders each
page: screenshots at 1280 and 360 pixels, a PDF through the print CSS, and a probe of what a
reader sees (tests/browser.py).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from fixtures.editions import DEFAULT_EDITION
from fixtures.living_guide.facts import MASK
from fixtures.living_guide.outline import load_outline
from tests import browser
from tests.runner import BUNDLE, FeatureRun, replace_in, run_features

pytestmark = [
    pytest.mark.selftest,
    pytest.mark.skipif(browser.chromium() is None, reason="chromium is not installed (apt-get install chromium)"),
]

WIDE, PHONE = 1280, 360
SCREENSHOT_MIN_BYTES = 40_000  # a blank page of this size is ~9 kB


@pytest.fixture(scope="module")
def certified_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    bundle = tmp_path_factory.mktemp("certified") / "bundle"
    shutil.copytree(BUNDLE, bundle)
    subprocess.run(["bash", "setup-tls.sh"], cwd=bundle, check=True, capture_output=True, timeout=120)
    return bundle


@pytest.fixture(scope="module")
def passing_run(tmp_path_factory: pytest.TempPathFactory, certified_bundle: Path) -> FeatureRun:
    run = run_features(tmp_path_factory.mktemp("passing"), bundle=certified_bundle)
    assert run.returncode == 0, f"the guide should pass on the repository's bundle:\n{run.output[-2000:]}"
    return run


@pytest.fixture(scope="module")
def failing_run(tmp_path_factory: pytest.TempPathFactory, certified_bundle: Path) -> FeatureRun:
    base = tmp_path_factory.mktemp("failing")
    bundle = base / "bundle"
    shutil.copytree(certified_bundle, bundle)
    replace_in(bundle / "parsec-s3.env", ":region1:parsec:", ":region1:other:")
    run = run_features(base, bundle=bundle)
    assert run.returncode == pytest.ExitCode.TESTS_FAILED, run.output[-2000:]
    return run


def _shots(run: FeatureRun, name: str) -> dict[str, Path]:
    """Screenshots of the run's page, wide and phone-narrow, and its PDF; each checked to hold a page."""
    page = run.reports_dir / "guide.html"
    shots = {}
    for label, width, height in (("wide", WIDE, 1600), ("phone", PHONE, 1600)):
        png = run.reports_dir / f"{name}-{label}.png"
        assert browser.screenshot(page, png, width, height) == (width, height)
        assert png.stat().st_size > SCREENSHOT_MIN_BYTES, f"{png} looks blank ({png.stat().st_size} bytes)"
        shots[label] = png
    pdf = run.reports_dir / f"{name}.pdf"
    assert browser.pdf(page, pdf) >= 2, "the printed page should take several pages"
    shots["pdf"] = pdf
    print(f"{name}: " + ", ".join(str(p) for p in shots.values()))
    return shots


def _check_layout(view: dict, width: int) -> None:
    """Every section title and verdict shown, in the guide's order; nothing wider than the screen."""
    outline = list(load_outline(DEFAULT_EDITION.outline_file).walk())
    sections = view["sections"]
    assert [s["id"] for s in sections] == [section.anchor for section in outline]
    for section, shown in zip(outline, sections, strict=True):
        assert shown["shown"] and shown["verdictShown"], f"section {section.number} is not visible: {shown}"
        assert shown["title"].startswith(f"{section.number} {section.title}"), shown["title"]
    tops = [s["top"] for s in sections]
    assert tops == sorted(tops), "the sections are not laid out in the guide's order"
    assert view["width"] == width
    assert view["right"] <= width, f"{view['widest']} reaches {view['right']:.0f} px in a {width} px wide window"
    assert view["smallestStepFont"] >= 12, f"steps are set in {view['smallestStepFont']} px"
    assert view["resources"] == 0, "the page loads resources: it must be self-contained"
    assert all(link.startswith("#") for link in view["links"]), [x for x in view["links"] if not x.startswith("#")]


@pytest.mark.parametrize("width", [WIDE, PHONE])
def test_the_page_of_a_passing_run(passing_run: FeatureRun, width: int) -> None:
    view = browser.probe(passing_run.reports_dir / "guide.html", width)
    _check_layout(view, width)
    assert view["verdict"] == "qualified" and view["verdictShown"]
    assert view["firstFailure"] is None
    assert {s["verdict"] for s in view["sections"]} == {"passed"}


@pytest.mark.parametrize("width", [WIDE, PHONE])
def test_the_page_of_a_failing_run_points_at_the_failing_section(failing_run: FeatureRun, width: int) -> None:
    view = browser.probe(failing_run.reports_dir / "guide.html", width)
    _check_layout(view, width)
    assert view["verdict"] == "NOT qualified" and view["verdictShown"]
    first = view["firstFailure"]
    assert first is not None and first["shown"], "a failing run's page shows its first failure"
    assert first["href"] == "#section-env_s3", first
    assert first["top"] < view["sections"][0]["top"], "the first failure is shown above the guide's sections"
    assert "PARSEC_BLOCKSTORE names 'other'" in first["text"]
    verdicts = {s["id"]: s["verdict"] for s in view["sections"]}
    for failed in ("env_s3", "env_files", "s3_bucket", "create_organization", "first_user"):
        assert verdicts[f"section-{failed}"] == "failed", verdicts
    for passed in ("requirements", "tls_certificates", "env_admin_token", "database_migration", "smtp"):
        assert verdicts[f"section-{passed}"] == "passed", verdicts


def test_screenshots_of_a_passing_and_of_a_failing_run(passing_run: FeatureRun, failing_run: FeatureRun) -> None:
    _shots(passing_run, "passing")
    _shots(failing_run, "failing")


def test_the_evidence_of_a_passing_run(passing_run: FeatureRun) -> None:
    page = (passing_run.reports_dir / "guide.html").read_text(encoding="utf-8")
    for evidence in (
        "Certificate custom-ca.crt",
        "CN=parsec-s3",
        "DNS:localhost",
        "expires in",
        "Migrations applied",
        "Bucket parsec: object lock configuration",
        "ObjectLockEnabled",
        "Test mail",
        "rcpt@test.com",
        "Bootstrap organization url",
        "Organization MyOrg",
        "Invitation mail",
        "invitee@example.com",
        "token=" + MASK,
    ):
        assert evidence in page, f"the page of a passing run shows no {evidence!r}"
    summary = (passing_run.reports_dir / "summary.md").read_text(encoding="utf-8")
    assert summary.startswith("## ✅ Parsec install guide: qualified"), summary[:200]


def test_a_failure_shows_what_the_guide_expected_what_was_found_and_the_log(failing_run: FeatureRun) -> None:
    page = (failing_run.reports_dir / "guide.html").read_text(encoding="utf-8")
    assert "The guide expects" in page and "Found" in page
    assert "the guide&#39;s bucket is &#39;parsec&#39;" in page  # the expected half of the check's message
    assert "HeadBucket operation: Not Found" in page  # what was found, from the server's log
    assert "parsec-backend log (last 15 lines)" in page
    summary = (failing_run.reports_dir / "summary.md").read_text(encoding="utf-8")
    assert summary.startswith("## ❌ Parsec install guide: NOT qualified")
    assert "**First failure** — 3.2.4 S3 service configuration" in summary


def test_a_stack_that_does_not_start_still_gets_its_page(tmp_path: Path, certified_bundle: Path) -> None:
    bundle = tmp_path / "bundle"
    shutil.copytree(certified_bundle, bundle)
    (bundle / "parsec-s3.crt").write_text("", encoding="utf-8")  # SeaweedFS cannot serve TLS: it does not start
    run = run_features(tmp_path, "-m", "starting_services", bundle=bundle)
    assert run.returncode == pytest.ExitCode.TESTS_FAILED, run.output[-2000:]
    view = browser.probe(run.reports_dir / "guide.html", WIDE)
    assert view["verdict"] == "NOT qualified"
    assert view["firstFailure"]["href"] == "#section-starting_services"
    summary = (run.reports_dir / "summary.md").read_text(encoding="utf-8")
    assert "start parsec-s3 on 127.0.0.1:" in summary and "failed" in summary, summary
