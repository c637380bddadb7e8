"""The bundle's scripts as a user runs them: as root without sudo, as a normal user with sudo."""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from fixtures import DEFAULT_BUNDLE as BUNDLE


@pytest.fixture
def deployment(tmp_path: Path) -> Path:
    directory = tmp_path / "deployment"
    shutil.copytree(BUNDLE, directory)
    return directory


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another user")
def test_setup_tls_as_a_normal_user_goes_through_sudo(tmp_path: Path, deployment: Path) -> None:
    user = pwd.getpwnam("nobody")
    stub = tmp_path / "bin"
    stub.mkdir()
    calls = tmp_path / "sudo-calls"
    (stub / "sudo").write_text(f'#!/bin/sh\necho "$@" >> {calls}\n')
    (stub / "sudo").chmod(0o755)
    calls.touch()
    os.chown(calls, user.pw_uid, user.pw_gid)
    for path in (tmp_path, deployment, *deployment.iterdir()):
        os.chown(path, user.pw_uid, user.pw_gid)
    tmp_path.chmod(0o755)
    parent = tmp_path.parent
    while parent not in (Path("/tmp"), Path("/")):  # pytest's basetemp is 0700: let nobody through
        parent.chmod(parent.stat().st_mode | stat.S_IXOTH)
        parent = parent.parent
    result = subprocess.run(
        [
            "setpriv",
            f"--reuid={user.pw_uid}",
            f"--regid={user.pw_gid}",
            "--clear-groups",
            "--",
            "env",
            "-u",
            "USER",
            f"PATH={stub}:/usr/bin:/bin",
            "bash",
            "setup-tls.sh",
        ],
        cwd=deployment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert calls.read_text().split() == ["chown", "nobody:1234", "parsec-backend.key"]
    assert stat.S_IMODE((deployment / "parsec-backend.key").stat().st_mode) == 0o640


def test_gen_admin_token_keeps_its_token_secret(deployment: Path) -> None:
    first = subprocess.run(["bash", "gen-admin-token.sh"], cwd=deployment, capture_output=True, text=True, check=True)
    token_file = deployment / "parsec-admin-token.env"
    token = token_file.read_text().strip().split("=", 1)[1]
    assert token not in first.stdout + first.stderr
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert not (deployment / "ENV_FILE").exists()
    subprocess.run(["bash", "gen-admin-token.sh"], cwd=deployment, capture_output=True, check=True)
    assert token_file.read_text().strip().split("=", 1)[1] == token
