"""The MailHog stand-in: its SMTP side, its MailHog-shaped API, its executor and the Mailbox client.

Run from the project root (``python -m pytest tests/test_mailsink.py``) so ``fixtures`` imports.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
import requests

from fixtures.clients.mailbox import Mailbox, MailboxUnavailable, MailMessage, MailNotReceived
from fixtures.errors import ServiceNotReady
from fixtures.mailsink.store import (
    AuthRecord,
    MailStore,
    clamp_window,
    make_message,
    message_json,
)
from fixtures.ports import LOOPBACK, free_port, port_is_free
from fixtures.services.mailsink import PROJECT_ROOT, MailSinkServer, api_answers, smtp_banner

USER = "SMTP_USER@localhost"  # how the guide's ping-mailhog.sh logs in
PASSWORD = "SMTP_PASS"
PASSWORD_SHA256 = hashlib.sha256(PASSWORD.encode()).hexdigest()
SENDER = "parsec@test.xyz"
RCPT = "rcpt@test.com"


def invitation(subject: str, *, to: str = RCPT, sender: str = SENDER) -> EmailMessage:
    """Build a multipart text+HTML message shaped like Parsec's invitation mail."""
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = to
    message.set_content("Join: https://127.0.0.1:6777/redirect/Org?action=claim_user&token=abc\n")
    message.add_alternative(
        '<html><body><a href="https://127.0.0.1:6777/redirect/Org">Join</a> é</body></html>\n', subtype="html"
    )
    return message


def send(
    sink: MailSinkServer,
    message: EmailMessage | bytes,
    *,
    mechanism: str | None = "PLAIN",
    sender: str = SENDER,
    rcpts: tuple[str, ...] = (RCPT,),
) -> None:
    """Deliver ``message``; log in with the guide's credentials unless ``mechanism`` is None."""
    with smtplib.SMTP(sink.host, sink.smtp_port, timeout=5) as smtp:
        smtp.ehlo()
        if mechanism == "PLAIN":
            smtp.login(USER, PASSWORD)  # what Parsec does; smtplib picks PLAIN here
        elif mechanism == "LOGIN":
            smtp.user, smtp.password = USER, PASSWORD
            smtp.auth("LOGIN", smtp.auth_login)  # the other mechanism offered
        if isinstance(message, bytes):
            smtp.sendmail(sender, list(rcpts), message)
        else:
            smtp.send_message(message, from_addr=sender, to_addrs=list(rcpts))


