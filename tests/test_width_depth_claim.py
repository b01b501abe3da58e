"""Helpers of claims/test_dllwz2019_width_depth.py: the threshold interval against a brute-force
enumeration, curtailed binomial decisions against the decision of all seeds, one grid point against
per-seed torch.func NTKs, the grids of every profile, and the claim / planted twin decisions on known
threshold tables and on one small real sweep."""

from __future__ import annotations

import importlib

import functools
import itertools
import math

import numpy as np
import pytest
import torch
from hypothesis.errors import UnsatisfiedAssumption

from harness import ProblemSpec, trial_generators
from harness.networks.deep import DeepNet, empirical_ntk
from harness.runtime.profiles import PROFILES, current_profile, set_profile
from harness.contract.stats import binomial_decision




wd = importlib.import_module("harness.analysis.studies.dllwz2019_width_depth")
H, V, U = wd.HOLDS, wd.VIOLATED, wd.UNDECIDED


@pytest.fixture
def quick_profile():
    before = current_profile().name
    set_profile("quick")
    yield
    set_profile(before)


# ----------------------------------------------------------------------------- threshold interval


def _brute_force(widths, decisions):
    """Every candidate threshold c in the grid (or beyond it, as 2 x the last width standing for 'inf')
    consistent with the decisions: "holds" at m needs c <= m, "violated" at m needs c > m."""
    cands = [*widths, math.inf]
    ok = [c for c in cands if all((d != H or c <= m) and (d != V or c > m) for m, d in zip(widths, decisions, strict=True))]
    return min(ok), max(ok)


def _interval(decisions, ws=(4, 8, 16, 32, 64)):
    return wd.threshold_interval(ws[: len(decisions)], decisions)


def test_threshold_interval_known_tables():
    assert _interval([V, V, V, H, H]) == wd.Threshold(32, 32)
    assert _interval([V, U, U, H]) == wd.Threshold(8, 32)  # a walk stops at the first holds
    assert _interval([H]) == wd.Threshold(4, 4)
    assert _interval([U, U, H]) == wd.Threshold(4, 16)
    assert _interval([V, V, V, V, V]) == wd.Threshold(128, math.inf)  # beyond the grid
    assert _interval([V, V, V, U, U]) == wd.Threshold(32, math.inf)
    t = _interval([V, V, H])
    assert t.mid == 16 and t.as_list() == [16, 16]
    assert _interval([V, V]).as_list() == [16, None]
    with pytest.raises(ValueError, match="monotone"):
        _interval([V, H, V])
    with pytest.raises(ValueError, match="double"):
        wd.threshold_interval((4, 8, 12), [V, V, H])
    with pytest.raises(ValueError, match="one decision per width"):
        wd.threshold_interval((4, 8), [V])


def test_threshold_interval_is_the_brute_force_enumeration():
    """Every monotone table (no violated after a holds) on a 5-point grid, and its prefixes."""
    ws = (4, 8, 16, 32, 64)
    seen = 0
    for table in itertools.product((H, V, U), repeat=len(ws)):
        first = table.index(H) if H in table else None
        if first is not None and V in table[first:]:
            continue
        for k in range(1, len(ws) + 1):
            got = wd.threshold_interval(ws[:k], table[:k])
            lo, hi = _brute_force(ws[:k], table[:k])
            want_low = 2 * ws[k - 1] if lo == math.inf else lo
            assert (got.low, got.high) == (want_low, hi), (table[:k], got)
            seen += 1
    assert seen > 300


def test_threshold_of_a_synthetic_success_table():
    """Failure probability 0.9 below a known threshold, 0.02 at and above it: with 64 seeds per width the
    binomial decisions pin the threshold exactly."""
    ws = tuple(4 * 2**k for k in range(9))
    for true in ws[2:]:
        decisions = [binomial_decision(round((0.9 if m < true else 0.02) * 64), 64, wd.DELTA).decision for m in ws]
        first = decisions.index(H)
        assert wd.threshold_interval(ws[: first + 1], decisions[: first + 1]) == wd.Threshold(true, true)


