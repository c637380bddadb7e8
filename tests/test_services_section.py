"""A failed start of the services is remembered, whatever failed: later scenarios hear it again.

Before, only a HarnessError was remembered: anything else that broke a start left the stack
believing its services up (it starts them once), and the next scenario met dead services
with a misleading message ("parsec-postgres refuses the compose file's POSTGRES_USER").
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fixtures.errors import ServiceNotReady
from fixtures.sections.base import FAILED, SectionFailed
from fixtures.sections.services import ServicesSection
from fixtures.stacks.base import ProvisioningStack
from tests.test_sections import _bare, _section


class _Ready:
    def ensure(self) -> None:
        """The certificates and the token: made."""


class _StartsOnceThenBelievesItself:
    """A stack that breaks while starting, then, asked again, says nothing (its services "are started")."""

    def __init__(self) -> None:
        self.starts = 0

    def __call__(self) -> None:
        self.starts += 1
        if self.starts == 1:
            raise RuntimeError("initdb: could not create directory")


def _services(tmp_path: Path, start: _StartsOnceThenBelievesItself) -> ServicesSection:
    stack = _bare(ProvisioningStack)
    stack.start_services = start  # type: ignore[attr-defined]
    stack.service = lambda name: pytest.fail(f"{name} was asked of a stack whose start failed")  # type: ignore[method-assign]
    context = _section(stack, tmp_path).context
    return ServicesSection(context, tls=_Ready(), admin_token=_Ready())  # type: ignore[arg-type]


def test_any_failure_to_start_is_remembered_and_said_again(tmp_path: Path) -> None:
    start = _StartsOnceThenBelievesItself()
    services = _services(tmp_path, start)
    with pytest.raises(ServiceNotReady, match="the services did not start: RuntimeError: initdb: could not create"):
        services.ensure()
    assert services.outcomes[""].state == FAILED
    with pytest.raises(SectionFailed, match="initdb: could not create directory\n\\(as when the run first tried it\\)"):
        services.ensure()
    assert start.starts == 1, "the stack is not asked to start its services again"


def test_a_service_of_a_failed_start_is_not_handed_out(tmp_path: Path) -> None:
    services = _services(tmp_path, _StartsOnceThenBelievesItself())
    with pytest.raises(ServiceNotReady):
        services.ensure()
    for ask in (
        lambda: services.service("parsec-postgres"),
        services.database_login,
        services.mailbox,
        lambda: services.bound_sockets("parsec-smtp"),
    ):
        with pytest.raises(SectionFailed, match="initdb: could not create directory"):
            ask()
