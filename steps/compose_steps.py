"""The docker-compose file: services, images, ports, env files and secrets."""

from __future__ import annotations

from pathlib import PurePosixPath

from pytest_bdd import parsers, then

from fixtures.bundle import Bundle
from fixtures.proxy_settings import tls_files
from fixtures.releases import Release
from fixtures.sections.compose_file import ComposeFileSection
from fixtures.sections.env_files import EnvFilesSection
from steps.common import server_named, server_step

RELEASE_IMAGE = "the release's server image"


def _repository(image: str) -> str:
    return image.rsplit(":", 1)[0] if ":" in image.split("/")[-1] else image


@then("the compose file declares the services:")
def declares_services(compose_file: ComposeFileSection, release: Release, datatable: list[list[str]]) -> None:
    header, *rows = datatable
    column = {name: index for index, name in enumerate(header)}
    for row in rows:
        service = compose_file.service(row[column["service"]])
        wanted = row[column["image"]]
        if wanted == RELEASE_IMAGE:
            wanted = release.adapter.server_image
        found = _repository(service.image)
        assert found == wanted, (
            f"the guide's {service.name} ({row[column['description']]}) runs {wanted}; found {found!r}"
        )
    extra = set(compose_file.services) - {row[column["service"]] for row in rows}
    assert not extra, (
        f"the guide's compose file sets up the {len(rows)} services of its table; "
        f"it also declares {', '.join(sorted(extra))}"
    )


@then("every image is pinned to a version")
def images_pinned(compose_file: ComposeFileSection) -> None:
    loose = [
        f"{s.name}: {s.image}"
        for s in compose_file.services.values()
        if ":" not in s.image.split("/")[-1] or s.image.endswith(":latest")
    ]
    assert not loose, "each of the guide's images names a version; these do not: " + ", ".join(loose)


@then("the compose file publishes these ports on 127.0.0.1 only:")
def published_loopback(compose_file: ComposeFileSection, datatable: list[list[str]]) -> None:
    problems = []  # every port at once: one exposed port does not hide another
    for service_name, port in datatable[1:]:
        mapping = compose_file.service(service_name).published(int(port))
        if mapping is None or not mapping.host_port:
            problems.append(f"the guide publishes port {port} of {service_name}; it is not")
        elif not mapping.loopback_only:
            where = "all interfaces (network_mode: host)" if compose_file.service(service_name).host_network else ""
            problems.append(
                f"the guide publishes port {port} of {service_name} on 127.0.0.1 only; "
                f"it is published on {where or mapping.host_ip or 'all interfaces'}"
            )
    assert not problems, "\n".join(problems)


def _on_all_interfaces(compose_file: ComposeFileSection, allowed: set[tuple[str, int]]) -> list[str]:
    """Every port published beyond the loopback but those ``allowed`` (service, container port)."""
    exposed = [
        f"{s.name}:{p.container_port}"
        for s in compose_file.services.values()
        for p in s.ports
        if p.host_port is not None
        and not p.loopback_only
        and not s.host_network
        and (s.name, p.container_port) not in allowed
    ]
    exposed += [
        f"{s.name} (network_mode: host: every port it listens on)"
        for s in compose_file.services.values()
        if s.host_network
    ]
    return exposed


@then("no port is published on all interfaces")
def nothing_on_all_interfaces(compose_file: ComposeFileSection) -> None:
    exposed = _on_all_interfaces(compose_file, set())
    assert not exposed, "these ports are published on all interfaces: " + ", ".join(exposed)


@then(parsers.parse("no port but the ports {ports} of {service} is published on all interfaces"))
def only_these_on_all_interfaces(compose_file: ComposeFileSection, ports: str, service: str) -> None:
    wanted = [int(port) for port in ports.replace(" and ", ",").split(",")]
    unpublished = [str(port) for port in wanted if compose_file.service(service).published(port) is None]
    assert not unpublished, f"the guide publishes the ports {ports} of {service}; not: {', '.join(unpublished)}"
    exposed = _on_all_interfaces(compose_file, {(service, port) for port in wanted})
    assert not exposed, f"only {service}'s ports {ports} are published beyond 127.0.0.1; these are too: " + ", ".join(
        exposed
    )


@then(parsers.parse("{proxy} mounts {conf}, its certificate and its key"))
def proxy_mounts(compose_file: ComposeFileSection, env_files: EnvFilesSection, proxy: str, conf: str) -> None:
    mounts = {m.target: m.source.removeprefix("./") for m in compose_file.service(proxy).mounts if m.is_bind}
    config_target = next((target for target, source in mounts.items() if source == conf), None)
    assert config_target is not None and PurePosixPath(config_target).name == "nginx.conf", (
        f"{proxy} runs nginx with the guide's {conf} as its nginx.conf; it mounts "
        + (f"it at {config_target}" if config_target else f"no {conf}")
    )
    assert env_files.exists(conf), (
        f"the compose file mounts {conf} as {proxy}'s nginx.conf; the deployment's files have no {conf}"
    )
    tls = tls_files(env_files.path(conf))
    problems = [
        f"{conf} reads its {what} from {path}, where {proxy} mounts "
        + (f"{mounts[path]} (not {file})" if path in mounts else "nothing")
        for what, paths, file in (
            ("certificate", tls.certificates, f"{proxy}.crt"),
            ("key", tls.keys, f"{proxy}.key"),
        )
        for path in paths
        if mounts.get(path) != file
    ]
    assert tls.certificates and tls.keys, f"{conf} names no ssl_certificate and ssl_certificate_key: {proxy} has no TLS"
    assert not problems, "; ".join(problems)


@then(server_step('the {server} service reads the env files "{names}"'))
def server_env_files(compose_file: ComposeFileSection, bundle: Bundle, server_name: str, names: str) -> None:
    name = server_named(bundle, server_name)
    wanted = {n.strip() for n in names.split(",")}
    found = set(compose_file.service(name).env_files)
    missing, unknown = sorted(wanted - found), sorted(found - wanted)
    assert not missing and not unknown, (
        f"{name} reads the env files the guide creates; "
        + (f"missing: {', '.join(missing)}. " if missing else "")
        + (f"files the guide never creates: {', '.join(unknown)}" if unknown else "")
    )


@then(server_step("the {server} service gets the secrets of the CA, of its certificate and of its key"))
def server_secrets(compose_file: ComposeFileSection, bundle: Bundle, server_name: str) -> None:
    name = server_named(bundle, server_name)
    server = compose_file.service(name)
    files = {compose_file.secrets.get(secret, "").removeprefix("./") for secret in server.secrets}
    wanted = {"custom-ca.crt", f"{name}.crt", f"{name}.key"}
    assert wanted <= files, f"{name} gets the secrets {', '.join(sorted(wanted))}; it gets {', '.join(sorted(files))}"


@then(server_step("AWS_CA_BUNDLE of {server} is the custom CA secret"))
def aws_ca_bundle(compose_file: ComposeFileSection, bundle: Bundle, server_name: str) -> None:
    value = compose_file.service(server_named(bundle, server_name)).environment.get("AWS_CA_BUNDLE", "")
    secret = value.removeprefix("/run/secrets/")
    assert compose_file.secrets.get(secret, "").removeprefix("./") == "custom-ca.crt", (
        f"the server trusts the S3 certificate through AWS_CA_BUNDLE=/run/secrets/<the CA secret>; it is {value!r}"
    )
