"""Starting the services and restarting the server: each answers its own protocol."""

from __future__ import annotations

import smtplib
import ssl
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import requests
from cryptography import x509
from pytest_bdd import parsers, then, when

from fixtures.bundle import Bundle
from fixtures.sections.server import ServerSection
from fixtures.sections.services import ServicesSection
from fixtures.sections.tls import TlsSection
from fixtures.stacks.files import testinfra_host
from fixtures.tls_handshake import presented_certificate
from steps.common import SERVER_TYPE, server_named, server_step


def peer_certificate(host: str, port: int, ca_file: Path) -> x509.Certificate:
    """Handshake with verification against the custom CA; return the presented certificate."""
    try:
        return presented_certificate(host, port, ca_file)
    except ssl.SSLCertVerificationError as exc:
        raise AssertionError(
            f"{host}:{port} presents a certificate that does not verify against the custom CA: {exc.verify_message}"
        ) from None
    except (ssl.SSLError, OSError) as exc:
        raise AssertionError(f"no TLS handshake with {host}:{port}: {exc}") from None


@when("the services are started")
def start_services(services: ServicesSection) -> None:
    services.ensure()


def connect_as_compose_user(services: ServicesSection, *, wrong_password: bool = False) -> None:
    """Connect to parsec-postgres as the compose file's POSTGRES_USER (optionally with a wrong password)."""
    login = services.database_login()
    with psycopg.connect(
        host=login.host,
        port=login.port,
        user=login.user,
        password="not-" + login.password if wrong_password else login.password,
        dbname=login.dbname,
        connect_timeout=5,
    ) as conn:
        conn.execute("SELECT 1")


@then("parsec-postgres accepts the credentials of the compose file")
def postgres_accepts(services: ServicesSection) -> None:
    try:
        connect_as_compose_user(services)
    except psycopg.OperationalError as exc:
        raise AssertionError(
            f"{services.roles.database} refuses the compose file's POSTGRES_USER and POSTGRES_PASSWORD: {exc}"
        ) from None


@then("parsec-postgres refuses a wrong password")
def postgres_refuses(services: ServicesSection) -> None:
    try:
        connect_as_compose_user(services, wrong_password=True)
    except psycopg.OperationalError as exc:
        assert "password authentication failed" in str(exc), f"the connection failed, but not on the password: {exc}"
        return
    raise AssertionError(
        f"{services.roles.database} accepted a wrong password: password authentication is not enforced"
    )


@then("parsec-s3 answers HTTPS with a certificate that verifies against the custom CA")
def s3_https(services: ServicesSection, tls: TlsSection) -> None:
    s3 = services.roles.s3
    endpoint = services.service(s3).endpoint
    ca = tls.ca_file()
    presented = peer_certificate(endpoint.host, endpoint.port, ca)
    expected = x509.load_pem_x509_certificate(tls.path(f"{s3}.crt").read_bytes())
    assert presented == expected, f"{s3} should present {s3}.crt; it presents {presented.subject.rfc4514_string()}"
    reply = requests.get(f"https://{endpoint}/", verify=str(ca), timeout=5)
    assert reply.status_code < 500, f"{s3} answers HTTPS with {reply.status_code}"


@then("parsec-smtp answers EHLO")
def smtp_ehlo(services: ServicesSection) -> None:
    smtp_service = services.roles.smtp
    endpoint = services.service(smtp_service).endpoint
    try:
        with smtplib.SMTP(endpoint.host, endpoint.port, timeout=5) as smtp:
            code, _ = smtp.ehlo()
    except (OSError, smtplib.SMTPException) as exc:
        raise AssertionError(f"{smtp_service} does not answer SMTP on {endpoint}: {exc}") from None
    assert code == 250, f"{smtp_service} answers EHLO with {code}, not 250"


@then("the mail web interface of parsec-smtp answers")
def mail_api(services: ServicesSection) -> None:
    services.mailbox().messages()


@when(server_step("I restart {server}"))
def restart_server(server: ServerSection, bundle: Bundle, server_name: str) -> None:
    server_named(bundle, server_name)
    server.restart()


@then(server_step("{server} serves HTTPS on the address it is published on"))
def server_https(server: ServerSection, tls: TlsSection, bundle: Bundle, server_name: str) -> None:
    name = server_named(bundle, server_name)
    url = server.https_url()
    try:
        reply = requests.get(url + "/", verify=str(tls.ca_file()), timeout=5)
    except requests.RequestException as exc:
        raise AssertionError(f"{name} does not answer HTTPS at {url}: {exc}") from None
    assert reply.status_code == 200, f"{name} answers GET / with {reply.status_code}, not 200"


@then(
    parsers.parse(
        "{server_name:Server} presents the certificate of {certificate_of:Server}, issued by the custom CA",
        extra_types=SERVER_TYPE,
    )
)
def server_certificate(
    server: ServerSection, tls: TlsSection, bundle: Bundle, server_name: str, certificate_of: str
) -> None:
    name = server_named(bundle, server_name)
    server_named(bundle, certificate_of)
    address = urlsplit(server.https_url())
    presented = peer_certificate(address.hostname or "", address.port or 443, tls.ca_file())
    expected = x509.load_pem_x509_certificate(tls.path(f"{name}.crt").read_bytes())
    assert presented == expected, f"{name} should present {name}.crt; it presents {presented.subject.rfc4514_string()}"


def _bound_addresses(host_spec: str, port: int) -> list[str]:
    """The addresses a TCP socket listens on at ``port`` on that host (``ss``/``netstat`` through testinfra)."""
    found = []
    for spec in testinfra_host(host_spec).socket.get_listening_sockets():
        protocol, _, rest = spec.partition("://")
        address, _, bound_port = rest.rpartition(":")
        if protocol == "tcp" and bound_port == str(port):
            found.append(address)
    return sorted(set(found))


@then(parsers.parse("{service} listens only where the guide publishes it"))
def listens_where_published(services: ServicesSection, service: str) -> None:
    for check in services.bound_sockets(service):
        bound = _bound_addresses(check.host_spec, check.port)
        assert bound, f"{check.why}; nothing listens on port {check.port} on {check.host_spec}"
        stray = [address for address in bound if check.addresses and address not in check.addresses]
        assert not stray, (
            f"{check.why}: port {check.port} on {check.host_spec} should be bound to "
            f"{', '.join(check.addresses)} only; it is bound to {', '.join(bound)}"
        )
