"""``fixtures/releases/v3_client.py`` against a real Parsec 3.9.3 server.

The server runs from the harness's cached 3.9.3 virtualenv, over HTTPS with a throwaway CA,
an in-memory database, a SeaweedFS S3 blockstore (to see the block land under the key the
client announces) and an aiosmtpd sink (to see the invitation mail arrive).
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import ssl
import stat
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from fixtures import PROJECT_ROOT
from fixtures.errors import PrerequisiteMissing
from fixtures.ports import LOOPBACK, free_port
from fixtures.progress import Progress
from fixtures.releases import Release
from fixtures.releases.source import from_version
from fixtures.releases.venvs import default_cache_dir
from fixtures.services.base import ManagedProcess
from fixtures.services.seaweedfs import SeaweedS3Server, find_weed
from tests.tls_files import TlsFiles, make_tls_files

SCRIPT = PROJECT_ROOT / "fixtures" / "releases" / "v3_client.py"
V3_VERSION = "3.9.3"
S3_ACCESS_KEY = "v3-client-test"
S3_SECRET_KEY = "v3-client-test-secret"
BUCKET = "parsec"
REFUSED_DOMAIN = "refused.test"
"""The sink answers 550 to recipients of this domain."""
PASSWORD = "correct horse battery staple"
CLIENT_TIMEOUT = 60.0


# -- the release and its tools -------------------------------------------------------------


@pytest.fixture(scope="module")
def v3_python() -> Path:
    """The Parsec 3.9.3 virtualenv the harness uses (built on first use, then cached)."""
    release = Release(from_version(V3_VERSION), cache_dir=default_cache_dir(), progress=Progress(print))
    return release.python


@dataclass(frozen=True)
class ClientRun:
    code: int
    output: dict[str, Any]
    stdout: str
    stderr: str
    seconds: float


def run_client(python: Path, command: str, payload: dict[str, Any] | None, raw: bytes | None = None) -> ClientRun:
    """Run the script as the harness will: isolated, request on stdin, one JSON line back."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
    stdin = raw if raw is not None else json.dumps(payload).encode()
    started = time.monotonic()
    done = subprocess.run(
        [str(python), "-I", str(SCRIPT), command], input=stdin, capture_output=True, env=env, timeout=CLIENT_TIMEOUT
    )
    seconds = time.monotonic() - started
    stdout = done.stdout.decode()
    lines = stdout.splitlines()
    assert len(lines) == 1, f"{command}: expected one JSON line on stdout, got {stdout!r} (stderr {done.stderr!r})"
    output = json.loads(lines[0])
    assert isinstance(output, dict)
    return ClientRun(done.returncode, output, stdout, done.stderr.decode(), seconds)


# -- TLS -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("tls"), "parsec-server")


# -- mail sink and S3 ------------------------------------------------------------------------


@dataclass
class Mailbox:
    """What the SMTP sink received: (recipients, parsed message)."""

    messages: list[tuple[list[str], EmailMessage]] = field(default_factory=list)

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address.endswith("@" + REFUSED_DOMAIN):
            return "550 5.1.1 no such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        content = envelope.original_content or b""
        message = message_from_bytes(content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append((list(envelope.rcpt_tos), message))
        return "250 Message accepted"

    def to(self, address: str) -> list[EmailMessage]:
        return [message for recipients, message in self.messages if address in recipients]


@pytest.fixture(scope="module")
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname=LOOPBACK, port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory, tls: TlsFiles) -> Iterator[SeaweedS3Server]:
    try:
        find_weed()
    except PrerequisiteMissing as exc:
        pytest.skip(str(exc))
    server = SeaweedS3Server(
        tmp_path_factory.mktemp("s3"),
        access_key=S3_ACCESS_KEY,
        secret_key=S3_SECRET_KEY,
        cert_file=tls.cert_file,
        key_file=tls.key_file,
        ca_file=tls.ca_file,
        port=free_port(),
    )
    server.start()
    try:
        server.client().create_bucket(Bucket=BUCKET)
        yield server
    finally:
        server.stop()


# -- the Parsec server -------------------------------------------------------------------------


