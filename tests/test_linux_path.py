"""Deploy with Linux's pieces: the wrapper is the guide's text, env files rewritten only where they must be.

``test_the_wrapper_is_the_guides_text`` compares the bundle's ``run-parsec-server`` (its
``FIX(...)`` blocks left out) with the code block of the guide's RST: ``--guide=FILE`` when it
is the 3.9 guide, else ``../shared/guide/v3.9.3/install-guide.rst`` beside the clone; without
either it is skipped, saying so.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from fixtures import BUNDLES_DIR, PROJECT_ROOT
from fixtures.addresses import AddressMap
from fixtures.errors import BundleError
from fixtures.living_guide.plugin import guide_file
from fixtures.living_guide.rst import code_block_under
from fixtures.sections.linux import WRAPPER, rewrite_env_text, sourced_files

BUNDLE = BUNDLES_DIR / "v3.9"
SHARED_GUIDE = PROJECT_ROOT.parent / "shared" / "guide" / "v3.9.3" / "install-guide.rst"
ADMONITION = f".. admonition:: {WRAPPER}"


def without_fixes(text: str) -> str:
    """The text without its ``# FIX(...)`` blocks (the comment, the lines up to the next blank one, that one)."""
    kept, skipping = [], False
    for line in text.splitlines(keepends=True):
        if line.startswith("# FIX("):
            skipping = True
        if not skipping:
            kept.append(line)
        elif not line.strip():
            skipping = False
    return "".join(kept)


@pytest.fixture
def guide_rst(pytestconfig: pytest.Config) -> str:
    for candidate in (guide_file(pytestconfig), SHARED_GUIDE):
        if candidate is not None and candidate.is_file():
            text = candidate.read_text(encoding="utf-8")
            if ADMONITION in text:
                return text
    pytest.skip(f"no 3.9 install guide here (--guide, or {SHARED_GUIDE}): the wrapper's drift is not checked")


def test_the_wrapper_is_the_guides_text(guide_rst: str) -> None:
    bundled = without_fixes((BUNDLE / WRAPPER).read_text(encoding="utf-8"))
    assert bundled == code_block_under(guide_rst, ADMONITION), (
        f"compose/v3.9/{WRAPPER} (without its FIX blocks) drifted from the guide's code block"
    )


def test_the_wrapper_sources_the_five_env_files() -> None:
    text = (BUNDLE / WRAPPER).read_text(encoding="utf-8")
    assert sourced_files(text) == [
        "parsec-admin-token.env",
        "parsec-db.env",
        "parsec-smtp.env",
        "parsec-s3.env",
        "parsec.env",
    ]


ADDRESSES = AddressMap(services={"parsec-s3": {9000: 19000}, "parsec-smtp": {1025: 11025}})


def test_only_the_addresses_change_and_quotes_and_comments_stay() -> None:
    text = (
        "# The blockstore\n"
        "PARSEC_BLOCKSTORE='s3:parsec-s3\\:9000:region1:parsec:KEY:SECRET'\n"
        "PARSEC_EMAIL_HOST=parsec-smtp\n"
        "PARSEC_EMAIL_PORT=1025  # the port\n"
        "PARSEC_PORT=6777\n"
        "PARSEC_SSL_CIPHERS=\n"
        "PARSEC_SSL_CIPHERS=${PARSEC_SSL_CIPHERS}TLS_AES_256_GCM_SHA384,\n"
    )
    rewritten = rewrite_env_text(text, "x.env", ADDRESSES.rewrite_env, {"PARSEC_PORT": "16777"})
    assert rewritten == (
        "# The blockstore\n"
        "PARSEC_BLOCKSTORE='s3:127.0.0.1\\:19000:region1:parsec:KEY:SECRET'\n"
        "PARSEC_EMAIL_HOST=127.0.0.1\n"
        "PARSEC_EMAIL_PORT=11025  # the port\n"
        "PARSEC_PORT=16777\n"
        "PARSEC_SSL_CIPHERS=\n"
        "PARSEC_SSL_CIPHERS=${PARSEC_SSL_CIPHERS}TLS_AES_256_GCM_SHA384,\n"
    )


def test_a_value_not_written_as_read_is_a_clear_error() -> None:
    text = 'PARSEC_EMAIL_HOST="parsec\\"smtp"\n'  # read as parsec"smtp: not in the line as written
    with pytest.raises(BundleError, match="cannot rewrite PARSEC_EMAIL_HOST"):
        rewrite_env_text(text, "x.env", lambda env: {"PARSEC_EMAIL_HOST": "127.0.0.1"}, {})


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_the_install_is_the_guides_command_held_to_the_lock(tmp_path: Path) -> None:
    from fixtures.progress import Progress
    from fixtures.releases import Release
    from fixtures.releases.guide_venv import constraints, guide_commands
    from fixtures.releases.source import from_version

    release = Release(from_version("3.9.3"), cache_dir=tmp_path, progress=Progress(lambda line: None))
    assert guide_commands(release) == (
        "python -m venv venv",
        "source venv/bin/activate",
        "python -m pip install 'parsec-cloud==3.9.3'",
    )
    pins = constraints(release)
    assert pins and all("==" in pin and "--hash" not in pin for pin in pins)
    assert not [pin for pin in pins if pin.startswith("parsec-cloud==")], "the guide's command names parsec-cloud"
    assert {pin.line for pin in release.lock.pins} >= set(pins)
