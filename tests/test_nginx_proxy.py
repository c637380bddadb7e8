"""parsec-proxy on the local stack: the guide's nginx configuration rewritten, and Debian's nginx running it.

The executor test runs the real nginx in front of a small TLS server that echoes what it
receives, and checks what the server sees: the proxy's own address (proxy_bind), the client's
address and scheme in X-Forwarded-*, no Forwarded header, the Host the guide sets.
"""

from __future__ import annotations

import http.server
import json
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from fixtures import BUNDLES_DIR
from fixtures.addresses import AddressMap
from fixtures.bundle import Bundle
from fixtures.clients.admin import AdminClient
from fixtures.editions import EDITIONS
from fixtures.nginx_conf import (
    LocalProxy,
    parse,
    parse_dump,
    proxying_locations,
    rewrite,
    unforwarded_locations,
)
from fixtures.ports import free_port
from fixtures.services.nginx import NginxProxy, find_nginx, nginx_version
from tests.tls_files import TlsFiles, make_tls_files

GUIDE_CONF = BUNDLES_DIR / "v3.9" / "parsec-nginx.conf"


def local_proxy(tmp_path: Path, upstream_port: int, version: tuple[int, ...] = (1, 22, 1)) -> LocalProxy:
    return LocalProxy(
        listen={80: free_port(), 443: free_port()},
        upstreams={"parsec-server:6777": f"127.0.0.1:{upstream_port}"},
        files={"/certs/proxy.crt": tmp_path / "proxy.crt", "/certs/proxy.key": tmp_path / "proxy.key"},
        bind="127.0.0.2",
        run_dir=tmp_path / "run",
        nginx_version=version,
    )


def test_rewrite_changes_only_ports_upstream_files_and_local_paths(tmp_path: Path) -> None:
    local = local_proxy(tmp_path, 6001)
    (tmp_path / "out.conf").write_text(rewrite(GUIDE_CONF, local))
    tree = parse(tmp_path / "out.conf")
    text = (tmp_path / "out.conf").read_text()
    assert f"listen 127.0.0.1:{local.listen[80]};" in text
    assert f"listen 127.0.0.1:{local.listen[443]} ssl http2;" in text  # nginx 1.22: http2 on the listen line
    assert "http2 on" not in text
    assert "parsec-server" not in text and text.count("proxy_pass https://127.0.0.1:6001;") == 2
    assert text.count("proxy_bind 127.0.0.2;") == 2
    assert f"ssl_certificate {tmp_path / 'proxy.crt'};" in text
    assert "/var/" not in text
    # Everything the guide sets is still there.
    assert text.count("proxy_set_header Forwarded '';") == 2
    assert "ssl_protocols TLSv1.3;" in text and "server_tokens off;" in text and "proxy_read_timeout 24h;" in text
    assert unforwarded_locations(tree, "127.0.0.1:6001") == []


def test_rewrite_keeps_http2_directive_on_recent_nginx(tmp_path: Path) -> None:
    text = rewrite(GUIDE_CONF, local_proxy(tmp_path, 6001, version=(1, 27, 0)))
    assert "http2 on;" in text and " ssl http2;" not in text


def test_a_location_without_forwarded_cleared_is_named(tmp_path: Path) -> None:
    broken = tmp_path / "broken.conf"
    broken.write_text(GUIDE_CONF.read_text().replace('proxy_set_header Forwarded "";', "", 1))
    tree = parse(broken)
    assert unforwarded_locations(tree, "parsec-server:6777") == [
        "http > server > location ~ ^/authenticated/.*/events$"
    ]
    assert len(proxying_locations(tree, "parsec-server:6777")) == 2


def test_forwarded_cleared_at_server_level_is_inherited_only_by_locations_without_their_own(tmp_path: Path) -> None:
    conf = tmp_path / "inherit.conf"
    conf.write_text(
        'events {}\nhttp { server { listen 80; proxy_set_header Forwarded "";\n'
        "  location /a { proxy_pass https://up:1; }\n"
        "  location /b { proxy_pass https://up:1; proxy_set_header Host x; } } }\n"
    )
    assert unforwarded_locations(parse(conf), "up:1") == ["http > server > location /b"]


def test_fixed_addresses_are_rewritten_in_env_values() -> None:
    addresses = AddressMap(services={}, fixed={"172.29.77.10": "127.0.0.2"})
    env = addresses.rewrite_env(
        {"PARSEC_PROXY_TRUSTED_ADDRESSES": "10.0.0.1,172.29.77.10", "OTHER": "172.29.77.100", "NET": "172.29.77.10/32"}
    )
    assert env == {
        "PARSEC_PROXY_TRUSTED_ADDRESSES": "10.0.0.1,127.0.0.2",
        "OTHER": "172.29.77.100",
        "NET": "127.0.0.2/32",
    }


def test_the_bundle_reads_the_proxy_fixed_address() -> None:
    edition = EDITIONS["3.9"]
    bundle = Bundle.load(edition.bundle_dir, edition.roles)
    assert bundle.service("parsec-proxy").ipv4_addresses == ("172.29.77.10",)
    assert bundle.service("parsec-server").ipv4_addresses == ()


class _Echo(http.server.BaseHTTPRequestHandler):
    """Answers what it received: the peer address and the headers."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.dumps({"peer": self.client_address[0], "headers": dict(self.headers.items())}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def tls(tmp_path: Path) -> TlsFiles:
    files = make_tls_files(tmp_path, "parsec-server")
    (tmp_path / "proxy.crt").write_bytes(files.cert_file.read_bytes())
    (tmp_path / "proxy.key").write_bytes(files.key_file.read_bytes())
    return files


@pytest.fixture
def echo_server(tls: TlsFiles) -> Iterator[int]:
    server = http.server.HTTPServer(("127.0.0.1", free_port()), _Echo)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tls.cert_file, tls.key_file)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_nginx_runs_the_guide_configuration_in_front_of_the_server(
    tmp_path: Path, tls: TlsFiles, echo_server: int
) -> None:
    nginx = find_nginx()
    local = local_proxy(tmp_path, echo_server, nginx_version(nginx))
    proxy = NginxProxy(tmp_path / "services", GUIDE_CONF, local, nginx=nginx)
    proxy.start()
    try:
        for port, scheme in ((443, "https"), (80, "http")):
            client = AdminClient(
                f"{scheme}://localhost",
                "a-token",
                tls.ca_file,
                connect_to=("127.0.0.1", local.listen[port]),
                source_address="127.0.0.3",
                headers={"Forwarded": "for=10.9.9.9"},
            )
            reply = client.create_organization("Org")
            assert reply.status == 200
            seen = reply.body
            assert seen["peer"] == "127.0.0.2"  # proxy_bind: parsec-proxy's own address
            headers = {key.lower(): value for key, value in seen["headers"].items()}
            assert headers["x-forwarded-for"] == "127.0.0.3"
            assert headers["x-forwarded-proto"] == scheme
            assert headers["host"] == "example.com"
            assert "forwarded" not in headers
        trees = parse_dump(proxy.dump())
        assert list(trees) == [str(proxy.conf_path)]
        assert unforwarded_locations(trees[str(proxy.conf_path)], f"127.0.0.1:{echo_server}") == []
    finally:
        proxy.stop()
    assert not proxy.running()
    assert oct(proxy.log_path.stat().st_mode & 0o777) == "0o600"
    assert not (tmp_path / "services" / "parsec-proxy" / "nginx.pid").exists()
