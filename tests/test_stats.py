"""harness.stats: exponent fits, three-valued comparisons, exact binomial decisions, log-linear rates."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from harness.contract.stats import (
    BinomialDecision,
    ScalingFit,
    binomial_decision,
    compare_exponent,
    fit_exponent,
    log_linear_rate,
)

# ============================================================================ fit_exponent


def _power_law(points: int, seed: int = 0, noise: float = 0.1):
    rng = np.random.default_rng(seed)
    x = np.geomspace(10, 10_000, points)
    y = 3.0 * x**-0.5 * np.exp(noise * rng.standard_normal(points))
    return x, y


def test_fit_exponent_recovers_slope():
    x, y = _power_law(12)
    fit = fit_exponent(x, y)
    assert fit.ci_low < -0.5 < fit.ci_high, (
        f"true slope -0.5 outside CI [{fit.ci_low:.3f}, {fit.ci_high:.3f}]"
    )
    assert abs(fit.slope + 0.5) < 0.1
    assert abs(math.exp(fit.intercept) - 3.0) < 1.0
    assert fit.points == 12
    assert fit.confidence == 0.95
    assert 0.9 < fit.r2 <= 1
    # the interval is the t-interval of scipy's linregress
    res = sps.linregress(np.log(x), np.log(y))
    half = sps.t.ppf(0.975, 10) * res.stderr
    assert fit.ci_low == pytest.approx(res.slope - half, rel=1e-12)
    assert fit.ci_high == pytest.approx(res.slope + half, rel=1e-12)
    np.testing.assert_allclose(
        fit.predict([10.0, 100.0]), np.exp(fit.intercept) * np.array([10.0, 100.0]) ** fit.slope
    )
    assert fit.to_dict()["slope"] == fit.slope


def test_fit_exponent_exact_power_law():
    x = np.array([1.0, 2.0, 4.0, 8.0])
    fit = fit_exponent(x, 3.0 * x**-0.5)
    assert fit.slope == pytest.approx(-0.5, abs=1e-12)
    assert fit.intercept == pytest.approx(math.log(3.0), abs=1e-12)
    assert fit.ci_high - fit.ci_low < 1e-10


def test_fit_exponent_ci_shrinks_with_more_points():
    widths = []
    for points in (6, 24, 96):
        fit = fit_exponent(*_power_law(points, seed=1))
        assert fit.ci_low < -0.5 < fit.ci_high, (
            f"{points} points: CI [{fit.ci_low:.3f}, {fit.ci_high:.3f}] misses -0.5"
        )
        widths.append(fit.ci_high - fit.ci_low)
    assert widths[0] > widths[1] > widths[2], f"CI widths should shrink: {widths}"
    # replicates at the same x count as points (seed-to-seed spread widens nothing away)
    x = np.repeat([10.0, 100.0, 1000.0], 4)
    rng = np.random.default_rng(2)
    y = 3.0 * x**-0.5 * np.exp(0.1 * rng.standard_normal(x.size))
    assert fit_exponent(x, y).points == 12


def test_fit_exponent_confidence_level():
    x, y = _power_law(10, seed=3)
    f90, f99 = fit_exponent(x, y, confidence=0.90), fit_exponent(x, y, confidence=0.99)
    assert (f99.ci_high - f99.ci_low) > (f90.ci_high - f90.ci_low)
    assert f90.slope == f99.slope


@pytest.mark.parametrize(
    ("x", "y", "match"),
    [
        ([1.0, 2.0], [1.0, 2.0], ">= 3 paired points"),
        ([1.0, 2.0, 3.0], [1.0, 2.0], ">= 3 paired points"),
        ([2.0, 2.0, 2.0], [1.0, 2.0, 3.0], "two distinct x"),
        ([1.0, 2.0, 3.0], [1.0, 0.0, 3.0], "positive, finite"),
        ([1.0, 2.0, 3.0], [1.0, -1.0, 3.0], "positive, finite"),
        ([1.0, 2.0, 3.0], [1.0, float("inf"), 3.0], "positive, finite"),
        ([0.0, 2.0, 3.0], [1.0, 2.0, 3.0], "positive, finite"),
    ],
)
def test_fit_exponent_errors(x, y, match):
    with pytest.raises(ValueError, match=match):
        fit_exponent(x, y)


# ============================================================================ compare_exponent


def _fit(lo: float, hi: float) -> ScalingFit:
    return ScalingFit(
        slope=(lo + hi) / 2,
        intercept=0.0,
        ci_low=lo,
        ci_high=hi,
        confidence=0.95,
        r2=1.0,
        points=10,
    )


@pytest.mark.parametrize(
    ("lo", "hi", "alternative", "expected"),
    [
        (-0.52, -0.48, "two-sided", "holds"),
        (-0.55, -0.45, "two-sided", "holds"),  # touching the margin still holds
        (-1.1, -0.9, "two-sided", "violated"),
        (-0.3, -0.1, "two-sided", "violated"),
        (-0.6, -0.4, "two-sided", "undecided"),
        (-0.5, 0.5, "two-sided", "undecided"),
        (-0.54, 2.0, "at_least", "holds"),
        (-0.9, -0.6, "at_least", "violated"),
        (-0.6, -0.5, "at_least", "undecided"),
        (-2.0, -0.46, "at_most", "holds"),
        (-0.4, -0.2, "at_most", "violated"),
        (-0.5, -0.4, "at_most", "undecided"),
    ],
)
def test_compare_exponent(lo, hi, alternative, expected):
    cmp = compare_exponent(_fit(lo, hi), predicted=-0.5, tolerance=0.05, alternative=alternative)
    assert cmp.decision == expected, f"CI [{lo}, {hi}] {alternative}: {cmp.decision} != {expected}"
    assert cmp.predicted == -0.5
    assert cmp.tolerance == 0.05
    assert cmp.alternative == alternative
    assert cmp.to_dict()["fit"]["ci_low"] == lo


def test_compare_exponent_on_a_real_fit():
    fit = fit_exponent(*_power_law(40, seed=4, noise=0.02))
    assert compare_exponent(fit, -0.5, 0.05).decision == "holds"
    assert compare_exponent(fit, -1.0, 0.05).decision == "violated"


def test_compare_exponent_bad_alternative():
    with pytest.raises(ValueError, match="alternative must be"):
        compare_exponent(_fit(-0.6, -0.4), -0.5, 0.1, alternative="greater")


# ============================================================================ binomial_decision


def _cp_reference(k: int, n: int, confidence: float):
    """One-sided exact bounds straight from scipy.stats.binomtest and from the beta quantiles."""
    lo = (
        sps.binomtest(k, n, alternative="greater")
        .proportion_ci(confidence_level=confidence, method="exact")
        .low
    )
    hi = (
        sps.binomtest(k, n, alternative="less")
        .proportion_ci(confidence_level=confidence, method="exact")
        .high
    )
    alpha = 1 - confidence
    lo_beta = 0.0 if k == 0 else sps.beta.ppf(alpha, k, n - k + 1)
    hi_beta = 1.0 if k == n else sps.beta.ppf(1 - alpha, k + 1, n - k)
    assert lo == pytest.approx(lo_beta, abs=1e-10)
    assert hi == pytest.approx(hi_beta, abs=1e-10)
    return lo, hi


@pytest.mark.parametrize(
    ("k", "n", "expected"),
    [
        (0, 64, "holds"),
        (30, 64, "violated"),
        (3, 32, "undecided"),
        (0, 30, "holds"),
        (1, 64, "holds"),
    ],
)
def test_binomial_decision(k, n, expected):
    dec = binomial_decision(k, n, delta=0.1)
    assert isinstance(dec, BinomialDecision)
    assert dec.decision == expected, f"{k}/{n} at delta=0.1: {dec}"
    lo, hi = _cp_reference(k, n, 0.95)
    assert dec.ci_low == pytest.approx(lo, abs=1e-12)
    assert dec.ci_high == pytest.approx(hi, abs=1e-12)
    assert dec.estimate == k / n
    assert dec.failures == k
    assert dec.trials == n
    assert dec.delta == 0.1
    assert dec.confidence == 0.95
    if expected == "undecided":
        assert dec.seeds_needed > n
    else:
        assert dec.seeds_needed == 0
    assert dec.to_dict()["decision"] == expected


def test_binomial_zero_of_64_upper_bound_closed_form():
    dec = binomial_decision(0, 64, delta=0.1)
    assert dec.ci_low == 0.0
    assert dec.ci_high == pytest.approx(1 - 0.05 ** (1 / 64), rel=1e-10)


def test_binomial_seeds_needed_decides_at_the_observed_rate():
    dec = binomial_decision(3, 32, delta=0.1)
    N = dec.seeds_needed
    assert 32 < N <= 100_000
    lo, hi = _cp_reference(round(3 / 32 * N), N, 0.95)
    assert hi <= 0.1 or lo > 0.1, f"at N={N} seeds the observed rate must decide"
    # an undecided case with a rate above delta: the extra seeds decide "violated"
    dec2 = binomial_decision(4, 20, delta=0.1)
    assert dec2.decision == "undecided"
    assert dec2.seeds_needed > 20
    lo2, _ = _cp_reference(round(0.2 * dec2.seeds_needed), dec2.seeds_needed, 0.95)
    assert lo2 > 0.1
    assert binomial_decision(5, 20, delta=0.1).decision == "violated"
    dec3 = binomial_decision(0, 10, delta=0.1)
    assert dec3.decision == "undecided"
    assert binomial_decision(0, dec3.seeds_needed, delta=0.1).decision == "holds"


def test_binomial_seeds_needed_is_capped():
    dec = binomial_decision(3, 30, delta=0.1)  # rate exactly delta: never decidable
    assert dec.decision == "undecided"
    assert dec.seeds_needed <= 100_000, (
        f"seeds_needed={dec.seeds_needed} exceeds the documented cap"
    )


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((0, 0, 0.1), "trials >= 1"),
        ((-1, 10, 0.1), "not in"),
        ((11, 10, 0.1), "not in"),
        ((1, 10, 0.0), "delta must be in"),
        ((1, 10, 1.0), "delta must be in"),
    ],
)
def test_binomial_decision_errors(args, match):
    with pytest.raises(ValueError, match=match):
        binomial_decision(*args)


# ============================================================================ log_linear_rate


def test_log_linear_rate_recovers_geometric_factor():
    k = np.arange(300)
    rel = 0.9**k
    assert abs(log_linear_rate(rel, 1e-12, 1e-1) - 0.9) < 1e-12
    assert abs(log_linear_rate(torch.tensor(rel), 1e-12, 1e-1) - 0.9) < 1e-12
    assert abs(log_linear_rate(list(rel), 1e-12, 1e-1) - 0.9) < 1e-12
    # the window skips a fast transient and a floor
    mixed = np.concatenate(
        [[1.0, 0.3, 0.1], 0.1 * 0.8 ** np.arange(1, 60), [1e-300] * 5, [float("inf")]]
    )
    assert abs(log_linear_rate(mixed, 1e-20, 0.09) - 0.8) < 1e-12


def test_log_linear_rate_nan_with_fewer_than_three_points():
    rel = 0.9 ** np.arange(50)
    # only 0.9^5 = 0.59 and 0.9^6 = 0.53 fall in [0.5, 0.6]
    assert math.isnan(log_linear_rate(rel, 0.5, 0.6))
    assert math.isnan(log_linear_rate([1.0, 0.5], 0.0, 1.0))
    assert math.isnan(log_linear_rate([float("nan")] * 10, 0.0, 1.0))
    assert not math.isnan(log_linear_rate(rel, 0.5, 0.7))  # 0.9^4 .. 0.9^6: three points


@settings(max_examples=200, deadline=None, database=None)
@given(
    alpha=st.floats(0.0, 6.0),
    scale=st.floats(0.5, 50.0),
    ns=st.lists(st.sampled_from([4, 8, 16, 32, 64, 128, 256]), min_size=2, max_size=6, unique=True),
)
def test_bracketed_exponent_contains_the_true_exponent_of_synthetic_thresholds(alpha, scale, ns):
    """Thresholds t(n) = scale n^alpha seen only through a doubling grid of widths: the certified range
    always holds the true exponent, and it narrows as the n grid widens."""
    from harness.contract.stats import bracketed_exponent

    ns = sorted(ns)
    t = [scale * n**alpha for n in ns]
    lo = [2.0 ** math.floor(math.log2(v)) for v in t]
    hi = [2 * v for v in lo]
    fit = bracketed_exponent(ns, lo, hi)
    assert fit.feasible
    assert fit.lo - 1e-9 <= alpha <= fit.hi + 1e-9
    span = math.log2(ns[-1] / ns[0])
    assert fit.hi - fit.lo <= 2 / span + 1e-9, "two brackets of a factor 2 at the ends bound the slope to 2 / log2(span)"


def test_bracketed_exponent_rejects_bad_input_and_flags_no_power_law():
    from harness.contract.stats import bracketed_exponent

    with pytest.raises(ValueError, match="two or more distinct"):
        bracketed_exponent([8, 8], [1, 2], [2, 4])
    with pytest.raises(ValueError, match="0 < lo < hi"):
        bracketed_exponent([8, 16], [2, 4], [2, 8])
    zigzag = bracketed_exponent([8, 16, 32], [8, 64, 8], [16, 128, 16])
    assert not zigzag.feasible and math.isnan(zigzag.lo)


def test_fit_exponent_of_points_on_one_line_is_exact():
    """A threshold flat in n (every m* the same) gave a NaN interval (scipy's r is 0/0): the slope is exact."""
    from harness.contract.stats import fit_exponent

    flat = fit_exponent([8, 8, 16, 16, 32, 32], [16, 16, 16, 16, 16, 16])
    assert (flat.slope, flat.ci_low, flat.ci_high) == (0.0, 0.0, 0.0)
    line = fit_exponent([2, 4, 8], [4, 16, 64])
    assert line.slope == pytest.approx(2.0) and line.ci_low == pytest.approx(2.0) and line.ci_high == pytest.approx(2.0)
