"""Each generation's adapter tells the server's refusals from any other failure of a client call.

The problems below are what the adapters raised against 2.16.3 and 3.9.3 (measured on kept
stacks); a TLS error, a timeout or a server error must be no refusal at all, so that a check
expecting a refusal fails on them.
"""

from __future__ import annotations

import pytest

from fixtures.releases import adapter_for
from fixtures.releases.base import ALREADY_BOOTSTRAPPED, TOKEN_REFUSED, UNKNOWN_ORGANIZATION, ClientCommandError

CASES = [
    ("2.16.3", "could not bootstrap the organization: the client exited 1 after 1.4 s: HTTP Error 404: "
     "(no such organization)", UNKNOWN_ORGANIZATION),
    ("2.16.3", "could not bootstrap the organization: the client exited 1 after 1.2 s: InviteAlreadyUsedError() "
     "(this bootstrap URL was already used)", ALREADY_BOOTSTRAPPED),
    ("2.16.3", "could not create organization Intr: the client exited 1 after 0.9 s: HTTP Error 403: "
     "(the server refused the administration token)", TOKEN_REFUSED),
    ("2.16.3", "could not create organization Intr: the client exited 1 after 0.9 s: HTTP Error 500: ", None),
    ("2.16.3", "could not bootstrap the organization: the client exited 1 after 0.9 s: [SSL: "
     "CERTIFICATE_VERIFY_FAILED] (the client does not trust the server's certificate)", None),
    ("2.16.3", "could not bootstrap the organization: no answer within 60 s", None),
    ("3.9.3", "could not bootstrap the organization: organization_bootstrap of Nobody: "
     "https://127.0.0.1:58123/anonymous/Nobody answered HTTP 404 (organization not found; server said: "
     "Organization not found)", UNKNOWN_ORGANIZATION),
    ("3.9.3", "could not bootstrap the organization: organization_bootstrap of Twice: the server refused it with "
     "OrganizationAlreadyBootstrapped", ALREADY_BOOTSTRAPPED),
    ("3.9.3", "could not create organization Intr: the server answered 403 (the server refused the administration "
     "token) to POST https://127.0.0.1:1/administration/organizations", TOKEN_REFUSED),
    ("3.9.3", "could not create organization Intr: the server answered 502 to POST "
     "https://127.0.0.1:1/administration/organizations", None),
    ("3.9.3", "could not bootstrap the organization: organization_bootstrap of X: could not reach "
     "https://127.0.0.1:1/anonymous/X: TLS certificate verification failed", None),
    ("3.9.3", "could not bootstrap the organization: bootstrap: bootstrap_url is not a parsec3:// URL", None),
]  # fmt: skip


@pytest.mark.parametrize(("version", "problem", "refusal"), CASES)
def test_a_refusal_is_told_from_any_other_failure(version: str, problem: str, refusal: str | None) -> None:
    adapter = adapter_for(version)
    error = ClientCommandError(problem)
    assert adapter.refusal(error) == refusal
    if refusal is not None:
        assert adapter.refused_as(refusal)(error)
    assert not adapter.refused_as(TOKEN_REFUSED)(ValueError(problem)), "only a client's error is a refusal"
