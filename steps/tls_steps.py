"""Generating the required TLS certificates: checked with cryptography and testinfra."""

from __future__ import annotations

import ipaddress
from datetime import datetime, timezone
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pytest_bdd import parsers, then

from fixtures.living_guide.evidence import Evidence
from fixtures.living_guide.facts import certificate_facts
from fixtures.sections.tls import CA, TlsSection
from steps.common import ScriptRun

GUIDE_KEY_SIZE = 4096


def load_cert(path: Path) -> x509.Certificate:
    assert path.is_file(), f"the guide's setup-tls.sh makes {path.name}; it does not exist"
    return x509.load_pem_x509_certificate(path.read_bytes())


def load_key(path: Path) -> rsa.RSAPrivateKey:
    assert path.is_file(), f"the guide's setup-tls.sh makes {path.name}; it does not exist"
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey), f"{path.name} is a {type(key).__name__}, the guide makes RSA keys"
    return key


@then(parsers.parse('"{first}" and "{second}" exist'))
def two_files_exist(tls: TlsSection, first: str, second: str) -> None:
    for name in (first, second):
        assert tls.exists(name), f"the guide's script makes {name}; it does not exist"


@then(parsers.parse('"{first}", "{second}" and "{third}" exist'))
def three_files_exist(tls: TlsSection, first: str, second: str, third: str) -> None:
    for name in (first, second, third):
        assert tls.exists(name), f"the guide's script makes {name}; it does not exist"


@then("the CA certificate is self-signed and is a CA with an RSA 4096 key")
def ca_is_self_signed(tls: TlsSection, evidence: Evidence) -> None:
    ca = load_cert(tls.path(f"{CA}.crt"))
    evidence.record(f"Certificate {CA}.crt", certificate_facts(ca))
    assert ca.issuer == ca.subject, (
        f"the guide's CA is self-signed; its issuer is {ca.issuer.rfc4514_string()}, "
        f"its subject {ca.subject.rfc4514_string()}"
    )
    try:
        ca.verify_directly_issued_by(ca)
    except Exception as exc:
        raise AssertionError(f"the CA certificate's signature does not verify with its own key: {exc}") from None
    try:
        is_ca = ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        is_ca = False
    assert is_ca, "the CA certificate must say CA:TRUE in its basic constraints; it does not"
    key = ca.public_key()
    assert isinstance(key, rsa.RSAPublicKey) and key.key_size == GUIDE_KEY_SIZE, (
        f"the guide's CA key is RSA {GUIDE_KEY_SIZE}; found {type(key).__name__} {getattr(key, 'key_size', '?')} bits"
    )
    private = load_key(tls.path(f"{CA}.key"))
    assert private.public_key().public_numbers() == key.public_numbers(), "custom-ca.key does not match custom-ca.crt"


@then(parsers.parse("the certificate of {service} is issued and signed by the custom CA"))
def issued_by_ca(tls: TlsSection, service: str, evidence: Evidence) -> None:
    ca = load_cert(tls.path(f"{CA}.crt"))
    cert = load_cert(tls.path(f"{service}.crt"))
    evidence.record(f"Certificate {service}.crt", certificate_facts(cert))
    assert cert.issuer == ca.subject, (
        f"{service}.crt should be issued by the custom CA ({ca.subject.rfc4514_string()}); "
        f"its issuer is {cert.issuer.rfc4514_string()}"
    )
    try:
        cert.verify_directly_issued_by(ca)
    except Exception as exc:
        raise AssertionError(f"{service}.crt is not signed by the custom CA's key: {exc}") from None
    key = cert.public_key()
    assert isinstance(key, rsa.RSAPublicKey) and key.key_size >= GUIDE_KEY_SIZE, (
        f"the guide makes RSA {GUIDE_KEY_SIZE} keys; {service}.crt has a {getattr(key, 'key_size', '?')}-bit key"
    )


@then(parsers.parse("the certificate of {service} names DNS:{dns1}, DNS:{dns2} and IP:{ip}"))
def names_sans(tls: TlsSection, service: str, dns1: str, dns2: str, ip: str) -> None:
    cert = load_cert(tls.path(f"{service}.crt"))
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        raise AssertionError(f"{service}.crt has no subject alternative names; the guide gives it three") from None
    dns = set(sans.get_values_for_type(x509.DNSName))
    ips = {str(a) for a in sans.get_values_for_type(x509.IPAddress)}
    expected = f"DNS:{dns1}, DNS:{dns2}, IP:{ip}"
    found = ", ".join([f"DNS:{d}" for d in sorted(dns)] + [f"IP:{i}" for i in sorted(ips)]) or "none"
    assert {dns1, dns2} <= dns and str(ipaddress.ip_address(ip)) in ips, (
        f"the guide's {service}.crt names {expected}; it names {found}"
    )


@then(parsers.parse("the key of {service} matches its certificate"))
def key_matches(tls: TlsSection, service: str) -> None:
    cert = load_cert(tls.path(f"{service}.crt"))
    assert tls.exists(f"{service}.key"), f"the guide's setup-tls.sh makes {service}.key; it does not exist"
    key = tls.public_key(f"{service}.key")
    assert isinstance(key, rsa.RSAPublicKey), f"{service}.key is a {type(key).__name__}, the guide makes RSA keys"
    expected = cert.public_key()
    assert isinstance(expected, rsa.RSAPublicKey), f"{service}.crt has a {type(expected).__name__}, not an RSA key"
    assert key.public_numbers() == expected.public_numbers(), (
        f"{service}.key is not the key of {service}.crt: the server could not use them together"
    )


@then(parsers.parse("the certificate of {service} is valid now"))
def valid_now(tls: TlsSection, service: str) -> None:
    cert = load_cert(tls.path(f"{service}.crt"))
    now = datetime.now(timezone.utc)
    assert cert.not_valid_before_utc <= now <= cert.not_valid_after_utc, (
        f"{service}.crt is valid from {cert.not_valid_before_utc:%Y-%m-%d %H:%M} to "
        f"{cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC; it is now {now:%Y-%m-%d %H:%M} UTC"
    )


@then(parsers.parse('"{name}" has group id {gid:d} and mode {mode}'))
def group_and_mode(tls: TlsSection, name: str, gid: int, mode: str) -> None:
    file = tls.host_file(name)
    assert file.exists, f"the guide's setup-tls.sh makes {name}; it does not exist"
    sudo = tls.script_said("sudo")
    assert file.gid == gid, f"the guide gives {name} the group {gid} (the server container's); it has {file.gid}" + (
        f" (setup-tls.sh could not run sudo to give it: {sudo[0]})" if sudo else ""
    )
    assert file.mode == int(mode, 8), f"the guide gives {name} mode {mode}; it has {file.mode:o}"


@then("no certificate, key or mode has changed")
def nothing_changed(script_run: ScriptRun) -> None:
    changed = sorted(
        name
        for name in set(script_run.before) | set(script_run.after)
        if script_run.before.get(name) != script_run.after.get(name)
    )
    assert not changed, f"running setup-tls.sh again should change nothing; it changed {', '.join(changed)}"
