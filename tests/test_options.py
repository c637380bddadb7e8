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
        (("--parsec-version", "9.0.0"), "*Parsec 9.0.0 (generation 9.x) is not yet available*"),
        (("--stack", "compose"), "*--stack compose needs a Docker engine with the compose plugin*"),
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
