"""Decisions claims share: each records its evidence, then asserts or marks the example undecided.

* :func:`decide_probability` -- "holds with probability >= 1 - delta over the init", decided
  by exact one-sided binomial bounds over the seeds of one example (never by rerunning).
* :func:`decide_exponent` -- a scaling law, decided by the fitted exponent's interval.
* plotting helpers for the two report plots every rate claim wants.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING
from collections.abc import Callable, Sequence

import numpy as np
import torch
from hypothesis.errors import UnsatisfiedAssumption

from .claim import Evidence, undecided
from .stats import binomial_decision, compare_exponent, fit_exponent

if TYPE_CHECKING:  # a type only: training sits above this layer
    from ..training.trajectory import Trajectory

__all__ = ["decide_exponent", "decide_probability", "plot_rel_loss", "plot_scaling", "quantile_band"]


def decide_probability(
    ev: Evidence, failed: torch.Tensor, delta: float, what: str, unknown: torch.Tensor | None = None
) -> None:
    """Assert that ``failed`` (one bool per seed) is True on at most a ``delta`` fraction.

    Holds if the one-sided 95% upper bound on the failure rate is <= delta; fails (a
    falsification) if the lower bound is > delta; otherwise the example is undecided.

    ``unknown`` (one bool per seed) marks seeds the run could not decide (e.g. a training run
    that ended before the predicate could be read). They are bounded from both sides: the claim
    holds only if it holds with every unknown seed counted as a failure, and fails only if it
    fails with every unknown seed counted as a pass; anything between is undecided.
    """
    f = failed.flatten().to(torch.bool)
    u = torch.zeros_like(f) if unknown is None else unknown.flatten().to(torch.bool)
    if u.shape != f.shape:
        raise ValueError(f"unknown has {u.numel()} entries for {f.numel()} seeds")
    f = f & ~u
    n_unknown = int(u.sum())
    worst = binomial_decision(int(f.sum()) + n_unknown, int(f.numel()), delta)
    best = binomial_decision(int(f.sum()), int(f.numel()), delta)
    dec = worst if worst.decision == "holds" else best  # the two agree when no seed is unknown
    ev.figure(
        f"P(fail): {what}",
        dec.estimate,
        predicted=f"<= {delta}",
        interval=(best.ci_low, worst.ci_high),
        relation="one-sided exact 95% bounds over seeds" + (f" ({n_unknown} undecided seeds counted both ways)" if n_unknown else ""),
    )
    ev.size(seeds=f.numel())
    if worst.decision != "holds" and best.decision != "violated":
        extra = f" and {n_unknown} seed(s) the run could not decide" if n_unknown else ""
        need = f"; about {dec.seeds_needed} seeds would decide" if not n_unknown else ""
        undecided(
            f"{what}: {int(f.sum())}/{dec.trials} seeds failed{extra}, bounds [{best.ci_low:.3f}, {worst.ci_high:.3f}] "
            f"straddle delta={delta}{need}"
        )
    assert worst.decision == "holds", (
        f"{what} failed on {best.failures}/{best.trials} seeds: the failure rate is > delta={delta} "
        f"with 95% confidence (lower bound {best.ci_low:.3f})"
    )


def decide_exponent(
    ev: Evidence,
    x: Sequence[float],
    y: Sequence[float],
    predicted: float,
    tolerance: float,
    what: str,
    alternative: str = "two-sided",
) -> None:
    """Fit y ~ x^slope and assert the slope's 95% interval agrees with the prediction.

    ``two-sided``: inside predicted +- tolerance; ``at_least``: not below predicted - tolerance;
    ``at_most``: not above predicted + tolerance (see :func:`harness.stats.compare_exponent`).
    """
    fit = fit_exponent(x, y)
    cmp_ = compare_exponent(fit, predicted, tolerance, alternative)
    wanted = {
        "two-sided": f"95% CI within {predicted:g} +- {tolerance:g}",
        "at_least": f"95% CI above {predicted - tolerance:g}",
        "at_most": f"95% CI below {predicted + tolerance:g}",
    }[alternative]
    ev.figure(f"exponent: {what}", fit.slope, predicted=predicted, interval=(fit.ci_low, fit.ci_high), relation=wanted)
    if alternative == "two-sided":
        far = max(abs(fit.ci_low - predicted), abs(fit.ci_high - predicted))
        ev.margin(far / tolerance, f"farthest CI end from the predicted exponent / tolerance ({what})")
    elif alternative == "at_least":
        ev.margin((predicted - fit.ci_low) / tolerance, f"(predicted - CI low) / tolerance ({what})")
    else:
        ev.margin((fit.ci_high - predicted) / tolerance, f"(CI high - predicted) / tolerance ({what})")
    if cmp_.decision == "undecided":
        undecided(
            f"{what}: exponent {fit.slope:.3f} with CI [{fit.ci_low:.3f}, {fit.ci_high:.3f}] is not decided against "
            f"'{wanted}'; more widths or seeds would decide"
        )
    assert cmp_.decision == "holds", (
        f"{what}: fitted exponent {fit.slope:.3f}, 95% CI [{fit.ci_low:.3f}, {fit.ci_high:.3f}], contradicts '{wanted}'"
    )


def decide_all(*decisions: Callable[[], object]) -> None:
    """Run every decision (a callable that asserts, or defers with :func:`undecided`), so that every
    figure is recorded, then fail with all the failures if any failed, defer if any was undecided,
    and hold otherwise."""
    failed, open_ = [], []
    for decide in decisions:
        try:
            decide()
        except AssertionError as e:
            failed.append(str(e))
        except UnsatisfiedAssumption as e:
            open_.append(str(e))
    assert not failed, "; ".join(failed)
    if open_:
        undecided("; ".join(open_))


def decide_exponents(ev: Evidence, fits: Sequence[tuple]) -> None:
    """:func:`decide_exponent` on every ``(x, y, predicted, tolerance, what, alternative)``, decided
    together by :func:`decide_all`."""
    decide_all(*(functools.partial(decide_exponent, ev, x, y, p, tol, what, alternative=alt) for x, y, p, tol, what, alt in fits))


def quantile_band(series: torch.Tensor, q: float = 0.1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Median and (q, 1-q) quantiles over trials of a [T, K] series (inf-safe)."""
    s = series.to(torch.float64).clone()
    s[~torch.isfinite(s)] = float("nan")
    med = torch.nanquantile(s, 0.5, dim=0)
    lo = torch.nanquantile(s, q, dim=0)
    hi = torch.nanquantile(s, 1 - q, dim=0)
    return med.numpy(), lo.numpy(), hi.numpy()


