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


def test_a_port_drawn_by_another_process_is_not_drawn_here() -> None:
    """Two harness processes never hand out the same port: the first holds it while it lives."""
    import subprocess
    import sys

    from fixtures import PROJECT_ROOT
    from fixtures.ports import _reserve

    held = subprocess.Popen(
        [sys.executable, "-c", "from fixtures.ports import free_port; print(free_port(), flush=True); input()"],
        cwd=PROJECT_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert held.stdout is not None
        port = int(held.stdout.readline())
        assert not _reserve(port), f"port {port}, drawn by another process, was reserved here too"
    finally:
        held.communicate("")
    assert _reserve(port), "the port is free again once the process that drew it has ended"
