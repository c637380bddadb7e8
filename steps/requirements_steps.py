"""Requirements and Preamble: the components the guide needs, as the stack provides them."""

from __future__ import annotations

from pytest_bdd import parsers, then

from fixtures.errors import NotChecked
from fixtures.living_guide.evidence import Evidence
from fixtures.stacks.base import Stack


@then(parsers.parse('the stack provides "{component}"'))
def stack_provides(stack: Stack, component: str, evidence: Evidence) -> None:
    found = {r.component: r for r in stack.requirements()}
    assert component in found, f"the guide requires {component}; the {stack.name} stack does not list it"
    requirement = found[component]
    evidence.record(component, {"provided by": requirement.provided_by or f"nothing: {requirement.problem}"})
    if requirement.not_checked:
        raise NotChecked(requirement.not_checked)
    assert requirement.provided_by, (
        f"the guide requires {component}; nothing provides it on the {stack.name} stack: "
        f"{requirement.problem}. How to fix: {requirement.fix}"
    )
