"""The living guide's pure logic: facts, failure messages, the page's verdicts, redaction, the summary."""

from __future__ import annotations

import datetime as dt
import ipaddress

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from fixtures.clients.mailbox import MailMessage
from fixtures.editions import DEFAULT_EDITION
from fixtures.living_guide.coverage import count_scenarios, coverage, read_features
from fixtures.living_guide.facts import MASK, certificate_facts, mail_facts, mask_link, mask_links, plain
from fixtures.living_guide.outline import load_outline
from fixtures.living_guide.page import RunInfo, build, failed_start
from fixtures.living_guide.plugin import _message
from fixtures.living_guide.record import (
    FAILED,
    NOT_RUN,
    PASSED,
    Failure,
    RunRecord,
    ScenarioResult,
    StepResult,
)
from fixtures.living_guide.render import render_html
from fixtures.living_guide.summary import render_summary
from fixtures.progress import Phase
from fixtures.redaction import Secrets
from fixtures.verdict import Ran, judge

TOKEN = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
PASSWORD = "Sup3r-S3cret-Passw0rd"


# -- facts ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        (
            f"https://127.0.0.1:6777/redirect/MyOrg?action=claim_user&token={TOKEN}",
            f"https://127.0.0.1:6777/redirect/MyOrg?action=claim_user&token={MASK}",
        ),
        (
            f"parsec://127.0.0.1:6777/MyOrg?action=bootstrap_organization&token={TOKEN}",
            f"parsec://127.0.0.1:6777/MyOrg?action=bootstrap_organization&token={MASK}",
        ),
        (f"parsec3://h:1/MyOrg?a=claim_user&p=xBC{TOKEN}", f"parsec3://h:1/MyOrg?a=claim_user&p={MASK}"),
        ("https://example.com/path", "https://example.com/path"),
    ],
    ids=["v2-invitation", "v2-bootstrap", "v3-invitation", "no-query"],
)
def test_links_keep_their_action_and_mask_their_token(url: str, masked: str) -> None:
    assert mask_link(url) == masked
    assert mask_links(f"see <{url}> now") == f"see <{masked}> now"


def test_certificate_facts() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "parsec-s3")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=10, hours=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("parsec-s3"),
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                ]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA512())
    )
    facts = certificate_facts(cert)
    assert facts["subject"] == "CN=parsec-s3"
    assert facts["subject alternative names"] == ["DNS:parsec-s3", "DNS:localhost", "IP:127.0.0.1"]
    assert facts["expires in"] == "10.0 days"
    assert facts["key"] == "EC secp256r1" and facts["signature"] == "sha512"
    assert str(facts["expires"]).endswith(" UTC")


def test_mail_facts_mask_the_invitation_link() -> None:
    link = f"https://127.0.0.1:6777/redirect/MyOrg?action=claim_user&token={TOKEN}"
    message = MailMessage(
        id="1",
        envelope_from="parsec@test.xyz",
        envelope_to=["invitee@example.com"],
        subject="[Parsec] Owner invited you to MyOrg",
        from_header="Parsec <parsec@test.xyz>",
        to_header="invitee@example.com",
        text=f"Join: {link}\n",
        html=f'<a href="{link}">join</a>',
        auth_username="SMTP_USER",
        auth_password_sha256=None,
        raw="",
    )
    facts = mail_facts(message)
    assert facts["links"] == [f"https://127.0.0.1:6777/redirect/MyOrg?action=claim_user&token={MASK}"]
    assert facts["subject"] == "[Parsec] Owner invited you to MyOrg"
    assert facts["recipients"] == ["invitee@example.com"]
    assert TOKEN not in repr(facts)


def test_plain_values() -> None:
    when = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    assert plain({"a": {1, 3, 2}, "b": (when, b"x")}) == {"a": [1, 2, 3], "b": ["2024-01-02 03:04:05 UTC", "x"]}


