"""The PARSEC_BLOCKSTORE URL and its escaped colons."""

from __future__ import annotations

import pytest

from fixtures.blockstore import S3Blockstore, parse_blockstore, split_escaped
from fixtures.errors import BundleError

GUIDE = r"s3:parsec-s3\:9000:region1:parsec:S3_ROOT_USER:S3_ROOT_PASS"


def test_the_guides_value() -> None:
    store = parse_blockstore(GUIDE)
    assert store == S3Blockstore("parsec-s3:9000", "region1", "parsec", "S3_ROOT_USER", "S3_ROOT_PASS")
    assert store.endpoint_url == "https://parsec-s3:9000"


def test_escaped_colons_inside_any_field() -> None:
    assert parse_blockstore(r"s3:h\:1:r:b:k:s\:ecret").secret == "s:ecret"


def test_scheme_given() -> None:
    store = parse_blockstore(r"s3:http\://minio\:9000:r:b:k:s")
    assert store.endpoint_url == "http://minio:9000"


def test_unescaped_port_is_refused_with_the_fix() -> None:
    # What `set -a; source parsec-s3.env` hands to Parsec: the backslash is gone.
    with pytest.raises(BundleError, match=r"escape the colon"):
        parse_blockstore("s3:parsec-s3:9000:region1:parsec:S3_ROOT_USER:S3_ROOT_PASS")


def test_split_escaped() -> None:
    assert split_escaped(r"a\:b:c") == ["a:b", "c"]
