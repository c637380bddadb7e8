"""The 3.x guide's env files: the token and its seed, the mail login, the server's proxy settings.

The settings of the server that go with its reverse proxy: public address, ciphers, trusted proxy.

Like steps/env_steps.py, each step adds its checks to the scenario's ``EnvFileChecks``; the
scenario's last step reports every failure.
"""

from __future__ import annotations

import string
from urllib.parse import parse_qs, urlsplit

from pytest_bdd import parsers, then

from fixtures.envread import set_instead
from fixtures.errors import NotChecked
from fixtures.proxy_settings import proxy_sites, trusted_entries
from fixtures.releases import Release
from fixtures.sections.compose_file import ComposeFileSection
from fixtures.sections.env_files import EnvFileChecks, EnvFilesSection
from fixtures.sections.tls_server import CIPHERS_VARIABLE, GUIDE_CIPHERS, known_ciphers, split_ciphers
from steps.env_steps import _expect, _setting, require_sender_and_login

SEED_VARIABLE = "PARSEC_FAKE_ACCOUNT_PASSWORD_ALGORITHM_SEED"
TOKEN_AND_SEED = ("PARSEC_ADMINISTRATION_TOKEN", SEED_VARIABLE)
NGINX_CONF_TARGET = "nginx.conf"  # where the proxy's service mounts its configuration


@then(
    parsers.parse(
        '"{name}" holds PARSEC_ADMINISTRATION_TOKEN and PARSEC_FAKE_ACCOUNT_PASSWORD_ALGORITHM_SEED, '
        "each of {size:d} random bytes in hex"
    )
)
def token_and_seed(env_files: EnvFilesSection, name: str, size: int) -> None:
    assert env_files.path(name).is_file(), f"gen-admin-token.sh should create {name}; it does not exist"
    env = env_files.read(name)
    problems = []
    for key in TOKEN_AND_SEED:
        value = env.get(key, "")
        if not value:
            problems.append(f"{key} is {'empty' if key in env else 'absent'}")
        elif len(value) != 2 * size or not set(value) <= set(string.hexdigits):
            problems.append(f"{key} is not {size} bytes in hex: {len(value)} characters, hexadecimal or not")
    assert not problems, f"the guide's {name} holds {' and '.join(TOKEN_AND_SEED)} (openssl rand -hex {size}); " + (
        "; ".join(problems)
    )
    assert env[TOKEN_AND_SEED[0]] != env[SEED_VARIABLE], (
        f"the token and the seed of {name} are the same value: the guide draws each at random"
    )


@then(parsers.parse('"{name}" sets the sender, the user and the password of the emails'))
def smtp_sender_and_login(env_files: EnvFilesSection, env_checks: EnvFileChecks, name: str) -> None:
    require_sender_and_login(env_files, env_checks, name)


@then(parsers.parse('"{name}" sets the server\'s public address to the address clients reach through {proxy}'))
def public_address_through_proxy(
    env_files: EnvFilesSection,
    compose_file: ComposeFileSection,
    release: Release,
    env_checks: EnvFileChecks,
    name: str,
    proxy: str,
) -> None:
    key, scheme = release.adapter.public_address_variable, release.adapter.address_scheme

    def address() -> tuple[str, int, bool]:
        value = _setting(env_files.read(name), name, key)
        found = urlsplit(value)
        _expect(
            found.scheme == scheme and bool(found.hostname), f"{key} must be a {scheme}:// address; it is {value!r}"
        )
        tls = parse_qs(found.query).get("no_ssl", ["false"])[-1].lower() != "true"
        return str(found.hostname), found.port or (443 if tls else 80), tls

    def sites() -> list[tuple[tuple[str, ...], tuple[int, ...]]]:
        conf = compose_file.service(proxy).mount_source(NGINX_CONF_TARGET).removeprefix("./")
        _expect(
            env_files.exists(conf),
            f"the compose file mounts {conf} as {proxy}'s configuration; the deployment's files have no {conf}",
        )
        tls = address()[2]
        return [(s.names, s.tls_ports if tls else s.ports) for s in proxy_sites(env_files.path(conf))]

    def served_name() -> None:
        host = address()[0]
        names = sorted({n for site_names, _ in sites() for n in site_names})
        _expect(
            any(host in site_names for site_names, _ in sites()),
            f"{key} names {host}; {proxy} serves only {', '.join(names) or 'no server_name'} (its server_name)",
        )

    def published_port() -> None:
        host, port, tls = address()
        listening = {p for site_names, ports in sites() if host in site_names for p in ports}
        published = {m.host_port: m.container_port for m in compose_file.published(proxy)}
        where = f"{proxy}'s {'TLS ' if tls else ''}port"
        _expect(
            port in published and published[port] in listening,
            f"{key} reaches port {port}; {where}s for {host} are {', '.join(map(str, sorted(listening))) or 'none'}, "
            f"published on {', '.join(f'{h}->{c}' for h, c in sorted(published.items())) or 'nothing'}",
        )

    env_checks.require(f"{key} is a {scheme}:// address", lambda: None if address() else None)
    env_checks.require(f"the host of {key} is a name {proxy} serves (server_name)", served_name)
    env_checks.require(f"the port of {key} is the port {proxy} is published on", published_port)


