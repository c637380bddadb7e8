"""Test the SMTP configuration & server: the guide's test mail reaches the mailbox."""

from __future__ import annotations

from pytest_bdd import parsers, then, when

from fixtures.living_guide.evidence import Evidence
from fixtures.living_guide.facts import mail_facts
from fixtures.sections.mail import MailSection, SentMail, SmtpError


@when(
    parsers.parse('I send the test mail of "{script}" with the values of "{name}"'),
    target_fixture="sent_mail",
)
def send_test_mail(smtp: MailSection, script: str, name: str) -> SentMail:
    """The transaction of ping-mailhog.sh: log in as USER@localhost, mail a date to rcpt@test.com."""
    try:
        return smtp.send_test_mail(script, name)
    except SmtpError as exc:
        raise AssertionError(str(exc)) from None


@then(parsers.parse('the mail web interface shows a message from PARSEC_EMAIL_SENDER to "{recipient}"'))
def mail_shown(smtp: MailSection, sent_mail: SentMail, recipient: str, evidence: Evidence) -> None:
    message = smtp.mailbox().wait_for(
        lambda m: m.envelope_from == sent_mail.sender and recipient in m.envelope_to and sent_mail.body in m.text,
        timeout=10,
        description=f"the test mail from {sent_mail.sender} to {recipient}",
    )
    evidence.record("Test mail", mail_facts(message))
    assert message.text.strip() == sent_mail.body
