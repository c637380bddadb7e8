"""The pieces that tell requirements from example values, "recorded" from "applied", and what a step did."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fixtures.errors import NotChecked
from fixtures.living_guide.cucumber import mark_steps_not_run
from fixtures.living_guide.record import PASSED, SKIPPED, RunRecord, ScenarioResult, StepResult
from fixtures.migration_schema import SchemaObject, created_objects
from fixtures.sections.env_files import EXAMPLE, FAILS, HOLDS, NOT_APPLIED, NOT_CHECKED, CheckFailed, EnvFileChecks
from fixtures.stacks.external import reported_version
from fixtures.step_notes import NOT_RUN
from fixtures.verdict import NOT_QUALIFIED, QUALIFIED, Ran, judge

MIGRATION_0014 = """
ALTER TABLE organization ADD minimum_archiving_period INTEGER NOT NULL DEFAULT 2592000;
ALTER TABLE organization ALTER COLUMN minimum_archiving_period DROP DEFAULT;
CREATE TYPE realm_archiving_configuration AS ENUM ('AVAILABLE', 'ARCHIVED');
CREATE TABLE realm_archiving (_id SERIAL PRIMARY KEY, certificate BYTEA NOT NULL);
"""


def test_what_a_migration_creates_is_read_with_postgresqls_parser() -> None:
    assert created_objects(MIGRATION_0014) == [
        SchemaObject("column", "organization.minimum_archiving_period"),
        SchemaObject("type", "realm_archiving_configuration"),
        SchemaObject("table", "realm_archiving"),
    ]


def _fails(message: str) -> None:
    raise CheckFailed(message)


def _not_checked() -> None:
    raise NotChecked("no [host]")


def test_every_failing_check_is_reported_and_example_values_apply_only_where_they_are_the_spec() -> None:
    checks = EnvFileChecks(example_values_apply=False, not_applied_reason="a real deployment's own choice")
    checks.require("first", lambda: _fails("the first is wrong"))
    checks.require("second", lambda: None)
    checks.require("third", _not_checked)
    checks.require("fourth", lambda: _fails("the fourth is wrong"))
    checks.example("the service name", lambda: _fails("never run"))
    assert [f.state for f in checks.findings] == [FAILS, HOLDS, NOT_CHECKED, FAILS, NOT_APPLIED]
    assert checks.findings[-1].kind == EXAMPLE
    with pytest.raises(CheckFailed) as failed:
        checks.verdict()
    assert "2 of the 5 checks fail" in str(failed.value)
    assert "the first is wrong" in str(failed.value) and "the fourth is wrong" in str(failed.value)
    assert "never run" not in str(failed.value)


def test_example_values_are_checked_on_the_guides_stacks() -> None:
    checks = EnvFileChecks(example_values_apply=True, not_applied_reason="")
    checks.example("the service name", lambda: _fails("PARSEC_DB reaches the service parsec-postgres"))
    with pytest.raises(CheckFailed, match="parsec-postgres"):
        checks.verdict()


def test_a_scenario_with_nothing_checkable_is_not_checked() -> None:
    checks = EnvFileChecks(example_values_apply=False, not_applied_reason="example")
    checks.require("only", _not_checked)
    with pytest.raises(NotChecked, match="no \\[host\\]"):
        checks.verdict()


def _scenario(nodeid: str, outcome: str, steps: list[StepResult]) -> ScenarioResult:
    return ScenarioResult(nodeid, "F", "f.feature", 1, "X", [], steps, outcome=outcome)


def test_cucumber_marks_steps_that_did_not_run_and_the_steps_of_skipped_scenarios(tmp_path: Path) -> None:
    ran = StepResult("When", "I restart parsec-backend", 5, status=PASSED, done=NOT_RUN, note="not restarted")
    record = RunRecord(started=0.0)
    for nodeid, outcome, steps_run in (
        ("features/guide-2.16/test_guide_2_16.py::test_x", PASSED, [StepResult("Given", "a", 4), ran]),
        ("features/guide-2.16/test_guide_2_16.py::test_y", SKIPPED, [StepResult("Given", "a", 4)]),
    ):
        record.scenarios[nodeid] = _scenario(nodeid, outcome, steps_run)
    steps = [
        {"name": "a", "line": 4, "result": {"status": "passed"}},
        {"name": "I restart parsec-backend", "line": 5, "result": {"status": "passed"}},
    ]
    path = tmp_path / "cucumber.json"
    path.write_text(
        json.dumps([{"elements": [{"id": "test_x", "steps": steps}, {"id": "test_y", "steps": steps[:1]}]}])
    )
    mark_steps_not_run(path, record)
    elements = json.loads(path.read_text())[0]["elements"]
    assert [s["result"]["status"] for s in elements[0]["steps"]] == ["passed", "skipped"]
    assert [s["result"]["status"] for s in elements[1]["steps"]] == ["skipped"]


def test_the_server_version_is_not_verified_when_nothing_answers(tmp_path: Path) -> None:
    said, other = reported_version("127.0.0.1", 1, tmp_path / "ca.crt", "2.16.3")
    assert said.startswith("server version not verified: GET / failed")
    assert other is None


@pytest.mark.parametrize(
    ("header", "other"),
    [
        ("parsec/2.16.3", None),
        ("parsec/2.16.1", "its server reports Parsec 2.16.1"),
        ("parsec/3", "its server reports Parsec 3.x"),
        ("parsec", None),
    ],
)
def test_a_server_reporting_another_release_is_not_qualified(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, header: str, other: str | None
) -> None:
    """The version the server reports, against the named 2.16.3: a difference makes the verdict NOT qualified."""
    import requests

    class Reply:
        headers = {"Server": header}

    monkeypatch.setattr(requests, "get", lambda *args, **kwargs: Reply())
    said, found = reported_version("127.0.0.1", 1, tmp_path / "ca.crt", "2.16.3")
    assert found == other, said
    verdict = judge("the deployment parsec://x", 1, [Ran(PASSED, "")], other_release=found)
    assert verdict.word == (QUALIFIED if other is None else NOT_QUALIFIED), verdict.sentence
