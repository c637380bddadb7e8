"""Guide coverage: every section of the guide's outline has its scenarios, and the outline is the guide's.

``test_every_guide_section_is_covered`` fails when a section of ``outline.yaml`` has no feature
or scenario tagged for it and no feature file declares it out of scope (with a reason).
``test_the_outline_matches_the_guide`` checks the outline against the guide's RST given with
``--guide=FILE`` (CI passes ../shared/guide/install-guide.rst); without it, it is skipped with
a note. Each check has a self-test that breaks its input and sees it fail with a telling message.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fixtures import PROJECT_ROOT
from fixtures.editions import DEFAULT_EDITION, EDITIONS, Edition
from fixtures.errors import HarnessError
from fixtures.living_guide.coverage import coverage, read_features
from fixtures.living_guide.outline import Outline, load_outline
from fixtures.living_guide.plugin import guide_file
from fixtures.living_guide.rst import drift, parse_headings, read_headings

FEATURES = DEFAULT_EDITION.features_dir  # the default release's edition (2.16); the breakages below edit it
SHARED_GUIDES = {"2.16": "install-guide.rst", "3.9": "v3.9.3/install-guide.rst"}  # under ../shared/guide/
STYLES = {0: ("=", True), 1: ("*", False), 2: ("=", False), 3: ("-", False)}  # the guide's own


@pytest.fixture(scope="module")
def outline() -> Outline:
    return load_outline(DEFAULT_EDITION.outline_file)


def rst_of(headings: list[tuple[int, str]]) -> str:
    """A reStructuredText document with these headings, adorned as the guide adorns them."""
    parts = []
    for level, title in headings:
        char, overline = STYLES[level]
        line = char * len(title)
        parts.append(f"{line}\n{title}\n{line}\n" if overline else f"{title}\n{line}\n")
        parts.append("Some text.\n\n.. code-block:: bash\n\n  echo hello\n  =====\n")
    return "\n".join(parts)


# -- coverage --------------------------------------------------------------------------------------


@pytest.mark.parametrize("edition", EDITIONS.values(), ids=EDITIONS.keys())
def test_every_guide_section_is_covered(edition: Edition) -> None:
    found = coverage(load_outline(edition.outline_file), read_features(edition.features_dir))
    assert not found.problems, f"coverage of the guide's {edition.name} edition is incomplete:\n" + "\n".join(
        found.problems
    )
    states = {tag: item.state for tag, item in found.sections.items()}
    assert states["env_admin_token"] == "covered"
    assert states["initial_configuration"].startswith("covered")


@pytest.mark.parametrize("edition", EDITIONS.values(), ids=EDITIONS.keys())
def test_each_editions_outline_matches_its_guide_beside_the_clone(edition: Edition) -> None:
    """The edition's outline against the guide's own .rst in ../shared/guide/ (where the clone sits beside it)."""
    guide = PROJECT_ROOT.parent / "shared" / "guide" / SHARED_GUIDES[edition.name]
    if not guide.is_file():
        pytest.skip(f"{guide} is absent: the {edition.name} outline is not checked against its guide here")
    problems = drift(load_outline(edition.outline_file).headings(), read_headings(guide))
    assert not problems, f"the guide {guide} drifted from {edition.outline_file.name}:\n" + "\n".join(problems)


def _features_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "features"
    shutil.copytree(FEATURES, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def test_a_section_without_scenario_fails_coverage(tmp_path: Path, outline: Outline) -> None:
    features = _features_copy(tmp_path)
    path = features / "03_env_files.feature"
    path.write_text(path.read_text(encoding="utf-8").replace("  @env_s3\n", ""), encoding="utf-8")
    found = coverage(outline, read_features(features))
    assert found.problems == [
        'guide section 3.2.4 "S3 service configuration" has no feature or scenario tagged @env_s3, '
        "and no feature file declares it out of scope"
    ]
    assert found.sections["env_files"].state == "covered"  # its own scenario still covers it


def test_a_parent_is_not_covered_through_an_uncovered_subsection(tmp_path: Path, outline: Outline) -> None:
    features = _features_copy(tmp_path)
    (features / "08_smtp.feature").unlink()
    found = coverage(outline, read_features(features))
    assert found.sections["initial_configuration"].state == "not covered"
    assert any('3.5.3 "Test the SMTP configuration & server"' in p for p in found.problems), found.problems
    assert any('3.5 "Initial configuration"' in p for p in found.problems), found.problems


def test_a_feature_file_declares_a_section_out_of_scope(tmp_path: Path, outline: Outline) -> None:
    features = _features_copy(tmp_path)
    (features / "08_smtp.feature").write_text(
        "@smtp\nFeature: Test the SMTP configuration & server\n"
        "  Out of scope: this deployment sends no mail (a reason, for the test)\n",
        encoding="utf-8",
    )
    found = coverage(outline, read_features(features))
    assert not found.problems, found.problems
    smtp = found.sections["smtp"]
    assert smtp.state == "out of scope"
    assert smtp.out_of_scope == "this deployment sends no mail (a reason, for the test)"
    assert smtp.declared_in == "08_smtp.feature"
    assert found.sections["initial_configuration"].state == "covered through its subsections"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "@smtp\nFeature: Nothing here\n  No reason given.\n",
            "08_smtp.feature has no scenario; say why on a line 'Out of scope: <reason>'",
        ),
        (
            "@smtp\nFeature: Both\n  Out of scope: no mail\n\n  Scenario: A check\n    Then nothing\n",
            "08_smtp.feature declares its sections out of scope but has scenarios",
        ),
        (
            "@smtp @smtp_server_typo\nFeature: Typo\n\n  Scenario: A check\n    Then nothing\n",
            "08_smtp.feature: the tag @smtp_server_typo names no section of the guide's outline",
        ),
    ],
    ids=["no-reason", "out-of-scope-with-scenarios", "unknown-tag"],
)
def test_a_wrong_declaration_is_a_coverage_problem(tmp_path: Path, outline: Outline, text: str, problem: str) -> None:
    features = _features_copy(tmp_path)
    (features / "08_smtp.feature").write_text(text, encoding="utf-8")
    found = coverage(outline, read_features(features))
    assert any(problem in p for p in found.problems), found.problems


def test_every_outline_tag_is_a_registered_marker(pytestconfig: pytest.Config, outline: Outline) -> None:
    registered = {line.split(":")[0].strip() for line in pytestconfig.getini("markers")}
    assert {s.tag for s in outline.walk()} <= registered


def test_a_sections_tag_selects_its_subsections_scenarios(tmp_path: Path) -> None:
    argv = [sys.executable, "-m", "pytest", str(FEATURES), "--collect-only", "-m", "initial_configuration"]
    result = subprocess.run(
        [*argv, "--reports-dir", str(tmp_path)], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120
    )
    selected = sorted(re.findall(r"<Function (\w+)>", result.stdout))
    assert selected == [
        "test_check_that_the_database_is_accessible",
        "test_create_a_new_bucket_named_parsec_with_object_locking",
        "test_restart_the_parsecbackend",
        "test_the_s3_service_refuses_a_wrong_secret",
        "test_the_server_stores_the_data_blocks_in_the_bucket",
        "test_the_test_mail_of_pingmailhogsh_reaches_the_mailbox",
        "test_to_bootstrap_the_database_we_just_need_to_apply_the_migrations",
    ], result.stdout[-2000:]


# -- drift ---------------------------------------------------------------------------------------


def test_the_outline_matches_the_guide(pytestconfig: pytest.Config, outline: Outline) -> None:
    guide = guide_file(pytestconfig)
    if guide is None:
        pytest.skip("no --guide FILE: the outline is not checked against the guide's RST (CI passes it)")
    problems = drift(outline.headings(), read_headings(guide))
    assert not problems, f"the guide {guide} drifted from {DEFAULT_EDITION.outline_file.name}:\n" + "\n".join(problems)


def test_the_outline_matches_its_own_rendering(outline: Outline) -> None:
    assert drift(outline.headings(), parse_headings(rst_of(outline.headings()))) == []


def _changed_guide(pytestconfig: pytest.Config, outline: Outline, old: str, new: str) -> list[str]:
    """Drift of the outline against the guide (--guide, else a rendering of the outline) with ``old`` → ``new``."""
    guide = guide_file(pytestconfig)
    text = guide.read_text(encoding="utf-8") if guide is not None else rst_of(outline.headings())
    assert old in text, f"self-test setup: {old!r} is not in the guide"
    return drift(outline.headings(), parse_headings(text.replace(old, new, 1)))


def test_a_renamed_section_is_drift(pytestconfig: pytest.Config, outline: Outline) -> None:
    problems = _changed_guide(
        pytestconfig,
        outline,
        "Create the S3 Bucket\n--------------------",
        "Create the S3 bucket!\n---------------------",
    )
    assert len(problems) == 1, problems
    assert problems[0].startswith(
        'the guide renamed "Create the S3 Bucket" (level 3) to "Create the S3 bucket!" (level 3)'
    )


def test_a_new_section_is_drift(pytestconfig: pytest.Config, outline: Outline) -> None:
    new = "Backups\n*******\n\nSave the database.\n\nStart using Parsec server\n*************************"
    problems = _changed_guide(pytestconfig, outline, "Start using Parsec server\n*************************", new)
    assert len(problems) == 1 and problems[0].startswith(
        'the guide has a section the outline lacks: "Backups" (level 1) after "Test the SMTP configuration & server"'
    ), problems


def test_a_removed_section_is_drift(pytestconfig: pytest.Config, outline: Outline) -> None:
    problems = _changed_guide(
        pytestconfig, outline, "Database configuration\n----------------------", "Database configuration"
    )
    assert problems == ['the outline has a section the guide no longer has: "Database configuration" (level 3)']


def test_a_moved_level_is_drift(pytestconfig: pytest.Config, outline: Outline) -> None:
    problems = _changed_guide(
        pytestconfig, outline, "SMTP configuration\n------------------", "SMTP configuration\n=================="
    )
    assert problems and "SMTP configuration" in problems[0] and "level 2 heading in the guide" in problems[0], problems


def test_headings_ignore_tables_and_code(outline: Outline) -> None:
    text = (
        "=====\nTitle\n=====\n\n+-----+-----+\n| a   | b   |\n+=====+=====+\n\n"
        ".. code-block:: bash\n\n  Not a title\n  ===========\n\n``Code`` title\n**************\n"
    )
    assert [(h.level, h.title) for h in parse_headings(text)] == [(0, "Title"), (1, "Code title")]


def test_a_file_without_headings_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "guide.rst"
    path.write_text("just text\n", encoding="utf-8")
    with pytest.raises(HarnessError, match="has no reStructuredText section heading"):
        read_headings(path)