@then(parsers.parse('"{name}" sets the ciphers of PARSEC_SSL_CIPHERS, line by line, to the list the guide recommends'))
def ciphers_line_by_line(env_files: EnvFilesSection, env_checks: EnvFileChecks, name: str) -> None:
    def ciphers() -> list[str]:
        return split_ciphers(_setting(env_files.read(name), name, CIPHERS_VARIABLE))

    def every_item_a_cipher() -> None:
        known = known_ciphers()
        bad = [repr(item) for item in ciphers() if item not in known]
        _expect(
            not bad,
            f"the server splits {CIPHERS_VARIABLE} on ',' into cipher names; as {name}'s lines add up, these are "
            f"none: {', '.join(bad)}",
        )

    def guide_list() -> None:
        found = ciphers()
        missing = [c for c in GUIDE_CIPHERS if c not in found]
        extra = [c for c in found if c not in GUIDE_CIPHERS]
        _expect(
            found == list(GUIDE_CIPHERS),
            f"the guide's {CIPHERS_VARIABLE} is ANSSI's list of {len(GUIDE_CIPHERS)} ciphers, in its order; "
            + (f"missing: {', '.join(missing)}. " if missing else "")
            + (f"not in it: {', '.join(extra)}. " if extra else "")
            + ("" if missing or extra else "the order differs"),
        )

    env_checks.require(
        f"each item of {CIPHERS_VARIABLE}, as compose adds up its lines, is a cipher", every_item_a_cipher
    )
    env_checks.example(f"{CIPHERS_VARIABLE} is the guide's (ANSSI's) list", guide_list)


@then(parsers.parse('"{name}" makes the server trust {proxy} with the forwarded headers'))
def trusts_proxy(
    env_files: EnvFilesSection,
    compose_file: ComposeFileSection,
    release: Release,
    env_checks: EnvFileChecks,
    name: str,
    proxy: str,
) -> None:
    key = release.adapter.proxy_trust_variable

    def setting() -> tuple[str, str | None, str | None]:
        """(the variable read, its value, a near-miss variable that is set instead)."""
        if key is None:
            raise NotChecked(f"Parsec {release.version} has no setting for the proxies it trusts")
        env = env_files.read(name)
        return key, env.get(key) or None, set_instead(key, env)

    def read_by_the_server() -> None:
        variable, value, near = setting()
        _expect(
            value is not None,
            f"the server trusts no proxy: {name} does not set {variable}, the variable Parsec {release.version} reads"
            + (f" ({near} is set, which the server does not read)" if near else ""),
        )

    def covers_proxy() -> None:
        variable, value, near = setting()
        if value is None and near is None:
            raise NotChecked(f"{variable} is not set: nothing to compare with {proxy}'s address")
        shown = variable if value is not None else f"{near} (misnamed)"
        entries = trusted_entries(str(value if value is not None else env_files.read(name)[str(near)]))
        names = [e.text for e in entries if e.network is None and not e.everyone]
        never = (
            f"{', '.join(names)} {'is a host name' if len(names) == 1 else 'are host names'}, which never "
            "matches the address a request comes from (the server compares addresses)"
        )
        addresses = compose_file.service(proxy).ipv4_addresses
        _expect(
            bool(addresses),
            f"{proxy} has no fixed address in the compose file (ipv4_address): {shown} cannot name it"
            + (f"; {never}" if names else ""),
        )
        uncovered = [a for a in addresses if not any(e.covers(a) for e in entries)]
        _expect(
            not uncovered,
            f"{shown} does not cover {proxy}'s address {', '.join(uncovered)}" + (f": {never}" if names else ""),
        )

    env_checks.require(f"the server reads the trusted proxies from {key}", read_by_the_server)
    env_checks.require(f"{key} covers the address of {proxy} in the compose file", covers_proxy)
