"""harness.tools.merge and ``python -m harness merge``: shards joined with no claim lost or doubled; a
run split 1, 2 and 4 ways with pytest-split merges to the same verdicts and figures; a worker
killed mid-run still leaves a report, with the lost claim listed; corrupt or foreign shard
reports are clear errors and nothing is written."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.tools.cli import main
from harness.tools.merge import merge_reports
from harness.report import ReportError


def make_result(cid: str, verdict: str = "confirmed") -> dict:
    from harness.contract.claim import ClaimInfo, ClaimRun, Evidence, _result
    from harness.contract.papers import DZPS

    run = ClaimRun(ClaimInfo(id=cid, paper=DZPS, theorem="T", statement="-"))
    ev = Evidence({"x": 1})
    ev.status = "passed"
    ev.figure("f", 1.0)
    run.add(ev)
    return _result(run, verdict, None, 0.1, "quick")


def shard(path: Path, ids: list[str], *, group: int | None = None, splits: int | None = None, profile: str = "quick",
          missing: list[dict] | None = None) -> Path:
    from harness.runtime.devices import RunSettings
    from harness.report import build_report

    rep = build_report([make_result(i) for i in ids], profile=profile, settings=RunSettings(), started=time.time(), root=".",
                       argv=["pytest"], workers=2, missing=missing,
                       shard={"group": group, "splits": splits} if group else None)
    path.mkdir(parents=True, exist_ok=True)
    (path / "report.json").write_text(json.dumps(rep))
    return path


def test_merge_joins_disjoint_shards(tmp_path):
    a = shard(tmp_path / "a", ["t.a1", "t.a2"], group=1, splits=2)
    b = shard(tmp_path / "b", ["t.b1"], group=2, splits=2,
              missing=[{"id": "t.b2", "nodeid": "x.py::test_b2", "reason": "its worker was killed while running it"}])
    m = merge_reports([a, b / "report.json"])
    assert [c["id"] for c in m["claims"]] == ["t.a1", "t.a2", "t.b1"]
    assert m["summary"]["claims"] == 3 and m["summary"]["verdicts"] == {"confirmed": 3}
    assert m["summary"]["missing"] == 1
    assert m["missing"] == [{"id": "t.b2", "nodeid": "x.py::test_b2", "reason": "its worker was killed while running it",
                             "shard": str(b / "report.json")}]
    assert [(s["path"], s["claims"], s["shard"]) for s in m["merged_from"]] == [
        (str(a / "report.json"), 2, {"group": 1, "splits": 2}), (str(b / "report.json"), 1, {"group": 2, "splits": 2})]
    assert m["environment"]["xdist_workers"] == 4
    assert "merge_warnings" not in m


def test_doubled_claim_names_both_files(tmp_path, capsys):
    a = shard(tmp_path / "a", ["t.x", "t.y"])
    b = shard(tmp_path / "b", ["t.y"])
    with pytest.raises(ReportError, match=r"claim t\.y is in both .*a/report\.json and .*b/report\.json"):
        merge_reports([a, b])
    out = tmp_path / "out"
    assert main(["merge", str(a), str(b), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert str(a / "report.json") in err and str(b / "report.json") in err
    assert not out.exists()
    with pytest.raises(ReportError, match="given twice"):
        merge_reports([a, a / "report.json"])


def test_split_groups_must_all_be_there_once(tmp_path):
    g1 = shard(tmp_path / "g1", ["t.1"], group=1, splits=3)
    g3 = shard(tmp_path / "g3", ["t.3"], group=3, splits=3)
    with pytest.raises(ReportError, match=r"group\(s\) 2 of 3 not given"):
        merge_reports([g1, g3])
    m = merge_reports([g1, g3], allow_partial=True)
    assert m["missing"] == [{"id": None, "nodeid": "pytest-split group 2/3", "reason": "that shard's report was not given"}]
    again = shard(tmp_path / "again", ["t.other"], group=3, splits=3)
    with pytest.raises(ReportError, match=r"group 3/3 is also .*g3/report\.json"):
        merge_reports([g1, g3, again])
    other_split = shard(tmp_path / "s2", ["t.2"], group=2, splits=2)
    with pytest.raises(ReportError, match="split different ways"):
        merge_reports([g1, other_split, g3])


def test_shards_must_share_profile_and_revision_is_a_warning(tmp_path):
    a = shard(tmp_path / "a", ["t.a"])
    b = shard(tmp_path / "b", ["t.b"], profile="nightly")
    with pytest.raises(ReportError, match=r"b/report\.json: profile 'nightly', but .*a/report\.json has 'quick'"):
        merge_reports([a, b])
    c = tmp_path / "c"
    rep = json.loads((shard(tmp_path / "c0", ["t.c"]) / "report.json").read_text())
    rep["environment"]["git_revision"] = "0123456789abcdef"
    c.mkdir()
    (c / "report.json").write_text(json.dumps(rep))
    m = merge_reports([a, c])
    assert "different git revisions" in m["merge_warnings"][0]


@pytest.mark.parametrize(
    ("content", "needle"),
    [("{cut", "not valid JSON"), ('{"schema": "pytest-json-report"}', "not a theorem-check report"), ("[1, 2]", "not a theorem-check report")],
)
def test_corrupt_or_foreign_shard_is_a_clear_error_and_nothing_is_written(tmp_path, capsys, content, needle):
    good = shard(tmp_path / "good", ["t.a"])
    bad = tmp_path / "bad" / "report.json"
    bad.parent.mkdir()
    bad.write_text(content)
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("untouched")
    assert main(["merge", str(good), str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and needle in err and "Traceback" not in err
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]


def test_cli_merge_writes_a_run_and_appends_history(tmp_path, capsys):
    a = shard(tmp_path / "a", ["t.a"], group=1, splits=2)
    b = shard(tmp_path / "b", ["t.b"], group=2, splits=2)
    out = tmp_path / "reports"
    assert main(["merge", str(a), str(b), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "merged 2 claim(s) from 2 shard report(s)" in printed and "history: appended" in printed
    merged = json.loads((out / "latest" / "report.json").read_text())
    assert [c["id"] for c in merged["claims"]] == ["t.a", "t.b"]
    assert (out / "latest" / "report.html").exists() and "merged from 2 shard" in (out / "latest" / "report.md").read_text()
    assert len((out / "history.jsonl").read_text().splitlines()) == 1
    assert main(["merge", str(a), str(b), "--out", str(out), "--no-history"]) == 0
    assert len((out / "history.jsonl").read_text().splitlines()) == 1


# ------------------------------------------------------------------------------------------
# a real run, split with pytest-split and merged
# ------------------------------------------------------------------------------------------

SYNTHETIC = '''
import torch
from hypothesis import given, strategies as st

from harness import claim, evidence, undecided
from harness.contract.checks import decide_exponent
from harness.contract.papers import DZPS
from harness.runtime.seeding import trial_generators
from harness.contract.stats import fit_exponent


def _scaling(cid, seed):
    gens = trial_generators(cid, seed, 4)
    xs = [16.0, 64.0, 256.0, 1024.0]
    ys = [float(torch.randn(int(m), generator=g, dtype=torch.float64).abs().mean() / m ** 0.5) for m, g in zip(xs, gens)]
    return xs, ys


def _figure_claim(cid):
    @claim(id=cid, paper=DZPS, theorem="S", statement="mean |z| / sqrt(m) ~ m^-1/2", quantifier="scaling")
    @given(seed=st.integers(0, 3))
    def test(seed):
        xs, ys = _scaling(cid, seed)
        fit = fit_exponent(xs, ys)
        ev = evidence()
        ev.figure("exponent", fit.slope, predicted=-0.5, interval=(fit.ci_low, fit.ci_high))
        ev.figure("first", ys[0])
        ev.margin(abs(fit.slope + 0.5) / 0.2, "|slope + 1/2| / 0.2")
        assert abs(fit.slope + 0.5) < 0.2
    return test


test_s1 = _figure_claim("split.scaling_1")
test_s2 = _figure_claim("split.scaling_2")
test_s3 = _figure_claim("split.scaling_3")


@claim(id="split.control", paper=DZPS, theorem="C", statement="(planted) the draw is below 1", expect="falsified",
       control_of="split.scaling_1")
@given(k=st.integers(0, 50))
def test_control(k):
    z = float(torch.randn(1, generator=trial_generators("split.control", k, 1)[0], dtype=torch.float64))
    evidence().figure("z", z)
    assert z < 1.0


# a pinned count: a claim with no recorded cost runs on the clock, and so tries as many examples as the
# machine's speed allows in its budget (1,854 here, fewer on a loaded CI runner), which no split can repeat
@claim(id="split.identity", paper=DZPS, theorem="I", statement="x + 0 == x", quantifier="identity", examples={"quick": 300})
@given(x=st.integers())
def test_identity(x):
    evidence().figure("x", float(x))
    assert x + 0 == x


@claim(id="split.undecided", paper=DZPS, theorem="U", statement="never decides")
@given(x=st.integers(0, 3))
def test_undecided(x):
    undecided("needs more seeds")


@claim(id="split.even", paper=DZPS, theorem="E", statement="(planted) integers are even", expect="falsified",
       control_of="split.identity")
@given(x=st.integers(0, 100))
def test_even(x):
    assert x % 2 == 0, f"{x} is odd"


@claim(id="split.bounded", paper=DZPS, theorem="B", statement="a draw of |z| stays below 5")
@given(k=st.integers(0, 5))
def test_bounded(k):
    z = abs(float(torch.randn(1, generator=trial_generators("split.bounded", k, 1)[0], dtype=torch.float64)))
    evidence().figure("|z|", z, predicted="< 5")
    assert z < 5
'''

IDS = {"split.scaling_1", "split.scaling_2", "split.scaling_3", "split.control", "split.identity", "split.undecided",
       "split.even", "split.bounded"}


def _essence(report: dict) -> dict:
    """What must not depend on the split: verdicts, examples, figures, counterexamples."""
    out = {}
    for c in report["claims"]:
        rep = c.get("representative") or {}
        out[c["id"]] = {
            "verdict": c["verdict"],
            "as_expected": c["as_expected"],
            "examples": [(e["args"], e["status"], e["figures"]) for e in c["examples"]],
            "figures": rep.get("figures"),
            "counterexample": (c.get("counterexample") or {}).get("args"),
            "margin": c["margin"]["value"],
        }
    return out


def test_split_1_2_4_ways_merges_to_the_same_verdicts_and_figures(pytester: pytest.Pytester):
    pytest.importorskip("pytest_split", reason="pytest-split is a dev dependency: pip install -e .[dev]")
    pytester.makepyfile(test_split_claims=SYNTHETIC)
    merged = {}
    for k in (1, 2, 4):
        dirs = []
        for g in range(1, k + 1):
            d = f"shards{k}/g{g}"
            res = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:benchmark", "--splits", str(k), "--group", str(g), "--claims-report-dir", d,
                                     "--claims-no-history")
            assert res.ret in (0, 1), res.stdout.str()[-2000:]
            dirs.append(pytester.path / d / "latest")
        shard_ids = [{c["id"] for c in json.loads((p / "report.json").read_text())["claims"]} for p in dirs]
        assert all(shard_ids) and sum(map(len, shard_ids)) == len(IDS)  # really split, nothing run twice
        assert main(["merge", *map(str, dirs), "--out", str(pytester.path / f"merged{k}"), "--no-history"]) == 0
        merged[k] = json.loads((pytester.path / f"merged{k}" / "latest" / "report.json").read_text())
        assert {c["id"] for c in merged[k]["claims"]} == IDS
        assert [s["shard"] for s in merged[k]["merged_from"]] == [{"group": g, "splits": k} for g in range(1, k + 1)]
    one = _essence(merged[1])
    assert one["split.even"]["verdict"] == "falsified" and one["split.even"]["counterexample"] == {"x": 1}
    assert one["split.undecided"]["verdict"] == "inconclusive"
    assert one["split.scaling_1"]["figures"]["exponent"]["interval"] is not None
    assert len({json.dumps(one[f"split.scaling_{i}"]["figures"]) for i in (1, 2, 3)}) == 3  # claim-keyed seeds differ
    assert _essence(merged[2]) == one
    assert _essence(merged[4]) == one
    assert merged[1]["summary"] == merged[2]["summary"] == merged[4]["summary"]


# ------------------------------------------------------------------------------------------
# a worker killed mid-run
# ------------------------------------------------------------------------------------------

KILLER = '''
import os
import signal

from hypothesis import given, strategies as st

from harness import claim
from harness.contract.papers import DZPS


def _ok(cid):
    @claim(id=cid, paper=DZPS, theorem="T", statement="x == x")
    @given(x=st.integers())
    def test(x):
        assert x == x
    return test


test_ok1 = _ok("kill.ok1")
test_ok2 = _ok("kill.ok2")
test_ok3 = _ok("kill.ok3")


@claim(id="kill.victim", paper=DZPS, theorem="T", statement="its worker is killed (out of memory, a node lost)")
@given(x=st.integers())
def test_victim(x):
    os.kill(os.getpid(), signal.SIGKILL)
'''


def test_killed_worker_leaves_a_report_listing_the_lost_claim(tmp_path, capsys):
    (tmp_path / "test_kill.py").write_text(KILLER)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "2", "--max-worker-restart=0", "-q", "test_kill.py", "--rootdir", str(tmp_path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=240, env=env,
    )
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "crashed while running" in proc.stdout
    assert "MISSING: 1 claim(s)" in proc.stdout and "kill.victim" in proc.stdout
    report = json.loads((tmp_path / "reports" / "latest" / "report.json").read_text())
    assert sorted(c["id"] for c in report["claims"]) == ["kill.ok1", "kill.ok2", "kill.ok3"]
    assert report["missing"] == [{"id": "kill.victim", "nodeid": "test_kill.py::test_victim",
                                  "reason": "its worker was killed while running it"}]
    assert report["summary"]["missing"] == 1
    assert "Missing: 1 claim(s)" in (tmp_path / "reports" / "latest" / "report.html").read_text()
    # against a baseline that had it, the lost claim is a regression
    base = copy.deepcopy(report)
    base["claims"].append({**report["claims"][0], "id": "kill.victim"})
    base.pop("missing")
    (tmp_path / "base.json").write_text(json.dumps(base))
    assert main(["report", str(tmp_path / "reports" / "latest"), "--compare", str(tmp_path / "base.json"), "--format", "md"]) == 1
    out = capsys.readouterr().out
    assert "MISSING: 1 claim(s)" in out and "1 regression(s)" in out


STOPPER = """
from hypothesis import given, strategies as st

