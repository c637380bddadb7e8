"""TLS Server configuration: the server negotiates only the ciphers of PARSEC_SSL_CIPHERS.

Asked of the running server with TLS 1.2 clients that offer chosen ciphers (TLS 1.3's suites are
not chosen by a cipher list, so TLS 1.2 is where the list shows).
"""

from __future__ import annotations

from pytest_bdd import then

from fixtures.bundle import Bundle
from fixtures.errors import HarnessError
from fixtures.living_guide.evidence import Evidence
from fixtures.sections.tls_server import CIPHERS_VARIABLE, TlsServerSection
from fixtures.tls_handshake import Handshake, tls12_ciphers
from steps.common import server_named, server_step


def _listed(tls_server: TlsServerSection, service: str) -> list[str]:
    listed = tls_server.server_ciphers(service)
    assert listed is not None, (
        f"the guide gives {service} a list of ciphers in {CIPHERS_VARIABLE}; none of its env files sets it, "
        "so the server negotiates its default list"
    )
    return listed


def _accepted_listed(tls_server: TlsServerSection, service: str) -> Handshake:
    known = tls12_ciphers()
    candidates = [name for name in _listed(tls_server, service) if name in known]
    assert candidates, f"{CIPHERS_VARIABLE} of {service} lists no TLS 1.2 cipher: a TLS 1.2 client cannot connect"
    accepted, refused = tls_server.first_accepted(candidates)
    assert accepted is not None, (
        f"{service} refuses TLS 1.2 clients offering only one of its {CIPHERS_VARIABLE}, each in turn: "
        + ", ".join(f"{h.offered[0]} ({h.refusal})" for h in refused)
    )
    return accepted


@then(server_step("{server} accepts a TLS 1.2 client offering only a cipher of PARSEC_SSL_CIPHERS"))
def accepts_listed(tls_server: TlsServerSection, bundle: Bundle, evidence: Evidence, server_name: str) -> None:
    service = server_named(bundle, server_name)
    accepted = _accepted_listed(tls_server, service)
    evidence.record(
        "a TLS 1.2 client offering one listed cipher", {"offered": accepted.offered[0], "chosen": accepted.cipher}
    )


@then(server_step("{server} refuses a TLS 1.2 client offering only ciphers outside PARSEC_SSL_CIPHERS"))
def refuses_others(tls_server: TlsServerSection, bundle: Bundle, evidence: Evidence, server_name: str) -> None:
    service = server_named(bundle, server_name)
    listed = set(_listed(tls_server, service))
    outside = tuple(name for name in tls12_ciphers() if name not in listed)
    try:
        outcome = tls_server.offer(outside)
    except HarnessError as exc:
        raise AssertionError(
            f"{service} should refuse the ciphers outside {CIPHERS_VARIABLE} (no cipher in common); "
            f"the handshake failed otherwise: {exc.detail()}"
        ) from None
    evidence.record(
        "a TLS 1.2 client offering only ciphers outside the list",
        {
            "offered": f"{len(outside)} ciphers, e.g. {', '.join(outside[:3])}",
            "answer": outcome.cipher or outcome.refusal,
        },
    )
    chosen = outcome.cipher
    assert chosen is None, (
        f"{service} accepted {chosen}, a cipher outside its {CIPHERS_VARIABLE}: the server does not "
        "restrict TLS to the guide's list"
    )
    _accepted_listed(tls_server, service)  # the control: the same client with a listed cipher gets through
