"""The installed distribution claims no import package: ``fixtures`` and ``steps`` come from the checkout.

``pip install -e .`` installs the harness's dependencies only. The dev extras install the PyPI
distribution ``fixtures`` (an import package of the same name as the harness's ``fixtures/``) so
that every environment proves the two live side by side: pytest's ``pythonpath = ["."]`` and the
rootdir conftest load the checkout's packages first.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import subprocess
import sys
from pathlib import Path, PurePosixPath

import fixtures
import steps
from fixtures.editions import DEFAULT_EDITION

CHECKOUT = Path(__file__).resolve().parent.parent  # not fixtures.PROJECT_ROOT: that is what is checked
DISTRIBUTION = "parsec-acceptance"
HARNESS_PACKAGES = ("fixtures", "steps")
PYPI_FIXTURES = "4.3.2"  # the dev extras' pin


def _env_without_pythonpath() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}


def test_the_distribution_installs_no_harness_package(tmp_path: Path) -> None:
    dist = importlib.metadata.distribution(DISTRIBUTION)
    files = [PurePosixPath(str(f)) for f in dist.files or ()]
    assert files, f"{DISTRIBUTION} lists no installed files"
    claimed = sorted(str(f) for f in files if f.parts[0] in HARNESS_PACKAGES)
    assert not claimed, f"{DISTRIBUTION} installs {claimed}"
    top_level = (dist.read_text("top_level.txt") or "").split()
    assert not set(top_level) & set(HARNESS_PACKAGES), f"top_level.txt names {top_level}"
    # An editable install may map names to the checkout through an import hook: outside the checkout,
    # with no PYTHONPATH, `steps` must not be importable and `fixtures` must be the PyPI one.
    probe = "import importlib.util, json; print(json.dumps([getattr(importlib.util.find_spec(n), 'origin', None) "
    probe += "for n in ('steps', 'fixtures')]))"
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env=_env_without_pythonpath(), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    steps_origin, fixtures_origin = json.loads(done.stdout)
    assert steps_origin is None, f"`import steps` outside the checkout finds {steps_origin}"
    assert fixtures_origin is not None and not Path(fixtures_origin).resolve().is_relative_to(CHECKOUT)


def test_the_checkouts_fixtures_shadow_the_pypi_distribution() -> None:
    pypi = importlib.metadata.distribution("fixtures")
    assert pypi.version == PYPI_FIXTURES, "the dev extras install the PyPI distribution fixtures"
    pypi_init = Path(str(pypi.locate_file("fixtures/__init__.py"))).resolve()
    assert pypi_init.is_file(), f"the PyPI distribution fixtures has no {pypi_init}"
    assert Path(fixtures.__file__ or "").resolve() == CHECKOUT / "fixtures" / "__init__.py"
    assert Path(steps.__file__ or "").resolve() == CHECKOUT / "steps" / "__init__.py"


def test_the_features_are_collected_beside_the_pypi_fixtures(tmp_path: Path) -> None:
    from pytest_bdd.feature import get_features

    assert importlib.metadata.version("fixtures") == PYPI_FIXTURES
    expected = sum(
        sum(len(examples.examples) for examples in template.examples) or 1
        for feature in get_features([str(DEFAULT_EDITION.features_dir)])  # the default release's edition
        for template in feature.scenarios.values()
    )
    argv = [sys.executable, "-m", "pytest", "features/", "--collect-only", "-q", "--reports-dir", str(tmp_path)]
    done = subprocess.run(
        argv, cwd=CHECKOUT, env=_env_without_pythonpath(), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    collected = re.search(r"(\d+) tests? collected", done.stdout)
    assert collected is not None, done.stdout[-3000:]
    assert int(collected.group(1)) == expected  # 34 scenarios of the 2.16 edition today
