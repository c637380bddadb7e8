"""The repeat-runs tool (fixtures.bench): what it reads from a run and how it reports the runs."""

from __future__ import annotations

import json
from pathlib import Path

from fixtures.bench import RunResult, generic, read_failed, read_phases, summary


def test_phase_names_lose_their_ports() -> None:
    assert generic("start parsec-s3 on 127.0.0.1:41641") == "start parsec-s3"
    assert generic("run setup-tls.sh") == "run setup-tls.sh"


def test_reads_phases_and_failed_scenarios(tmp_path: Path) -> None:
    (tmp_path / "timings.json").write_text(
        json.dumps(
            {
                "phases": [
                    {"name": "start parsec-smtp on 127.0.0.1:1234", "seconds": 0.25, "ok": True},
                    {"name": "run setup-tls.sh", "seconds": 3.5, "ok": True},
                    {"name": "run setup-tls.sh", "seconds": 0.01, "ok": True},
                ]
            }
        )
    )
    (tmp_path / "junit.xml").write_text(
        '<testsuites><testsuite><testcase name="test_a"/><testcase name="test_b"><failure message="x"/></testcase>'
        '<testcase name="test_c"><error message="y"/></testcase></testsuite></testsuites>'
    )
    assert read_phases(tmp_path / "timings.json") == [
        ("start parsec-smtp", 0.25),
        ("run setup-tls.sh", 3.5),
        ("run setup-tls.sh (again)", 0.01),
    ]
    assert read_failed(tmp_path / "junit.xml") == ["test_b", "test_c"]
    assert read_phases(tmp_path / "absent.json") == [] and read_failed(tmp_path / "absent.xml") == []


def test_summary_counts_failures_and_names_the_slowest_phase(tmp_path: Path) -> None:
    runs = [
        RunResult(1, 0, 15.0, "33 passed", [("run setup-tls.sh", 3.0), ("start parsec-s3", 0.8)]),
        RunResult(
            2,
            1,
            17.0,
            "1 failed, 32 passed",
            [("run setup-tls.sh", 4.0), ("start parsec-s3", 5.0)],
            ["test_x"],
            tmp_path,
        ),
        RunResult(3, 0, 14.0, "33 passed", [("run setup-tls.sh", 3.5), ("start parsec-s3", 0.7)]),
    ]
    text = "\n".join(summary(runs))
    assert text.startswith("3 runs: 2 passed, 1 failed")
    assert "failed 1x: test_x" in text
    assert f"reports of failed run 2: {tmp_path}" in text
    assert "slowest phase: run setup-tls.sh (median 3.50 s)" in text
    assert "slowest single phase: start parsec-s3, 5.00 s in run 2" in text
    assert "whole run (wall time)" in text and "14.00" in text and "17.00" in text


def test_the_critical_path_follows_what_each_phase_waited_on() -> None:
    from fixtures.bench import Span, critical_path

    tls = Span("run setup-tls.sh", 0.0, 3.0, "MainThread")
    postgres = Span("start parsec-postgres", 0.5, 1.5, "worker")  # in parallel with the certificates
    s3 = Span("start parsec-s3", 3.0, 4.0, "MainThread")  # needs its certificate
    server = Span("start parsec-backend", 4.5, 6.0, "MainThread")
    path = critical_path([tls, postgres, s3, server])
    assert [link for link, _ in path] == [tls, s3, server]
    assert path[0][1] == [postgres]
    assert path[1][1] == [] and path[2][1] == []