def test_growth_and_ratio_decisions():
    a, b = wd.Threshold(32, 64), wd.Threshold(256, 512)
    assert wd.growth(a, b) == (4.0, 16.0)
    assert wd.growth(a, wd.Threshold(1024, math.inf)) == (16.0, math.inf)
    assert wd.decide_ratio(4, 16, 2.83, "at_least") == H
    assert wd.decide_ratio(1, 2, 2.83, "at_least") == V
    assert wd.decide_ratio(2, 4, 2.83, "at_least") == U
    assert wd.decide_ratio(0.5, 2, 2.83, "at_most") == H
    assert wd.decide_ratio(4, 16, 2.83, "at_most") == V
    assert wd.decide_ratio(2, 4, 2.83, "at_most") == U
    with pytest.raises(ValueError, match="relation"):
        wd.decide_ratio(1, 2, 3, "equal")


# ----------------------------------------------------------------------------- curtailed decisions


def test_settled_decision_is_the_decision_of_all_seeds():
    """Stopping at the first settled prefix of a seed sequence gives the binomial decision of all seeds."""
    full = functools.lru_cache(maxsize=None)(lambda f, total: binomial_decision(f, total, wd.DELTA).decision)
    rng = np.random.default_rng(0)
    stopped_early = 0
    assert wd.decision_table(32, wd.DELTA) == tuple(full(f, 32) for f in range(33))
    for total in (16, 32, 67):
        for p in (0.0, 0.05, 0.15, 0.25, 0.35, 0.6, 1.0):
            for _ in range(10):
                fails = np.cumsum(rng.random(total) < p)
                want = full(int(fails[-1]), total)
                k = next(k for k in range(1, total + 1) if wd.settled(int(fails[k - 1]), k, total, wd.DELTA) is not None)
                assert wd.settled(int(fails[k - 1]), k, total, wd.DELTA) == want
                stopped_early += k < total
    assert stopped_early > 80
    assert wd.settled(0, 1, 32, wd.DELTA) is None
    assert wd.settled(32, 32, 32, wd.DELTA) == wd.VIOLATED


def test_grid_point_against_per_seed_torch_func_ntks():
    """_point (layerwise NTK, chunks, early stop, more seeds where undecided) against a plain computation:
    r of every seed from harness.networks.deep.empirical_ntk (torch.func), then the binomial decision of all seeds."""
    p = ProblemSpec(n=6, d=5, seed=4).build()
    for family, m, depth in (("fc", 8, 3), ("resnet", 16, 2), ("fc", 64, 2)):
        net = DeepNet(family, m, depth, "tanh")
        theta_inf = wd.analytic_ntk(net, p.X)
        gens_for = lambda k, key=m + depth: trial_generators("test.width_depth.point", key, k)  # noqa: E731
        pt = wd._point(net, p.X, theta_inf, gens_for)
        first = wd.seeds(m, depth, p.d)
        assert pt.seeds in (first, 2 * first, 4 * first) or pt.seeds == 4 * current_profile().replicates
        th = empirical_ntk(net, net.init(p.d, gens_for(pt.seeds)), p.X)
        rs = (torch.linalg.matrix_norm(th - theta_inf, ord=2) / torch.linalg.matrix_norm(theta_inf, ord=2)).tolist()
        fails = np.asarray(rs) > wd.TAU
        assert pt.decision == binomial_decision(int(fails.sum()), pt.seeds, wd.DELTA).decision
        if pt.seeds > first:  # more seeds were drawn only because the first ones left it undecided
            assert binomial_decision(int(fails[:first].sum()), first, wd.DELTA).decision == wd.UNDECIDED
        assert pt.failures == int(fails[: pt.evaluated].sum())
        assert pt.median_gap == pytest.approx(float(np.median(rs[: pt.evaluated])), rel=1e-9)
        assert 1 <= pt.evaluated <= pt.seeds


# ----------------------------------------------------------------------------- grids