@dataclass(frozen=True)
class ParsecServer:
    url: str
    """``parsec3://127.0.0.1:<port>``"""
    https: str
    admin_token: str
    ca_file: Path

    def admin(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        request = urllib.request.Request(
            self.https + path,
            data=None if body is None else json.dumps(body).encode(),
            method=method,
            headers={"Authorization": f"Bearer {self.admin_token}", "Content-Type": "application/json"},
        )
        opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}),
            urllib.request.HTTPSHandler(context=ssl.create_default_context(cafile=str(self.ca_file))),
        )
        with opener.open(request, timeout=10) as response:
            return json.loads(response.read())

    def new_organization(self) -> tuple[str, str]:
        """Create an organization; return its id and bootstrap URL."""
        organization = f"Org{secrets.token_hex(4)}"
        reply = self.admin("POST", "/administration/organizations", {"organization_id": organization})
        return organization, reply["bootstrap_url"]


@pytest.fixture(scope="module")
def parsec_server(
    v3_python: Path,
    tls: TlsFiles,
    mailbox: tuple[Mailbox, int],
    s3: SeaweedS3Server,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ParsecServer]:
    home = tmp_path_factory.mktemp("parsec")
    port = free_port()
    server = ParsecServer(
        url=f"parsec3://{LOOPBACK}:{port}",
        https=f"https://{LOOPBACK}:{port}",
        admin_token=secrets.token_hex(16),
        ca_file=tls.ca_file,
    )
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "AWS_CA_BUNDLE": str(tls.ca_file),
        "PARSEC_HOST": LOOPBACK,
        "PARSEC_PORT": str(port),
        "PARSEC_SERVER_ADDR": server.url,
        "PARSEC_SSL_CERTFILE": str(tls.cert_file),
        "PARSEC_SSL_KEYFILE": str(tls.key_file),
        "PARSEC_DB": "MOCKED",
        "PARSEC_BLOCKSTORE": f"s3:{LOOPBACK}\\:{s3.endpoint.port}:region1:{BUCKET}:{S3_ACCESS_KEY}:{S3_SECRET_KEY}",
        "PARSEC_ADMINISTRATION_TOKEN": server.admin_token,
        "PARSEC_FAKE_ACCOUNT_PASSWORD_ALGORITHM_SEED": secrets.token_hex(16),
        "PARSEC_EMAIL_HOST": LOOPBACK,
        "PARSEC_EMAIL_PORT": str(mailbox[1]),
        "PARSEC_EMAIL_SENDER": "parsec@example.test",
    }
    context = ssl.create_default_context(cafile=str(tls.ca_file))

    def answers() -> bool:
        with urllib.request.urlopen(server.https + "/", timeout=2, context=context) as response:
            return bool(response.status == 200)

    process = ManagedProcess(
        "parsec-server-3",
        [str(v3_python), "-I", "-m", "parsec", "run"],
        home / "server.log",
        answers,
        env=env,
        cwd=home,
        inherit_env=False,
        ready_timeout=30,
    )
    process.start()
    try:
        yield server
    finally:
        process.stop()


# -- bootstrap -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Bootstrapped:
    organization: str
    bootstrap_url: str
    device_file: Path
    run: ClientRun


def bootstrap_request(server: ParsecServer, url: str, device_file: Path) -> dict[str, Any]:
    return {
        "bootstrap_url": url,
        "ca_file": str(server.ca_file),
        "human_label": "Alice Admin",
        "human_email": "alice@example.test",
        "device_label": "laptop",
        "password": PASSWORD,
        "device_file": str(device_file),
    }


@pytest.fixture(scope="module")
def bootstrapped(
    v3_python: Path, parsec_server: ParsecServer, tmp_path_factory: pytest.TempPathFactory
) -> Bootstrapped:
    organization, url = parsec_server.new_organization()
    device_file = tmp_path_factory.mktemp("devices") / "alice.json"
    run = run_client(v3_python, "bootstrap", bootstrap_request(parsec_server, url, device_file))
    assert run.code == 0, run
    return Bootstrapped(organization, url, device_file, run)


def device_request(server: ParsecServer, device: Bootstrapped, **extra: Any) -> dict[str, Any]:
    return {
        "server_url": server.url,
        "ca_file": str(server.ca_file),
        "device_file": str(device.device_file),
        "password": PASSWORD,
        **extra,
    }


def test_status_names_the_release(v3_python: Path) -> None:
    run = run_client(v3_python, "status", None, raw=b"")
    assert run.code == 0, run
    assert run.output["parsec_version"].startswith("3.")
    assert re.fullmatch(r"\d+\.\d+", run.output["api_version"])


