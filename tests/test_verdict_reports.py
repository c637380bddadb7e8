"""The verdict of a partial run, in the same words on the terminal, the page, summary.md, JUnit and Cucumber.

A selection of the guide (here its Requirements) passes, and it must not say "qualified": it
says how many of the guide's scenarios ran, and that the others were not selected.
"""

from __future__ import annotations

import html
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from fixtures.editions import DEFAULT_EDITION
from fixtures.living_guide.coverage import count_scenarios, read_features
from tests.runner import run_features

pytestmark = pytest.mark.selftest


def test_a_selection_that_passes_is_partial_everywhere(tmp_path: Path) -> None:
    run = run_features(tmp_path, "-m", "requirements")
    assert run.returncode == 0, run.output[-2000:]
    total = count_scenarios(read_features(DEFAULT_EDITION.features_dir))
    line = re.search(r"^PARTIAL: .*$", run.output, re.MULTILINE)
    assert line, f"the terminal says no PARTIAL verdict:\n{run.output[-1500:]}"
    verdict = line.group(0)
    assert verdict.startswith(f"PARTIAL: 6 of {total} scenarios ran, all passed, for Parsec 2.16.3")
    assert verdict.endswith(f"(not run: {total - 6} not selected)")
    assert "qualified" not in run.output.replace("NOT qualified", ""), "a partial run never says qualified"

    summary = (run.reports_dir / "summary.md").read_text(encoding="utf-8")
    assert verdict in summary.splitlines(), summary[:600]
    page = html.unescape((run.reports_dir / "guide.html").read_text(encoding="utf-8"))
    assert ">PARTIAL<" in page and verdict.removeprefix("PARTIAL: ") in page
    properties = {p.get("name"): p.get("value") for p in ET.parse(run.reports_dir / "junit.xml").iter("property")}
    assert properties.get("verdict") == verdict
    features = json.loads((run.reports_dir / "cucumber.json").read_text(encoding="utf-8"))
    tags = {tag["name"] for feature in features for tag in feature["tags"]}
    assert "verdict=" + "_".join(verdict.split()) in tags
    timings = json.loads((run.reports_dir / "timings.json").read_text(encoding="utf-8"))
    assert timings["verdict"] == verdict
