"""Test the SMTP configuration & server: the guide's test mail reaches the mailbox."""

from __future__ import annotations

from pytest_bdd import parsers, then, when

from fixtures.clients.mailbox import MailMessage
from fixtures.errors import NotChecked
from fixtures.living_guide.evidence import Evidence
from fixtures.living_guide.facts import mail_facts
from fixtures.sections.env_files import EnvFilesSection
from fixtures.sections.mail import MailSection, SentMail, SmtpError


@when(
    parsers.parse('I send the test mail of "{script}" with the values of "{name}"'),
    target_fixture="sent_mail",
)
def send_test_mail(smtp: MailSection, script: str, name: str) -> SentMail:
    """The guide's ping-mailhog.sh, run with curl: it logs in as USER@localhost and mails the date to rcpt@test.com."""
    try:
        return smtp.send_test_mail(script, name)
    except SmtpError as exc:
        raise AssertionError(str(exc)) from None


@then(
    parsers.parse('the mail web interface shows a message from PARSEC_EMAIL_SENDER to "{recipient}"'),
    target_fixture="test_mail",
)
def mail_shown(smtp: MailSection, sent_mail: SentMail, recipient: str, evidence: Evidence) -> MailMessage:
    message = smtp.mailbox().wait_for(
        lambda m: m.envelope_from == sent_mail.sender and recipient in m.envelope_to and sent_mail.is_body(m.text),
        timeout=10,
        description=f"the test mail (the date ping-mailhog.sh ran) from {sent_mail.sender} to {recipient}",
    )
    evidence.record("Test mail", mail_facts(message))
    return message


@then(parsers.parse('the SMTP server saw {script} log in as PARSEC_EMAIL_HOST_USER@localhost of "{name}"'))
def ping_login(env_files: EnvFilesSection, test_mail: MailMessage, script: str, name: str) -> None:
    """The script's login carries the env file's credentials (MailHog takes any; the harness's sink records them)."""
    if not test_mail.auth_recorded:
        raise NotChecked("the mail API does not record SMTP logins (MailHog's does not; the harness's mailsink does)")
    env = env_files.read(name)
    user = f"{env.get('PARSEC_EMAIL_HOST_USER')}@localhost"
    assert test_mail.auth_username is not None, f"{script} sent the test mail without logging in (expected {user})"
    problems = []
    if test_mail.auth_username != user:
        problems.append(f"{script} should log in as {user}; it logged in as {test_mail.auth_username}")
    if not test_mail.password_is(env.get("PARSEC_EMAIL_HOST_PASSWORD", "")):
        problems.append(f"{script} logged in with another password than PARSEC_EMAIL_HOST_PASSWORD of {name}")
    assert not problems, "\n".join(problems)
