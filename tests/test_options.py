"""Options resolve once: command line over ini over defaults; bad values are usage errors."""

from __future__ import annotations

import pytest

from fixtures import PROJECT_ROOT as PROJECT

pytest_plugins = ["pytester"]

PRINT_CONFIG = """
def test_show(harness_config):
    print("CONFIG", harness_config.parsec_version, harness_config.stack, harness_config.keep_stack,
          harness_config.reports_dir.name)
"""


@pytest.fixture(autouse=True)
def _importable(monkeypatch: pytest.MonkeyPatch) -> None:
    """The child pytest imports the plugin whether or not the project is pip-installed."""
    monkeypatch.setenv("PYTHONPATH", str(PROJECT))


def _run(pytester: pytest.Pytester, *args: str, ini: str = "") -> pytest.RunResult:
    pytester.makeini(f"[pytest]\n{ini}")
    pytester.makepyfile(test_show=PRINT_CONFIG)
    return pytester.runpytest_subprocess("-p", "fixtures.plugin", "-s", "-p", "no:cacheprovider", *args)


def test_defaults(pytester: pytest.Pytester) -> None:
    result = _run(pytester)
    result.stdout.fnmatch_lines(["*CONFIG 2.16.3 local False reports*"])


def test_ini_over_default(pytester: pytest.Pytester) -> None:
    result = _run(pytester, ini="parsec_version = 2.16.2\nparsec_reports_dir = out")
    result.stdout.fnmatch_lines(["*CONFIG 2.16.2 local False out*"])


def test_command_line_over_ini(pytester: pytest.Pytester) -> None:
    result = _run(pytester, "--parsec-version", "2.16.1", "--keep-stack", ini="parsec_version = 2.16.2")
    result.stdout.fnmatch_lines(["*CONFIG 2.16.1 local True reports*"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--parsec-version", "nope"), "*'nope' is not a version number*"),
        (("--parsec-version", "9.0.0"), "*Parsec 9.0.0 (generation 9.x) has no adapter in this harness*"),
        (("--parsec-spec", "parsec-cloud>=3"), "*--parsec-spec 'parsec-cloud>=3' does not pin one version*"),
        (("--parsec-spec", "django==5.0"), "*names django, not parsec-cloud*"),
        (("--parsec-wheel", "missing/parsec_cloud-3.9.3-py3-none-any.whl"), "*--parsec-wheel *: cannot read it*"),
        (("--parsec-wheel", "parsec.tar.gz"), "*is not a wheel file name*"),
        (("--parsec-version", "3.9.3", "--parsec-spec", "parsec-cloud==3.9.3"), "*each name the release*"),
        (("--stack", "compose", "--allow-writes"), "*--allow-writes is for --stack external*"),
        (("--stack", "compose", "--compose-images", "nope"), "*invalid choice*"),
        (("--stack", "external"), "*--stack external needs --deployment FILE*"),
        (("--deployment", "x.toml"), "*--deployment is for --stack external*"),
        (("--stack", "external", "--deployment", "nope.toml"), "*--deployment *nope.toml: no such file*"),
        (("--stack", "external", "--deployment", "x", "--keep-stack"), "*the external stack starts none*"),
        (("--stack", "external", "--deployment", "x", "--invite-email", "a@b.c"), "*add --allow-writes*"),
        (("--stack", "kubernetes"), "*invalid choice*"),
    ],
)
def test_bad_options_are_one_clear_line(pytester: pytest.Pytester, args: tuple[str, ...], message: str) -> None:
    result = _run(pytester, *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


PRINT_GUIDE = """
def test_show(pytestconfig):
    from fixtures.living_guide.plugin import guide_file
    print("GUIDE", guide_file(pytestconfig))
"""


def _run_guide(pytester: pytest.Pytester, *args: str, ini: str = "") -> pytest.RunResult:
    pytester.makeini(f"[pytest]\n{ini}")
    pytester.makepyfile(test_show=PRINT_GUIDE)
    plugins = ("-p", "fixtures.plugin", "-p", "fixtures.living_guide.plugin")
    return pytester.runpytest_subprocess(*plugins, "-s", "-p", "no:cacheprovider", *args)


def test_guide_from_the_command_line_or_the_ini(pytester: pytest.Pytester) -> None:
    (pytester.path / "guide.rst").write_text("Title\n=====\n", encoding="utf-8")
    _run_guide(pytester).stdout.fnmatch_lines(["*GUIDE None*"])
    _run_guide(pytester, ini="parsec_guide = guide.rst").stdout.fnmatch_lines([f"*GUIDE {pytester.path}/guide.rst*"])
    _run_guide(pytester, "--guide", "guide.rst").stdout.fnmatch_lines([f"*GUIDE {pytester.path}/guide.rst*"])


def test_a_missing_guide_is_one_clear_line(pytester: pytest.Pytester) -> None:
    result = _run_guide(pytester, "--guide", "no-such-guide.rst")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "*--guide */no-such-guide.rst: no such file",
            "*how to fix: give the .rst of the install guide's 2.16 edition*",
        ]
    )
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
