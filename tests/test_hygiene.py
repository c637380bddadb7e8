"""Hygiene of a run: no secret in any output, nothing left behind, clear errors on bad input.

Each test runs the features in a child pytest, as a user would, and inspects what the child
printed, what it wrote in its reports directory and what it left on the machine. The tests
that start the stack are marked ``selftest``; the module-scoped runs (one passing, one
failing) are shared by the secret and the leak checks.

- The child gets its own temporary directory (``TMPDIR``, so the default work directory
  ``parsec-acceptance-*`` is made there): "nothing new in the temporary directory" is then
  exact even while other runs share /tmp.
- While it runs, a monitor records its processes (descendants, and every process mirakuru
  marked with the child's pid, which PostgreSQL's children inherit) and their listening
  ports; afterwards none may be alive or bound.
- A tiny plugin, written next to the run, saves the secrets the harness registered and the
  deployment's files just before the session's teardown removes them; the outputs are then
  searched for every secret (read from those files) in every form.
- The runs about signals and ``--keep-stack`` use a bundle whose TLS files are already made
  (``certified_bundle``): the guide's setup-tls.sh then skips its RSA 4096 keys.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import html
import json
import os
import re
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, quote_plus, urlsplit

import pytest

from fixtures.blockstore import parse_blockstore
from fixtures.bundle import Bundle
from fixtures.editions import DEFAULT_EDITION, edition_for
from fixtures.envfiles import read_env_file
from fixtures.errors import CommandFailed
from fixtures.kept import write_stop_script
from fixtures.ports import port_is_free
from fixtures.releases import adapter_for
from fixtures.releases.locks import lock_file, read_lock
from fixtures.services.base import run_command
from fixtures.services.seaweedfs import STOP_TIMEOUT
from fixtures.services.watchdog import proc_stat
from tests.runner import BUNDLE, PROJECT, broken_bundle, replace_in

SYSTEM_TMP = Path("/tmp")
RUN_TIMEOUT = 240.0
STOP_GRACE = 5.0  # how long processes may take to vanish once the child has exited
SERVICE_LINE = re.compile(r"start (parsec-[\w-]+)(?: \(\w+\))? on 127\.0\.0\.1:(\d+)")
WORKDIR_LINE = re.compile(r"work directory: (\S+)")
BACKEND_STARTED = re.compile(r"start parsec-backend on 127\.0\.0\.1:\d+: done")
STACK_STOPPED = re.compile(r"stop the stack: (?:done|FAILED)")
FIRST_SERVICE_STARTED = re.compile(r"start parsec-(?:smtp|s3|postgres) on 127\.0\.0\.1:\d+: done")
MISMATCHED_DB_PASSWORD = "Mism4tched-Db-Passw0rd"  # parsec-db.env's password in the failing run
LOOSE_STRESS = ("-rA", "--tb=long", "--showlocals")  # every report section, every local
GUIDE_PORTS = (6777, 1025, 8025, 9090)  # published on 127.0.0.1 by the guide's compose file
SERVICES = {"parsec-postgres", "parsec-s3", "parsec-smtp", "parsec-backend"}

DUMP_PLUGIN = '''\
"""Test-only plugin of tests/test_hygiene.py: save the run's secrets and deployment files."""

import json
import os
import shutil
from pathlib import Path

import pytest


def _dump(config):
    from fixtures.plugin import SECRETS_KEY, STACK_KEY

    target = Path(os.environ["PARSEC_HYGIENE_DUMP"])
    if target.exists():
        return
    target.mkdir(parents=True)
    secrets = config.stash.get(SECRETS_KEY, None)
    forms = dict(getattr(secrets, "_forms", {})) if secrets is not None else {}
    (target / "secrets.json").write_text(json.dumps(forms), encoding="utf-8")
    deployment = getattr(config.stash.get(STACK_KEY, None), "deployment_dir", None)
    if deployment is not None and Path(deployment).is_dir():
        shutil.copytree(deployment, target / "deployment", symlinks=True)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item, nextitem):
    if nextitem is None:  # the session's fixtures (the work directory) go with the last test
        _dump(item.config)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session):
    _dump(session.config)
