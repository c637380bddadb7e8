"""Running behind a reverse proxy: parsec-proxy's certificate, the way through it, and what the server trusts."""

from __future__ import annotations

import contextlib
import ssl
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from pytest_bdd import given, parsers, then, when

from fixtures.living_guide.evidence import Evidence
from fixtures.living_guide.facts import mask_link, subject_alternative_names
from fixtures.nginx_conf import parse_dump, proxying_locations, unforwarded_locations
from fixtures.releases.base import ClientCommandError, ClientContext, OrganizationCreated
from fixtures.sections.proxy import MailAsked, ProxySection
from fixtures.sections.tls import TlsSection

FORGED_PROTO = {"X-Forwarded-Proto": "http"}


@given("parsec-proxy is running")
def proxy_running(proxy: ProxySection) -> None:
    proxy.ensure()


def presented(proxy: ProxySection) -> x509.Certificate:
    """The certificate parsec-proxy presents for the public host, verified against the custom CA."""
    endpoint = proxy.access().https
    try:
        return proxy.presented_certificate()
    except ssl.SSLCertVerificationError as exc:
        raise AssertionError(
            f"{proxy.name} should present a certificate issued by the custom CA; the one it presents at {endpoint} "
            f"does not verify against custom-ca.crt: {exc.verify_message}"
        ) from None
    except (ssl.SSLError, OSError) as exc:
        raise AssertionError(f"{proxy.name} should complete a TLS handshake at {endpoint}; it did not: {exc}") from None


@then("parsec-proxy presents the certificate of parsec-proxy, issued by the custom CA")
def proxy_certificate(proxy: ProxySection, tls: TlsSection, evidence: Evidence) -> None:
    certificate = presented(proxy)
    file = proxy.certificate_file()
    evidence.record(
        f"The certificate {proxy.name} presents (TLS handshake, SNI {proxy.public_host()})",
        {
            "subject": certificate.subject.rfc4514_string(),
            "issuer": certificate.issuer.rfc4514_string(),
            "names": ", ".join(subject_alternative_names(certificate)) or "(none)",
        },
    )
    expected = tls.certificate(file)
    assert certificate.public_bytes(Encoding.DER) == expected.public_bytes(Encoding.DER), (
        f"{proxy.name} should present {file}, the certificate the compose file mounts for it; it presents another "
        f"one (subject {certificate.subject.rfc4514_string()}, serial {certificate.serial_number:x})"
    )


@then("the certificate of parsec-proxy names the host of the server's public address")
def proxy_certificate_names(proxy: ProxySection, evidence: Evidence) -> None:
    certificate = presented(proxy)
    host, address = proxy.public_host(), proxy.public_address()
    names = subject_alternative_names(certificate)
    evidence.record("The name clients use", {"public address": address, "certificate names": ", ".join(names)})
    try:
        accepted = proxy.certificate_names_public_host()
    except (ssl.SSLError, OSError) as exc:
        raise AssertionError(
            f"a client of {host} should complete a TLS handshake with {proxy.name}; it did not: {exc}"
        ) from None
    assert accepted, (
        f"clients reach {proxy.name} as {host} (the server's public address {address}), so its certificate must "
        f"name {host}; the certificate {proxy.name} presents names only {', '.join(names) or 'nothing'}, and every "
        f"client refuses it (setup-tls.sh makes {proxy.certificate_file()} without {host})"
    )


@when(
    parsers.parse('I create the organization "{name}" through parsec-proxy with the token of "{file}"'),
    target_fixture="created",
)
def create_through_proxy(proxy: ProxySection, name: str, file: str) -> OrganizationCreated:
    try:
        return proxy.create_organization(name, proxy.client(), f"through {proxy.name}")
    except ClientCommandError as exc:
        why = ""
        with contextlib.suppress(ssl.SSLError, OSError):  # the failure above is said whatever this finds
            if not proxy.certificate_names_public_host():
                why = (
                    f"\nclients refuse {proxy.name}'s certificate: it does not name {proxy.public_host()}, the name "
                    "they reach it by (the server's public address)"
                )
        raise AssertionError(
            f"creating {name} through {proxy.name} should reach the server; it failed:{why}\n"
            f"{exc}\n{exc.output[-1000:]}"
        ) from None


@then("the bootstrap organization url names the server's public address")
def bootstrap_url_public(proxy: ProxySection, created: OrganizationCreated, evidence: Evidence) -> None:
    evidence.record("Bootstrap organization url", {"url": mask_link(created.bootstrap_url)})
    url, public = urlsplit(created.bootstrap_url), urlsplit(proxy.public_address())
    assert (url.scheme, url.netloc) == (public.scheme, public.netloc), (
        f"the bootstrap url should name the server's public address {public.scheme}://{public.netloc}; "
        f"it names {url.scheme}://{url.netloc}"
    )
    assert url.path.strip("/") == created.organization, (
        f"the bootstrap url should name {created.organization}; its path is {url.path!r}"
    )


def created_or_fail(proxy: ProxySection, prefix: str, ctx: ClientContext, what: str) -> OrganizationCreated:
    """A new organization created through ``ctx``: what the server built its bootstrap url from."""
    name = proxy.fresh_organization(prefix)
    try:
        return proxy.create_organization(name, ctx, what)
    except ClientCommandError as exc:
        raise AssertionError(f"creating {name} {what} should succeed; it failed: {exc}") from None