from harness import claim
from harness.contract.papers import DZPS


@claim(id="stop.powerless", paper=DZPS, theorem="T", statement="(planted) holds everywhere", expect="falsified",
       control_of="stop.b")
@given(x=st.integers(0, 3))
def test_a_powerless(x):
    assert x >= 0


@claim(id="stop.b", paper=DZPS, theorem="T", statement="x == x")
@given(x=st.integers())
def test_b(x):
    assert x == x


@claim(id="stop.c", paper=DZPS, theorem="T", statement="x == x")
@given(x=st.integers())
def test_c(x):
    assert x == x
"""


def test_a_session_stopped_early_lists_the_claims_not_run(pytester: pytest.Pytester):
    pytester.makepyfile(test_stop=STOPPER)
    pytester.runpytest("-p", "no:cacheprovider", "-p", "no:benchmark", "-x").assert_outcomes(failed=1)
    report = json.loads((pytester.path / "reports" / "latest" / "report.json").read_text())
    assert [c["id"] for c in report["claims"]] == ["stop.powerless"]
    assert [(m["id"], m["nodeid"]) for m in report["missing"]] == [("stop.b", "test_stop.py::test_b"), ("stop.c", "test_stop.py::test_c")]
    assert all(m["reason"].startswith("no result: not run") for m in report["missing"])
