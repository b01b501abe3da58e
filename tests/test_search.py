"""The search (issue 11): budgets by cost, the run seed, the example database, error control.

Unit tests of :mod:`harness.budget` and :mod:`harness.seed_sweep`, then the plugin end to end
through pytester: a cheap claim runs until its budget is spent, another run seed tries other
examples, one seed replays the same report, a failure is remembered across seeds, and a
statistical falsification is reported only if it recurs on fresh seeds.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from harness.runtime import seeding
from harness.runtime.budget import CostsError, SearchSettings, load_costs, measured_costs, plan_for, write_costs
from harness.tools.cli import main
from harness.runtime.profiles import PROFILES
from harness.tools.seed_sweep import run_seed_sweep, summarize_seed_runs

QUICK = PROFILES["quick"]


# ------------------------------------------------------------------------------------------------
# plans
# ------------------------------------------------------------------------------------------------


def test_plan_on_the_clock_without_a_cost():
    p = plan_for("a.claim", None, None, QUICK, SearchSettings())
    assert (p.mode, p.examples, p.min_examples, p.budget_s) == ("clock", QUICK.max_examples, QUICK.min_examples, QUICK.budget_s)
    assert p.on_clock


def test_plan_by_cost_is_clamped_between_min_and_max():
    costs = {"quick": {"cheap": 1e-4, "mid": 0.05, "dear": 60.0}}
    s = SearchSettings(costs=costs)
    assert plan_for("cheap", None, None, QUICK, s).examples == QUICK.max_examples
    mid = plan_for("mid", None, None, QUICK, s)
    assert (mid.mode, mid.examples, mid.cost_per_example) == ("costs", 100, 0.05)
    assert plan_for("dear", None, None, QUICK, s).examples == QUICK.min_examples
    # another profile's costs do not apply
    assert plan_for("mid", None, None, PROFILES["standard"], s).mode == "clock"


def test_pinned_examples_and_budget_overrides():
    s = SearchSettings(costs={"quick": {"c": 0.01}})
    assert plan_for("c", {"quick": 2}, None, QUICK, s).examples == 2  # pinned wins over the cost
    assert plan_for("c", None, {"quick": 1.0}, QUICK, s).examples == 100  # the claim's own budget
    # --claims-budget replaces the claim's own budget and the profile's
    assert plan_for("c", None, {"quick": 1.0}, QUICK, SearchSettings(budget_s=10.0, costs=s.costs)).examples == 1000


def test_costs_round_trip_and_errors(tmp_path: Path):
    report = {
        "claims": [
            {"id": "a", "examples_tried": 10, "seconds": 1.0, "work_seconds": 2.0},
            {"id": "b", "examples_tried": 0, "seconds": 1.0},
            {"id": "c", "examples_tried": 3, "seconds": 0.0},
        ]
    }
    costs = measured_costs(report)
    assert costs == {"a": 0.2}, "work seconds over examples; claims with no examples or no time left out"
    path = tmp_path / "costs.json"
    write_costs(path, "quick", costs, source="test")
    write_costs(path, "standard", {"a": 1.5})
    assert load_costs(path) == {"quick": {"a": 0.2}, "standard": {"a": 1.5}}
    write_costs(path, "quick", {"z": 3.0})  # a partial run updates its claims, keeps the others
    assert load_costs(path)["quick"] == {"a": 0.2, "z": 3.0}
    with pytest.raises(CostsError, match="no cost table"):
        load_costs(tmp_path / "absent.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(CostsError, match="cannot read"):
        load_costs(tmp_path / "bad.json")
    (tmp_path / "other.json").write_text('{"schema": "something else"}')
    with pytest.raises(CostsError, match="not a theorem-check cost table"):
        load_costs(tmp_path / "other.json")


def test_the_committed_cost_table_covers_every_claim():
    """Every claim of this repository has a quick cost or pins its examples: the quick profile's
    counts are then fixed, so CI reproduces the committed baseline example for example."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-m", "harness", "list", "--json"], cwd=root, capture_output=True, text=True, check=True)
    listed = json.loads(out.stdout)["claims"]
    costs = load_costs(root / "claims" / "costs.json")["quick"]
    loose = [c["id"] for c in listed if c["id"] not in costs and "quick" not in (c.get("examples") or {})]
    assert not loose, f"claims on the clock in the quick profile (record their costs: python -m harness costs): {loose}"


