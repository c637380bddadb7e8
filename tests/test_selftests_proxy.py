"""Self-tests of Running behind a reverse proxy (the 3.9 edition): each check fails on the deployment it guards against.

Two child runs of the section's scenarios on Parsec 3.9.3, each with two faults that show in
different scenarios:

- upstream's certificate for parsec-proxy (setup-tls.sh without example.com) and upstream's
  trust setting (``PARSEC_PROXY_TRUSTED_ADDRESS=parsec-proxy``, a variable 3.9.3 does not read);
- a server that trusts every address (``*``) and a proxy that lets the client's ``Forwarded``
  header through in one of its locations.

The healthy bundle is CI's own run of ``pytest features/ --parsec-version 3.9.3``.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from fixtures.editions import EDITIONS
from tests.runner import FeatureRun, Scenario, broken_bundle, feature_scenarios, replace_in, run_features

pytestmark = pytest.mark.selftest

EDITION = EDITIONS["3.9"]
VERSION = "3.9.3"
FEATURE = "Running behind a reverse proxy"
CERTIFICATE = Scenario(FEATURE, "The proxy serves its certificate for the name clients use")
THROUGH = Scenario(FEATURE, "A request through the proxy reaches the server")
TRUST = Scenario(FEATURE, "The server takes the client's address and scheme from the proxy only")
FORWARDED = Scenario(FEATURE, "The proxy removes the Forwarded header")
TRUSTED_LINE = "PARSEC_PROXY_TRUSTED_ADDRESSES=172.29.77.10\n"


def _upstream_certificate_and_trust(bundle: Path) -> None:
    """setup-tls.sh and parsec.env as upstream's v3.9.3 ship them (certificate names, trust variable)."""
    replace_in(
        bundle / "setup-tls.sh",
        '        if [ "$service" = parsec-proxy ]; then san="$san",DNS:example.com; fi\n',
        "",
    )
    replace_in(bundle / "parsec.env", TRUSTED_LINE, "PARSEC_PROXY_TRUSTED_ADDRESS=parsec-proxy\n")


def _trust_everyone_and_keep_forwarded(bundle: Path) -> None:
    """The server honours every client's X-Forwarded-*; the SSE location passes the client's Forwarded on."""
    replace_in(bundle / "parsec.env", TRUSTED_LINE, "PARSEC_PROXY_TRUSTED_ADDRESSES=*\n")
    conf = bundle / "parsec-nginx.conf"
    text = conf.read_text()
    conf.write_text(text.replace('            proxy_set_header Forwarded "";\n', "", 1))


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, FeatureRun]:
    def run(name: str, edit: Callable[[Path], None]) -> FeatureRun:
        folder = tmp_path_factory.mktemp(name)
        bundle = broken_bundle(folder, edit, source=EDITION.bundle_dir)
        return run_features(folder, "--parsec-version", VERSION, "-m", "reverse_proxy", bundle=bundle, timeout=600)

    with ThreadPoolExecutor(max_workers=2) as pool:
        upstream = pool.submit(run, "upstream-proxy", _upstream_certificate_and_trust)
        lax = pool.submit(run, "lax-proxy", _trust_everyone_and_keep_forwarded)
        return {"upstream": upstream.result(), "lax": lax.result()}


def test_the_scenarios_named_here_are_in_the_features() -> None:
    known = set(feature_scenarios(EDITION.features_dir).values())
    missing = [str(s) for s in (CERTIFICATE, THROUGH, TRUST, FORWARDED) if s not in known]
    assert not missing, f"this module names scenarios no feature has: {', '.join(missing)}"


def test_a_proxy_certificate_without_the_public_name_is_refused(runs: dict[str, FeatureRun]) -> None:
    run = runs["upstream"]
    message = run.outcome(CERTIFICATE).message
    assert run.outcome(CERTIFICATE).state == "failed", run.output[-3000:]
    assert "clients reach parsec-proxy as example.com" in message, message
    assert "setup-tls.sh makes parsec-proxy.crt without example.com" in message, message
    # Every client of the public address refuses that certificate: the request through the proxy fails too.
    assert run.outcome(THROUGH).state == "failed", run.output[-3000:]
    assert "example.com" in run.outcome(THROUGH).message


def test_a_misnamed_trust_setting_leaves_the_proxy_untrusted(runs: dict[str, FeatureRun]) -> None:
    run = runs["upstream"]
    outcome = run.outcome(TRUST)
    assert outcome.state == "failed", run.output[-3000:]
    assert "did not take the scheme from parsec-proxy" in outcome.message, outcome.message
    assert "PARSEC_PROXY_TRUSTED_ADDRESS=parsec-proxy, a variable Parsec 3.x does not read" in outcome.message
    assert "it reads PARSEC_PROXY_TRUSTED_ADDRESSES" in outcome.message, outcome.message
    assert run.outcome(FORWARDED).state == "passed", run.output[-3000:]


def test_a_server_trusting_every_address_is_caught(runs: dict[str, FeatureRun]) -> None:
    run = runs["lax"]
    outcome = run.outcome(TRUST)
    assert outcome.state == "failed", run.output[-3000:]
    assert "it takes forwarded headers from any client" in outcome.message, outcome.message
    assert run.outcome(CERTIFICATE).state == "passed", run.output[-3000:]
    assert run.outcome(THROUGH).state == "passed", run.output[-3000:]


def test_a_location_passing_forwarded_on_is_caught(runs: dict[str, FeatureRun]) -> None:
    outcome = runs["lax"].outcome(FORWARDED)
    assert outcome.state == "failed", runs["lax"].output[-3000:]
    assert "as read from nginx -T" in outcome.message, outcome.message
    assert "location ~ ^/authenticated/.*/events$" in outcome.message, outcome.message
