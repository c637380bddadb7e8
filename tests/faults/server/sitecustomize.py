"""Faults of the Parsec 2.16.3 server process, for the self-tests only.

Python imports ``sitecustomize`` at start-up from the first ``sys.path`` entry holding one;
a self-test puts this folder on the server's PYTHONPATH and names the faults in
PARSEC_ACCEPTANCE_FAULTS (comma-separated), both in the environment of the bundle's
parsec-backend service. Without that variable this module does nothing.

- ``any-admin-token``: the administration API takes any ``Bearer`` token for the right one.
- ``reusable-bootstrap``: a bootstrap of an organization already bootstrapped answers "ok"
  (the client then saves a device, as if the link had worked again).
- ``partial-migrations``: ``backend migrate`` applies all but the last two migrations and
  says nothing about them.

Runs under the release's interpreter (CPython 3.9): the annotations stay strings (postponed
evaluation), so the ``X | None`` that mypy reads costs nothing there.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import sys
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

FAULTS = {name for name in os.environ.get("PARSEC_ACCEPTANCE_FAULTS", "").split(",") if name}
ADMIN_TOKEN = os.environ.get("PARSEC_ADMINISTRATION_TOKEN", "")
SKIPPED_MIGRATIONS = 2


class _PatchAfterImport(importlib.abc.MetaPathFinder):
    """Calls ``patch(module)`` right after the module of that name has been executed."""

    def __init__(self, patches: dict[str, Callable[[ModuleType], None]]) -> None:
        self._patches = patches

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: object = None
    ) -> importlib.machinery.ModuleSpec | None:
        patch = self._patches.pop(fullname, None)
        if patch is None:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return spec
        execute = spec.loader.exec_module

        def exec_module(module: ModuleType) -> None:
            execute(module)
            patch(module)

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def _any_admin_token(module: ModuleType) -> None:
    """Headers (werkzeug's, which Quart uses) show every Bearer token as the configured one."""
    headers = module.Headers
    getitem = headers.__getitem__

    def __getitem__(self: object, key: object, _get_mode: bool = False) -> object:
        value = getitem(self, key, _get_mode)
        if isinstance(key, str) and key.lower() == "authorization" and str(value).startswith("Bearer "):
            return f"Bearer {ADMIN_TOKEN}"
        return value

    headers.__getitem__ = __getitem__


def _reusable_bootstrap(module: ModuleType) -> None:
    component = module.PGOrganizationComponent
    bootstrap = component.bootstrap
    already = module.OrganizationAlreadyBootstrappedError

    async def reusable(self: object, *args: object, **kwargs: object) -> object:
        try:
            return await bootstrap(self, *args, **kwargs)
        except already:
            return None

    component.bootstrap = reusable


def _partial_migrations(module: ModuleType) -> None:
    retrieve = module.retrieve_migrations

    def all_but_the_last() -> list[Any]:
        return sorted(retrieve(), key=lambda migration: migration.idx)[:-SKIPPED_MIGRATIONS]

    vars(module)["retrieve_migrations"] = all_but_the_last


_PATCHES = {
    "any-admin-token": ("werkzeug.datastructures.headers", _any_admin_token),
    "reusable-bootstrap": ("parsec.backend.postgresql.organization", _reusable_bootstrap),
    "partial-migrations": ("parsec.backend.cli.migration", _partial_migrations),
}

if FAULTS:
    unknown = FAULTS - set(_PATCHES)
    if unknown:
        raise SystemExit(f"sitecustomize: unknown fault(s) {', '.join(sorted(unknown))}")
    sys.meta_path.insert(0, _PatchAfterImport(dict(_PATCHES[name] for name in sorted(FAULTS))))
