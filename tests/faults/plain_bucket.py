"""Child-run plugin (``-p tests.faults.plain_bucket``): the bucket is created without object locking.

Stands for an administrator who forgot the guide's "object locking" toggle in the S3 console:
the harness's stand-in for the console then creates a plain bucket.
"""

from __future__ import annotations

from fixtures.deployment import GuideDeployment


def _create_plain_bucket(self: GuideDeployment, name: str) -> None:
    self.ensure_services()
    with self.progress.phase(f"create the bucket {name} WITHOUT object locking (self-test fault)"):
        self.s3_client().create_bucket(Bucket=name)
    self.done.bucket = True


GuideDeployment.create_bucket = _create_plain_bucket  # type: ignore[method-assign]