@pytest.fixture(scope="module")
def sink(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MailSinkServer]:
    server = MailSinkServer(tmp_path_factory.mktemp("mailsink"), smtp_port=free_port(), http_port=free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def mailbox(sink: MailSinkServer) -> Iterator[Mailbox]:
    with Mailbox(sink.api_url) as box:
        box.delete_all()
        yield box


# --- JSON shaping, without a server -------------------------------------------------------------


def canned_item() -> dict:
    data = invitation("[Parsec] Alice invited you to Org").as_bytes(policy=invitation("x").policy.clone(linesep="\r\n"))
    auth = AuthRecord.from_credentials(b"SMTP_USER", PASSWORD.encode(), "PLAIN")
    stored = make_message(mail_from=SENDER, rcpt_tos=[RCPT], data=data + b"\r\n", helo="client.local", auth=auth)
    return message_json(stored)


def test_item_has_mailhog_shape_and_auth_extension() -> None:
    item = canned_item()
    assert set(item) == {"ID", "From", "To", "Content", "Created", "MIME", "Raw", "Auth"}
    assert item["From"] == {"Relays": None, "Mailbox": "parsec", "Domain": "test.xyz", "Params": ""}
    assert item["To"] == [{"Relays": None, "Mailbox": "rcpt", "Domain": "test.com", "Params": ""}]
    assert item["ID"].endswith("@mailsink.localhost")
    headers = item["Content"]["Headers"]
    assert headers["Subject"] == ["[Parsec] Alice invited you to Org"]
    assert headers["Return-Path"] == [f"<{SENDER}>"]
    assert headers["Message-ID"] == [item["ID"]]
    assert headers["Received"][0].startswith("from client.local by mailsink.localhost")
    assert item["Content"]["Size"] == len(item["Raw"]["Data"].encode())
    assert len(item["MIME"]["Parts"]) == 2
    assert item["Raw"]["From"] == SENDER and item["Raw"]["To"] == [RCPT]
    assert item["Raw"]["Helo"] == "client.local"
    # the data ended with CRLF CRLF: MailHog, and the sink, drop the one CRLF before the final dot
    assert item["Raw"]["Data"].endswith("--\r\n") and not item["Raw"]["Data"].endswith("\r\n\r\n")
    assert item["Auth"] == {"Username": "SMTP_USER", "PasswordSHA256": PASSWORD_SHA256, "Mechanism": "PLAIN"}
    assert PASSWORD not in json.dumps(item)


def test_mail_message_parses_raw_data() -> None:
    message = MailMessage.from_api(canned_item())
    assert message.envelope_from == SENDER
    assert message.envelope_to == [RCPT]
    assert message.subject == "[Parsec] Alice invited you to Org"
    assert message.from_header == SENDER and message.to_header == RCPT
    assert message.text.startswith("Join: https://127.0.0.1:6777/redirect/Org?action=claim_user")
    assert message.html is not None and '<a href="https://127.0.0.1:6777/redirect/Org">' in message.html
    assert "é" in message.html
    assert message.auth_username == "SMTP_USER"
    assert message.password_is(PASSWORD) and not message.password_is("other")


def test_headerless_data_is_all_body() -> None:
    stored = make_message(mail_from=SENDER, rcpt_tos=[RCPT], data=b"2024-01-02 03:04:05+00:00\r\n")
    item = message_json(stored)
    assert item["Content"]["Body"] == "2024-01-02 03:04:05+00:00"
    assert set(item["Content"]["Headers"]) == {"Message-ID", "Received", "Return-Path"}
    assert item["Auth"] == {"Username": None, "PasswordSHA256": None, "Mechanism": None}
    message = MailMessage.from_api(item)
    assert message.subject is None and message.html is None
    assert message.text.strip() == "2024-01-02 03:04:05+00:00"
    assert message.auth_username is None and not message.password_is(PASSWORD)


def test_real_mailhog_item_without_auth_key() -> None:
    """An item as MailHog v1.0.1 serves it: no ``Auth``; the client still parses it."""
    item = {
        "ID": "abc=@mailhog.example",
        "From": {"Relays": None, "Mailbox": "parsec", "Domain": "test.xyz", "Params": ""},
        "To": [{"Relays": None, "Mailbox": "rcpt", "Domain": "test.com", "Params": ""}],
        "Content": {"Headers": {"Subject": ["Hello"]}, "Body": "hi", "Size": 27, "MIME": None},
        "Created": "2024-01-02T03:04:05.123456789Z",
        "MIME": None,
        "Raw": {"From": SENDER, "To": [RCPT], "Data": "Subject: Hello\r\n\r\nhi", "Helo": "x"},
    }
    message = MailMessage.from_api(item)
    assert (message.subject, message.text.strip(), message.html) == ("Hello", "hi", None)
    assert message.auth_username is None and message.auth_password_sha256 is None


def test_store_search_and_windows() -> None:
    store = MailStore()
    for index, (rcpt, header_to) in enumerate([("a@one.test", "a@one.test"), ("hidden@bcc.test", "b@two.test")]):
        head = f"From: Sender <s{index}@from.test>\r\nTo: {header_to}\r\nX-Tag: tag{index}\r\n"
        data = f"{head}\r\nbody {index}\r\n"
        store.add(make_message(mail_from=f"env{index}@from.test", rcpt_tos=[rcpt], data=data.encode()))
    assert [len(store.search_page("to", q)["items"]) for q in ("ONE.test", "bcc.test", "two.test")] == [
        1,
        1,
        1,
    ]
    assert store.search_page("from", "env1@")["items"][0]["Raw"]["To"] == ["hidden@bcc.test"]
    assert store.search_page("from", "s0@from")["total"] == 1
    assert store.search_page("containing", "TAG1")["total"] == 1  # header values count
    assert store.search_page("containing", "body")["total"] == 2
    page = store.search_page("containing", "body", start=1, limit=1)
    assert (page["total"], page["count"], page["start"]) == (2, 1, 1)
    assert page["items"][0]["Raw"]["From"] == "env0@from.test"  # newest first: index 1, then 0
    assert store.list_page()["items"][0]["Raw"]["From"] == "env1@from.test"
    with pytest.raises(ValueError):
        store.search_page("subject", "x")
    assert clamp_window(None, None) == (0, 50)
    assert clamp_window(-3, 1000) == (0, 250)


# --- the program behind its executor ---------------------------------------------------------


def test_smtp_greets_and_advertises_auth_in_clear(sink: MailSinkServer) -> None:
    with smtplib.SMTP(timeout=5) as smtp:
        code, banner = smtp.connect(sink.host, sink.smtp_port)
        assert code == 220, banner
        code, _ = smtp.ehlo("client.test")
        assert code == 250
        assert smtp.has_extn("auth")
        assert {"PLAIN", "LOGIN"} <= set(smtp.esmtp_features["auth"].split())
        assert not smtp.has_extn("starttls")  # as MailHog: AUTH in the clear, no STARTTLS


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_authenticated_multipart_message(sink: MailSinkServer, mailbox: Mailbox, mechanism: str) -> None:
    subject = f"[Parsec] Alice invited you to Org ({mechanism})"
    send(sink, invitation(subject), mechanism=mechanism)

    message = mailbox.wait_for(lambda m: m.subject == subject, timeout=5)
    assert message.envelope_from == SENDER
    assert message.envelope_to == [RCPT]
    assert message.from_header == SENDER and message.to_header == RCPT
    assert "action=claim_user&token=abc" in message.text
    assert message.html is not None and "<a href=" in message.html and "é" in message.html
    assert message.auth_username == USER
    assert message.auth_password_sha256 == PASSWORD_SHA256
    assert message.password_is(PASSWORD)

    api_json = requests.get(f"{sink.api_url}/api/v2/messages", timeout=5).text
    log = sink.log_path.read_text()
    encoded = [
        base64.b64encode(PASSWORD.encode()).decode(),  # LOGIN's password line
        base64.b64encode(f"\0{USER}\0{PASSWORD}".encode()).decode(),  # PLAIN's blob
    ]
    for text in (api_json, log):
        assert PASSWORD not in text
        assert not any(blob in text for blob in encoded)
    assert f"login mechanism={mechanism} user={USER}" in log
    assert f"from=<{SENDER}> to=<{RCPT}> user={USER}" in log


def test_message_without_login(sink: MailSinkServer, mailbox: Mailbox) -> None:
    send(sink, invitation("anonymous"), mechanism=None, sender="anon@test.xyz")
    message = mailbox.wait_for(lambda m: m.subject == "anonymous", timeout=5)
    assert message.envelope_from == "anon@test.xyz"
    assert message.auth_username is None and message.auth_password_sha256 is None
    assert "user=-" in sink.log_path.read_text()


def test_headerless_body_like_the_guides_curl(sink: MailSinkServer, mailbox: Mailbox) -> None:
    stamp = time.strftime("%Y-%m-%d %H:%M:%S+00:00", time.gmtime())
    send(sink, f"{stamp}\n".encode(), mechanism="LOGIN")
    message = mailbox.wait_for(lambda m: m.envelope_to == [RCPT], timeout=5)
    assert message.subject is None and message.html is None
    assert message.text.strip() == stamp
    assert message.raw.strip() == stamp
    assert message.auth_username == USER


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_the_guides_ping_mailhog_command(sink: MailSinkServer, mailbox: Mailbox) -> None:
    """``ping-mailhog.sh``'s curl call, verbatim but for the port."""
    script = (
        f'curl --silent --show-error --url smtp://127.0.0.1:{sink.smtp_port} --user "{USER}:{PASSWORD}" '
        f"--mail-from {SENDER} --mail-rcpt {RCPT} --upload-file <(date --rfc-3339=seconds)"
    )
    env = {key: value for key, value in os.environ.items() if "proxy" not in key.lower()}
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=15, env=env)
    assert result.returncode == 0, result.stderr
    message = mailbox.wait_for(lambda m: m.envelope_from == SENDER, timeout=5)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[+-]\d\d:\d\d", message.text.strip())
    assert message.auth_username == USER and message.password_is(PASSWORD)