# -- failure messages ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "expected", "found"),
    [
        ("the guide's token is 63 random bytes; it holds 48", "the guide's token is 63 random bytes", "it holds 48"),
        ("the S3 service accepted a wrong secret", None, "the S3 service accepted a wrong secret"),
        ("a; b\nlog line; more", "a", "b\nlog line; more"),
    ],
)
def test_expected_and_found(message: str, expected: str | None, found: str) -> None:
    assert Failure(message).expected_and_found == (expected, found)


def test_the_message_leaves_out_pytest_introspection() -> None:
    error = AssertionError("the guide says 5; found 7\nassert '7' == '5'\n  - 5\n  + 7")
    assert _message(error) == "the guide says 5; found 7"
    assert _message(AssertionError("assert 1 == 2")) == "assert 1 == 2"
    assert _message(KeyError()) == "KeyError"


# -- the page --------------------------------------------------------------------------------------


def _scenario(nodeid: str, name: str, tags: list[str], outcome: str, failure: Failure | None = None) -> ScenarioResult:
    steps = [StepResult("Given", "the services are started", 5), StepResult("Then", f"{name} holds", 6)]
    for step in steps:
        step.status, step.seconds = (PASSED, 0.01) if outcome != NOT_RUN else (NOT_RUN, None)
    if failure is not None:
        steps[-1].status = FAILED
    scenario = ScenarioResult(nodeid, "Feature", "x.feature", 4, name, tags, steps, outcome, 0.02, failure=failure)
    return scenario


def _page(scenarios: list[ScenarioResult], *, exitstatus: int = 0, phases: list[Phase] | None = None) -> dict:
    secrets = Secrets()
    secrets.add(PASSWORD, "SMTP password")
    outline = load_outline(DEFAULT_EDITION.outline_file)
    record = RunRecord(started=1_700_000_000.0, exitstatus=exitstatus, finished=1_700_000_012.5)
    record.scenarios = {s.nodeid: s for s in scenarios}
    phases = phases or [Phase("run setup-tls.sh", 3.4, True)]
    start = failed_start(phases)
    verdict = judge(
        "Parsec 2.16.3 (PyPI)",
        count_scenarios(read_features(DEFAULT_EDITION.features_dir)),
        [Ran(s.outcome, s.skip_reason) for s in scenarios],
        interrupted=exitstatus == pytest.ExitCode.INTERRUPTED,
        failed_start=start.name if start else None,
    )
    return build(
        outline=outline,
        coverage=coverage(outline, read_features(DEFAULT_EDITION.features_dir)),
        record=record,
        info=RunInfo("2.16.3", "local", DEFAULT_EDITION.bundle_dir),
        phases=phases,
        verdict=verdict,
        redact=secrets.redact,
    )


def test_a_passing_run() -> None:
    page = _page([_scenario("t::a", "Bucket", ["s3_bucket"], PASSED), _scenario("t::b", "Mail", ["smtp"], PASSED)])
    assert page["verdict"] == "PARTIAL" and page["first_failure"] is None  # two scenarios of the guide's
    assert page["headline"].startswith("2 of 34 scenarios ran, all passed, for Parsec 2.16.3 (PyPI)")
    assert page["bundle"] == "compose/v2" and page["duration"] == "12.5 s"
    sections = {s["tag"]: s for s in page["sections"]}
    assert sections["s3_bucket"]["verdict"] == "passed"
    assert sections["initial_configuration"]["verdict"] == "passed"  # through its subsections
    assert (sections["initial_configuration"]["passed"], sections["initial_configuration"]["total"]) == (2, 2)
    assert sections["requirements"]["verdict"] == "not run"
    html = render_html(page)
    assert 'id="first-failure"' not in html and ">PARTIAL<" in html
    for section in page["sections"]:
        assert f'id="{section["anchor"]}"' in html


