"""Statistics for verdicts: rate fits, scaling exponents with intervals, exact binomial decisions.

Thin wrappers over scipy.stats (linregress, t, binomtest), each returning a small dataclass
that reports itself into the evidence of a claim. Every decision is three-valued:
``holds`` / ``violated`` / ``undecided`` -- never "rerun until green".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch
from scipy import stats as sps

__all__ = [
    "BinomialDecision",
    "BracketedExponent",
    "ExponentComparison",
    "ScalingFit",
    "binomial_decision",
    "bracketed_exponent",
    "compare_exponent",
    "fit_exponent",
    "log_linear_rate",
]


def log_linear_rate(rel_loss: torch.Tensor | Sequence[float], lo: float, hi: float) -> float:
    """Per-step contraction exp(slope) of log L(k) fitted where lo <= L(k)/L(0) <= hi.

    The window skips the fast initial transient (modes above ``hi``) and the numerical floor
    (below ``lo``). Returns NaN if fewer than 3 steps fall in the window.
    """
    v = np.asarray(rel_loss, dtype=np.float64)
    k = np.arange(v.size, dtype=np.float64)
    ok = np.isfinite(v) & (v >= lo) & (v <= hi)
    if ok.sum() < 3:
        return float("nan")
    slope = sps.linregress(k[ok], np.log(v[ok])).slope
    return float(math.exp(slope))


@dataclass(frozen=True)
class ScalingFit:
    """log y = intercept + slope * log x, with a two-sided confidence interval on the slope."""

    slope: float
    intercept: float
    ci_low: float
    ci_high: float
    confidence: float
    r2: float
    points: int

    def predict(self, x: float | np.ndarray) -> np.ndarray:
        return np.exp(self.intercept) * np.asarray(x, dtype=np.float64) ** self.slope

    def to_dict(self) -> dict:
        return asdict(self)


def fit_exponent(x: Sequence[float], y: Sequence[float], confidence: float = 0.95) -> ScalingFit:
    """Least-squares exponent of y ~ x^slope on log-log axes, with a t-interval.

    Pass every (x, y) point, replicates included: the interval then reflects seed-to-seed
    spread as well as curvature. Needs at least 3 points and 2 distinct x.
    """
    xa = np.asarray(x, dtype=np.float64)
    ya = np.asarray(y, dtype=np.float64)
    if xa.shape != ya.shape or xa.size < 3:
        raise ValueError(f"fit_exponent needs >= 3 paired points, got {xa.size} and {ya.size}")
    if np.unique(xa).size < 2:
        raise ValueError("fit_exponent needs at least two distinct x values")
    if (xa <= 0).any() or (ya <= 0).any() or not np.isfinite(ya).all():
        raise ValueError("fit_exponent needs positive, finite x and y (log-log fit)")
    lx, ly = np.log(xa), np.log(ya)
    res = sps.linregress(lx, ly)
    dof = xa.size - 2
    # every point on one line (e.g. a threshold flat in n): scipy's stderr is 0 or NaN (its r is 0/0); the
    # slope is then exact
    stderr = 0.0 if np.allclose(ly, res.intercept + res.slope * lx, rtol=0, atol=1e-12) else float(res.stderr)
    half = float(sps.t.ppf(0.5 + confidence / 2, dof) * stderr) if dof > 0 else float("inf")
    return ScalingFit(
        slope=float(res.slope),
        intercept=float(res.intercept),
        ci_low=float(res.slope - half),
        ci_high=float(res.slope + half),
        confidence=confidence,
        r2=float(res.rvalue**2) if np.isfinite(res.rvalue) else 1.0,
        points=int(xa.size),
    )


@dataclass(frozen=True)
class ExponentComparison:
    """A fitted exponent against a predicted one with an equivalence margin."""

    fit: ScalingFit
    predicted: float
    tolerance: float
    decision: str  #: "holds" / "violated" / "undecided" (see :func:`compare_exponent`)
    alternative: str = "two-sided"

    def to_dict(self) -> dict:
        return {**asdict(self), "fit": self.fit.to_dict()}


def compare_exponent(fit: ScalingFit, predicted: float, tolerance: float, alternative: str = "two-sided") -> ExponentComparison:
    """Test a fitted exponent against a prediction with a margin, using its confidence interval.

    ``two-sided`` (an equivalence test, "the exponent is predicted +- tolerance"):
    holds if the whole interval lies inside [predicted - tol, predicted + tol], violated if the
    interval misses it entirely, else undecided.
    ``at_least`` ("the exponent is not below predicted - tol", e.g. "eta* does not fall with m"):
    holds if ci_low >= predicted - tol, violated if ci_high < predicted - tol.
    ``at_most``: the mirror image.
    """
    lo, hi = predicted - tolerance, predicted + tolerance
    if alternative == "two-sided":
        if lo <= fit.ci_low and fit.ci_high <= hi:
            decision = "holds"
        elif fit.ci_high < lo or fit.ci_low > hi:
            decision = "violated"
        else:
            decision = "undecided"
    elif alternative == "at_least":
        decision = "holds" if fit.ci_low >= lo else "violated" if fit.ci_high < lo else "undecided"
    elif alternative == "at_most":
        decision = "holds" if fit.ci_high <= hi else "violated" if fit.ci_low > hi else "undecided"
    else:
        raise ValueError(f"alternative must be two-sided, at_least or at_most, got {alternative!r}")
    return ExponentComparison(fit, predicted, tolerance, decision, alternative)


@dataclass(frozen=True)
class BinomialDecision:
    """Did a property fail on at most a delta fraction of seeds? (one-sided exact Clopper-Pearson bounds)."""

    failures: int
    trials: int
    delta: float
    confidence: float
    estimate: float
    ci_low: float
    ci_high: float
    decision: str  #: "holds" (upper bound <= delta), "violated" (lower bound > delta), else "undecided"
    seeds_needed: int  #: seeds that would decide an undecided case at the observed rate (0 if decided; capped at 100000)

    def to_dict(self) -> dict:
        return asdict(self)


def _cp_bounds(k: int, n: int, confidence: float) -> tuple[float, float]:
    """One-sided exact (Clopper-Pearson) lower and upper bounds, each at ``confidence``."""
    lo = sps.binomtest(k, n, alternative="greater").proportion_ci(confidence_level=confidence, method="exact").low
    hi = sps.binomtest(k, n, alternative="less").proportion_ci(confidence_level=confidence, method="exact").high
    return float(lo), float(hi)


def binomial_decision(failures: int, trials: int, delta: float, confidence: float = 0.95) -> BinomialDecision:
    """Decide "P(failure) <= delta" from ``failures`` out of ``trials`` independent seeds.

    Two one-sided exact (Clopper-Pearson) tests at ``confidence``: ``holds`` if the upper bound
    on the failure rate is <= delta, ``violated`` if the lower bound is > delta, else
    ``undecided``, with ``seeds_needed`` the smallest total seed count at which the observed
    failure rate would decide it (capped at 100000). 0 failures in 30 seeds decide delta = 0.1.
    """
    if trials <= 0:
        raise ValueError("binomial_decision needs trials >= 1")
    if not 0 <= failures <= trials:
        raise ValueError(f"failures={failures} not in [0, {trials}]")
    if not 0 < delta < 1:
        raise ValueError(f"delta must be in (0, 1), got {delta}")
    lo, hi = _cp_bounds(failures, trials, confidence)
    decision = "holds" if hi <= delta else "violated" if lo > delta else "undecided"
    need = 0
    if decision == "undecided":
        rate = failures / trials
        N = trials
        while N < 100_000:
            N = int(N * 1.25) + 1
            lo2, hi2 = _cp_bounds(round(rate * N), N, confidence)
            if hi2 <= delta or lo2 > delta:
                break
        need = min(N, 100_000)
    return BinomialDecision(failures, trials, delta, confidence, failures / trials, lo, hi, decision, need)


@dataclass(frozen=True)
class BracketedExponent:
    """The exponent alpha of a law t(x) ~ x^alpha from thresholds known only up to brackets
    lo_i < t(x_i) <= hi_i (a doubling grid of widths and a finite set of seeds bound each threshold
    from both sides): ``lo``..``hi`` is every slope of a line log t = alpha log x + b that passes
    through all the brackets (a certified range, not a confidence interval: it holds for every
    threshold inside its bracket), ``point`` the least-squares slope through the brackets' geometric
    midpoints. ``feasible`` is False when no single power law fits every bracket."""

    point: float
    lo: float
    hi: float
    feasible: bool
    points: int

    def to_dict(self) -> dict:
        return asdict(self)


def bracketed_exponent(x: Sequence[float], lo: Sequence[float], hi: Sequence[float]) -> BracketedExponent:
    """See :class:`BracketedExponent`. Needs at least two distinct x and 0 < lo_i < hi_i."""
    from scipy.optimize import linprog

    lx = np.log(np.asarray(x, dtype=np.float64))
    llo = np.log(np.asarray(lo, dtype=np.float64))
    lhi = np.log(np.asarray(hi, dtype=np.float64))
    if lx.size < 2 or np.unique(lx).size < 2:
        raise ValueError("bracketed_exponent needs thresholds at two or more distinct x")
    if not (np.all(np.isfinite(llo)) and np.all(np.isfinite(lhi)) and np.all(llo < lhi)):
        raise ValueError("bracketed_exponent needs 0 < lo < hi for every bracket")
    point = float(sps.linregress(lx, (llo + lhi) / 2).slope)
    # variables (alpha, b): llo_i <= alpha lx_i + b <= lhi_i  (the open lower end is a closed one here)
    A = np.concatenate([np.stack([lx, np.ones_like(lx)], 1), -np.stack([lx, np.ones_like(lx)], 1)])
    ub = np.concatenate([lhi, -llo])
    ends = []
    for sign in (1.0, -1.0):
        res = linprog(c=[sign, 0.0], A_ub=A, b_ub=ub, bounds=[(None, None), (None, None)], method="highs")
        if res.status != 0:
            return BracketedExponent(point, float("nan"), float("nan"), False, int(lx.size))
        ends.append(float(res.x[0]))
    return BracketedExponent(point, ends[0], ends[1], True, int(lx.size))