# ------------------------------------------------------------------------------------------------
# seeds
# ------------------------------------------------------------------------------------------------


def test_run_seed_and_replication_change_trial_seeds_only_when_set():
    base = seeding.trial_seed("c", 1, 0)
    assert base == seeding.derive_seed("c", 1, 0), "run seed 0 keeps the historical trial seeds"
    try:
        seeding.set_run_seed(7)
        s7 = seeding.trial_seed("c", 1, 0)
        with seeding.replication(1):
            r1 = seeding.trial_seed("c", 1, 0)
        with seeding.replication(2):
            r2 = seeding.trial_seed("c", 1, 0)
        assert len({base, s7, r1, r2}) == 4
        assert seeding.trial_seed("c", 1, 0) == s7, "the replication round is scoped to its block"
        # data are not trial randomness: the problem generator ignores run seed and round
        assert seeding.generator("data", 3).initial_seed() == seeding.derive_seed("data", 3)
    finally:
        seeding.set_run_seed(0)
    with pytest.raises(ValueError, match=">= 0"):
        seeding.set_run_seed(-1)


# ------------------------------------------------------------------------------------------------
# the seed sweep
# ------------------------------------------------------------------------------------------------


def _fake_report(verdicts: dict[str, tuple[str, str]], examples: int = 10) -> dict:
    return {
        "claims": [
            {"id": cid, "expected": exp, "verdict": v, "examples_tried": examples, "seconds": 1.0}
            for cid, (exp, v) in verdicts.items()
        ]
    }


def test_seed_sweep_counts_spurious_falsifications_and_escaped_controls():
    runs = [
        {"seed": 1, "seconds": 10.0, "report": _fake_report({"t": ("confirmed", "confirmed"), "c": ("falsified", "falsified")}, 150)},
        {"seed": 2, "seconds": 12.0, "report": _fake_report({"t": ("confirmed", "falsified"), "c": ("falsified", "inconclusive")})},
    ]
    s = summarize_seed_runs(runs, profile="quick")
    assert s["totals"]["spurious_falsifications"] == 1
    assert s["totals"]["escaped_controls"] == 1
    assert s["totals"]["inconclusive"] == 1
    assert s["per_seed"][1]["spurious_falsifications"] == ["t"]
    assert s["per_seed"][0]["claims_with_100_examples"] == 2
    assert s["claims"]["t"]["verdicts"] == {"confirmed": 1, "falsified": 1}
    assert (s["claims"]["t"]["examples_min"], s["claims"]["t"]["examples_max"]) == (10, 150)


def _write_run(run_dir: Path, claims: list[dict], profile: str = "quick", budget: float = 5.0) -> Path:
    """A minimal valid report.json in run_dir (what load_report accepts)."""
    from harness.report import SCHEMA, SCHEMA_VERSION

    for c in claims:
        c.setdefault("info", {"paper": {"key": "X"}, "theorem": "T", "statement": "s"})
        c.setdefault("expected", "confirmed")
        c.setdefault("as_expected", c["verdict"] == c["expected"])
    run_dir.mkdir(parents=True, exist_ok=True)
    rep = {
        "schema": SCHEMA, "schema_version": SCHEMA_VERSION, "created": "2026-12-06T00:00:00+00:00", "duration_s": 1.0,
        "environment": {"device": "cpu"}, "summary": {"claims": len(claims)}, "profile": {"name": profile, "budget_s": budget},
        "claims": claims,
    }
    (run_dir / "report.json").write_text(json.dumps(rep))
    return run_dir


