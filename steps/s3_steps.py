"""Create the S3 Bucket: object locking on, credentials enforced."""

from __future__ import annotations

from botocore.exceptions import ClientError
from pytest_bdd import given, parsers, then, when

from fixtures.deployment import GuideDeployment
from fixtures.living_guide.evidence import Evidence

REFUSED = {"SignatureDoesNotMatch", "InvalidAccessKeyId", "AccessDenied", "InvalidSignature"}


@when(parsers.parse('I create the bucket "{name}" with object locking using the credentials of the compose file'))
def create_bucket(deployment: GuideDeployment, name: str) -> None:
    try:
        deployment.create_bucket(name)
    except ClientError as exc:
        raise AssertionError(f"the S3 service refused to create the bucket {name}: {exc}") from None


@then(parsers.parse('the bucket "{name}" reports object lock "{state}"'))
def object_lock(deployment: GuideDeployment, name: str, state: str, evidence: Evidence) -> None:
    bucket = deployment.bucket(name)
    which = name if bucket == name else f"{name} (here {bucket})"
    try:
        config = deployment.s3_client().get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]
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
def versioning(deployment: GuideDeployment, name: str, state: str, evidence: Evidence) -> None:
    name = deployment.bucket(name)
    status = deployment.s3_client().get_bucket_versioning(Bucket=name).get("Status")
    evidence.record(f"Bucket {name}: versioning", {"status": status})
    assert status == state, f"object locking keeps versions: versioning of {name} should be {state}; it is {status!r}"


@then("listing the buckets with a wrong secret is refused")
def wrong_secret(deployment: GuideDeployment) -> None:
    try:
        deployment.s3_client(secret="wrong-secret-for-the-check").list_buckets()
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code")
        assert code in REFUSED, f"a wrong secret should be refused as unauthenticated; the S3 service said {code}"
        return
    raise AssertionError("the S3 service accepted a wrong secret: it does not enforce its credentials")


@given(parsers.parse('the bucket "{name}" exists with object locking'))
def bucket_exists(deployment: GuideDeployment, name: str, evidence: Evidence) -> None:
    deployment.ensure_bucket()
    object_lock(deployment, name, "Enabled", evidence)
