"""Create the S3 Bucket: object locking on, credentials enforced, the data blocks land in it."""

from __future__ import annotations

import os
from dataclasses import dataclass

from botocore.exceptions import ClientError
from pytest_bdd import given, parsers, then, when

from fixtures.living_guide.evidence import Evidence
from fixtures.releases.base import ClientCommandError
from fixtures.sections.bucket import BucketSection
from fixtures.sections.first_user import FirstUserSection
from fixtures.sections.organization import OrganizationSection

REFUSED = {"SignatureDoesNotMatch", "InvalidAccessKeyId", "AccessDenied", "InvalidSignature"}
WRITTEN_FILE = "blocks-check.bin"
WRITTEN_SIZE = 64 * 1024  # random bytes: one block, which encryption makes a little larger


@dataclass(frozen=True)
class WrittenFile:
    organization: str
    name: str
    size: int
    bucket: str  # the server's bucket
    objects_before: dict[str, int]  # key -> size, every object of that bucket before the write


def bucket_objects(s3_bucket: BucketSection, bucket: str) -> dict[str, int]:
    """Every object of ``bucket`` (key -> size), read with the compose file's root credentials."""
    client = s3_bucket.s3_client()
    found: dict[str, int] = {}
    try:
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            found.update({item["Key"]: item["Size"] for item in page.get("Contents", [])})
    except ClientError as exc:
        raise AssertionError(f"cannot list the bucket {bucket}: {exc.response.get('Error', {}).get('Code')}") from None
    return found


@when(parsers.parse('I create the bucket "{name}" with object locking using the credentials of the compose file'))
def create_bucket(s3_bucket: BucketSection, name: str) -> None:
    s3_bucket.create(name)


@then(parsers.parse('the bucket "{name}" reports object lock "{state}"'))
def object_lock(s3_bucket: BucketSection, name: str, state: str, evidence: Evidence) -> None:
    bucket = s3_bucket.actual_name(name)
    which = name if bucket == name else f"{name} (here {bucket})"
    try:
        config = s3_bucket.s3_client().get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]
    except ClientError as exc:
        raise AssertionError(
            f"the guide creates {which} with object locking toggled on; the bucket has no lock configuration "
            f"({exc.response.get('Error', {}).get('Code')})"
        ) from None
    evidence.record(f"Bucket {name}: object lock configuration", config)
    assert config.get("ObjectLockEnabled") == state, (
        f"the guide's bucket {which} has object lock {state}; it reports {config.get('ObjectLockEnabled')!r}"
    )


@then(parsers.parse('the bucket "{name}" reports versioning "{state}"'))
def versioning(s3_bucket: BucketSection, name: str, state: str, evidence: Evidence) -> None:
    name = s3_bucket.actual_name(name)
    status = s3_bucket.s3_client().get_bucket_versioning(Bucket=name).get("Status")
    evidence.record(f"Bucket {name}: versioning", {"status": status})
    assert status == state, f"object locking keeps versions: versioning of {name} should be {state}; it is {status!r}"


@then("listing the buckets with a wrong secret is refused")
def wrong_secret(s3_bucket: BucketSection) -> None:
    try:
        s3_bucket.s3_client(secret="wrong-secret-for-the-check").list_buckets()
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code")
        assert code in REFUSED, f"a wrong secret should be refused as unauthenticated; the S3 service said {code}"
        return
    raise AssertionError("the S3 service accepted a wrong secret: it does not enforce its credentials")


@given(parsers.parse('the bucket "{name}" exists with object locking'))
def bucket_exists(s3_bucket: BucketSection, name: str, evidence: Evidence) -> None:
    s3_bucket.ensure()
    object_lock(s3_bucket, name, "Enabled", evidence)


@when(
    parsers.parse('the first user of the organization "{organization}" writes a file through the server'),
    target_fixture="written",
)
def write_file(s3_bucket: BucketSection, first_user: FirstUserSection, organization: str) -> WrittenFile:
    bucket = s3_bucket.configured_name()
    before = bucket_objects(s3_bucket, bucket)
    try:
        first_user.store_data(organization, WRITTEN_FILE, os.urandom(WRITTEN_SIZE))
    except ClientCommandError as exc:
        raise AssertionError(f"the server refused the file the first user wrote:\n{exc}") from None
    return WrittenFile(organization, WRITTEN_FILE, WRITTEN_SIZE, bucket, before)


@then(parsers.parse('the bucket "{name}" holds the blocks of the file under the name of the organization'))
def blocks_in_bucket(
    s3_bucket: BucketSection, organizations: OrganizationSection, written: WrittenFile, name: str
) -> None:
    after = bucket_objects(s3_bucket, name)
    before = written.objects_before if written.bucket == name else {}
    new = {key: size for key, size in after.items() if key not in before}
    prefix = f"{organizations.actual_name(written.organization)}/"
    blocks = {key: size for key, size in new.items() if key.startswith(prefix)}
    found = (
        f"{len(new)} new object(s) ({', '.join(sorted(new)[:3])}), {sum(blocks.values())} bytes under {prefix}"
        if new
        else f"no new object (it holds {len(after)})"
    )
    assert blocks and sum(blocks.values()) >= written.size, (
        f"the guide's S3 object storage stores the data blocks: the server accepted the file {written.name} "
        f"({written.size} bytes) of {written.organization}, so the bucket {name} should hold at least as many "
        f"bytes of new objects under {prefix}<block id>; it got {found} "
        "(check PARSEC_BLOCKSTORE: the server stores its blocks elsewhere)"
    )