def test_a_failing_run_points_at_the_first_failing_section_in_the_guides_order() -> None:
    later = Failure("the server does not answer; it exited", "Given parsec-backend is running")
    earlier = Failure("the guide's bucket is 'parsec'; PARSEC_BLOCKSTORE names 'other'", "Then parsec-s3.env ...")
    page = _page(
        [
            _scenario("t::org", "Create the organization", ["create_organization"], FAILED, later),
            _scenario("t::env", "S3 service configuration", ["env_files", "env_s3"], FAILED, earlier),
        ]
    )
    assert page["verdict"] == "NOT qualified"
    first = page["first_failure"]
    assert first["section"] == "3.2.4 S3 service configuration" and first["section_anchor"] == "section-env_s3"
    assert first["message"] == "the guide's bucket is 'parsec'; PARSEC_BLOCKSTORE names 'other'"
    html = render_html(page)
    assert html.index('id="first-failure"') < html.index('id="timings"') < html.index('id="section-requirements"')
    assert '<a href="#section-env_s3">3.2.4 S3 service configuration</a>' in html
    scenario = next(s for s in page["sections"] if s["tag"] == "env_s3")["scenarios"][0]
    assert scenario["failure"]["expected"] == "the guide's bucket is 'parsec'"
    assert scenario["failure"]["found"] == "PARSEC_BLOCKSTORE names 'other'"
    assert next(s for s in page["sections"] if s["tag"] == "env_files")["scenarios"] == []  # placed in 3.2.4 only


def test_an_interrupted_run_and_a_stack_that_did_not_start() -> None:
    running = _scenario("t::a", "Services", ["starting_services"], NOT_RUN)
    running.steps[0].started = 1.0
    running.interrupt()
    assert running.outcome == "interrupted" and running.steps[0].status == "interrupted"
    page = _page([running], exitstatus=pytest.ExitCode.INTERRUPTED)
    assert page["verdict"] == "PARTIAL" and "the run was interrupted" in page["headline"]
    failed = Failure("parsec-s3 did not start", "When the services are started")
    page = _page(
        [_scenario("t::a", "Services", ["starting_services"], FAILED, failed)],
        phases=[Phase("start parsec-s3 on 127.0.0.1:1", 0.1, False)],
    )
    assert page["verdict"] == "NOT qualified" and "1 of 34 scenarios failed" in page["headline"]
    assert "the stack did not start (start parsec-s3 on 127.0.0.1:1 failed)" in page["headline"]
    assert page["first_failure"]["section_anchor"] == "section-starting_services"


def test_secrets_are_redacted_and_markup_escaped() -> None:
    failure = Failure(
        f"<script>alert(1)</script> the password {PASSWORD}; link https://h/x?token={TOKEN}",
        "Then it holds",
        logs=[("parsec-smtp log (last 15 lines)", f"login {PASSWORD}")],
    )
    scenario = _scenario("t::a", "Mail", ["smtp"], FAILED, failure)
    scenario.record("Test mail", {"password": PASSWORD, "links": [f"https://h/x?token={TOKEN}"]})
    page = _page([scenario])
    html, summary = render_html(page), render_summary(page)
    for text in (html, summary):
        assert PASSWORD not in text and TOKEN not in text
        assert "<redacted SMTP password>" in text or "&lt;redacted SMTP password&gt;" in text
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_the_summary_is_short_markdown() -> None:
    failure = Failure("the guide's bucket is 'parsec'; PARSEC_BLOCKSTORE names 'other'", "Then it | holds")
    page = _page([_scenario("t::env", "S3 service configuration", ["env_s3"], FAILED, failure)])
    summary = render_summary(page)
    lines = summary.splitlines()
    assert lines[0] == "## ❌ Parsec install guide: NOT qualified"
    assert lines[2].startswith("NOT qualified: Parsec 2.16.3 (PyPI) fails the install guide: 1 of 34 scenarios failed")
    assert (
        "**First failure** — 3.2.4 S3 service configuration › S3 service configuration: `Then it \\| holds`" in summary
    )
    assert "| ❌ | \u2003\u20033.2.4 S3 service configuration | failed (0/1 scenarios passed) |" in lines
    assert "Guide drift: not checked (no `--guide FILE`)." in lines
    assert len(lines) < 45
