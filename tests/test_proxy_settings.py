"""The proxy's settings as read for the env file and compose file checks (no nginx, no server)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixtures.editions import EDITIONS
from fixtures.errors import BundleError
from fixtures.proxy_settings import ProxySite, proxy_sites, tls_files, trusted_entries

GUIDE_CONF = EDITIONS["3.9"].bundle_dir / "parsec-nginx.conf"


def test_the_guides_proxy_serves_example_com_on_80_and_443_with_tls_on_443() -> None:
    assert proxy_sites(GUIDE_CONF) == [ProxySite(("example.com",), (80, 443), (443,))]


def test_the_guides_proxy_reads_the_certificate_and_key_it_mounts() -> None:
    files = tls_files(GUIDE_CONF)
    assert (files.certificates, files.keys) == (("/certs/proxy.crt",), ("/certs/proxy.key",))


def test_a_configuration_nginx_would_refuse_is_a_bundle_error(tmp_path: Path) -> None:
    conf = tmp_path / "broken.conf"
    conf.write_text("http { server { listen 443 ssl; }\n", encoding="utf-8")
    with pytest.raises(BundleError, match="cannot be read as an nginx configuration"):
        proxy_sites(conf)


@pytest.mark.parametrize(
    ("setting", "covered", "names"),
    [
        ("172.29.77.10", True, []),
        ("127.0.0.1, 172.29.77.0/24", True, []),
        ("*", True, []),
        ("parsec-proxy", False, ["parsec-proxy"]),  # upstream v3.9.3: a host name never matches
        ("10.0.0.0/8,::1", False, []),
    ],
)
def test_trusted_entries(setting: str, covered: bool, names: list[str]) -> None:
    entries = trusted_entries(setting)
    assert any(e.covers("172.29.77.10") for e in entries) is covered
    assert [e.text for e in entries if e.network is None and not e.everyone] == names
