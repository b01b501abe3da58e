"""harness.tools.compare and ``python -m harness report RUN --compare BASELINE`` / ``baseline``, on
constructed reports whose differences are known: verdict changes, figures moved beyond their
intervals, new / removed / missing claims, slower claims; corrupt or foreign baselines."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path

import pytest

from harness.tools.cli import main
from harness.tools.compare import compare_reports, comparison_lines, parse_fail_on


def make_result(
    cid: str,
    verdict: str = "confirmed",
    *,
    expect: str = "confirmed",
    seconds: float = 0.5,
    figures: dict | None = None,
    args: dict | None = None,
) -> dict:
    """A claim result as harness.contract.claim._result makes it, with chosen figures and seconds."""
    from harness.contract.claim import ClaimInfo, ClaimRun, Evidence, _result
    from harness.contract.papers import DZPS

    info = ClaimInfo(
        id=cid, paper=DZPS, theorem="Theorem 0 (test)", statement="-", expect=expect,
        control_of="t.other" if expect == "falsified" else "",
    )
    run = ClaimRun(info)
    ev = Evidence(args or {"x": 1})
    ev.status = "passed"
    ev.margin(0.5, "observed / allowed")
    for name, f in (figures or {}).items():
        ev.figure(name, **f)
    run.add(ev)
    return _result(run, verdict, None, seconds, "quick")


def make_report(claims: list[dict], *, profile: str = "quick", missing: list[dict] | None = None) -> dict:
    from harness.runtime.devices import RunSettings
    from harness.report import build_report

    return build_report(claims, profile=profile, settings=RunSettings(), started=time.time(), root=".",
                        argv=["pytest"], workers=0, missing=missing)


def write(path: Path, report: dict) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "report.json").write_text(json.dumps(report, indent=1))
    return path


EXP = {"exponent: drift": {"measured": 0.5, "predicted": 0.5, "interval": (0.4, 0.6)}}
THR = {"threshold width": {"measured": 256.0, "predicted": None}}


def baseline_and_run() -> tuple[dict, dict]:
    base = make_report([
        make_result("t.verdict_regressed"),
        make_result("t.control_lost", "falsified", expect="falsified"),
        make_result("t.exponent_moved", figures=EXP),
        make_result("t.exponent_steady", figures=EXP),
        make_result("t.threshold", figures=THR),
        make_result("t.slow", seconds=2.0),
        make_result("t.removed"),
        make_result("t.fixed", "inconclusive"),
        make_result("t.lost_in_crash"),
    ])
    run = make_report([
        make_result("t.verdict_regressed", "falsified"),
        make_result("t.control_lost", "confirmed", expect="falsified"),
        make_result("t.exponent_moved", figures={"exponent: drift": {"measured": 0.8, "predicted": 0.5, "interval": (0.7, 0.9)}}),
        make_result("t.exponent_steady", figures={"exponent: drift": {"measured": 0.55, "predicted": 0.5, "interval": (0.45, 0.65)}}),
        make_result("t.threshold", figures={"threshold width": {"measured": 1024.0, "predicted": None}}),
        make_result("t.slow", seconds=9.0),
        make_result("t.new"),
        make_result("t.fixed", "confirmed"),
    ], missing=[{"id": "t.lost_in_crash", "nodeid": "claims/test_x.py::test_lost", "reason": "its worker was killed while running it"}])
    return base, run


def kinds(comp: dict) -> set[tuple[str, str, bool]]:
    return {(ch["kind"], ch["id"], ch["regression"]) for ch in comp["changes"]}


def test_identical_runs_have_no_changes():
    base, _ = baseline_and_run()
    comp = compare_reports(base, copy.deepcopy(base))
    assert comp["changes"] == []
    assert comp["regressions"] == 0 and comp["status"] == "ok"
    assert comp["comparable"] == {"figures": True, "seconds": True}
    assert any("no changes" in line for line in comparison_lines(comp))


def test_known_differences():
    base, run = baseline_and_run()
    comp = compare_reports(base, run)
    assert kinds(comp) == {
        ("verdict", "t.verdict_regressed", True),  # confirmed -> falsified
        ("verdict", "t.control_lost", True),  # a negative control no longer falsified
        ("verdict", "t.fixed", False),  # inconclusive -> confirmed
        ("figure", "t.exponent_moved", True),  # 0.8 outside [0.4, 0.6]
        ("figure-changed", "t.threshold", False),  # 256 -> 1024, no interval: information
        ("slower", "t.slow", True),  # 2 s -> 9 s, beyond x2 and +1 s
        ("removed", "t.removed", True),
        ("missing", "t.lost_in_crash", True),  # listed by the run as missing (worker killed)
        ("new", "t.new", False),
    }
    assert comp["regressions"] == 6 and comp["status"] == "regression"
    assert comp["counts"]["verdict"] == 3
    by = {(ch["kind"], ch["id"]): ch for ch in comp["changes"]}
    assert by[("verdict", "t.verdict_regressed")]["label"] == "REGRESSED"
    assert by[("verdict", "t.fixed")]["label"] == "fixed"
    fig = by[("figure", "t.exponent_moved")]
    assert (fig["before"], fig["after"], fig["interval_before"]) == (0.5, 0.8, [0.4, 0.6])
    assert "outside the baseline's [0.4, 0.6]" in fig["detail"]
    assert by[("missing", "t.lost_in_crash")]["detail"].endswith("its worker was killed while running it")
    # regressions are listed first
    assert [ch["regression"] for ch in comp["changes"]] == sorted((ch["regression"] for ch in comp["changes"]), reverse=True)
    secs = {s["id"]: s for s in comp["seconds"]}
    assert secs["t.slow"]["ratio"] == 4.5
    lines = comparison_lines(comp)
    assert "6 regression(s)" in lines[-1]
    assert any(line.startswith("REGRESSION") and "t.control_lost" in line for line in lines)


def test_fail_on_subset_and_thresholds():
    base, run = baseline_and_run()
    comp = compare_reports(base, run, fail_on=parse_fail_on("verdict"))
    assert {ch["id"] for ch in comp["changes"] if ch["regression"]} == {"t.verdict_regressed", "t.control_lost"}
    assert compare_reports(base, run, fail_on=parse_fail_on("none"))["regressions"] == 0
    # slower needs both the factor and the absolute seconds
    assert not [c for c in compare_reports(base, run, slower=5.0)["changes"] if c["kind"] == "slower"]
    assert not [c for c in compare_reports(base, run, min_seconds=10.0)["changes"] if c["kind"] == "slower"]
    # a tight rtol does not turn a figure without an interval into a regression
    assert all(not c["regression"] for c in compare_reports(base, run, rtol=0.0)["changes"] if c["kind"] == "figure-changed")
    assert parse_fail_on("all") == parse_fail_on("verdict,figure,slower,removed,missing")
    with pytest.raises(ValueError, match="--fail-on"):
        parse_fail_on("verdict,typo")
    with pytest.raises(ValueError, match="slower"):
        compare_reports(base, run, slower=1.0)


def test_interval_only_in_the_new_run():
    base = make_report([make_result("t.e", figures={"e": {"measured": 0.3}})])
    run = make_report([make_result("t.e", figures={"e": {"measured": 0.5, "interval": (0.45, 0.55)}})])
    (ch,) = compare_reports(base, run)["changes"]
    assert (ch["kind"], ch["regression"]) == ("figure", True)
    assert "baseline 0.3 outside this run's [0.45, 0.55]" in ch["detail"]
    run2 = make_report([make_result("t.e", figures={"e": {"measured": 0.5, "interval": (0.2, 0.6)}})])
    assert compare_reports(base, run2)["changes"] == []


def test_other_profile_counts_verdicts_only():
    base, run = baseline_and_run()
    nightly = copy.deepcopy(run)
    nightly["profile"]["name"] = "nightly"
    comp = compare_reports(base, nightly)
    assert comp["comparable"] == {"figures": False, "seconds": False}
    assert any("profiles differ" in n for n in comp["notes"])
    regressed = {(ch["kind"], ch["id"]) for ch in comp["changes"] if ch["regression"]}
    assert ("figure", "t.exponent_moved") not in regressed and ("slower", "t.slow") not in regressed
    assert ("verdict", "t.verdict_regressed") in regressed and ("removed", "t.removed") in regressed
    other_gpu = copy.deepcopy(run)
    other_gpu["environment"]["device_name"] = "another machine"
    comp = compare_reports(base, other_gpu)
    assert comp["comparable"] == {"figures": True, "seconds": False}
    assert ("slower", "t.slow", False) in kinds(comp)


def test_another_run_seed_counts_verdicts_and_seconds_not_figures():
    base, run = baseline_and_run()
    base["search"] = {"seed": 0}
    other = copy.deepcopy(run)
    other["search"] = {"seed": 20261206}
    comp = compare_reports(base, other)
    assert comp["comparable"] == {"figures": False, "seconds": True}
    assert any("run seeds differ" in n for n in comp["notes"])
    assert ("figure", "t.exponent_moved", False) in kinds(comp), "another seed's figures are other samples"
    assert ("slower", "t.slow", True) in kinds(comp) and ("verdict", "t.verdict_regressed", True) in kinds(comp)
    same = copy.deepcopy(run)
    same["search"] = {"seed": 0}
    assert ("figure", "t.exponent_moved", True) in kinds(compare_reports(base, same))


# ------------------------------------------------------------------------------------------
# the command line
# ------------------------------------------------------------------------------------------


def test_cli_compare_prints_writes_and_fails(tmp_path, capsys):
    base, run = baseline_and_run()
    b = write(tmp_path / "base", base)
    r = write(tmp_path / "run", run)
    assert main(["report", str(r), "--compare", str(b)]) == 1
    out = capsys.readouterr().out
    assert "comparison with baseline" in out and "6 regression(s)" in out
    assert "MISSING: 1 claim(s)" in out and "t.lost_in_crash" in out
    comp = json.loads((r / "comparison.json").read_text())
    assert comp["regressions"] == 6 and comp["baseline"]["path"] == str(b / "report.json")
    html = (r / "report.html").read_text()
    assert "Changes since the baseline: 6 regression(s)" in html
    assert html.count('class="regression"') == 6
    assert "t.lost_in_crash" in html and "Missing: 1 claim(s)" in html
    md = (r / "report.md").read_text()
    assert "## Changes since the baseline" in md and "**REGRESSION**" in md
    assert main(["report", str(r), "--compare", str(b), "--fail-on", "none", "--format", "md"]) == 0
    capsys.readouterr()
    assert main(["report", str(r), "--compare", str(b), "--fail-on", "bogus"]) == 2
    assert "--fail-on" in capsys.readouterr().err


def test_baseline_command_and_profile_root(tmp_path, capsys):
    base, run = baseline_and_run()
    write(tmp_path / "latest", base)
    root = tmp_path / "baseline"
    assert main(["baseline", str(tmp_path / "latest"), "--dir", str(root)]) == 0
    assert "baseline for profile quick" in capsys.readouterr().out
    assert (root / "quick" / "report.json").read_text() == (tmp_path / "latest" / "report.json").read_text()
    # the root resolves to the run's profile
    assert main(["report", str(tmp_path / "latest"), "--compare", str(root), "--format", "md"]) == 0
    assert "no changes" in capsys.readouterr().out
    r = write(tmp_path / "run", run)
    assert main(["report", str(r), "--compare", str(root), "--format", "md"]) == 1
    capsys.readouterr()
    # a nightly run against a root holding only quick: compared, with a note
    nightly = copy.deepcopy(base)
    nightly["profile"]["name"] = "nightly"
    n = write(tmp_path / "nightly", nightly)
    assert main(["report", str(n), "--compare", str(root), "--format", "md"]) == 0
    cap = capsys.readouterr()
    assert "comparing with the quick one" in cap.err and "profiles differ" in cap.out
    # refreshing replaces the baseline atomically
    assert main(["baseline", str(r), "--dir", str(root)]) == 0
    assert "have no result" in capsys.readouterr().err  # the run lists a missing claim
    assert json.loads((root / "quick" / "report.json").read_text())["created"] == run["created"]
    assert not [p for p in (root / "quick").iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("{truncated", "not valid JSON"),
        ('{"schema": "junit/xml", "claims": []}', "not a theorem-check report"),
        ('{"schema": "theorem-check/report", "schema_version": 99}', "schema_version 99 is not supported"),
        (None, "no such report"),
    ],
)
def test_corrupt_or_foreign_baseline_is_a_clear_error_and_nothing_is_written(tmp_path, capsys, content, needle):
    _, run = baseline_and_run()
    r = write(tmp_path / "run", run)
    (r / "report.html").write_text("old html")
    bad = tmp_path / "bad" / "report.json"
    bad.parent.mkdir()
    if content is not None:
        bad.write_text(content)
    before = {p.name: p.read_bytes() for p in r.iterdir()}
    assert main(["report", str(r), "--compare", str(bad)]) == 2
    cap = capsys.readouterr()
    assert str(bad) in cap.err and needle in cap.err
    assert "Traceback" not in cap.err and cap.out == ""
    assert {p.name: p.read_bytes() for p in r.iterdir()} == before  # nothing written or overwritten
    assert main(["report", str(r), "--compare", str(tmp_path / "bad")]) == 2  # a directory names the file too
    assert str(bad) in capsys.readouterr().err or content is None


def test_corrupt_claim_entry_names_the_file(tmp_path, capsys):
    base, run = baseline_and_run()
    base["claims"][0] = {"id": "t.half"}
    b = write(tmp_path / "base", base)
    r = write(tmp_path / "run", run)
    assert main(["report", str(r), "--compare", str(b)]) == 2
    err = capsys.readouterr().err
    assert str(b / "report.json") in err and "claim #0 lacks" in err


def test_baseline_warns_about_a_run_with_the_example_database(tmp_path, capsys):
    """Saved examples are tried first in such a run; a clean checkout has none, so CI would draw others."""
    base, _ = baseline_and_run()
    base = copy.deepcopy(base)
    base["search"] = {"seed": 0, "database": str(tmp_path / "db")}
    write(tmp_path / "latest", base)
    assert main(["baseline", str(tmp_path / "latest"), "--dir", str(tmp_path / "b")]) == 0
    assert "--claims-db=none" in capsys.readouterr().err
    base["search"]["database"] = None
    write(tmp_path / "latest", base)
    assert main(["baseline", str(tmp_path / "latest"), "--dir", str(tmp_path / "b")]) == 0
    assert "database" not in capsys.readouterr().err