def test_search(sink: MailSinkServer, mailbox: Mailbox) -> None:
    send(sink, invitation("for alice", to="alice@org.test"), rcpts=("alice@org.test",))
    send(sink, invitation("for bob", to="bob@org.test"), rcpts=("bob@org.test",), sender="other@test.xyz")
    assert [m.subject for m in mailbox.search("to", "ALICE@org")] == ["for alice"]
    assert [m.subject for m in mailbox.search("from", "other@")] == ["for bob"]
    assert [m.subject for m in mailbox.search("containing", "claim_user")] == ["for bob", "for alice"]
    assert mailbox.search("to", "nobody@") == []
    with pytest.raises(ValueError):
        mailbox.search("subject", "for")
    bad = requests.get(f"{sink.api_url}/api/v2/search", params={"kind": "subject", "query": "x"}, timeout=5)
    assert bad.status_code == 400


def test_listing_is_newest_first_and_paged(sink: MailSinkServer, mailbox: Mailbox) -> None:
    for index in range(3):
        send(sink, invitation(f"message {index}"), mechanism=None)
    assert [m.subject for m in mailbox.messages()] == ["message 2", "message 1", "message 0"]
    page = requests.get(f"{sink.api_url}/api/v2/messages", params={"start": 2, "limit": 2}, timeout=5).json()
    assert (page["total"], page["count"], page["start"]) == (3, 1, 2)


