"""The bundle: the guide's compose file read into what every stack uses."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from fixtures import DEFAULT_BUNDLE as GUIDE_BUNDLE
from fixtures import bundle as b
from fixtures.bundle import Bundle, PortMapping
from fixtures.editions import DEFAULT_EDITION
from fixtures.errors import BundleError

ROLES = DEFAULT_EDITION.roles  # the 2.16 bundle's service names


def test_the_guides_bundle() -> None:
    bundle = Bundle.load(GUIDE_BUNDLE, DEFAULT_EDITION.roles)
    assert set(bundle.services) == set(ROLES.services)
    server = bundle.service(ROLES.server)
    assert server.env_files == (
        "parsec.env",
        "parsec-s3.env",
        "parsec-db.env",
        "parsec-smtp.env",
        "parsec-admin-token.env",
    )
    assert set(server.secrets) == {"mini-ca-crt", "parsec-pem-crt", "parsec-pem-key"}
    assert bundle.secrets["parsec-pem-key"] == "./parsec-backend.key"
    assert bundle.service(ROLES.s3).mount_source("public.crt") == "./parsec-s3.crt"
    assert server.published(6777) == PortMapping(6777, 6777, "127.0.0.1")


def test_referenced_files() -> None:
    refs = {path for _, path in Bundle.load(GUIDE_BUNDLE, DEFAULT_EDITION.roles).referenced_files()}
    assert {"parsec-admin-token.env", "./custom-ca.crt", "./parsec-backend.key", "./parsec-s3.crt"} <= refs


def test_merged_env_follows_compose_order(tmp_path: Path) -> None:
    shutil.copytree(GUIDE_BUNDLE, tmp_path / "b")
    (tmp_path / "b" / "parsec-admin-token.env").write_text("PARSEC_ADMINISTRATION_TOKEN=abcd\n")
    env = Bundle.load(tmp_path / "b", DEFAULT_EDITION.roles).merged_env(ROLES.server, tmp_path / "b")
    assert env["PARSEC_ADMINISTRATION_TOKEN"] == "abcd"
    assert env["PARSEC_BLOCKSTORE"].startswith("s3:parsec-s3\\:9000")
    assert env["AWS_CA_BUNDLE"] == "/run/secrets/mini-ca-crt"  # environment comes after env_file


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("6777", PortMapping(6777)),
        ("1025:1025", PortMapping(1025, 1025)),
        ("127.0.0.1:9090:9090", PortMapping(9090, 9090, "127.0.0.1")),
        ({"target": 80, "published": "8080", "host_ip": "127.0.0.1"}, PortMapping(80, 8080, "127.0.0.1")),
    ],
)
def test_port_mappings(entry: object, expected: PortMapping) -> None:
    assert PortMapping.parse(entry, "here") == expected


def test_bad_port_mapping() -> None:
    with pytest.raises(BundleError, match="port mapping"):
        PortMapping.parse("a:b", "here")


def test_missing_directory_and_file(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="does not exist"):
        Bundle.load(tmp_path / "nope", DEFAULT_EDITION.roles)
    with pytest.raises(BundleError, match="is missing"):
        Bundle.load(tmp_path, DEFAULT_EDITION.roles)


def test_invalid_yaml(tmp_path: Path) -> None:
    (tmp_path / b.COMPOSE_FILE).write_text("services: [unclosed\n")
    with pytest.raises(BundleError, match="cannot be read as YAML|the compose CLI refuses"):
        Bundle.load(tmp_path, DEFAULT_EDITION.roles)


def test_unknown_service(tmp_path: Path) -> None:
    (tmp_path / b.COMPOSE_FILE).write_text("services:\n  other: {image: x:1}\n")
    with pytest.raises(BundleError, match="declares no service 'parsec-smtp'"):
        Bundle.load(tmp_path, DEFAULT_EDITION.roles).service(ROLES.smtp)
