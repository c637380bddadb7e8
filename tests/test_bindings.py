"""Where "<service> listens only where the guide publishes it" expects the service: the bundle's own value.

On the local stack the expected address is the compose file's published one (not a constant
the harness also binds to), and a port the harness places itself is "not checked" with the
reason; on an existing deployment a host name is resolved, so that the check has addresses to
compare the sockets with.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from fixtures.addresses import resolve
from fixtures.bundle import Bundle
from fixtures.deployment_file import load
from fixtures.editions import DEFAULT_EDITION
from fixtures.errors import HarnessError, NotChecked
from fixtures.progress import Progress
from fixtures.releases import Release
from fixtures.releases.source import from_version
from fixtures.stacks.external import ExternalStack
from fixtures.stacks.local import LocalStack
from tests.runner import BUNDLE

ROLES = DEFAULT_EDITION.roles  # the 2.16 bundle's service names

COMPOSE = "parsec-server.docker.yaml"


def _local(tmp_path: Path, edit: tuple[str, str] | None = None) -> LocalStack:
    bundle = tmp_path / "bundle"
    shutil.copytree(BUNDLE, bundle)
    if edit is not None:
        text = (bundle / COMPOSE).read_text(encoding="utf-8")
        assert edit[0] in text
        (bundle / COMPOSE).write_text(text.replace(*edit), encoding="utf-8")
    progress = Progress(lambda line: None)
    release = Release(from_version("2.16.3"), cache_dir=tmp_path, progress=progress)
    return LocalStack(
        Bundle.load(bundle, DEFAULT_EDITION.roles), tmp_path / "deployment", tmp_path / "work", release, progress
    )


def test_local_expects_the_address_the_compose_file_publishes(tmp_path: Path) -> None:
    stack = _local(tmp_path)
    checks = stack.bound_sockets(ROLES.smtp)
    assert [(c.port, c.addresses) for c in checks] == [
        (stack.ports[ROLES.smtp][1025], ("127.0.0.1",)),
        (stack.ports[ROLES.smtp][8025], ("127.0.0.1",)),
    ]
    assert "parsec-server.docker.yaml publishes parsec-smtp's port 1025 on 127.0.0.1" in checks[0].why


def test_local_does_not_check_a_binding_it_chose(tmp_path: Path) -> None:
    with pytest.raises(NotChecked, match="publishes no port 5432 of parsec-postgres: the local stack chose"):
        _local(tmp_path).bound_sockets(ROLES.database)


def test_local_says_why_a_wider_publication_is_not_checked_on_the_socket(tmp_path: Path) -> None:
    stack = _local(tmp_path, ("- 127.0.0.1:6777:6777", '- "6777:6777"'))
    with pytest.raises(NotChecked, match="publishes parsec-backend's port 6777 on all interfaces; the local stack"):
        stack.bound_sockets(ROLES.server)


def test_a_host_name_is_resolved() -> None:
    assert resolve("127.0.0.1") == ("127.0.0.1",)
    assert "127.0.0.1" in resolve("localhost")


def _external(tmp_path: Path, server_url: str) -> ExternalStack:
    (tmp_path / "ca.crt").write_text("a CA\n")
    toml = tmp_path / "d.toml"
    toml.write_text(
        f'[server]\nurl = "{server_url}"\nca_file = "ca.crt"\nadmin_token_env = "T"\n[host]\nurl = "local://"\n',
        encoding="utf-8",
    )
    release = Release(from_version("2.16.3"), cache_dir=tmp_path, progress=Progress(lambda line: None))
    return ExternalStack(
        load(toml, {"T": "token"}), tmp_path / "mirror", release, roles=DEFAULT_EDITION.roles, allow_writes=False
    )


def test_external_resolves_the_host_name_it_reaches_a_service_at(tmp_path: Path) -> None:
    (check,) = _external(tmp_path, "parsec://localhost:1").bound_sockets(ROLES.server)
    assert check.port == 1 and "127.0.0.1" in check.addresses, check


def test_external_fails_on_a_host_name_that_does_not_resolve(tmp_path: Path) -> None:
    with pytest.raises(HarnessError, match="no-such-host.invalid does not resolve here"):
        _external(tmp_path, "parsec://no-such-host.invalid:1").bound_sockets(ROLES.server)