'''


# -- the machine: processes, ports, files ------------------------------------------------------


def _pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:
        return b""


def _describe(pid: int) -> str:
    command = _read(f"/proc/{pid}/cmdline").replace(b"\0", b" ").decode(errors="replace").strip()
    return f"pid {pid}: {command[:160] or '?'}"


def _belongs(pid: int, marker: bytes | None, workdir: str | None) -> bool:
    """Whether ``pid`` is a process of the run: started by its executors or working in its files."""
    if marker is not None and marker in _read(f"/proc/{pid}/environ"):
        return True
    if workdir is None:
        return False
    if workdir.encode() in _read(f"/proc/{pid}/cmdline"):
        return True
    with contextlib.suppress(OSError):
        return os.readlink(f"/proc/{pid}/cwd").startswith(workdir)
    return False


def run_processes(child_pid: int, workdir: str | None, *, alive: bool = True) -> dict[int, int]:
    """The live processes of a run (pid -> start time): its descendants and its services' processes.

    mirakuru marks each service with ``mirakuru_uuid=<pid of the harness>:…`` in its
    environment, which the children of PostgreSQL (in their own sessions) inherit; processes
    reparented to init are found by that mark or by their command line / working directory.
    Descendants are only looked for while the child is ``alive`` (its pid is not reused yet).
    """
    stats = {pid: info for pid in _pids() if pid != os.getpid() and (info := proc_stat(pid)) is not None}
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in stats.items():
        children.setdefault(ppid, []).append(pid)
    found: set[int] = set()
    todo = [child_pid] if alive else []
    while todo:
        pid = todo.pop()
        if pid in stats and pid not in found:
            found.add(pid)
            todo += children.get(pid, [])
    marker = f"mirakuru_uuid={child_pid}:".encode()
    found |= {pid for pid in stats if _belongs(pid, marker, workdir)}
    return {pid: stats[pid][1] for pid in found}


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    with contextlib.suppress(OSError):
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
    return inodes


def _listening() -> dict[str, int]:
    """Inode -> port of every listening TCP socket."""
    found = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in _read(table).decode().splitlines()[1:]:
            fields = line.split()
            if len(fields) > 9 and fields[3] == "0A":
                found[fields[9]] = int(fields[1].rsplit(":", 1)[1], 16)
    return found


def listening_ports(pids: set[int]) -> set[int]:
    listening = _listening()
    return {listening[inode] for pid in pids for inode in _socket_inodes(pid) if inode in listening}


def _port_owners(port: int) -> list[str]:
    inodes = {inode for inode, p in _listening().items() if p == port}
    return [_describe(pid) for pid in _pids() if _socket_inodes(pid) & inodes]


# -- a child pytest, watched as it runs ---------------------------------------------------------


class Child:
    """``pytest features/`` in its own session and temporary directory, its output streamed.

    While it runs, a monitor records its processes (pid and start time) and the TCP ports they
    listen on, so that whatever outlives it can be found afterwards.
    """

    def __init__(self, base: Path, *args: str, bundle: Path | None = None) -> None:
        base.mkdir(parents=True, exist_ok=True)
        self.reports = base / "reports"  # made by the harness (test_a_new_reports_directory_is_created)
        self.dump = base / "dump"
        plugins = base / "plugins"
        plugins.mkdir(exist_ok=True)
        (plugins / "hygiene_dump.py").write_text(DUMP_PLUGIN, encoding="utf-8")
        # Short (sockets live in it) and traversable by the unprivileged PostgreSQL account.
        self.tmpdir = Path(tempfile.mkdtemp(prefix="hyg-", dir=SYSTEM_TMP))
        self.tmpdir.chmod(0o711)
        self.system_tmp_before = set(os.listdir(SYSTEM_TMP))
        argv = [
            sys.executable,
            "-m",
            "pytest",
            str(PROJECT / "features"),
            "-p",
            "hygiene_dump",
            "--reports-dir",
            str(self.reports),
            *args,
        ]
        if bundle is not None:
            argv += ["--bundle", str(bundle)]
        pythonpath = os.pathsep.join(filter(None, [str(plugins), str(PROJECT), os.environ.get("PYTHONPATH")]))
        env = {
            **os.environ,
            "TMPDIR": str(self.tmpdir),
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": pythonpath,
            "PARSEC_HYGIENE_DUMP": str(self.dump),
        }
        self._lines: list[str] = []
        self._changed = threading.Condition()
        self.processes: dict[int, int] = {}
        self.ports: set[int] = set()
        self.after_stop: list[str] = []
        self.command_lines: set[str] = set()  # every command line of the run that ps showed
        self.forked_clients: set[int] = set()  # the 2.x client commands forked by the CLI's fork server
        self.proc = subprocess.Popen(
            argv,
            cwd=PROJECT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            start_new_session=True,
        )
        self._threads = [
            threading.Thread(target=self._read, daemon=True),
            threading.Thread(target=self._monitor, daemon=True),
            threading.Thread(target=self._sample_command_lines, daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if STACK_STOPPED.search(line):  # the harness says so: none of its services may run now
                marker = f"mirakuru_uuid={self.proc.pid}:".encode()
                self.after_stop = [_describe(pid) for pid in _pids() if proc_stat(pid) and _belongs(pid, marker, None)]
            with self._changed:
                self._lines.append(line)
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def record(self) -> None:
        """Add the run's live processes and their listening ports to what was seen."""
        found = run_processes(self.proc.pid, None)
        ports = listening_ports(set(found))
        with self._changed:
            self.processes.update(found)
            self.ports |= ports

    def _sample_command_lines(self) -> None:
        """``ps -ww -eo pid,ppid,args`` (full width) every ~50 ms; keep the command lines of the run's processes.

        The run's processes are the child's descendants in each sample (its services, their
        children, every client and script it runs), so that other users' processes on a shared
        machine do not count.
        """
        while self.proc.poll() is None:
            try:
                table = subprocess.run(
                    ["ps", "-ww", "-eo", "pid=,ppid=,args="], capture_output=True, text=True, timeout=5, check=False
                ).stdout
            except subprocess.TimeoutExpired:
                continue
            parents: dict[int, int] = {}
            lines: dict[int, str] = {}
            for row in table.splitlines():
                fields = row.split(None, 2)
                if len(fields) == 3 and fields[0].isdigit() and fields[1].isdigit():
                    parents[int(fields[0])], lines[int(fields[0])] = int(fields[1]), fields[2]
            mine = set()
            for pid in parents:
                ancestor, hops = pid, 0
                while ancestor not in (0, 1, self.proc.pid) and hops < 64:
                    ancestor, hops = parents.get(ancestor, 0), hops + 1
                if ancestor == self.proc.pid:
                    mine.add(pid)
            with self._changed:
                self.command_lines |= {lines[pid] for pid in mine}
                self.forked_clients |= {pid for pid in mine if FORK_SERVER in lines.get(parents[pid], "")}
            time.sleep(0.05)

    def _monitor(self) -> None:
        while self.proc.poll() is None:
            self.record()
            time.sleep(0.1)

    @property
    def output(self) -> str:
        with self._changed:
            return "".join(self._lines)

    def wait_for(self, pattern: re.Pattern[str], timeout: float = RUN_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not any(pattern.search(line) for line in self._lines):
                if self.proc.poll() is not None and not self._threads[0].is_alive():
                    raise AssertionError(f"the run ended before {pattern.pattern!r}:\n{''.join(self._lines)[-2000:]}")
                if time.monotonic() > deadline:
                    raise AssertionError(f"no {pattern.pattern!r} within {timeout:.0f} s")
                self._changed.wait(0.2)

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def abort(self) -> None:
        """Kill the run and whatever it started (when a check fails before its end)."""
        self.kill()
        self.finish(10).cleanup()

    def finish(self, timeout: float = RUN_TIMEOUT) -> Run:
        try:
            returncode = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"the run did not end within {timeout:.0f} s:\n{self.output[-2000:]}") from None
        for thread in self._threads:
            thread.join(10)
        output = self.output
        workdirs = WORKDIR_LINE.findall(output)
        printed = {int(port) for _, port in SERVICE_LINE.findall(output)}
        return Run(
            returncode,
            output,
            self.reports,
            self.dump,
            self.tmpdir,
            self.proc.pid,
            workdirs[0] if workdirs else None,
            dict(self.processes),
            self.ports | printed,
            self.system_tmp_before,
            self.after_stop,
            frozenset(self.command_lines),
            frozenset(self.forked_clients),
        )


@dataclass(frozen=True)
class Run:
    returncode: int
    output: str = field(repr=False)
    reports: Path
    dump: Path
    tmpdir: Path  # the child's TMPDIR
    pid: int
    workdir: str | None  # as printed: "work directory: …"
    processes: dict[int, int] = field(repr=False)  # every process of the run seen: pid -> start time
    ports: set[int] = field(repr=False)  # every port they listened on, and the ones it printed
    system_tmp_before: set[str] = field(repr=False)
    after_stop: list[str] = field(repr=False)  # services still running when "stop the stack: done" was printed
    command_lines: frozenset[str] = field(repr=False)  # of the run's processes, sampled with ps every ~50 ms
    forked_clients: frozenset[int] = field(repr=False)  # pids of the 2.x clients the CLI's fork server forked
    busy_guide_ports: tuple[int, ...] = ()  # the guide's published ports this test kept busy during the run

    def services_seen(self) -> set[str]:
        return {name for name, _ in SERVICE_LINE.findall(self.output)}

    def leftovers(self, grace: float = STOP_GRACE) -> list[str]:
        """What the run left behind: processes, bound ports, files (empty when clean).

        Processes and ports get ``grace`` seconds to go (killed processes are reaped
        asynchronously).
        """
        found = [f"still running when the harness reported the stack stopped: {p}" for p in self.after_stop]
        deadline = time.monotonic() + grace
        while True:
            alive = {pid for pid, started in self.processes.items() if (proc_stat(pid) or (0, -1))[1] == started}
            alive |= set(run_processes(self.pid, self.workdir, alive=False))
            busy = {port for port in self.ports if not port_is_free(port)}
            if not (alive or busy) or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        found += [f"process left running: {_describe(pid)}" for pid in sorted(alive)]
        found += [f"port {port} still bound by {_port_owners(port) or 'an unknown process'}" for port in sorted(busy)]
        if self.workdir is not None and Path(self.workdir).exists():
            found.append(f"work directory left: {self.workdir}")
        if self.tmpdir.exists():
            found += [f"left in the temporary directory: {p}" for p in sorted(self.tmpdir.iterdir())]
        ports = {str(port) for port in self.ports}
        for name in sorted(set(os.listdir(SYSTEM_TMP)) - self.system_tmp_before):
            if any(port in name for port in ports):
                found.append(f"left in {SYSTEM_TMP}: {name}")
        return found

    def cleanup(self) -> None:
        """Kill what the run left running (a harness defect must not outlive the test), remove its files.

        Only processes seen running as the run's (same pid, same start time) or working in its
        unique work directory are killed.
        """
        mine = {pid for pid, started in self.processes.items() if (proc_stat(pid) or (0, -1))[1] == started}
        if self.workdir is not None:
            mine |= {pid for pid in _pids() if proc_stat(pid) and _belongs(pid, None, self.workdir)}
        for pid in mine - {os.getpid()}:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.tmpdir, ignore_errors=True)


def run_to_end(base: Path, *args: str, bundle: Path | None = None) -> Run:
    return Child(base, *args, bundle=bundle).finish()


# -- secrets --------------------------------------------------------------------------------------


def forms_of(secret: str) -> set[str]:
    """The forms a secret may take in an output: raw, URL-encoded, base64 (standard, URL-safe).

    A secret that is itself base64 of random bytes (the administration token) also shows as
    those bytes: their ``repr`` (a local printed by ``--showlocals``, at most its first and
    last 24 characters when the repr is shortened) and their hex.
    """
    raw = secret.encode()
    forms = {secret, quote(secret, safe=""), quote_plus(secret)}
    for encoded in (base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()):
        forms |= {encoded, encoded.rstrip("=")}
    try:
        decoded = base64.b64decode(secret, validate=True)
    except ValueError:
        decoded = b""
    if len(decoded) >= 16:
        inner = repr(decoded)[2:-1]
        forms |= {inner, inner[:24], inner[-24:], decoded.hex()}
    return {form for form in forms if len(form) >= 4}


class SecretForms(dict[str, str]):
    """Form -> label; its repr hides them (a failing check must not print what it protects)."""

    def __repr__(self) -> str:
        return f"<{len(self)} secret forms of {len(set(self.values()))} secrets>"


def known_secrets(run: Run, *extra: tuple[str, str]) -> SecretForms:
    """Every secret of the run (form -> label) and what the harness registered.

    The passwords, the token and the keys are read from the deployment's files; the
    bootstrap and invitation tokens exist nowhere else than in the harness's registry.
    """
    deployment = run.dump / "deployment"
    assert deployment.is_dir(), f"the run saved no deployment files:\n{run.output[-2000:]}"
    values: list[tuple[str, str]] = list(extra)
    compose = Bundle.load(deployment, DEFAULT_EDITION.roles)
    values.append((compose.service("parsec-postgres").environment["POSTGRES_PASSWORD"], "POSTGRES_PASSWORD"))
    values.append((compose.service("parsec-s3").environment["MINIO_ROOT_PASSWORD"], "MINIO_ROOT_PASSWORD"))
    dsn = read_env_file(deployment / "parsec-db.env")["PARSEC_DB"]
    values.append((urlsplit(dsn).password or "", "the password of PARSEC_DB"))
    blockstore = read_env_file(deployment / "parsec-s3.env")["PARSEC_BLOCKSTORE"]
    values.append((parse_blockstore(blockstore).secret, "PARSEC_BLOCKSTORE secret"))
    values.append((read_env_file(deployment / "parsec-smtp.env")["PARSEC_EMAIL_HOST_PASSWORD"], "SMTP password"))
    # The administration token, and 3.x's account seed beside it.
    for key, value in read_env_file(deployment / "parsec-admin-token.env").items():
        values.append((value, key))
    secrets = SecretForms()
    for value, label in values:
        assert value, f"no {label} found in the deployment"
        secrets.update(dict.fromkeys(forms_of(value), label))
    keys = sorted(deployment.glob("*.key"))
    assert keys, "the deployment holds no private key"
    for key_file in keys:
        pem = key_file.read_text(encoding="ascii").strip()
        secrets[pem] = f"private key {key_file.name}"
        secrets.update({line: f"private key {key_file.name}" for line in pem.splitlines() if "-----" not in line})
    for form, label in json.loads((run.dump / "secrets.json").read_text(encoding="utf-8")).items():
        secrets.setdefault(form, label)
    return secrets


def _texts(path: Path) -> list[str]:
    """A report file decoded first (every string of it when JSON, XML-unescaped), then as written."""
    text = path.read_text(encoding="utf-8", errors="replace")
    texts = [html.unescape(text), text]
    if path.suffix == ".json":
        strings: list[str] = []

        def walk(node: object) -> None:
            if isinstance(node, str):
                strings.append(node)
            elif isinstance(node, dict):
                for key, value in node.items():
                    walk(key)
                    walk(value)
            elif isinstance(node, list):
                for item in node:
                    walk(item)

        with contextlib.suppress(ValueError):
            walk(json.loads(text))
        texts.insert(0, "\n".join(strings))
    return texts


def outputs(run: Run) -> dict[str, list[str]]:
    """What the harness wrote for its user: the terminal and every file of the reports directory."""
    found = {"terminal output": [run.output]}
    for path in sorted(p for p in run.reports.rglob("*") if p.is_file()):
        found[f"reports/{path.relative_to(run.reports)}"] = _texts(path)
    return found


def leaks(run: Run, secrets: SecretForms) -> list[str]:
    """Which secret shows where, with some context (masked: this message must not leak it either)."""
    by_length = sorted(secrets, key=len, reverse=True)
    found = []
    for where, texts in outputs(run).items():
        reported = set()
        for text in texts:
            for form in by_length:
                label = secrets[form]
                index = text.find(form)
                if index < 0 or label in reported:
                    continue
                reported.add(label)
                window = text[max(0, index - 200) : index + len(form) + 200]
                for other in by_length:
                    window = window.replace(other, "\0")
                at = window.find("\0")
                context = window[max(0, at - 40) : at + 40].replace("\0", "<SECRET>")
                found.append(f"{label} in {where}: …{context!r}…")
    return found


# -- the shared runs ------------------------------------------------------------------------------


def _hold(port: int) -> socket.socket | None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("127.0.0.1", port))
        sock.listen()
    except OSError:
        sock.close()
        return None
    return sock


@pytest.fixture(scope="module", params=["2.16.3", "3.9.3"])
def passing_run(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Run]:
    """The whole guide, passing, on each generation, with every report section and local printed.

    The ports the guide publishes (6777, 1025, 8025, 9090) are kept busy meanwhile: the local
    stack serves on free ports of its own, so a busy guide port must not matter.
    """
    held = {port: sock for port in GUIDE_PORTS if (sock := _hold(port)) is not None}
    try:
        run = run_to_end(tmp_path_factory.mktemp("passing"), *LOOSE_STRESS, "--parsec-version", request.param)
    finally:
        for sock in held.values():
            sock.close()
    run = dataclasses.replace(run, busy_guide_ports=tuple(held))
    yield run
    run.cleanup()


@pytest.fixture(scope="module")
def certified_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The guide's bundle with its TLS files already made, once: setup-tls.sh then skips its RSA 4096 keys.

    For the runs about processes, signals and clean-up, where making certificates is not the
    point and takes seconds per run; the passing run makes its own.
    """
    bundle = tmp_path_factory.mktemp("certified") / "bundle"
    shutil.copytree(BUNDLE, bundle)
    subprocess.run(["bash", "setup-tls.sh"], cwd=bundle, check=True, capture_output=True, timeout=120)
    return bundle


def _mismatch(bundle: Path) -> None:
    """parsec-db.env names another password than the compose file; the token is 48 bytes, not 63."""
    replace_in(bundle / "parsec-db.env", "DB_USER:DB_PASS@", f"DB_USER:{MISMATCHED_DB_PASSWORD}@")
    replace_in(bundle / "gen-admin-token.sh", "openssl rand 63", "openssl rand 48")


@pytest.fixture(scope="module")
def failing_run(tmp_path_factory: pytest.TempPathFactory, certified_bundle: Path) -> Iterator[Run]:
    """A run whose failures have secrets in their locals and messages: the token, the DSN."""
    base = tmp_path_factory.mktemp("failing")
    bundle = base / "bundle"
    shutil.copytree(certified_bundle, bundle)
    _mismatch(bundle)
    run = run_to_end(base, *LOOSE_STRESS, "-m", "env_files or database_migration", bundle=bundle)
    yield run
    run.cleanup()


# -- 1. secrets never appear ----------------------------------------------------------------------


@pytest.mark.selftest
def test_a_passing_run_shows_no_secret(passing_run: Run) -> None:
    """No secret of a passing run, in any form, in the terminal or a report, even with -rA --tb=long -l."""
    run = passing_run
    assert run.returncode == 0, f"the guide should pass on the repository's bundle:\n{run.output[-2000:]}"
    secrets = known_secrets(run)
    learned = set(secrets.values())
    assert {"bootstrap token", "invitation token", "device password"} <= learned, (
        f"the harness should have registered the tokens of the organization; it has: {sorted(learned)}"
    )
    assert {"junit.xml", "cucumber.json", "timings.json", "guide.html", "summary.md"} <= {
        p.name for p in run.reports.iterdir()
    }
    found = leaks(run, secrets)
    assert not found, "secrets in the outputs of a passing run:\n" + "\n".join(found)


@pytest.mark.selftest
def test_a_failing_run_redacts_the_secrets_of_its_failures(failing_run: Run) -> None:
    """Failures whose locals and assertions hold the token and a password reach every report redacted."""
    run = failing_run
    assert run.returncode == pytest.ExitCode.TESTS_FAILED, f"the broken bundle fails the run:\n{run.output[-2000:]}"
    for scenario in ("test_the_administration_token", "test_database_configuration"):
        assert f"FAILED features/guide-2.16/test_guide_2_16.py::{scenario}" in run.output, f"{scenario} should fail"
    junit = _texts(run.reports / "junit.xml")[0]
    cucumber = _texts(run.reports / "cucumber.json")[0]
    page, summary = _texts(run.reports / "guide.html")[0], _texts(run.reports / "summary.md")[0]
    for where, text in (
        ("terminal output", run.output),
        ("junit.xml", junit),
        ("cucumber.json", cucumber),
        ("guide.html", page),
        ("summary.md", summary),
    ):
        assert "63 random bytes" in text and "it holds 48" in text, (
            f"the failure of the token check (63 bytes expected, 48 found) is not in {where}"
        )
    secrets = known_secrets(run, (MISMATCHED_DB_PASSWORD, "the password of PARSEC_DB"))
    found = leaks(run, secrets)
    assert not found, "secrets in the outputs of a failing run:\n" + "\n".join(found)


FORK_SERVER = "forkserver_main.py"
BOOTSTRAP_COMMAND = re.compile(r"parsec\.cli core bootstrap_organization|v3_client\.py bootstrap")


@pytest.mark.selftest
def test_no_secret_on_any_command_line_of_a_passing_run(passing_run: Run) -> None:
    """``ps`` sampled every ~50 ms through the whole run shows no secret in any of its processes' argv.

    Command lines are readable by every local user; the bootstrap URL (its token), the
    passwords and the administration token must travel by environment, stdin or a mode-600 file.
    """
    run = passing_run
    assert run.returncode == 0, run.output[-2000:]
    bootstraps = [line for line in run.command_lines if BOOTSTRAP_COMMAND.search(line)]
    # A 2.x client forked by the fork server shows the server's command line (which names no
    # secret: requests go through its socket); seeing one proves the sampling caught the clients.
    assert bootstraps or run.forked_clients, (
        f"the sampling never saw the bootstrap's client ({len(run.command_lines)} command lines seen)"
    )
    secrets = known_secrets(run)
    assert "bootstrap token" in set(secrets.values())
    by_length = sorted(secrets, key=len, reverse=True)
    found = set()
    for line in run.command_lines:
        labels = {label for form, label in secrets.items() if form in line}
        if labels:
            masked = line
            for form in by_length:
                masked = masked.replace(form, "<SECRET>")
            found.add(f"{', '.join(sorted(labels))}: {masked[:200]}")
    assert not found, "secrets on the command lines of the run's processes:\n" + "\n".join(sorted(found))


@pytest.mark.selftest
def test_the_reports_record_the_lock_the_release_was_installed_from(passing_run: Run) -> None:
    """timings.json and junit.xml name the lock file and its sha256: what exactly was qualified."""
    timings = json.loads((passing_run.reports / "timings.json").read_text(encoding="utf-8"))
    expected = read_lock(lock_file(timings["parsec_version"])).label
    assert timings.get("parsec_lock") == expected, timings
    junit = ET.parse(passing_run.reports / "junit.xml")
    recorded = {p.get("name"): p.get("value") for p in junit.iter("property")}
    assert recorded.get("parsec_lock") == expected, recorded


# -- 2. nothing is left behind --------------------------------------------------------------------


@pytest.mark.selftest
def test_a_busy_guide_port_does_not_matter(passing_run: Run) -> None:
    """The local stack serves on ports of its own: the guide's 6777, 1025, 8025, 9090 may be taken."""
    if not passing_run.busy_guide_ports:
        pytest.skip(f"none of the guide's ports {GUIDE_PORTS} was free to be held busy")
    assert passing_run.returncode == 0, passing_run.output[-2000:]


@pytest.mark.selftest
def test_a_passing_run_leaves_nothing(passing_run: Run) -> None:
    """After a passing run: no process, no bound port, no work directory, nothing in the temporary dirs."""
    timings = json.loads((passing_run.reports / "timings.json").read_text(encoding="utf-8"))
    roles = edition_for(adapter_for(timings["parsec_version"])).roles
    expected = {name for name in dataclasses.astuple(roles) if name}  # the proxy too, on the 3.9 edition
    assert passing_run.services_seen() == expected, passing_run.output[-2000:]
    assert passing_run.workdir and passing_run.workdir.startswith(str(passing_run.tmpdir)), passing_run.workdir
    left = passing_run.leftovers()
    assert not left, "\n".join(left)


@pytest.mark.selftest
def test_a_failing_run_leaves_nothing(failing_run: Run) -> None:
    """After a run that fails with the services up: nothing is left either."""
    assert failing_run.services_seen() == SERVICES - {"parsec-backend"}, failing_run.output[-2000:]
    left = failing_run.leftovers()
    assert not left, "\n".join(left)


@pytest.mark.selftest
@pytest.mark.parametrize(
    ("signum", "moment", "to_group"),
    [
        # Ctrl-C in a terminal: SIGINT to the whole foreground process group, all four services up.
        (signal.SIGINT, BACKEND_STARTED, True),
        # A CI timeout or `kill`: SIGTERM to pytest alone, while the services are still starting.
        (signal.SIGTERM, FIRST_SERVICE_STARTED, False),
        # The terminal closes: SIGHUP to pytest, all four services up.
        (signal.SIGHUP, BACKEND_STARTED, False),
        # `kill -9`, the OOM killer: pytest cannot do anything; its watchdog stops the stack.
        (signal.SIGKILL, BACKEND_STARTED, False),
    ],
    ids=[
        "SIGINT-to-group-all-services-up",
        "SIGTERM-while-services-start",
        "SIGHUP-all-services-up",
        "SIGKILL-all-services-up",
    ],
)
def test_an_interrupted_run_leaves_nothing(
    tmp_path: Path, certified_bundle: Path, signum: signal.Signals, moment: re.Pattern[str], to_group: bool
) -> None:
    """An interrupted run stops its stack (itself, or through its watchdog when killed) and leaves nothing."""
    child = Child(tmp_path, bundle=certified_bundle)
    try:
        child.wait_for(moment)
        child.record()
        (os.killpg if to_group else os.kill)(child.proc.pid, signum)
        run = child.finish(timeout=60)
    except BaseException:
        child.abort()
        raise
    try:
        if signum == signal.SIGKILL:
            assert run.returncode == -signal.SIGKILL, run.output[-2000:]
        else:
            assert run.returncode in (pytest.ExitCode.INTERRUPTED, pytest.ExitCode.TESTS_FAILED), run.output[-2000:]
            assert "Traceback" not in run.output, run.output[-2000:]
            verdict = "the run was interrupted" if run.returncode == pytest.ExitCode.INTERRUPTED else "NOT qualified"
            for report in ("guide.html", "summary.md"):  # written all the same, saying so
                text = (run.reports / report).read_text(encoding="utf-8")
                assert verdict in text, f"{report} does not say {verdict}: {run.output[-1500:]}"
        # The watchdog gives each service the harness's own bound for a graceful stop (SeaweedFS: 10 s).
        left = run.leftovers(grace=STOP_TIMEOUT + 4)
        assert not left, "\n".join(left) + "\n\nthe run's output ends with:\n" + run.output[-1500:]
    finally:
        run.cleanup()


_HARNESS = """
import sys, time
from pathlib import Path
from fixtures.services.base import ManagedProcess
from fixtures.services.watchdog import WATCHDOG
service = ManagedProcess("sleeper", ["sleep", "300"], Path(sys.argv[1]), lambda: True)
service.start()
WATCHDOG.remove_at_death(Path(sys.argv[2]))
print(service.pid, WATCHDOG.pid, flush=True)
time.sleep(300)
"""


def test_a_killed_harness_takes_its_services_and_work_directory_with_it(tmp_path: Path) -> None:
    """SIGKILL of the harness: its watchdog stops what it started and removes the work directory.

    Also: a service's log file is created mode 600 whatever the umask.
    """
    workdir = tmp_path / "work dir"
    (workdir / "services").mkdir(parents=True)
    log = workdir / "services" / "sleeper.log"
    harness = subprocess.Popen(
        [sys.executable, "-c", _HARNESS, str(log), str(workdir)],
        cwd=PROJECT,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert harness.stdout is not None
    service, watchdog = (int(word) for word in harness.stdout.readline().split())
    try:
        assert proc_stat(service) is not None and proc_stat(watchdog) is not None
        assert stat.S_IMODE(log.stat().st_mode) == 0o600, f"{log} is mode {log.stat().st_mode:o}"
        os.kill(harness.pid, signal.SIGKILL)
        harness.wait()
        deadline = time.monotonic() + 15
        while (proc_stat(service) or proc_stat(watchdog) or workdir.exists()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert proc_stat(service) is None, "the service outlived the killed harness"
        assert proc_stat(watchdog) is None, "the watchdog outlived its work"
        assert not workdir.exists(), "the killed harness's work directory is left"
    finally:
        for pid in (harness.pid, service, watchdog):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)


_COMPOSE_HARNESS = """
import os, sys, time
from pathlib import Path
from fixtures.services.base import ManagedProcess
from fixtures.services.compose import ComposeProject
from fixtures.services.watchdog import WATCHDOG
class ApiService(ManagedProcess):  # stands in for the private Podman API service down -v talks to
    needed_by_cleanups = True
service = ApiService("API service", ["sleep", "301"], Path(sys.argv[4]), lambda: True)
service.start()
pid = service.pid
os.environ["API_SERVICE_PID"] = str(pid)
project = ComposeProject(("docker", "compose"), (Path(sys.argv[1]),), sys.argv[2])
project.up()
if sys.argv[3] == "keep":
    project.detach()
    service.detach()
print(WATCHDOG.pid, pid, flush=True)
time.sleep(300)
"""


@pytest.mark.parametrize("kept", [False, True], ids=["killed", "killed-after-keep-stack"])
def test_a_killed_harness_takes_its_compose_project_down(tmp_path: Path, kept: bool) -> None:
    """SIGKILL of the harness after ``compose up``: its watchdog runs ``down -v``, unless the project is kept.

    ``down -v`` runs while the API service it talks to still runs (the private Podman service),
    which is stopped after it.
    """
    log = tmp_path / "docker.log"
    docker = tmp_path / "bin" / "docker"
    docker.parent.mkdir()
    state = "$(awk '{print $3}' /proc/$API_SERVICE_PID/stat 2>/dev/null || echo gone)"
    docker.write_text(f'#!/bin/sh\necho "$* (API service: {state})" >> {shlex.quote(str(log))}\n')
    docker.chmod(0o755)
    compose_file = tmp_path / "parsec-server.docker.yaml"
    compose_file.write_text("services: {}\n")
    env = {**os.environ, "PATH": f"{docker.parent}{os.pathsep}{os.environ['PATH']}"}
    harness = subprocess.Popen(
        [
            *(sys.executable, "-c", _COMPOSE_HARNESS, str(compose_file), "p-hygiene"),
            *("keep" if kept else "-", str(tmp_path / "api-service.log")),
        ],
        cwd=PROJECT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert harness.stdout is not None
    watchdog, service = (int(word) for word in harness.stdout.readline().split())
    try:
        os.kill(harness.pid, signal.SIGKILL)
        harness.wait()
        deadline = time.monotonic() + 15
        while proc_stat(watchdog) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert proc_stat(watchdog) is None, "the watchdog outlived its work"
        calls = log.read_text().splitlines()
        assert calls[0] == f"compose -f {compose_file} -p p-hygiene up -d (API service: S)"
        if kept:
            assert calls == calls[:1], f"a kept project is left running: {calls}"
            assert proc_stat(service) is not None, "a kept stack's API service was stopped"
        else:
            assert calls[1:] == [f"compose -f {compose_file} -p p-hygiene down -v (API service: S)"], calls
            assert proc_stat(service) is None, "the API service outlived the run"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(harness.pid, signal.SIGKILL)
        if kept:
            with contextlib.suppress(ProcessLookupError):
                os.kill(service, signal.SIGKILL)


def test_a_hung_command_is_stopped_and_named_in_one_line() -> None:
    """A command past its bound: its whole group is killed (a script's children too), and the error names it."""
    marker = "987.654"  # a sleep no one else runs
    started = time.monotonic()
    with pytest.raises(CommandFailed) as caught:
        run_command(["bash", "-c", f"echo started; sleep {marker} & wait"], timeout=1, what="the sleeper")
    assert time.monotonic() - started < 10
    lines = caught.value.problem.splitlines()
    assert lines == ["the sleeper did not finish within 1 s (hung?); stopped it. Its last lines:", "started"]
    time.sleep(0.2)
    left = [_describe(pid) for pid in _pids() if f"sleep\0{marker}".encode() in _read(f"/proc/{pid}/cmdline")]
    assert not left, f"the hung command's children were left: {left}"


def test_the_stop_script_ends_only_the_kept_processes(tmp_path: Path) -> None:
    """stop-stack.sh: a pid now held by another process (another start time) is left alone; paths are quoted."""
    workdir = tmp_path / "kept stack; touch pwned"
    workdir.mkdir()
    (tmp_path / "kept").mkdir()  # what an unquoted path would name
    kept = subprocess.Popen(["sleep", "300"], start_new_session=True)
    other = subprocess.Popen(["sleep", "300"], start_new_session=True)
    try:
        script = write_stop_script(workdir, [kept.pid, other.pid])
        started = (proc_stat(other.pid) or (0, 0))[1]
        # ``other`` plays a program that took over a kept pid: same pid, another start time.
        script.write_text(script.read_text().replace(f"{other.pid}:{started}", f"{other.pid}:{started + 1}"))
        done = subprocess.run(["bash", str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert kept.wait(timeout=10) == -signal.SIGTERM
        assert other.poll() is None, "the stop script killed a process that is not the kept one"
        assert f"pid {other.pid} is no longer the kept process" in done.stdout
        assert not workdir.exists() and (tmp_path / "kept").is_dir() and not (tmp_path / "pwned").exists()
    finally:
        for process in (kept, other):
            process.kill()
            process.wait()


# -- 3. --keep-stack ------------------------------------------------------------------------------


KEPT_SERVICE = re.compile(r"^\s+(parsec-[\w-]+)\s+127\.0\.0\.1:(\d+)\s+\(pid (\d+)", re.MULTILINE)
MAIL_API = re.compile(r"mail web API\s+http://127\.0\.0\.1:(\d+)")
STOP_COMMAND = re.compile(r"stop it with: (.+)$", re.MULTILINE)


def _answers(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except OSError:
        return False
    return True


@pytest.mark.selftest
def test_keep_stack_leaves_the_stack_running_until_its_stop_command(tmp_path: Path, certified_bundle: Path) -> None:
    """--keep-stack: the services outlive the run, each endpoint is printed, the printed command ends it all."""
    child = Child(tmp_path, "--keep-stack", "-m", "s3_bucket", bundle=certified_bundle)
    try:
        run = child.finish()
    except BaseException:
        child.abort()
        raise
    try:
        assert run.returncode == 0, run.output[-2000:]
        kept = {name: int(port) for name, port, _ in KEPT_SERVICE.findall(run.output)}
        assert set(kept) == SERVICES, f"--keep-stack prints each service's endpoint:\n{run.output[-2000:]}"
        mail_api = MAIL_API.search(run.output)
        command = STOP_COMMAND.search(run.output)
        assert mail_api and command, f"--keep-stack prints the mail API and a stop command:\n{run.output[-2000:]}"
        kept["mail web API"] = int(mail_api.group(1))
        silent = [f"{name} ({port})" for name, port in kept.items() if not _answers(port)]
        assert not silent, f"--keep-stack: these no longer answer after the run: {', '.join(silent)}"
        assert run.workdir and Path(run.workdir).is_dir(), "--keep-stack keeps the work directory"

        stop = subprocess.run(["bash", "-c", command.group(1)], capture_output=True, text=True, timeout=60)
        assert stop.returncode == 0, f"the printed stop command failed ({stop.returncode}): {stop.stderr}"
        assert not Path(run.workdir).exists(), "the printed stop command removes the work directory"
        # The services get the harness's own bound for a graceful stop (SeaweedFS: 10 s).
        left = run.leftovers(grace=STOP_TIMEOUT + 2)
        assert not left, f"after the printed stop command ({command.group(1)}):\n" + "\n".join(left)
    finally:
        run.cleanup()


# -- 4. --workdir ---------------------------------------------------------------------------------


def _quick(tmp_path: Path, *args: str, bundle: Path | None = None) -> Run:
    run = Child(tmp_path, *args, bundle=bundle).finish(timeout=120)
    run.cleanup()
    return run


def test_workdir_refuses_a_directory_the_harness_did_not_make(tmp_path: Path) -> None:
    """A non-empty --workdir without the marker: a usage error in one line, the user's files untouched."""
    mine = tmp_path / "mine"
    mine.mkdir()
    notes = mine / "notes.txt"
    notes.write_text("the user's own file\n", encoding="utf-8")
    before = (notes.stat().st_mtime_ns, sorted(os.listdir(mine)))
    run = _quick(tmp_path / "run", "--workdir", str(mine), "-m", "requirements")
    assert run.returncode == pytest.ExitCode.USAGE_ERROR, run.output[-2000:]
    assert "Traceback" not in run.output
    errors = [line for line in run.output.splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 1 and str(mine) in errors[0] and "not empty" in errors[0], run.output[-2000:]
    assert notes.read_text(encoding="utf-8") == "the user's own file\n"
    assert (notes.stat().st_mtime_ns, sorted(os.listdir(mine))) == before, "the user's directory was touched"


@pytest.mark.selftest
def test_workdir_accepts_a_directory_the_harness_made(tmp_path: Path) -> None:
    """A --workdir holding the marker is the harness's: reused, emptied of the earlier run, kept."""
    made = tmp_path / "made"
    made.mkdir()
    (made / ".parsec-acceptance-workdir").write_text("made by parsec-acceptance; safe to delete\n")
    (made / "from-an-earlier-run").mkdir()
    run = _quick(tmp_path / "run", "--workdir", str(made), "-m", "requirements")
    assert run.returncode == 0, run.output[-2000:]
    assert f"work directory: {made}" in run.output
    assert (made / ".parsec-acceptance-workdir").is_file(), "the named work directory is kept, with its marker"
    assert not (made / "from-an-earlier-run").exists(), "an earlier run's files should be cleared"


# -- 5. bad input: a clear error, never a traceback -----------------------------------------------


def _invalid_yaml(bundle: Path) -> None:
    replace_in(bundle / "parsec-server.docker.yaml", "services:\n", "services:\n  - [unclosed\n")


@pytest.mark.parametrize(
    ("args", "edit", "message", "usage_error"),
    [
        (("--parsec-version", "nope"), None, "'nope' is not a version number", True),
        (("--stack", "compose", "--allow-writes"), None, "--allow-writes is for --stack external", True),
        (("--workdir", "{file}"), None, "--workdir {file} exists and is not a directory", True),
        (("--reports-dir", "{file}/reports"), None, "cannot create the reports directory {file}/reports", True),
        (("--bundle", "{missing}"), None, "bundle directory {missing} does not exist", False),
        ((), _invalid_yaml, "the compose CLI refuses", False),
    ],
    ids=["version", "stack", "workdir-is-a-file", "reports-dir-under-a-file", "missing-bundle", "invalid-compose-yaml"],
)
def test_bad_input_is_a_clear_error(
    tmp_path: Path, args: tuple[str, ...], edit: object, message: str, usage_error: bool
) -> None:
    """A wrong option or bundle: an error naming the problem, never a traceback, no service started.

    Option values are refused before any work (a usage error, one line); a broken bundle fails
    the scenarios with its message. (A busy port is no bad input here: see
    test_a_busy_guide_port_does_not_matter.)
    """
    a_file = tmp_path / "a-file"
    a_file.write_text("not a directory\n")
    places = {"file": a_file, "missing": tmp_path / "no-such-bundle"}
    args = tuple(a.format(**places) for a in args)
    message = message.format(**places)
    bundle = broken_bundle(tmp_path, edit) if callable(edit) else None
    run = _quick(tmp_path / "run", *args, bundle=bundle)
    assert run.returncode != 0, run.output[-2000:]
    if usage_error:  # refused before any work, in one line (and its "how to fix")
        assert run.returncode == pytest.ExitCode.USAGE_ERROR, run.output[-2000:]
        errors = [line for line in run.output.splitlines() if line.startswith("ERROR:")]
        assert len(errors) == 1 and message in errors[0], run.output[-2000:]
    assert "Traceback" not in run.output, run.output[-2000:]
    assert message in run.output, run.output[-2000:]
    assert not SERVICE_LINE.search(run.output), "no service should start on bad input"


def test_a_new_reports_directory_is_created(tmp_path: Path) -> None:
    """A --reports-dir that does not exist yet is made (pytest-bdd's cucumber.json needs it)."""
    reports = tmp_path / "new" / "reports"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(PROJECT / "features"),
            "--collect-only",
            "-q",
            "--reports-dir",
            str(reports),
        ],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output[-2000:]
    assert result.returncode == 0, output[-2000:]
    assert {"junit.xml", "cucumber.json"} <= {p.name for p in reports.iterdir()}