@then("the server sees the client's scheme in X-Forwarded-Proto when the request comes through parsec-proxy")
def scheme_through_proxy(proxy: ProxySection, evidence: Evidence) -> None:
    what = f"through {proxy.name}'s port 80 (plain HTTP)"
    created = created_or_fail(proxy, "ProxyScheme", proxy.client(plain_http=True), what)
    evidence.record(f"Bootstrap url of an organization created {what}", {"url": mask_link(created.bootstrap_url)})
    assert "no_ssl=true" in urlsplit(created.bootstrap_url).query, (
        f"a request {what} reaches the server with X-Forwarded-Proto: http, so the server should build a plain "
        f"HTTP bootstrap url (no_ssl=true); it built {mask_link(created.bootstrap_url)}: it did not take the "
        f"scheme from {proxy.name}, which it does only for a proxy it trusts. {proxy.trust_diagnosis()}"
    )


def first_sent(mail: MailAsked) -> None:
    assert mail.error is None, (
        f"the server should send a validation mail to a new recipient from a new address; it did not: {mail.describe()}"
    )


@then("the server sees the client's address in X-Forwarded-For when the request comes through parsec-proxy")
def address_through_proxy(proxy: ProxySection, evidence: Evidence) -> None:
    route = f"through {proxy.name}"
    first, second = proxy.client_addresses(2)
    asked = proxy.ask_validation_mails(
        [(proxy.client(source=first), first, route), (proxy.client(source=second), second, route)]
    )
    evidence.record(
        "Validation mails asked from two client addresses (the server rate-limits them per address)",
        {mail.recipient: mail.describe() for mail in asked},
    )
    first_sent(asked[0])
    later = asked[1]
    assert not proxy.rate_limited(later), (
        f"two clients ({first}, {second}) asked {route} for a validation mail each, to two recipients: the server "
        f"should see two client addresses (X-Forwarded-For) and send both; it held the second back, its rate "
        f"limit per client address counting both as {proxy.name}'s own address: it did not take the client's "
        f"address from {proxy.name}, which it does only for a proxy it trusts. {proxy.trust_diagnosis()}"
    )
    assert later.error is None, f"the second validation mail should be sent; {later.describe()}"


@then("the server ignores X-Forwarded-Proto and X-Forwarded-For from an address it does not trust")
def untrusted_headers(proxy: ProxySection, evidence: Evidence) -> None:
    source, claimed_first, claimed_second = proxy.client_addresses(3)
    what = f"directly from {source} with a forged X-Forwarded-Proto: http"
    created = created_or_fail(proxy, "Forged", proxy.direct_client(source, FORGED_PROTO), what)
    evidence.record(f"Bootstrap url of an organization created {what}", {"url": mask_link(created.bootstrap_url)})
    assert "no_ssl=true" not in urlsplit(created.bootstrap_url).query, (
        f"the server should ignore X-Forwarded-Proto from {source}, an address it was not told to trust (the "
        f"request came over TLS); it built a plain HTTP bootstrap url (no_ssl=true): it takes forwarded headers "
        f"from any client. {proxy.trust_diagnosis()}"
    )
    route = f"directly to {proxy.server.address()}"
    asked = proxy.ask_validation_mails(
        [
            (proxy.direct_client(source, {"X-Forwarded-For": claimed}), source, f"{route}, claiming {claimed}")
            for claimed in (claimed_first, claimed_second)
        ]
    )
    evidence.record(
        f"Validation mails asked from {source}, each claiming another X-Forwarded-For",
        {mail.recipient: mail.describe() for mail in asked},
    )
    first_sent(asked[0])
    later = asked[1]
    assert later.error is not None, (
        f"the server should ignore X-Forwarded-For from {source}, an address it was not told to trust, and hold "
        f"the second validation mail back (rate limit per client address); it sent both, counting "
        f"{claimed_first} and {claimed_second} as two clients: it takes forwarded headers from any client. "
        f"{proxy.trust_diagnosis()}"
    )
    assert proxy.rate_limited(later), (
        f"the server should hold the second validation mail from {source} back (rate limit per client address); "
        f"it failed otherwise: {later.describe()}"
    )


@then("every location of parsec-nginx.conf that proxies to parsec-server removes the Forwarded header")
def forwarded_removed(proxy: ProxySection, evidence: Evidence) -> None:
    upstream = proxy.access().upstream
    trees = parse_dump(proxy.nginx_dump())
    proxying = {path: proxying_locations(tree, upstream) for path, tree in trees.items()}
    missing = {path: unforwarded_locations(tree, upstream) for path, tree in trees.items()}
    evidence.record(
        "Read from nginx's own dump of the configuration it runs (nginx -T), not from the server: the server "
        "does not say which headers it gets",
        {
            "locations proxying to the server": "; ".join(loc for locs in proxying.values() for loc in locs),
            "letting Forwarded through": "; ".join(loc for locs in missing.values() for loc in locs) or "none",
        },
    )
    assert any(proxying.values()), (
        f"{proxy.name} should proxy requests to the server ({upstream}); nginx -T shows no proxy_pass to it"
    )
    leaks = [f"{location} ({path})" for path, locations in missing.items() for location in locations]
    assert not leaks, (
        f"every location that proxies to the server should remove the client's Forwarded header "
        f'(proxy_set_header Forwarded ""), as read from nginx -T, nginx\'s dump of the configuration it runs; '
        f"{', '.join(leaks)} let(s) it through"
    )
