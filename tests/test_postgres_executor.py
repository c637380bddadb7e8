"""The parsec-postgres executor against a real PostgreSQL cluster."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from fixtures.errors import CommandFailed, HarnessError, PrerequisiteMissing
from fixtures.ports import free_port
from fixtures.services import postgres as pg
from fixtures.services.postgres import PostgresServer, find_postgres_bindir
from fixtures.services.watchdog import proc_stat

USER = "parsec"
PASSWORD = "s3cr3t:p@ss/word"
DATABASE = "parsec"


def _have_postgres() -> bool:
    try:
        find_postgres_bindir()
    except PrerequisiteMissing:
        return False
    return True


needs_postgres = pytest.mark.skipif(not _have_postgres(), reason="PostgreSQL is not installed")


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[Path]:
    """``tmp_path``, made traversable (0711) up to /tmp for the unprivileged server account.

    As root, pytest's ``/tmp/pytest-of-root`` tree is 0700; the original modes are restored.
    """
    changed: list[tuple[Path, int]] = []
    if os.geteuid() == 0:
        for directory in [tmp_path, *tmp_path.parents]:
            if directory == directory.parent or directory == Path("/tmp"):
                break
            mode = stat.S_IMODE(directory.stat().st_mode)
            if not mode & stat.S_IXOTH:
                changed.append((directory, mode))
                directory.chmod(mode | 0o011)
    try:
        yield tmp_path
    finally:
        for directory, mode in changed:
            directory.chmod(mode)


@pytest.mark.skipif(pg.wheel_bindir() is None, reason="the pgserver wheel is not installed")
def test_the_wheels_postgresql_16_runs_unprivileged(workdir: Path) -> None:
    """As root, the wheel's programs under root's 0700 home are linked where the server account reaches them."""
    server = PostgresServer(
        workdir / "run", user=USER, password=PASSWORD, database=DATABASE, port=free_port(), minimum_major=16
    )
    (workdir / "run").mkdir(mode=0o711)
    try:
        server.start()
        with server.connect() as conn:
            row = conn.execute("SHOW server_version_num").fetchone()
        assert row is not None and int(row[0]) >= 160000
    finally:
        server.stop()


def _server_processes(postmaster: int) -> dict[int, int]:
    """The postmaster and its children (each in its own session), with their start times."""
    found = {}
    for entry in Path("/proc").iterdir():
        info = proc_stat(int(entry.name)) if entry.name.isdigit() else None
        if info is not None and postmaster in (int(entry.name), info[0]):
            found[int(entry.name)] = info[1]
    return found


def _still_alive(processes: dict[int, int]) -> list[int]:
    return [pid for pid, started in processes.items() if (info := proc_stat(pid)) is not None and info[1] == started]


def _listen_addresses(port: int) -> list[str]:
    """Local addresses (hex, as in /proc/net/tcp*) of the sockets listening on ``port``."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            address, port_hex = fields[1].rsplit(":", 1)
            if fields[3] == "0A" and int(port_hex, 16) == port:  # 0A: LISTEN
                found.append(address)
    return found


@needs_postgres
def test_server_lifecycle(workdir: Path) -> None:
    port = free_port()
    server = PostgresServer(workdir, user=USER, password=PASSWORD, database=DATABASE, port=port)
    try:
        server.start()
        assert server.running()
        pid = server.pid
        assert pid is not None

        with server.connect() as conn:
            row = conn.execute(
                "SELECT current_user, current_database(), rolsuper FROM pg_roles WHERE rolname = current_user"
            ).fetchone()
        assert row == (USER, DATABASE, True)

        with psycopg.connect(server.dsn) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)

        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            server.connect(password="wrong-password")

        with server.connect(dbname="postgres") as conn:
            found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone()
        assert found == (1,)

        assert _listen_addresses(port) == ["0100007F"]  # 127.0.0.1 only, no IPv6

        assert not (server.root / "pwfile").exists()
        assert PASSWORD not in server.log_path.read_text()
        assert "password authentication failed" in server.log_tail(50)

        idle = server.connect()  # a client left open must not hold up the stop
        processes = _server_processes(pid)
        assert len(processes) > 1  # postmaster, checkpointer, ..., the backend of `idle`
    finally:
        server.stop()

    assert not server.running()
    assert server.pid is None
    assert _still_alive(processes) == []
    idle.close()
    assert _listen_addresses(port) == []

    # A second start reuses the cluster (no initdb) and stops cleanly again.
    try:
        server.start()
        with server.connect() as conn:
            assert conn.execute("SELECT current_database()").fetchone() == (DATABASE,)
        pid = server.pid
        assert pid is not None
        processes = _server_processes(pid)
    finally:
        server.stop()
    assert _still_alive(processes) == []