def plot_rel_loss(
    ev: Evidence,
    tr: Trajectory,
    bound: torch.Tensor | None,
    *,
    bound_label: str,
    title: str,
    x: np.ndarray | None = None,
    xlabel: str = "step k",
    extra: list[dict] | None = None,
) -> None:
    """Relative loss over the steps (median, 10-90% band over seeds) against a bound, log scale."""
    med, lo, hi = quantile_band(tr.rel_loss())
    xs = np.arange(med.size) if x is None else x
    lines = [{"label": f"L(k)/L(0), median of {tr.trials} seeds (10-90% band)", "x": xs, "y": med, "y_low": lo, "y_high": hi, "style": "band"}]
    if bound is not None:
        lines.append({"label": bound_label, "x": xs, "y": bound.numpy(), "style": "bound"})
    lines += extra or []
    if np.nanmin(lo) < tr.floor_rel * 1e6:  # draw the float floor only where the curve gets near it
        lines.append({"label": "check floor (bounds below it are not checked)", "x": [xs[0], xs[-1]], "y": [tr.floor_rel, tr.floor_rel], "style": "fit"})
    ev.plot("loss", lines, title=title, xlabel=xlabel, ylabel="L(k) / L(0)", yscale="log")


def plot_scaling(
    ev: Evidence,
    x: Sequence[float],
    y: Sequence[float],
    *,
    predicted: float,
    title: str,
    xlabel: str,
    ylabel: str,
    name: str = "scaling",
) -> None:
    """Log-log points with the fitted line and a line of the predicted slope through the same centre."""
    xa, ya = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    fit = fit_exponent(xa, ya)
    grid = np.geomspace(xa.min(), xa.max(), 20)
    cx, cy = np.exp(np.log(xa).mean()), np.exp(np.log(ya).mean())
    lines = [
        {"label": "measured (each seed)", "x": xa, "y": ya, "style": "points"},
        {"label": f"fit: slope {fit.slope:.3f} [{fit.ci_low:.3f}, {fit.ci_high:.3f}]", "x": grid, "y": fit.predict(grid), "style": "fit"},
        {"label": f"predicted slope {predicted:g}", "x": grid, "y": cy * (grid / cx) ** predicted, "style": "bound"},
    ]
    ev.plot(name, lines, title=title, xlabel=xlabel, ylabel=ylabel, xscale="log", yscale="log")