def test_bootstrap_writes_a_private_device_file(bootstrapped: Bootstrapped, parsec_server: ParsecServer) -> None:
    out = bootstrapped.run.output
    assert out["organization"] == bootstrapped.organization
    assert out["device_file"] == str(bootstrapped.device_file)
    assert re.fullmatch(r"[0-9a-f]{32}", out["user_id"]) and re.fullmatch(r"[0-9a-f]{32}", out["device_id"])
    assert stat.S_IMODE(bootstrapped.device_file.stat().st_mode) == 0o600
    content = json.loads(bootstrapped.device_file.read_text())
    assert (content["user_id"], content["device_id"]) == (out["user_id"], out["device_id"])
    assert content["server_url"] == parsec_server.url
    assert "device_signing_key" not in json.dumps(content)  # only inside encrypted_keys
    status = parsec_server.admin("GET", f"/administration/organizations/{bootstrapped.organization}")
    assert status["is_bootstrapped"] is True


def test_bootstrap_keeps_secrets_out_of_its_output(bootstrapped: Bootstrapped) -> None:
    token = bootstrapped.bootstrap_url.split("&p=", 1)[1]
    for text in (bootstrapped.run.stdout, bootstrapped.run.stderr):
        assert token not in text and PASSWORD not in text


def test_second_bootstrap_is_refused_with_the_servers_reply(
    v3_python: Path, parsec_server: ParsecServer, bootstrapped: Bootstrapped, tmp_path: Path
) -> None:
    device_file = tmp_path / "second.json"
    run = run_client(v3_python, "bootstrap", bootstrap_request(parsec_server, bootstrapped.bootstrap_url, device_file))
    assert run.code == 1
    assert "OrganizationAlreadyBootstrapped" in run.output["error"], run.output
    assert bootstrapped.organization in run.output["error"]
    assert not device_file.exists()
    assert "Traceback" not in run.stderr


def test_existing_device_file_is_kept_and_nothing_is_sent(
    v3_python: Path, parsec_server: ParsecServer, tmp_path: Path
) -> None:
    organization, url = parsec_server.new_organization()
    device_file = tmp_path / "mine.json"
    device_file.write_text("not yours")
    run = run_client(v3_python, "bootstrap", bootstrap_request(parsec_server, url, device_file))
    assert run.code == 1
    assert "already exists" in run.output["error"]
    assert device_file.read_text() == "not yours"
    status = parsec_server.admin("GET", f"/administration/organizations/{organization}")
    assert status["is_bootstrapped"] is False


def test_untrusted_certificate_is_reported(
    v3_python: Path, parsec_server: ParsecServer, tls: TlsFiles, tmp_path: Path
) -> None:
    _, url = parsec_server.new_organization()
    request = bootstrap_request(parsec_server, url, tmp_path / "x.json") | {"ca_file": str(tls.other_ca_file)}
    run = run_client(v3_python, "bootstrap", request)
    assert run.code == 1
    assert "certificate verification failed" in run.output["error"], run.output


# -- invite --------------------------------------------------------------------------------


def test_invite_makes_the_server_send_the_mail(
    v3_python: Path, parsec_server: ParsecServer, bootstrapped: Bootstrapped, mailbox: tuple[Mailbox, int]
) -> None:
    email = f"bob-{secrets.token_hex(3)}@example.test"
    run = run_client(v3_python, "invite", device_request(parsec_server, bootstrapped, email=email))
    assert run.code == 0, run
    assert run.output == {"email_sent": "SUCCESS", "ok": True}
    messages = mailbox[0].to(email)  # the server sends before it answers
    assert len(messages) == 1
    body = messages[0].get_body(preferencelist=("plain", "html"))
    assert body is not None
    link = re.search(r"https://\S+/redirect/(\w+)\?a=claim_user&p=(\w+)", body.get_content())
    assert link is not None and link.group(1) == bootstrapped.organization
    assert link.group(2) not in run.stdout + run.stderr  # the invitation token stays secret


def test_invite_reports_a_mail_the_server_could_not_send(
    v3_python: Path, parsec_server: ParsecServer, bootstrapped: Bootstrapped
) -> None:
    request = device_request(parsec_server, bootstrapped, email=f"carol@{REFUSED_DOMAIN}")
    run = run_client(v3_python, "invite", request)
    assert run.code == 1
    assert "did not send the mail (email_sent=RECIPIENT_REFUSED)" in run.output["error"], run.output