@needs_postgres
def test_initdb_failure_is_reported(workdir: Path) -> None:
    # Role names starting with pg_ are reserved: initdb refuses them.
    server = PostgresServer(workdir, user="pg_reserved", password=PASSWORD, database=DATABASE, port=free_port())
    with pytest.raises(CommandFailed, match="initdb") as info:
        server.start()
    assert "pg_" in str(info.value)
    assert PASSWORD not in str(info.value)
    assert not (server.root / "pwfile").exists()
    assert not server.running()


@pytest.mark.skipif(os.geteuid() != 0, reason="only root hands the server to another account")
def test_unreachable_workdir_is_reported(workdir: Path) -> None:
    locked = workdir / "locked"
    locked.mkdir(mode=0o700)
    server = PostgresServer(locked / "run", user=USER, password=PASSWORD, database=DATABASE, port=free_port())
    with pytest.raises(HarnessError, match="cannot enter") as info:
        server.start()
    assert str(locked) in str(info.value)
    assert info.value.fix is not None and f"chmod 0711 {locked}" in info.value.fix
    assert not server.running()


def test_dsn_quotes_credentials(tmp_path: Path) -> None:
    server = PostgresServer(tmp_path, user="a@b", password="p:/@?", database="db", port=5432)
    assert server.dsn == "postgresql://a%40b:p%3A%2F%40%3F@127.0.0.1:5432/db"
    assert "p:/@?" not in repr(server)


def test_find_postgres_bindir_missing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", "")
    monkeypatch.setattr(pg, "PG_LIB_ROOT", tmp_path / "no-postgresql")
    monkeypatch.setattr(pg, "wheel_bindir", lambda: None)
    with pytest.raises(PrerequisiteMissing) as info:
        find_postgres_bindir()
    assert info.value.fix is not None and "apt-get install postgresql" in info.value.fix
    assert "PATH" in info.value.fix


def test_find_postgres_bindir_takes_highest_version(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for version in ("9.6", "15", "16", "17"):
        bindir = tmp_path / version / "bin"
        bindir.mkdir(parents=True)
        programs = ("initdb",) if version == "17" else ("initdb", "postgres")  # 17 incomplete
        for program in programs:
            (bindir / program).write_text("#!/bin/sh\n")
            (bindir / program).chmod(0o755)
    monkeypatch.setenv("PATH", "")
    monkeypatch.setattr(pg, "PG_LIB_ROOT", tmp_path)
    monkeypatch.setattr(pg, "wheel_bindir", lambda: None)
    assert find_postgres_bindir() == tmp_path / "16" / "bin"


def _fake_server(bindir: Path, version: str) -> Path:
    bindir.mkdir(parents=True)
    (bindir / "initdb").write_text("#!/bin/sh\n")
    (bindir / "postgres").write_text(f"#!/bin/sh\necho 'postgres (PostgreSQL) {version}'\n")
    for program in ("initdb", "postgres"):
        (bindir / program).chmod(0o755)
    return bindir


def test_a_minimum_major_skips_older_servers(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The compose file's postgres:16 image: Debian's 15 is passed over for the wheel's 16."""
    _fake_server(tmp_path / "debian" / "15" / "bin", "15.14 (Debian 15.14-0+deb12u1)")
    wheel = _fake_server(tmp_path / "wheel" / "bin", "16.2")
    monkeypatch.setenv("PATH", "")
    monkeypatch.setattr(pg, "PG_LIB_ROOT", tmp_path / "debian")
    monkeypatch.setattr(pg, "wheel_bindir", lambda: wheel)
    assert find_postgres_bindir() == tmp_path / "debian" / "15" / "bin"
    assert find_postgres_bindir(16) == wheel
    with pytest.raises(PrerequisiteMissing) as info:
        find_postgres_bindir(17)
    assert "PostgreSQL 17 or later not found (found 15 in" in info.value.problem
    assert info.value.fix is not None and "postgresql-17" in info.value.fix


@pytest.mark.parametrize(
    ("image", "major"),
    [
        ("postgres:16.10-alpine", 16),
        ("postgres:16.0-alpine", 16),
        ("docker.io/library/postgres:17", 17),
        ("postgres", None),
    ],
)
def test_image_major(image: str, major: int | None) -> None:
    assert pg.image_major(image) == major
