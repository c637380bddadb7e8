"""Certificates a deployment may hold, written over the guide's own in a copy of the bundle.

The guide's setup-tls.sh skips every file that exists, so a bundle that already holds these
keeps them: they stand for the files of an earlier run (certificates live 10 days), a clock
set wrong, or a certificate bought elsewhere. Each edit keeps the service's key, subject and
names, and changes only what its name says.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

CA = "custom-ca"
GUIDE_DAYS = 10  # setup-tls.sh: -days 10

Edit = Callable[[Path], None]  # an edit of a copy of the bundle


def _load(bundle: Path, name: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate((bundle / f"{name}.crt").read_bytes())


def _ca_key(bundle: Path) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key((bundle / f"{CA}.key").read_bytes(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def _reissue(
    bundle: Path,
    service: str,
    *,
    issuer: x509.Name,
    signing_key: rsa.RSAPrivateKey,
    not_before: datetime,
    not_after: datetime,
) -> None:
    old = _load(bundle, service)
    builder = (
        x509.CertificateBuilder()
        .subject_name(old.subject)
        .issuer_name(issuer)
        .public_key(old.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
    )
    for extension in old.extensions:
        builder = builder.add_extension(extension.value, extension.critical)
    certificate = builder.sign(signing_key, hashes.SHA512())
    (bundle / f"{service}.crt").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))


def _by_the_ca(bundle: Path, service: str, not_before: datetime) -> None:
    _reissue(
        bundle,
        service,
        issuer=_load(bundle, CA).subject,
        signing_key=_ca_key(bundle),
        not_before=not_before,
        not_after=not_before + timedelta(days=GUIDE_DAYS),
    )


def expired(service: str) -> Edit:
    """``service``.crt as setup-tls.sh made it 20 days ago: expired for 10 days."""

    def edit(bundle: Path) -> None:
        _by_the_ca(bundle, service, datetime.now(timezone.utc) - timedelta(days=2 * GUIDE_DAYS))

    return edit


def not_yet_valid(service: str) -> Edit:
    """``service``.crt as made on a machine whose clock is a day ahead."""

    def edit(bundle: Path) -> None:
        _by_the_ca(bundle, service, datetime.now(timezone.utc) + timedelta(days=1))

    return edit


def issued_by_another_ca(service: str) -> Edit:
    """``service``.crt signed by a CA other than the guide's custom CA."""

    def edit(bundle: Path) -> None:
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        now = datetime.now(timezone.utc)
        _reissue(
            bundle,
            service,
            issuer=x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Another Certificate Authority")]),
            signing_key=other,
            not_before=now - timedelta(minutes=5),
            not_after=now + timedelta(days=GUIDE_DAYS),
        )

    return edit


def key_made_again(service: str) -> Edit:
    """``service``.key removed: setup-tls.sh makes a new key and keeps the certificate of the old one."""

    def edit(bundle: Path) -> None:
        (bundle / f"{service}.key").unlink()

    return edit
