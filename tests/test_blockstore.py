"""The PARSEC_BLOCKSTORE URL and its escaped colons."""

from __future__ import annotations

import pytest

from fixtures.blockstore import S3Blockstore, format_blockstore, parse_blockstore, split_escaped
from fixtures.errors import BundleError

GUIDE = r"s3:parsec-s3\:9000:region1:parsec:S3_ROOT_USER:S3_ROOT_PASS"


def test_the_guides_value() -> None:
    store = parse_blockstore(GUIDE)
    assert store == S3Blockstore("parsec-s3:9000", "region1", "parsec", "S3_ROOT_USER", "S3_ROOT_PASS")
    assert store.endpoint_url == "https://parsec-s3:9000"


def test_round_trip() -> None:
    assert format_blockstore(parse_blockstore(GUIDE)) == GUIDE


def test_scheme_given() -> None:
    store = parse_blockstore(r"s3:http\://minio\:9000:r:b:k:s")
    assert store.endpoint_url == "http://minio:9000"


def test_unescaped_port_is_refused_with_the_fix() -> None:
    # What `set -a; source parsec-s3.env` hands to Parsec: the backslash is gone.
    with pytest.raises(BundleError, match=r"escape the colon"):
        parse_blockstore("s3:parsec-s3:9000:region1:parsec:S3_ROOT_USER:S3_ROOT_PASS")


def test_split_escaped() -> None:
    assert split_escaped(r"a\:b:c") == ["a:b", "c"]