def test_wrong_password_is_one_clear_error(
    v3_python: Path, parsec_server: ParsecServer, bootstrapped: Bootstrapped
) -> None:
    request = device_request(parsec_server, bootstrapped, email="dan@example.test") | {"password": "wrong"}
    run = run_client(v3_python, "invite", request)
    assert run.code == 1
    assert run.output["error"] == f"invite: the password does not open the device file {bootstrapped.device_file}"


def test_handshake_refusal_names_the_http_status(
    v3_python: Path, parsec_server: ParsecServer, bootstrapped: Bootstrapped, tmp_path: Path
) -> None:
    content = json.loads(bootstrapped.device_file.read_text())
    content["organization_id"] = "NoSuchOrg"
    moved = tmp_path / "moved.json"
    moved.write_text(json.dumps(content))
    request = device_request(parsec_server, bootstrapped, email="erin@example.test") | {"device_file": str(moved)}
    run = run_client(v3_python, "invite", request)
    assert run.code == 1
    assert "/authenticated/NoSuchOrg answered HTTP 404 (organization not found" in run.output["error"], run.output


# -- store_block ---------------------------------------------------------------------------


def test_store_block_lands_under_the_announced_s3_key(
    v3_python: Path, parsec_server: ParsecServer, bootstrapped: Bootstrapped, s3: SeaweedS3Server
) -> None:
    data = secrets.token_bytes(1000)
    request = device_request(parsec_server, bootstrapped, data_b64=base64.b64encode(data).decode())
    run = run_client(v3_python, "store_block", request)
    assert run.code == 0, run
    out = run.output
    assert set(out) == {"realm_id", "block_id", "object_key_hint"}
    assert out["object_key_hint"] == f"{bootstrapped.organization}/{uuid.UUID(hex=out['block_id'])}"
    stored = s3.client().get_object(Bucket=BUCKET, Key=out["object_key_hint"])
    assert stored["Body"].read() == data


# -- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "raw", "expected"),
    [
        ("invite", b"not json", "invite: stdin is not a JSON object"),
        ("invite", b"[]", "invite: stdin holds JSON but not an object"),
        ("store_block", b'{"device_file": "/nonexistent/x.json"}', "store_block: the input lacks the string field"),
        ("bootstrap", b'{"bootstrap_url": "https://example.test/"}', "bootstrap: bootstrap_url is not a parsec3://"),
        ("nonsense", b"{}", "usage: v3_client.py <bootstrap|invite|store_block|send_validation_email|status>"),
    ],
    ids=["not-json", "not-object", "missing-field", "bad-url", "unknown-command"],
)
def test_bad_input_is_one_clear_error(v3_python: Path, command: str, raw: bytes, expected: str) -> None:
    run = run_client(v3_python, command, None, raw=raw)
    assert run.code == 1
    assert run.output["error"].startswith(expected), run.output
    assert run.stderr == ""


# -- send_validation_email -----------------------------------------------------------------


def test_validation_mails_are_rate_limited_per_source_address(
    v3_python: Path, parsec_server: ParsecServer, mailbox: tuple[Mailbox, int]
) -> None:
    """connect_to keeps the URL's host as the TLS name; the server counts mails per client address."""
    port = int(parsec_server.url.rsplit(":", 1)[1])
    first, second = f"127.77.{secrets.randbelow(250)}.1", f"127.78.{secrets.randbelow(250)}.1"

    def ask(source: str) -> tuple[ClientRun, str]:
        email = f"dave-{secrets.token_hex(3)}@example.test"
        request = {
            "server_url": f"parsec3://localhost:{port}",
            "ca_file": str(parsec_server.ca_file),
            "email": email,
            "connect_to": f"{LOOPBACK}:{port}",
            "source_address": source,
        }
        return run_client(v3_python, "send_validation_email", request), email

    run, email = ask(first)
    assert run.code == 0 and run.output == {"email": email, "ok": True}, run
    assert len(mailbox[0].to(email)) == 1
    run, email = ask(first)
    assert run.code == 1 and "refused it with EmailSendingRateLimited" in run.output["error"], run
    assert mailbox[0].to(email) == []
    run, email = ask(second)
    assert run.code == 0, run
