"""The verdict: "qualified" only for the whole guide run and passed; partial runs say what did not run."""

from __future__ import annotations

from fixtures.living_guide.record import FAILED, INTERRUPTED, PASSED, SKIPPED
from fixtures.verdict import NOT_QUALIFIED, PARTIAL, QUALIFIED, Ran, judge

SUBJECT = "Parsec 3.9.3 (PyPI)"


def test_the_whole_guide_passed_is_qualified() -> None:
    verdict = judge(SUBJECT, 3, [Ran(PASSED)] * 3)
    assert verdict.word == QUALIFIED
    assert verdict.line == "qualified: Parsec 3.9.3 (PyPI) passes the install guide: all 3 scenarios ran and passed"


def test_a_selection_is_partial_and_says_how_many_ran() -> None:
    verdict = judge(SUBJECT, 33, [Ran(PASSED)])  # pytest features/ -k bucket
    assert verdict.word == PARTIAL
    assert verdict.line == (
        "PARTIAL: 1 of 33 scenarios ran, all passed, for Parsec 3.9.3 (PyPI) against the install guide "
        "(not run: 32 not selected)"
    )


def test_scenarios_not_checked_are_partial_with_their_reasons() -> None:
    read_only = "creates the organization MyOrg: the deployment is read-only for this run"
    verdict = judge(
        SUBJECT, 4, [Ran(PASSED), Ran(SKIPPED, read_only), Ran(SKIPPED, read_only), Ran(SKIPPED, "no [s3]")]
    )
    assert verdict.word == PARTIAL
    assert verdict.sentence.startswith("1 of 4 scenarios ran")
    assert f"not run: 3 not checked: {read_only} (×2); no [s3])" in verdict.sentence


def test_nothing_passed_is_not_qualified_either() -> None:
    assert judge(SUBJECT, 2, [Ran(SKIPPED, "why"), Ran(SKIPPED, "why")]).word == PARTIAL


def test_a_failure_is_not_qualified_whatever_else_passed() -> None:
    verdict = judge(SUBJECT, 3, [Ran(PASSED), Ran(FAILED), Ran(SKIPPED, "why")])
    assert verdict.line == "NOT qualified: Parsec 3.9.3 (PyPI) fails the install guide: 1 of 3 scenarios failed"


def test_a_stack_that_did_not_start_is_not_qualified() -> None:
    verdict = judge(SUBJECT, 3, [Ran(SKIPPED, "x")], failed_start="start parsec-s3")
    assert verdict.word == NOT_QUALIFIED and "the stack did not start (start parsec-s3 failed)" in verdict.sentence


def test_an_interrupted_run_is_partial_even_if_all_selected_passed() -> None:
    verdict = judge(SUBJECT, 2, [Ran(PASSED), Ran(INTERRUPTED)], interrupted=True)
    assert verdict.word == PARTIAL and "1 not finished: the run was interrupted" in verdict.sentence
    assert judge(SUBJECT, 1, [Ran(PASSED)], interrupted=True).word == PARTIAL