def test_seed_sweep_runs_each_seed_into_its_own_directory_and_resumes(tmp_path: Path):
    calls = []

    def runner(cmd: list[str]) -> int:
        calls.append(cmd)
        seed = int(next(a for a in cmd if a.startswith("--claims-seed=")).split("=")[1])
        rdir = Path(next(a for a in cmd if a.startswith("--claims-report-dir=")).split("=", 1)[1])
        _write_run(rdir / "latest", [{"id": "t", "verdict": "confirmed", "examples_tried": seed, "seconds": 0.1}])
        return 0

    out = tmp_path / "seeds"
    s = run_seed_sweep([1, 2], out=out, runner=runner, log=lambda m: None)
    assert len(calls) == 2 and all("--claims-db=none" in c and "--claims-no-history" in c for c in calls)
    assert s["seeds"] == [1, 2] and s["totals"]["spurious_falsifications"] == 0
    assert (out / "quick.json").exists() and "| 2 |" in (out / "quick.md").read_text()
    calls.clear()
    s = run_seed_sweep([1, 2, 3], out=out, runner=runner, resume=True, log=lambda m: None)
    assert len(calls) == 1 and "--claims-seed=3" in calls[0], "seeds already run are read back"
    record = json.loads((out / "quick" / "seed-1.json").read_text())
    assert record["schema"] == "theorem-check/seed-run" and record["claims"][0]["id"] == "t"
    import shutil

    shutil.rmtree(out / "runs")  # the compact records alone (what git keeps) are enough to resume
    calls.clear()
    s = run_seed_sweep([1, 2, 3], out=out, runner=runner, resume=True, log=lambda m: None)
    assert calls == [] and s["seeds"] == [1, 2, 3]
    assert s["claims"]["t"]["examples_max"] == 3


def test_seeds_command_rejects_bad_seed_lists(capsys):
    assert main(["seeds", "--seeds", "a,b"]) == 2
    assert "give a count" in capsys.readouterr().err


def test_costs_command_writes_the_table(tmp_path: Path, capsys):
    claims = [{"id": "t", "verdict": "confirmed", "examples_tried": 50, "seconds": 1.0, "work_seconds": 1.0, "search": {"mode": "clock"}}]
    run = _write_run(tmp_path / "run", claims)
    table = tmp_path / "costs.json"
    assert main(["costs", str(run), "--write", str(table)]) == 0
    assert load_costs(table) == {"quick": {"t": 0.02}}
    assert "250" in capsys.readouterr().out, "the examples 5 s would buy at this cost"
    assert main(["costs", str(tmp_path / "nowhere")]) == 2


# ------------------------------------------------------------------------------------------------
# the plugin, end to end
# ------------------------------------------------------------------------------------------------

CLAIMS = '''
import os
from hypothesis import given, strategies as st
from harness import claim, evidence
from harness.contract.papers import DZPS
from harness.runtime.seeding import trial_generator

LOG = os.environ.get("TC_LOG")
if os.environ.get("TC_HELPER"):
    import consts_helper  # noqa: F401  (a local module full of literal constants)


def _log(x):
    if LOG:
        with open(LOG, "a") as f:
            f.write(f"{x}\\n")


@claim(id="s.cheap", paper=DZPS, theorem="T1", statement="x * x >= 0")
@given(x=st.integers(-10**9, 10**9))
def test_cheap(x):
    _log(x)
    evidence().figure("x", x)
    assert x * x >= 0


@claim(id="s.planted", paper=DZPS, theorem="T2", statement="(planted) x < 500 unless PLANT is set")
@given(x=st.integers(0, 10**6))
def test_planted(x):
    _log(x)
    assert not os.environ.get("PLANT") or x < 500, f"x={x}"


@claim(id="s.flaky", paper=DZPS, theorem="T3", statement="a statistic that fails on the search's seeds only",
       quantifier="probability")
@given(x=st.integers(0, 10))
def test_flaky(x):
    # draws from the trial's generator: a replication on fresh seeds draws other numbers
    u = float(trial_generator("s.flaky", x).initial_seed() % 1000) / 1000
    from harness.runtime.seeding import replication_round
    assert replication_round() > 0 or x < 5, f"x={x}, u={u}"


@claim(id="s.undecided_then_false", paper=DZPS, theorem="T5", statement="(false) fails, but its first replication cannot decide",
       quantifier="probability")
@given(x=st.integers(0, 10))
def test_undecided_then_false(x):
    from harness import undecided
    from harness.runtime.seeding import replication_round
    if replication_round() == 1:
        undecided("round 1 cannot decide")
    assert x < 5, f"x={x}"


@claim(id="s.false_stat", paper=DZPS, theorem="T4", statement="(false) a statistic that is wrong on every seed",
       quantifier="probability")
@given(x=st.integers(0, 10))
def test_false_stat(x):
    assert x < 5, f"x={x}"
'''


