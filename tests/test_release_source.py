"""Unit tests of how the options name the release under test (pure logic, no install)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixtures.editions import edition_for
from fixtures.errors import OptionError
from fixtures.releases import adapter_for
from fixtures.releases.source import from_spec, from_version, from_wheel, resolve_source


def test_a_version_comes_from_pypi() -> None:
    source = resolve_source("3.9.3", None, None, "2.16.3")
    assert (source.version, source.origin, source.package()) == ("3.9.3", "PyPI", "parsec-cloud==3.9.3")
    assert source.label == "Parsec 3.9.3 (PyPI)"


def test_nothing_given_is_the_default() -> None:
    assert resolve_source(None, None, None, "2.16.3").package("backend") == "parsec-cloud[backend]==2.16.3"


def test_a_wheel_gives_its_version_and_is_pinned_by_its_digest(tmp_path: Path) -> None:
    wheel = tmp_path / "parsec_cloud-3.10.0rc1-cp312-cp312-manylinux_2_28_x86_64.whl"
    wheel.write_bytes(b"candidate")
    source = from_wheel(wheel)
    assert source.version == "3.10.0rc1"
    assert source.package().startswith(f"parsec-cloud @ {wheel.as_uri()}#sha256=")
    assert wheel.name in source.label and "sha256" in source.label
    wheel.write_bytes(b"another build, same name")
    assert from_wheel(wheel).package() != source.package(), "a rebuilt wheel must get its own virtualenv"


def test_a_wheel_is_staged_in_the_cache_by_its_digest(tmp_path: Path) -> None:
    wheel = tmp_path / "here" / "parsec_cloud-3.9.3-cp312-cp312-manylinux_2_28_x86_64.whl"
    wheel.parent.mkdir()
    wheel.write_bytes(b"candidate")
    staged = from_wheel(wheel).staged(tmp_path / "cache").package()
    moved = tmp_path / "elsewhere" / wheel.name
    moved.parent.mkdir()
    wheel.rename(moved)
    assert from_wheel(moved).staged(tmp_path / "cache").package() == staged, "same bytes, same virtualenv"
    assert str(tmp_path / "cache" / "wheels") in staged
    assert from_version("3.9.3").staged(tmp_path / "cache").package() == "parsec-cloud==3.9.3"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("parsec_cloud-3.9.3.tar.gz", "not a wheel file name"),
        ("django-5.0-py3-none-any.whl", "a wheel of django"),
        ("parsec_cloud-3.9.3-py3-none-any.whl", "cannot read it"),
    ],
)
def test_bad_wheels_are_named(tmp_path: Path, name: str, message: str) -> None:
    if "django" in name:
        (tmp_path / name).write_bytes(b"x")
    with pytest.raises(OptionError, match=message):
        from_wheel(tmp_path / name)


def test_a_spec_must_pin_one_parsec_cloud_version() -> None:
    assert from_spec("parsec_cloud==3.9.3").version == "3.9.3"
    assert from_spec("parsec-cloud[backend]==2.16.3").package("backend") == "parsec-cloud[backend]==2.16.3"
    for spec in ("parsec-cloud>=3.9", "parsec-cloud==3.*", "parsec-cloud", "requests==2.0", "not a spec!"):
        with pytest.raises(OptionError):
            from_spec(spec)


def test_only_one_source() -> None:
    with pytest.raises(OptionError, match="give only one"):
        resolve_source("3.9.3", None, "parsec-cloud==3.9.3", "2.16.3")


@pytest.mark.parametrize(
    ("version", "generation", "edition", "bundle"), [("2.16.3", "2.x", "2.16", "v2"), ("3.9.3", "3.x", "3.9", "v3.9")]
)
def test_each_generation_has_its_adapter_and_guide_edition(
    version: str, generation: str, edition: str, bundle: str
) -> None:
    adapter = adapter_for(version)
    assert (adapter.generation, adapter.guide_edition) == (generation, edition)
    found = edition_for(adapter)
    assert found.bundle_dir == Path(__file__).parent.parent / "compose" / bundle
    assert (found.bundle_dir / "parsec-server.docker.yaml").is_file()
    assert found.features_dir.name == f"guide-{edition}" and any(found.features_dir.glob("*.feature"))
    assert found.outline_file.is_file()


def test_each_source_names_itself_again_for_a_later_run(tmp_path: Path) -> None:
    wheel = tmp_path / "parsec_cloud-3.9.3-cp312-cp312-manylinux_2_28_x86_64.whl"
    wheel.write_bytes(b"candidate")
    assert from_version("3.9.3").options() == ["--parsec-version", "3.9.3"]
    assert from_spec("parsec-cloud==3.9.3").options() == ["--parsec-spec", "parsec-cloud==3.9.3"]
    assert from_wheel(wheel).options() == ["--parsec-wheel", str(wheel)]