def test_delete_all_empties_the_mailbox(sink: MailSinkServer, mailbox: Mailbox) -> None:
    send(sink, invitation("to be deleted"))
    mailbox.wait_for(lambda m: m.subject == "to be deleted", timeout=5)
    mailbox.delete_all()
    assert mailbox.messages() == []
    assert requests.get(f"{sink.api_url}/api/v2/messages", timeout=5).json()["total"] == 0


def test_wait_for_timeout_names_what_is_there(sink: MailSinkServer, mailbox: Mailbox) -> None:
    message = invitation("Visible subject")
    message.replace_header("To", "someone@test.com")
    send(sink, message, rcpts=("someone@test.com",))
    started = time.monotonic()
    with pytest.raises(MailNotReceived) as caught:
        mailbox.wait_for(lambda m: False, timeout=0.3, description="an invitation to bob")
    assert time.monotonic() - started < 3
    assert isinstance(caught.value, TimeoutError) and not isinstance(caught.value, AssertionError)
    text = str(caught.value)
    assert "an invitation to bob" in text and "1 message(s)" in text
    assert "'Visible subject' from <parsec@test.xyz> to someone@test.com" in text
    assert "claim_user" not in text  # bodies stay out of the error


def test_mailbox_reports_an_unreachable_api() -> None:
    with (
        Mailbox(f"http://{LOOPBACK}:{free_port()}", timeout=1) as box,
        pytest.raises(MailboxUnavailable) as caught,
    ):
        box.messages()
    assert "did not answer GET /api/v2/messages" in str(caught.value)


# --- lifecycle ----------------------------------------------------------------------------------


def test_start_is_quick_and_stop_leaves_no_process(tmp_path: Path) -> None:
    server = MailSinkServer(tmp_path, smtp_port=free_port(), http_port=free_port(), name="smtp-lifecycle")
    started = time.monotonic()
    server.start()
    start_seconds = time.monotonic() - started
    print(f"mailsink ready in {start_seconds:.3f} s")
    try:
        assert server.running()
        assert smtp_banner(LOOPBACK, server.smtp_port).startswith("220 ")
        assert api_answers(LOOPBACK, server.http_port)
        assert server.log_path == tmp_path / "smtp" / "mailsink.log"
        assert "listening: SMTP on" in server.log_tail()
        pid = server.pid
        assert pid is not None
    finally:
        stopping = time.monotonic()
        server.stop()
        stop_seconds = time.monotonic() - stopping
    assert start_seconds < 5
    assert stop_seconds < 3
    assert not server.running() and server.pid is None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert port_is_free(server.smtp_port) and port_is_free(server.http_port)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_stops_the_program_cleanly(tmp_path: Path, signum: signal.Signals) -> None:
    smtp_port, http_port = free_port(), free_port()
    argv = [
        sys.executable,
        "-m",
        "fixtures.mailsink",
        "--smtp-port",
        str(smtp_port),
        "--http-port",
        str(http_port),
    ]
    with (tmp_path / "out.log").open("w") as out:
        process = subprocess.Popen(argv, cwd=PROJECT_ROOT, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                if api_answers(LOOPBACK, http_port) and smtp_banner(LOOPBACK, smtp_port).startswith("220"):
                    break
            except OSError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, (tmp_path / "out.log").read_text()
            time.sleep(0.05)
        sent = time.monotonic()
        process.send_signal(signum)
        assert process.wait(timeout=3) == 0
        assert time.monotonic() - sent < 2
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert "Traceback" not in (tmp_path / "out.log").read_text()


def test_busy_port_fails_fast_with_the_log(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind((LOOPBACK, 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = MailSinkServer(tmp_path, smtp_port=port, http_port=free_port(), ready_timeout=10)
        started = time.monotonic()
        with pytest.raises(ServiceNotReady) as caught:
            server.start()
    assert time.monotonic() - started < 5
    assert f"cannot listen for SMTP on 127.0.0.1:{port}" in str(caught.value)
    assert not server.running()