@pytest.fixture
def search_dir(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(test_search_claims=CLAIMS)
    return pytester


def _claims(p: pytest.Pytester) -> dict:
    rep = json.loads((p.path / "reports" / "latest" / "report.json").read_text())
    return {c["id"]: c for c in rep["claims"]} | {"__report__": rep}


def test_a_cheap_claim_runs_until_its_budget_is_spent(search_dir: pytest.Pytester):
    res = search_dir.runpytest_subprocess("-p", "no:cacheprovider", "-k", "cheap", "--claims-budget=2", "--claims-db=none")
    c = _claims(search_dir)["s.cheap"]
    s = c["search"]
    assert s["mode"] == "clock" and s["budget_s"] == 2.0
    assert c["examples_tried"] >= 100, "a cheap claim must search far beyond the minimum"
    assert s["stopped_by"] in ("budget spent", "planned examples done")
    assert s["distinct_examples"] >= 0.9 * c["examples_tried"]
    assert c["verdict"] == "confirmed"
    res.stdout.fnmatch_lines(["*seed 0*", "*s.cheap*"])


def test_another_seed_tries_other_examples_and_one_seed_replays(search_dir: pytest.Pytester, tmp_path: Path):
    costs = tmp_path / "costs.json"
    write_costs(costs, "quick", {"s.cheap": 0.01})  # 5 s / 0.01 s = 500 examples, fixed
    common = ["-p", "no:cacheprovider", "-k", "cheap", "--claims-db=none", f"--claims-costs={costs}"]

    def xs(seed: int) -> list:
        search_dir.runpytest_subprocess(*common, f"--claims-seed={seed}")
        c = _claims(search_dir)
        assert c["__report__"]["search"]["seed"] == seed
        assert f"--claims-seed={seed}" in c["s.cheap"]["replay"]
        assert c["s.cheap"]["examples_tried"] == 500 and c["s.cheap"]["search"]["mode"] == "costs"
        return [e["args"]["x"] for e in c["s.cheap"]["examples"]]

    one, two, one_again = xs(1), xs(2), xs(1)
    assert one == one_again, "the same run seed must try the same examples"
    assert len(set(one) & set(two)) < len(one) // 2, "another run seed must try other examples"


def test_one_seed_replays_whatever_local_modules_are_loaded(search_dir: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Hypothesis draws some values from the literal constants of the local modules loaded; which
    are loaded must not change the examples of a run seed (a one-file replay loads fewer modules
    than a full run; an xdist worker's earlier claims load others)."""
    search_dir.makepyfile(consts_helper="VALUES = [" + ", ".join(str(7919 * k + 13) for k in range(1, 600)) + "]\n")
    costs = tmp_path / "costs.json"
    write_costs(costs, "quick", {"s.cheap": 0.01})
    common = ["-p", "no:cacheprovider", "-k", "cheap", "--claims-db=none", f"--claims-costs={costs}"]

    def xs() -> list:
        search_dir.runpytest_subprocess(*common)
        return [e["args"]["x"] for e in _claims(search_dir)["s.cheap"]["examples"]]

    plain = xs()
    monkeypatch.setenv("TC_HELPER", "1")
    assert xs() == plain


def test_a_failure_is_tried_first_by_the_next_run_whatever_the_seed(
    search_dir: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    db = tmp_path / "db"
    log = tmp_path / "xs.txt"
    common = ["-p", "no:cacheprovider", "-k", "planted", f"--claims-db={db}", "--claims-budget=0.3"]
    monkeypatch.setenv("PLANT", "1")
    search_dir.runpytest_subprocess(*common, "--claims-seed=1")
    assert _claims(search_dir)["s.planted"]["counterexample"]["args"] == {"x": 500}
    monkeypatch.delenv("PLANT")
    monkeypatch.setenv("TC_LOG", str(log))
    search_dir.runpytest_subprocess(*common, "--claims-seed=2")
    assert log.read_text().split()[0] == "500", "the saved counterexample was not replayed first"


def test_statistical_falsifications_must_recur_on_fresh_seeds(search_dir: pytest.Pytester):
    search_dir.runpytest_subprocess("-p", "no:cacheprovider", "-k", "flaky or false_stat or undecided_then", "--claims-db=none")
    c = _claims(search_dir)
    u = c["s.undecided_then_false"]
    assert u["verdict"] == "falsified", "an undecided round counts for neither side"
    assert [r["status"] for r in u["counterexample"]["replications"]] == ["undecided", "failed", "failed"]
    flaky, false = c["s.flaky"], c["s.false_stat"]
    assert flaky["verdict"] == "inconclusive", "a falsification that does not recur is not reported as one"
    assert "not replicated" in flaky["inconclusive_reason"]
    reps = flaky["counterexample"]["replications"]
    assert reps[0]["status"] == "passed" and reps[0]["seeds"].startswith("fresh")
    assert flaky["error_control"]["level"] == pytest.approx(0.0075), "2 of at most 3 rounds: C(3,2) 0.05^2"
    assert false["verdict"] == "falsified" and false["counterexample"]["replicated"]
    assert [r["status"] for r in false["counterexample"]["replications"]] == ["failed", "failed"], "stops after 2 failures"


def test_bad_search_options_are_clear_errors(search_dir: pytest.Pytester, tmp_path: Path):
    for opt, msg in (
        ("--claims-seed=abc", "*--claims-seed='abc' is not an integer*"),
        ("--claims-seed=-3", "*--claims-seed=-3 must be >= 0*"),
        ("--claims-budget=0", "*--claims-budget=0.0 must be > 0 seconds*"),
        (f"--claims-costs={tmp_path / 'nope.json'}", "*no cost table at*"),
    ):
        res = search_dir.runpytest_subprocess(opt)
        assert res.ret == pytest.ExitCode.USAGE_ERROR, opt
        res.stderr.fnmatch_lines([msg])


def test_search_settings_are_plain_data():
    s = SearchSettings(seed=3, costs={"quick": {"a": 1.0}}, costs_path="x", database=None)
    assert s.to_dict() == {"seed": 3, "budget_s": None, "costs_path": "x", "database": None}
    assert SimpleNamespace(**s.to_dict()).seed == 3


def test_the_terminal_table_shows_how_much_search_a_verdict_rests_on():
    from harness.report.text import claims_table, search_line, search_strength

    def row(cid, n, verdict="confirmed", expected="confirmed"):
        return {
            "id": cid, "verdict": verdict, "expected": expected, "as_expected": verdict == expected, "examples_tried": n,
            "margin": {"value": None}, "search": {"seconds": 1.0, "budget_s": 5.0, "examples_tried": n, "distinct_examples": n,
                                                   "mode": "costs", "planned_examples": n, "stopped_by": "planned examples done", "run_seed": 4},
        }

    few, many, odd = row("a.few", 3), row("b.many", 3000), row("c.odd", 40, "falsified")
    assert [search_strength(r) for r in (few, many, odd)] == ["thin", "broad", "some"]
    lines = claims_table([few, many, odd])
    assert "thin" in next(line for line in lines if "a.few" in line)
    assert "broad" in next(line for line in lines if "b.many" in line)
    assert "UNEXPECTED  c.odd" in next(line for line in lines if "c.odd" in line), "columns must not run together"
    assert "3043 examples, 1/3 claims with >= 100" in lines[-1]
    assert search_line(many).startswith("broad: 3000 examples (3000 distinct, 3000 distinct problems)") and "seed 4" in search_line(many)
