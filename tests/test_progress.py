"""A phase that ends in the refusal it was after says "refused, as expected", not "FAILED"."""

from __future__ import annotations

import pytest

from fixtures.progress import REFUSED, Progress


class Refused(Exception):
    pass


def test_an_expected_refusal_ends_its_phase_ok_and_says_so() -> None:
    lines: list[str] = []
    progress = Progress(lines.append)
    with pytest.raises(Refused), progress.phase("bootstrap Unannounced", refused=lambda e: isinstance(e, Refused)):
        raise Refused
    (phase,) = progress.phases
    assert phase.ok and phase.result == REFUSED and phase.outcome == "refused, as expected"
    assert lines[-1].startswith("[parsec-acceptance] bootstrap Unannounced: refused, as expected in ")


def test_any_other_failure_is_still_a_failure() -> None:
    lines: list[str] = []
    progress = Progress(lines.append)
    with pytest.raises(ValueError), progress.phase("bootstrap Unannounced", refused=lambda e: isinstance(e, Refused)):
        raise ValueError("a TLS error, say")
    (phase,) = progress.phases
    assert not phase.ok and phase.outcome == "FAILED" and lines[-1].endswith(" s") and ": FAILED in " in lines[-1]
