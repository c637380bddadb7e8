"""A section's outcome: a failure is said again where the stack would perform the step again.

Unit tests of ``fixtures.sections.base`` with the real stack kinds reduced to their dispatch
(``carry_out``, ``prepare``): no service runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from fixtures.bundle import Bundle
from fixtures.editions import DEFAULT_EDITION
from fixtures.errors import CommandFailed, NotChecked
from fixtures.progress import Progress
from fixtures.redaction import Secrets
from fixtures.releases import Release
from fixtures.releases.source import from_version
from fixtures.sections.base import DONE, FAILED, NOT_CHECKED, Context, Section, SectionFailed
from fixtures.stacks.base import ObservingStack, ProvisioningStack, Stack
from tests.runner import BUNDLE


def _bare(kind: type[Any]) -> Stack:
    """A stack of that kind with only its dispatch: every service method is left out."""
    bare = type(f"Bare{kind.__name__}", (kind,), {"name": "bare", "guide_files": lambda self: None})
    bare.__abstractmethods__ = frozenset()  # type: ignore[attr-defined]
    stack: Stack = bare(allow_writes=False) if issubclass(kind, ObservingStack) else bare()
    return stack


@dataclass
class Step:
    """A guide step that fails its first ``failures`` performances, and whose observation may fail."""

    failures: int = 0
    observation_fails: bool = False
    performed: list[int] = field(default_factory=list)

    def perform(self, stack: ProvisioningStack) -> str:
        self.performed.append(1)
        if len(self.performed) <= self.failures:
            raise CommandFailed("the step failed")
        return "done"

    def observe(self, stack: ObservingStack) -> str:
        if self.observation_fails:
            raise CommandFailed("the deployment is not in that state")
        return "seen"


def _section(stack: Stack, tmp_path: Path) -> Section:
    release = Release(from_version("2.16.3"), cache_dir=tmp_path, progress=Progress(lambda line: None))
    context = Context(
        bundle=Bundle.load(BUNDLE, DEFAULT_EDITION.roles),
        stack=stack,
        release=release,
        secrets=Secrets(),
        progress=Progress(lambda line: None),
    )
    return Section(context)


def test_a_failed_step_is_said_again_not_performed_again(tmp_path: Path) -> None:
    section, step = _section(_bare(ProvisioningStack), tmp_path), Step(failures=1)
    with pytest.raises(CommandFailed, match="the step failed"):
        section.ensure_with(step)
    with pytest.raises(SectionFailed, match="the step failed\n\\(as when the run first tried it\\)"):
        section.ensure_with(step)
    assert len(step.performed) == 1, "the step is not performed again after its failure"
    assert section.outcomes[""].state == FAILED and section.outcomes[""].message == "the step failed"


def test_a_step_performed_once_is_not_performed_again(tmp_path: Path) -> None:
    section, step = _section(_bare(ProvisioningStack), tmp_path), Step()
    section.ensure_with(step)
    section.ensure_with(step)
    assert len(step.performed) == 1 and section.done


def test_an_observing_stack_takes_the_deployment_as_it_is(tmp_path: Path) -> None:
    """A failed observation is its own scenario's failure; a later Given does not repeat it."""
    section, step = _section(_bare(ObservingStack), tmp_path), Step(observation_fails=True)
    with pytest.raises(CommandFailed):
        section.remember(lambda: section.stack.carry_out(step))
    assert section.outcomes[""].state == FAILED
    section.ensure_with(step)
    assert section.done and not step.performed


def test_a_prerequisite_failure_said_again_is_not_the_sections_own(tmp_path: Path) -> None:
    section = _section(_bare(ProvisioningStack), tmp_path)

    def prerequisite() -> Any:
        raise SectionFailed("the services did not start\n(as when the run first tried it)")

    with pytest.raises(SectionFailed):
        section.remember(prerequisite, key="MyOrg")
    assert "MyOrg" not in section.outcomes, "said again once, not recorded as MyOrg's own failure"


def test_not_checked_is_an_outcome_with_its_reason(tmp_path: Path) -> None:
    stack = _bare(ObservingStack)
    section = _section(stack, tmp_path)
    with pytest.raises(NotChecked, match="read-only"):
        section.remember(lambda: stack.guard_write("creates an organization"), key="MyOrg")
    assert section.outcomes["MyOrg"].state == NOT_CHECKED and "read-only" in section.outcomes["MyOrg"].message
    assert section.outcomes.get("", None) is None
    section.remember(lambda: None)
    assert section.outcomes[""].state == DONE
