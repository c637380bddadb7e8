"""The testinfra host checks: a socket bound where the guide does not publish it fails, saying where."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from fixtures.stacks.base import SocketCheck
from steps.stack_steps import listens_where_published


class _Stack:
    """Only what the step asks of a stack (a test double: the check's logic is pure)."""

    def __init__(self, checks: list[SocketCheck]) -> None:
        self._checks = checks

    def bound_sockets(self, name: str) -> list[SocketCheck]:
        return self._checks


@pytest.fixture
def listening() -> Iterator[tuple[socket.socket, int]]:
    server = socket.socket()
    server.bind(("0.0.0.0", 0))
    server.listen()
    try:
        yield server, server.getsockname()[1]
    finally:
        server.close()


def test_a_port_bound_on_all_interfaces_fails(listening: tuple[socket.socket, int]) -> None:
    _, port = listening
    check = SocketCheck("local://", port, ("127.0.0.1",), "parsec-smtp's port 1025 is published on 127.0.0.1 only")
    with pytest.raises(AssertionError) as raised:
        listens_where_published(_Stack([check]), "parsec-smtp")  # type: ignore[arg-type]
    assert f"port {port} on local:// should be bound to 127.0.0.1 only; it is bound to 0.0.0.0" in str(raised.value)


def test_a_port_nothing_listens_on_fails(listening: tuple[socket.socket, int]) -> None:
    server, port = listening
    server.close()
    check = SocketCheck("local://", port, ("127.0.0.1",), "parsec-backend is reached at 127.0.0.1")
    with pytest.raises(AssertionError, match=f"nothing listens on port {port} on local://"):
        listens_where_published(_Stack([check]), "parsec-backend")  # type: ignore[arg-type]


def test_a_port_bound_where_published_passes() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        listens_where_published(_Stack([SocketCheck("local://", port, ("127.0.0.1",), "")]), "x")  # type: ignore[arg-type]
        listens_where_published(_Stack([SocketCheck("local://", port, (), "")]), "x")  # type: ignore[arg-type]
