"""Test the SMTP configuration & server: the guide's test mail reaches the mailbox."""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from datetime import datetime, timezone

from pytest_bdd import parsers, then, when

from fixtures.clients.mailbox import Mailbox
from fixtures.deployment import GuideDeployment
from fixtures.living_guide.evidence import Evidence
from fixtures.living_guide.facts import mail_facts
from fixtures.stacks.base import Stack


@dataclass(frozen=True)
class SentMail:
    sender: str
    body: str


@when(
    parsers.parse('I send the test mail of "{script}" with the values of "{name}"'),
    target_fixture="sent_mail",
)
def send_test_mail(deployment: GuideDeployment, stack: Stack, script: str, name: str) -> SentMail:
    """The transaction of ping-mailhog.sh: log in as USER@localhost, mail a date to rcpt@test.com."""
    deployment.performs(f"runs {script}")
    env = stack.rewrite_env(deployment.env(name))
    host, port = env.get("PARSEC_EMAIL_HOST", ""), env.get("PARSEC_EMAIL_PORT", "")
    body = datetime.now(timezone.utc).isoformat(sep=" ", timespec="microseconds")
    try:
        with smtplib.SMTP(host, int(port), timeout=10) as smtp:
            smtp.login(f"{env.get('PARSEC_EMAIL_HOST_USER')}@localhost", env.get("PARSEC_EMAIL_HOST_PASSWORD", ""))
            smtp.sendmail(env["PARSEC_EMAIL_SENDER"], ["rcpt@test.com"], body)
    except (OSError, ValueError, smtplib.SMTPException) as exc:
        raise AssertionError(
            f"{script} sends through PARSEC_EMAIL_HOST:PARSEC_EMAIL_PORT of {name} "
            f"({deployment.env(name).get('PARSEC_EMAIL_HOST')}:{deployment.env(name).get('PARSEC_EMAIL_PORT')}); "
            f"that failed: {exc}"
        ) from None
    return SentMail(env["PARSEC_EMAIL_SENDER"], body)


@then(parsers.parse('the mail web interface shows a message from PARSEC_EMAIL_SENDER to "{recipient}"'))
def mail_shown(stack: Stack, sent_mail: SentMail, recipient: str, evidence: Evidence) -> None:
    message = Mailbox(stack.mail_api_url).wait_for(
        lambda m: m.envelope_from == sent_mail.sender and recipient in m.envelope_to and sent_mail.body in m.text,
        timeout=10,
        description=f"the test mail from {sent_mail.sender} to {recipient}",
    )
    evidence.record("Test mail", mail_facts(message))
    assert message.text.strip() == sent_mail.body
