"""Faults of the Parsec server process (2.16.3; ``any-cipher``: 3.9.3), for the self-tests only.

Python imports ``sitecustomize`` at start-up from the first ``sys.path`` entry holding one;
a self-test puts this folder on the server's PYTHONPATH and names the faults in
PARSEC_ACCEPTANCE_FAULTS (comma-separated), both in the environment of the bundle's
parsec-backend service. Without that variable this module does nothing.

- ``any-admin-token``: the administration API takes any ``Bearer`` token for the right one.
- ``reusable-bootstrap``: a bootstrap of an organization already bootstrapped answers "ok"
  (the client then saves a device, as if the link had worked again).
- ``partial-migrations``: ``backend migrate`` applies all but the last two migrations and
  says nothing about them.
- ``errors-instead-of-refusals``: where the server should refuse (a wrong administration
  token, a bootstrap of an organization nobody created, a second bootstrap), it fails with a
  server error (503 or 500) instead: a check that accepts any failure as the refusal passes.
- ``any-cipher``: the server's TLS (uvicorn's) negotiates every cipher OpenSSL has, whatever its
  ``--ssl-ciphers`` (``PARSEC_SSL_CIPHERS``) says.

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
    """Calls each of ``patches[module]`` right after the module of that name has been executed."""

    def __init__(self, patches: dict[str, list[Callable[[ModuleType], None]]]) -> None:
        self._patches = patches

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: object = None
    ) -> importlib.machinery.ModuleSpec | None:
        patches = self._patches.pop(fullname, None)
        if patches is None:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return spec
        execute = spec.loader.exec_module

        def exec_module(module: ModuleType) -> None:
            execute(module)
            for patch in patches:
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


def _unavailable_handshake(module: ModuleType) -> None:
    """An RPC handshake that should answer 404 (no such organization) answers 503."""
    abort = module._handshake_abort

    def unavailable(status_code: int, api_version: object) -> Any:
        return abort(503 if status_code == 404 else status_code, api_version)

    vars(module)["_handshake_abort"] = unavailable


def _unavailable_admin(module: ModuleType) -> None:
    """A wrong administration token gets 503 instead of 403."""

    async def unavailable() -> Any:
        response = await module.make_response(module.jsonify({"error": "unavailable"}), 503)
        module.current_app.aborter(response)

    vars(module)["not_allowed_abort"] = unavailable


def _failing_second_bootstrap(module: ModuleType) -> None:
    """A second bootstrap fails with a server error instead of "already bootstrapped"."""
    component = module.PGOrganizationComponent
    bootstrap = component.bootstrap
    already = module.OrganizationAlreadyBootstrappedError

    async def failing(self: object, *args: object, **kwargs: object) -> object:
        try:
            return await bootstrap(self, *args, **kwargs)
        except already:
            raise RuntimeError("fault: a server error instead of the refusal") from None

    component.bootstrap = failing


def _any_cipher(module: ModuleType) -> None:
    """The TLS settings uvicorn is given: every cipher instead of the server's list."""
    config = module.Config
    init = config.__init__

    def __init__(self: object, *args: object, **kwargs: Any) -> None:
        if "ssl_ciphers" in kwargs:
            kwargs["ssl_ciphers"] = "ALL:@SECLEVEL=0"
        init(self, *args, **kwargs)

    config.__init__ = __init__


_PATCHES: dict[str, tuple[tuple[str, Callable[[ModuleType], None]], ...]] = {
    "any-admin-token": (("werkzeug.datastructures.headers", _any_admin_token),),
    "reusable-bootstrap": (("parsec.backend.postgresql.organization", _reusable_bootstrap),),
    "partial-migrations": (("parsec.backend.cli.migration", _partial_migrations),),
    "errors-instead-of-refusals": (
        ("parsec.backend.asgi.rpc", _unavailable_handshake),
        ("parsec.backend.asgi.administration", _unavailable_admin),
        ("parsec.backend.postgresql.organization", _failing_second_bootstrap),
    ),
    "any-cipher": (("uvicorn.config", _any_cipher),),
}

if FAULTS:
    unknown = FAULTS - set(_PATCHES)
    if unknown:
        raise SystemExit(f"sitecustomize: unknown fault(s) {', '.join(sorted(unknown))}")
    by_module: dict[str, list[Callable[[ModuleType], None]]] = {}
    for name in sorted(FAULTS):
        for module_name, patch in _PATCHES[name]:
            by_module.setdefault(module_name, []).append(patch)
    sys.meta_path.insert(0, _PatchAfterImport(by_module))
