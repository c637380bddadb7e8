"""Run the features in a child pytest, as a user would, and read what it wrote.

Self-tests use it to break a copy of the bundle (or the stack) and see the right scenario
fail; the child gets its own reports directory so the user's reports/ is left alone.

A child run's scenarios are named by the guide's words, :class:`Scenario` (feature title,
scenario title), never by the Python names pytest-bdd gives their tests: the titles come from
the child's ``cucumber.json``. pytest-bdd writes there only the scenarios that reached their
steps, and its statuses are per step (a step pytest-bdd never saw fail shows passed), so each
scenario's state is the one its JUnit testcase gives (the two reports are joined by pytest-bdd's element ``id``, the
test's name); the reports must agree, or reading them fails loudly. A scenario that ended
before its first step (skipped by a marker, or a fixture's error) is absent from
``cucumber.json``: its title is the one the features give the test that JUnit names.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from fixtures import DEFAULT_BUNDLE as BUNDLE
from fixtures import PROJECT_ROOT as PROJECT
from fixtures.editions import DEFAULT_EDITION, EDITIONS, Edition, edition_for
from fixtures.releases import adapter_for

FEATURES = DEFAULT_EDITION.features_dir  # the default release's (2.16.3) edition of the guide


class Scenario(NamedTuple):
    """A scenario of the guide: its feature's title and its own, as cucumber.json renders it.

    A Scenario Outline's title has the example row's values in place of its ``<parameters>``
    ("The script generates the key, the CSR and the certificate of parsec-s3").
    """

    feature: str
    title: str

    def format(self, *values: str) -> Scenario:
        """The scenario of one example row: ``{}`` in the title (an outline's parameter) becomes ``values``."""
        return Scenario(self.feature, self.title.format(*values))

    def __str__(self) -> str:
        return f"{self.feature} / {self.title}"


class Outcome(NamedTuple):
    state: str  # passed, failed (in a step), error (outside the steps: a fixture) or skipped, as JUnit says
    message: str = ""  # failed: the failing step's error (cucumber.json); error, skipped: JUnit's


@functools.cache
def feature_scenarios(features: Path = FEATURES) -> dict[str, Scenario]:
    """Every scenario of the features, one per example row, by the test name pytest-bdd gives it.

    Each edition's test module binds them all with ``scenarios(<its folder>)``: the names are the ones it makes.
    """
    from pytest_bdd.feature import get_features
    from pytest_bdd.scenario import collect_example_parametrizations, get_python_name_generator

    found: dict[str, Scenario] = {}
    tests: set[str] = set()
    for feature in get_features([str(features)]):
        for title, template in feature.scenarios.items():
            test = next(name for name in get_python_name_generator(title) if name not in tests)
            tests.add(test)
            rows = collect_example_parametrizations(template)
            for name, context in [(f"{test}[{row.id}]", row.values[0]) for row in rows] if rows else [(test, {})]:
                found[name] = Scenario(feature.name, template.render(context).name)  # type: ignore[arg-type]
    return found


def not_in_the_features(scenarios: Iterable[Scenario]) -> list[str]:
    """The ``scenarios`` no feature of any edition has (a renamed scenario, or a typo in a self-test)."""
    known = {s for edition in EDITIONS.values() for s in feature_scenarios(edition.features_dir).values()}
    return sorted({str(s) for s in scenarios if s not in known})


class ReportsDisagree(AssertionError):
    """cucumber.json and junit.xml of one child run do not tell the same story."""


@dataclass(frozen=True)
class FeatureRun:
    """A finished child run: its exit code, its output and its reports directory (cucumber.json, junit.xml)."""

    returncode: int
    output: str
    reports_dir: Path
    features_dir: Path = FEATURES  # the features of the edition the child ran

    @functools.cached_property
    def scenarios(self) -> dict[Scenario, Outcome]:
        """Each scenario the child ran or skipped, in the order it ran, with its outcome."""
        junit = self._junit()
        cucumber = self._cucumber()
        found: dict[Scenario, Outcome] = {}
        disagreements: list[str] = []
        for test, (state, has_failure, message) in junit.items():
            if test in cucumber:
                scenario, failed, error = cucumber.pop(test)
                if failed != has_failure:
                    disagreements.append(
                        f"{scenario}: cucumber.json says {'failed' if failed else 'not failed'}, junit.xml {state}"
                    )
                message = "\n".join(part for part in (error, "" if state == "failed" else message) if part)
            elif state in ("skipped", "error") and test in feature_scenarios(self.features_dir):
                scenario = feature_scenarios(self.features_dir)[test]  # it ended before its first step
            else:
                absent = "cucumber.json does not" if state in ("passed", "failed") else "nor do the features"
                disagreements.append(f"junit.xml has {test} ({state}); {absent}")
                continue
            if scenario in found:
                disagreements.append(f"{scenario} is there twice")
            found[scenario] = Outcome(state, message)
        disagreements += [f"cucumber.json has {scenario}; junit.xml does not" for scenario, _, _ in cucumber.values()]
        if disagreements:
            counts = self._counts()
            raise ReportsDisagree(
                f"the child's reports disagree ({counts}) in {self.reports_dir}:\n  " + "\n  ".join(disagreements)
            )
        return found

    def outcomes(self) -> dict[Scenario, str]:
        """Scenario -> passed / failed / error / skipped."""
        return {scenario: outcome.state for scenario, outcome in self.scenarios.items()}

    def failed(self) -> list[Scenario]:
        return [scenario for scenario, state in self.outcomes().items() if state in ("failed", "error")]

    def outcome(self, scenario: Scenario) -> Outcome:
        """How ``scenario`` ended; fails saying why when the run has no such scenario."""
        if scenario not in self.scenarios:
            why = (
                "no feature has it (renamed?)"
                if not_in_the_features([scenario])
                else "it was not selected, or the child ran nothing"
            )
            ran = "".join(f"\n  {s}" for s in self.scenarios) or " nothing"
            raise AssertionError(f"the child run has no scenario {scenario}: {why}; it ran:{ran}")
        return self.scenarios[scenario]

    def _report(self, name: str) -> Path:
        path = self.reports_dir / name
        if not path.is_file():
            raise AssertionError(f"the child wrote no {path} (exit code {self.returncode}):\n{self.output[-3000:]}")
        return path

    def _cucumber(self) -> dict[str, tuple[Scenario, bool, str]]:
        """pytest-bdd's test name -> (scenario, whether a step failed, the failing step's error)."""
        found = {}
        for feature in json.loads(self._report("cucumber.json").read_text(encoding="utf-8")):
            for element in feature["elements"]:
                results = [step["result"] for step in element["steps"]]
                error = next((r["error_message"] for r in results if r.get("error_message")), "")
                failed = any(r["status"] == "failed" for r in results)
                found[element["id"]] = (Scenario(feature["name"], element["name"]), failed, error)
        return found

    def _junit(self) -> dict[str, tuple[str, bool, str]]:
        """Test name -> (state, whether it has a <failure>, its <error> or <skipped> text)."""
        found = {}
        for case in ET.parse(self._report("junit.xml")).iter("testcase"):
            state, message = "passed", ""
            for tag in ("failure", "error", "skipped"):
                element = case.find(tag)
                if element is not None:
                    state = {"failure": "failed"}.get(tag, tag)
                    message = f"{element.get('message', '')}\n{element.text or ''}"
            found[case.get("name", "")] = (state, case.find("failure") is not None, message)
        return found

    def _counts(self) -> str:
        junit = [state for state, _, _ in self._junit().values()]
        cucumber = [failed for _, failed, _ in self._cucumber().values()]
        return (
            f"cucumber.json: {len(cucumber)} scenarios, {sum(cucumber)} failed; "
            f"junit.xml: {len(junit)} testcases, {junit.count('failed')} failed, {junit.count('error')} errors, "
            f"{junit.count('skipped')} skipped"
        )


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


def _edition_of(args: tuple[str, ...]) -> Edition:
    """The guide edition a child run with ``args`` follows: its release's (``--parsec-version``, a wheel's name)."""
    if "--parsec-version" in args:
        return edition_for(adapter_for(args[args.index("--parsec-version") + 1]))
    if "--parsec-wheel" in args:  # parsec_cloud-<version>-<tags>.whl
        return edition_for(adapter_for(Path(args[args.index("--parsec-wheel") + 1]).name.split("-")[1]))
    return DEFAULT_EDITION


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
    edition = _edition_of(args)
    return FeatureRun(result.returncode, result.stdout + result.stderr, reports, edition.features_dir)
