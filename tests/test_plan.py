"""Run plans (harness.tools.plan and ``python -m harness plan``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.tools.cli import main
from harness.tools.plan import device_factor, plan_claims, run_costs, work_ratio
from harness.runtime.profiles import PROFILES

Q, S, N = PROFILES["quick"], PROFILES["standard"], PROFILES["nightly"]


def test_work_ratio_multiplies_the_profile_ratios():
    assert work_ratio(Q, Q) == 1.0
    expected = (N.steps / Q.steps) * (N.replicates / Q.replicates) * (N.max_n / Q.max_n) * (max(N.width_grid) / max(Q.width_grid))
    assert work_ratio(N, Q) == pytest.approx(expected)


def test_plan_modes():
    costs = {"quick": {"cheap": 0.01, "dear": 10.0, "pinned": 3.0}, "standard": {"cheap": 0.02}}
    claims = [
        {"id": "cheap"}, {"id": "dear"}, {"id": "pinned", "examples": {"quick": 2, "standard": 1}}, {"id": "new"},
    ]
    q = {p.id: p for p in plan_claims(claims, "quick", costs)}
    assert (q["cheap"].how, q["cheap"].examples, q["cheap"].seconds) == ("measured", 500, pytest.approx(5.0))
    assert (q["dear"].examples, q["dear"].seconds) == (Q.min_examples, pytest.approx(40.0)), "at least the minimum"
    assert (q["pinned"].examples, q["pinned"].seconds) == (2, pytest.approx(6.0))
    assert (q["new"].how, q["new"].seconds) == ("unknown", Q.budget_s), "no cost: the budget, as on the clock"
    s = {p.id: p for p in plan_claims(claims, "standard", costs, factor=2.0)}
    assert s["cheap"].how == "measured" and s["cheap"].cost_s == 0.02
    assert s["dear"].how == "scaled from quick"
    assert s["dear"].cost_s == pytest.approx(10.0 * work_ratio(S, Q) / 2.0), "a faster device divides the scaled cost"
    assert all(p.how != "scaled from quick" for p in plan_claims(claims, "standard", costs, factor=None)), "unknown speed: no scaling"


def test_device_factor_from_the_benchmark(tmp_path: Path):
    assert device_factor("cpu")[0] == 1.0
    bench = tmp_path / "bench.json"
    bench.write_text(json.dumps({"rows": [
        {"device": "cpu", "dtype": "float64", "m": 1000, "engine": "engine", "trials_per_s": 10.0},
        {"device": "cuda", "dtype": "float64", "m": 1000, "engine": "engine+record", "trials_per_s": 300.0},
        {"device": "cuda", "dtype": "float32", "m": 1000, "engine": "engine", "trials_per_s": 9000.0},
    ]}))
    f, why = device_factor("cuda", bench)
    assert f == pytest.approx(30.0) and "m=1000" in why
    f, why = device_factor("cuda", tmp_path / "none.json")
    assert f is None and "gpu_check" in why


def test_run_costs_use_the_claims_own_seconds():
    rep = {"claims": [{"id": "a", "examples_tried": 4, "seconds": 2.0, "work_seconds": 40.0}, {"id": "b", "examples_tried": 0, "seconds": 1.0}]}
    assert run_costs(rep) == {"a": 0.5}


TOY = '''
from hypothesis import given, strategies as st
from harness import claim
from harness.contract.papers import DZPS


@claim(id="p.one", paper=DZPS, theorem="T", statement="s", examples={"quick": 3})
@given(x=st.integers())
def test_one(x):
    assert True
'''


def test_plan_command(tmp_path: Path, capsys, monkeypatch):
    (tmp_path / "claims").mkdir()
    (tmp_path / "claims" / "test_toy.py").write_text(TOY)
    costs = tmp_path / "costs.json"
    costs.write_text(json.dumps({"schema": "theorem-check/costs", "profiles": {"quick": {"seconds_per_example": {"p.one": 2.0}}}}))
    monkeypatch.chdir(tmp_path)
    assert main(["plan", "--profile", "quick", "--costs", str(costs), "--workers", "2"]) == 0
    out = capsys.readouterr().out
    assert "p.one" in out and "measured" in out and "total 0.00 h" in out
    assert main(["plan", "--profile", "quick", "--costs", str(costs), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["claims"][0] == {"id": "p.one", "examples": 3, "cost_s": 2.0, "how": "measured", "seconds": 6.0}
    assert main(["plan", "--profile", "nightly", "--device", "cuda", "--costs", str(costs), "--bench", str(tmp_path / "nobench.json")]) == 0
    assert "device factor unknown" in capsys.readouterr().out
