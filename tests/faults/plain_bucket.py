"""Child-run plugin (``-p tests.faults.plain_bucket``): the bucket is created without object locking.

Stands for an administrator who forgot the guide's "object locking" toggle in the S3 console: it
overrides the ``s3_bucket_create_arguments`` fixture, so the harness's stand-in for the console
creates a plain bucket. The fixture is registered at configure time, after the harness's own
plugins, so that it is the one pytest uses.
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest


class _PlainBucket:
    @pytest.fixture(scope="session")
    def s3_bucket_create_arguments(self) -> Mapping[str, object]:
        return {}


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(_PlainBucket(), "parsec-acceptance-plain-bucket")
