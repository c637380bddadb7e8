"""The services' ports: free, below the ephemeral range (where outgoing connections take theirs)."""

from __future__ import annotations

import socket

from fixtures.ports import LOOPBACK, _first_ephemeral_port, free_port


def test_ports_are_free_distinct_and_below_the_ephemeral_range() -> None:
    first_ephemeral = _first_ephemeral_port()
    ports = [free_port() for _ in range(50)]
    assert len(set(ports)) == len(ports), "a port was handed out twice"
    assert all(port < first_ephemeral for port in ports), (first_ephemeral, ports)
    for port in ports[:5]:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((LOOPBACK, port))  # free indeed