def test_grids_of_every_profile():
    before = current_profile().name
    try:
        got = {}
        for name in PROFILES:
            set_profile(name)
            hs = wd.depth_grid()
            assert hs[0] == 2 and max(hs) <= PROFILES[name].max_depth
            assert all(b == 2 * a for a, b in itertools.pairwise(hs))
            for h in hs:
                ws = wd.width_grid(h)
                assert ws[0] == wd.WIDTH_FLOOR and all(b == 2 * a for a, b in itertools.pairwise(ws))
                assert (h - 1) * ws[-1] ** 2 <= wd.MAX_LAYER_ELEMENTS
                R = PROFILES[name].replicates
                for m in ws:
                    assert R <= wd.seeds(m, h, 10) <= 4 * R
            got[name] = (hs, wd.width_grid(hs[-1])[-1])
        assert got["quick"] == ((2, 4, 8, 16), 512)
        assert got["standard"] == ((2, 4, 8, 16), 2048)
        assert got["nightly"][0] == (2, 4, 8, 16, 32)
        set_profile("quick")
        assert wd.seeds(64, 2, 10) == 128 and wd.seeds(512, 16, 10) == 32
    finally:
        set_profile(before)


# ----------------------------------------------------------------------------- claim and twin decisions


def _walks(table: dict[str, dict[int, tuple[int, int]]]) -> dict:
    """Synthetic walks whose thresholds are the given [low, high] (width grid from 4, doubling)."""
    out = {}
    for fam, per_depth in table.items():
        for h, (low, high) in per_depth.items():
            grid = tuple(4 * 2**k for k in range(12))
            pts = []
            for m in grid:
                if m > high:
                    break
                dec = H if m == high else V if m < low else U
                pts.append(wd.GridPoint(m, 0 if dec == H else 20, 32, 32, dec, 0.3))
            out[(fam, h)] = wd.Walk(fam, h, grid, tuple(pts))
    return out


FC_GROWS = {"fc": {2: (64, 64), 4: (128, 128), 8: (256, 512), 16: (256, 512)}, "resnet": {h: (32, 32) for h in (2, 4, 8, 16)}}
BOTH_GROW = {"fc": FC_GROWS["fc"], "resnet": {2: (32, 32), 4: (64, 64), 8: (256, 256), 16: (512, 512)}}
BOTH_FLAT = {"fc": {h: (64, 64) for h in (2, 4, 8, 16)}, "resnet": {h: (32, 32) for h in (2, 4, 8, 16)}}
WIDE = {"fc": {2: (32, 128), 4: (64, 256), 8: (128, 512), 16: (128, 512)}, "resnet": {h: (32, 32) for h in (2, 4, 8, 16)}}


@pytest.mark.parametrize(
    ("table", "claim_outcome", "twin_outcome"),
    [
        (FC_GROWS, None, AssertionError),
        (BOTH_GROW, AssertionError, AssertionError),  # the ResNet needing as much width as fc: the claim fails
        (BOTH_FLAT, AssertionError, None),  # fc flat: the claim fails, the twin holds
        (WIDE, UnsatisfiedAssumption, UnsatisfiedAssumption),  # intervals too wide to decide: undecided
    ],
)
def test_claim_and_twin_on_known_tables(monkeypatch, quick_profile, table, claim_outcome, twin_outcome):
    walks = _walks(table)
    monkeypatch.setattr(wd, "sweep", lambda spec, act: walks)
    spec = ProblemSpec(n=8, d=5, seed=0)
    for fn, outcome in ((wd.width_vs_depth, claim_outcome), (wd.fc_flat, twin_outcome)):
        if outcome is None:
            fn(spec, "relu")
        else:
            with pytest.raises(outcome):
                fn(spec, "relu")


def test_twin_caught_on_a_small_real_sweep(monkeypatch, quick_profile):
    """gelu, depths 2 and 8, widths 4..256: the fc threshold moves from ~64-128 to beyond the grid, the
    ResNet's stays put; the planted twin is falsified and the true claim holds."""
    widths = wd.width_grid
    monkeypatch.setattr(wd, "depth_grid", lambda: (2, 8))
    monkeypatch.setattr(wd, "width_grid", lambda depth: tuple(w for w in widths(depth) if w <= 256))
    spec = ProblemSpec(n=8, d=6, seed=1)
    wd._sweep.cache_clear()
    with pytest.raises(AssertionError, match="fc threshold growth"):
        wd.fc_flat(spec, "gelu")
    wd.width_vs_depth(spec, "gelu")
    walks = wd.sweep(spec, "gelu")
    assert walks[("fc", 8)].threshold.low >= 4 * walks[("fc", 2)].threshold.high
    assert wd._sweep.cache_info().hits >= 2  # the claim reused the twin's sweep
    wd._sweep.cache_clear()
