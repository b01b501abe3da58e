"""Convergence theory of deep ReLU nets (Allen-Zhu, Li, Song 2019): signal propagation at init, GD and SGD runs on the He family, decade ratios and iteration counts.

The claims are in ``claims/test_allen_zhu2019.py``; this module holds what they run.
"""

from __future__ import annotations

import math
import numpy as np
import torch
from hypothesis import strategies as st
from scipy import stats as sps
from harness.runtime.session import device
from harness.runtime.session import dtype
from harness.contract.claim import evidence
from harness.runtime.session import profile
from harness.runtime.seeding import trial_generators
from harness.contract.claim import undecided
from harness.contract.checks import decide_exponent, decide_probability, plot_rel_loss, plot_scaling, quantile_band
from harness.networks.deep import DeepNet, empirical_ntk, he_forward_norms, he_signal_norms
from harness.training.deep_engine import train_deep
from harness.runtime.shared_work import shared_work

#: input geometries drawn by the training claims: every one is delta-separated once mapped to (x / sqrt 2, 1 / sqrt 2)
#: (an antiparallel pair x, -x lands at distance sqrt 2). Not drawn: "near_parallel" (angles down to 1e-3, so delta ->
#: 0 and the paper's T ~ 1/delta^2 runs past any fixed step budget) and "duplicate" (delta = 0, the planted control).
SEPARATED_GEOMETRIES = ("separated", "sphere", "antipodal", "circle")

MODEL_SLACK = 0.2  #: the variance 5L/m is first order in L/m; allow +-20% for the neglected terms


def depths_and_widths():
    return st.deferred(
        lambda: st.tuples(st.sampled_from([128, 256, 512]), st.integers(2, profile().max_depth)).filter(lambda mw: mw[1] <= mw[0] // 8)
    )


def forward_stability(spec, mL, init_variance, cid, direction="forward"):
    ev = evidence()
    m, L = mL
    p = spec.build()
    R = 2 * profile().replicates
    gens = trial_generators(cid, spec.seed * 7919 + m * 131 + L, R)
    if direction == "forward":
        norms = he_forward_norms(p.X[:1], m, L, gens, init_variance)[:, :, 0]  # [R, L+1]
    else:  # ||g_l|| from the output down: column j is ||df/dh_{L-j}||
        norms = he_signal_norms(p.X[:1], m, L, gens, init_variance)[1][:, :, 0].flip(1)
    sym, first, last = ("h", "0", "L") if direction == "forward" else ("g", "L", "0")
    z = torch.log(norms[:, -1] ** 2 / norms[:, 0] ** 2).numpy()  # one input per seed: independent samples
    v = 5 * L / m
    mean, var = float(z.mean()), float(z.var(ddof=1))
    lo = (R - 1) * var / sps.chi2.ppf(0.995, R - 1)
    hi = (R - 1) * var / sps.chi2.ppf(0.005, R - 1)
    within = float(((norms[:, 1:] / norms[:, :1] >= 0.5) & (norms[:, 1:] / norms[:, :1] <= 1.5)).to(torch.float64).mean())
    ratio = f"log(||{sym}_{last}||^2 / ||{sym}_{first}||^2)"
    ev.size(m=m, L=L, seeds=R)
    ev.figure(f"mean of {ratio}", mean, predicted=-v / 2, relation=f"|mean| <= sqrt(5L/m) = {math.sqrt(v):.3f}")
    ev.figure(f"variance of {ratio}", var, predicted=v, interval=(lo, hi), relation=f"99% chi-square CI meets 5L/m (1 +- {MODEL_SLACK})")
    ev.figure(f"fraction of (seed, layer) with ||{sym}_l|| / ||{sym}_{first}|| in [1/2, 3/2]", within)
    ev.margin(abs(mean) / math.sqrt(v), "|mean log-norm ratio| / sqrt(5L/m)")
    logr = torch.log(norms**2 / norms[:, :1] ** 2)
    med, qlo, qhi = quantile_band(logr)
    ls = np.arange(L + 1)
    ev.plot(
        "norms",
        [
            {"label": f"log(||{sym}||^2 / ||{sym}_{first}||^2), median of {R} seeds (10-90%)", "x": ls, "y": med, "y_low": qlo, "y_high": qhi, "style": "band"},
            {"label": "+-1.28 sqrt(5 l / m) (10-90% if Gaussian)", "x": ls, "y": 1.28 * np.sqrt(5 * ls / m), "style": "bound"},
            {"label": "", "x": ls, "y": -1.28 * np.sqrt(5 * ls / m), "style": "bound"},
        ],
        title=f"{direction} signal across layers (m={m}, L={L}, init variance {init_variance:g}/m)",
        xlabel="layers from the " + ("input" if direction == "forward" else "output"),
        ylabel=f"log ||{sym}||^2 / ||{sym}_{first}||^2",
    )
    assert abs(mean) <= math.sqrt(v), (
        f"the {direction} signal drifts: mean {ratio} = {mean:.3f} beyond sqrt(5L/m) = {math.sqrt(v):.3f} "
        f"({'vanishing' if mean < 0 else 'exploding'})"
    )
    assert hi >= (1 - MODEL_SLACK) * v and lo <= (1 + MODEL_SLACK) * v, (
        f"variance of {ratio} {var:.4f} (99% CI [{lo:.4f}, {hi:.4f}]) is not 5L/m = {v:.4f} within +-{MODEL_SLACK:.0%}"
    )


# ----------------------------------------------------------------------------- training: SGD and classification

DELTA = 0.1
EPS = 1e-3  #: relative loss SGD must reach in the iteration-count claim


def _azls_inputs(X: torch.Tensor) -> torch.Tensor:
    """The paper's inputs: x -> (x / sqrt 2, 1 / sqrt 2), unit norm with last coordinate 1/sqrt(2) (a bias)."""
    return torch.cat([X / math.sqrt(2), torch.full((X.shape[0], 1), 1 / math.sqrt(2), dtype=X.dtype)], dim=1)


def _step(net: DeepNet, params: dict[str, torch.Tensor], X: torch.Tensor, c: float, batch: int) -> torch.Tensor:
    """eta = c (b / n) / lambda_max(Theta(0)) per seed: the paper's eta ~ b / m in its parameterization (Theta ~ m)."""
    one = DeepNet("he", net.width, net.depth, "relu")
    B = params["B"] if net.outputs == 1 else params["B"][:, 0]  # the NTK of one output
    theta = empirical_ntk(one, {"A": params["A"], "W": params["W"], "B": B}, X)
    return c * (batch / X.shape[0]) / torch.linalg.eigvalsh(theta)[:, -1]


def _sgd_widths() -> tuple[int, ...]:
    return {"quick": (32, 64, 128), "standard": (64, 128, 256, 512, 1024)}.get(profile().name, (128, 256, 512, 1024, 2048, 4096))


#: step budget of the SGD sweep, in profile steps (training stops early once every seed is below eps).
#: A seed that has not reached eps by then leaves the example undecided: on run seed 3 of the seed sweep
#: that left all three fresh-seed rounds of the planted twin undecided (the twin escaped), and a budget
#: of 4 did not cure it (run seed 0 then escaped the same way: slow seeds stay slow). Kept at 2; the
#: twin's power on other run seeds is an open problem (see the seed sweep).
SGD_BUDGET = 2


@shared_work(maxsize=8)
def _sgd_sweep(spec, depth: int, c: float, stretch: int = 1, more_seeds: int = 1) -> tuple[dict[int, torch.Tensor], dict]:
    """Steps to reach L <= EPS L(0) per seed at every width (shared by the claim and its planted twin),
    within ``stretch`` x SGD_BUDGET x the profile's steps, on ``more_seeds`` x scaling_seeds seeds (the
    first scaling_seeds are the true claim's)."""
    p = spec.build()
    X = _azls_inputs(p.X)
    b = max(1, p.n // 2)
    P = profile()
    steps = {m: None for m in _sgd_widths()}
    finals = {}
    for m in steps:
        net = DeepNet("he", m, depth, "relu")
        seed = spec.seed * 7919 + m * 31 + depth
        par = net.init(X.shape[1], trial_generators("azls2019.thm2.sgd", seed, more_seeds * P.scaling_seeds))
        eta = _step(net, par, X, c, b)
        tr = train_deep(
            net, par, X, p.y, steps=stretch * SGD_BUDGET * P.steps, eta=eta, batch_size=b, stop_below=EPS,
            batch_generators=trial_generators("azls2019.thm2.sgd.batches", seed, more_seeds * P.scaling_seeds), device=device(), dtype=dtype(),
        )
        steps[m] = tr.steps_to(EPS)
        finals[m] = tr
    return steps, {"n": p.n, "d": X.shape[1], "b": b, "delta": p.min_separation, "budget": stretch * SGD_BUDGET * P.steps, "trajectories": finals}


def sgd_iterations(spec, depth, c, predicted, alternative, tolerance, against, more_seeds=1):
    ev = evidence()
    for stretch in (1, 4, 16):  # a slow seed is not a slow law: give every seed 4x, then 16x the steps
        T, info = _sgd_sweep(spec, depth, c, stretch, more_seeds)
        if not any(torch.isinf(t).any() for t in T.values()):
            break
    ev.size(n=info["n"], d=info["d"], batch=info["b"], depth=depth, m_max=max(T), seeds=len(next(iter(T.values()))))
    ev.figure("min separation delta of the data", info["delta"])
    missed = {m: int(torch.isinf(t).sum()) for m, t in T.items()}
    if any(missed.values()):
        undecided(f"SGD did not reach L <= {EPS:g} L(0) within {info['budget']} steps on {missed} seeds (width: count); a larger budget would decide")
    ms = [m for m, t in T.items() for _ in t]
    ts = [float(v) for t in T.values() for v in t]
    for m, t in T.items():
        ev.figure(f"median steps to L <= {EPS:g} L(0) at m={m}", float(t.median()))
    med = {m: info["trajectories"][m] for m in T}
    lines = []
    for m, tr in med.items():
        q = quantile_band(tr.rel_loss())[0]
        lines.append({"label": f"m={m}, median of {tr.trials} seeds", "x": np.arange(q.size), "y": q, "style": "line"})
    ev.plot("loss", lines, title=f"SGD (b={info['b']}) on the he family, depth {depth}", xlabel="step k", ylabel="L(k) / L(0)", yscale="log")
    if against == "log m":
        x = [math.log(m) for m in ms]
        plot_scaling(ev, x, ts, predicted=predicted, title="steps to reach eps against log m", xlabel="log m", ylabel="steps")
        decide_exponent(ev, x, ts, predicted, tolerance, "steps to eps against log m", alternative=alternative)
    else:
        plot_scaling(ev, ms, ts, predicted=predicted, title="steps to reach eps against m", xlabel="width m", ylabel="steps")
        decide_exponent(ev, ms, ts, predicted, tolerance, "steps to eps against m", alternative=alternative)


def classification(spec, conflicting: bool, cid: str, classes: int = 3, depth: int = 2):
    ev = evidence()
    p = spec.build()
    P = profile()
    X = _azls_inputs(p.X)
    labels = torch.randint(0, classes, (p.n,), generator=torch.Generator().manual_seed(spec.seed))
    if conflicting:  # geometry "duplicate": x_{n-1} = x_0; give it another class
        labels[-1] = (labels[0] + 1) % classes
    m = 2 * P.deep_width
    net = DeepNet("he", m, depth, "relu", outputs=classes)
    par = net.init(X.shape[1], trial_generators(cid, spec.seed, P.replicates))
    b = max(1, p.n // 2)
    tr = train_deep(
        net, par, X, labels, steps=P.steps, eta=_step(net, par, X, 1.0, b), loss="ce", batch_size=b,
        batch_generators=trial_generators(cid + ".batches", spec.seed, P.replicates), device=device(), dtype=dtype(),
    )
    final = tr.accuracy[:, -1]
    reached = (tr.accuracy == 1).any(dim=1)
    first = torch.where(reached, (tr.accuracy == 1).to(torch.int64).argmax(dim=1).to(torch.float64), torch.tensor(float("inf")))
    ev.size(n=p.n, d=X.shape[1], classes=classes, m=m, depth=depth, batch=b, steps=P.steps)
    ev.figure("min separation delta of the data", p.min_separation)
    ev.figure("final training accuracy (min over seeds)", float(final.min()), predicted=1.0)
    ev.figure("first step at 100% accuracy (median)", float(first.median()))
    med, lo, hi = quantile_band(tr.accuracy)
    ks = np.arange(med.size)
    ev.plot(
        "accuracy",
        [
            {"label": f"training accuracy, median of {tr.trials} seeds (10-90%)", "x": ks, "y": med, "y_low": lo, "y_high": hi, "style": "band"},
            {"label": "100%", "x": [0, ks[-1]], "y": [1, 1], "style": "bound"},
        ],
        title=f"SGD with cross-entropy, {classes} random classes, he family m={m}, depth {depth}",
        xlabel="step k",
        ylabel="training accuracy",
    )
    decide_probability(ev, final < 1, DELTA, f"100% training accuracy after {P.steps} SGD steps")


# ----------------------------------------------------------------------------- GD: linear convergence (Theorem 1)

DECADE_RATIO = 2.0  #: a linear rate spends equal steps on every decade of loss; allow the rate to halve late in training


@shared_work(maxsize=8)
def _gd_run(spec, depth: int, c: float, stretch: int = 1):
    p = spec.build()
    P = profile()
    X = _azls_inputs(p.X)
    net = DeepNet("he", P.deep_width, depth, "relu")
    par = net.init(X.shape[1], trial_generators("azls2019.thm1.gd_linear", spec.seed * 7919 + depth, P.replicates))
    steps = 10 * P.steps * stretch
    tr = train_deep(net, par, X, p.y, steps=steps, eta=_step(net, par, X, c, p.n), stop_below=1e-9, device=device(), dtype=dtype())
    return p, X, tr


def _decade_ratio_bounds(tr) -> tuple[torch.Tensor, torch.Tensor]:
    """Per seed, bounds lo <= (T(1e-8) - T(1e-6)) / (T(1e-6) - T(1e-4)) <= hi from a run of K steps.

    A seed that reached 1e-8 has its ratio exactly; one that reached 1e-6 but not 1e-8 has ratio
    > (K - T(1e-6)) / (T(1e-6) - T(1e-4)) and no upper bound; one that did not reach 1e-6 is
    unbounded both ways (a slow run is not a slow rate). A diverged seed reads ratio = inf.
    """
    a, b, e = tr.steps_to(1e-4), tr.steps_to(1e-6), tr.steps_to(1e-8)
    K = float(tr.loss.shape[1] - 1)
    span = (b - a).clamp_min(1.0)
    inf = torch.full_like(a, float("inf"))
    exact = (e - b) / span
    lo = torch.where(e.isfinite(), exact, torch.where(b.isfinite(), (K - b) / span, torch.zeros_like(a)))
    hi = torch.where(e.isfinite(), exact, inf)
    lo = torch.where(tr.diverged, inf, lo)
    hi = torch.where(tr.diverged, inf, hi)
    return lo, hi


def gd_decades(spec, depth, c, predicate, what):
    """``predicate(lo, hi)`` gives (failed, unknown) per seed from the ratio's bounds; a run whose
    seeds stay unknown is rerun once with 4x the steps before the decision."""
    ev = evidence()
    p, X, tr = _gd_run(spec, depth, c)
    failed, unknown = predicate(*_decade_ratio_bounds(tr))
    if unknown.any():
        p, X, tr = _gd_run(spec, depth, c, stretch=4)
        failed, unknown = predicate(*_decade_ratio_bounds(tr))
    a, b, e = tr.steps_to(1e-4), tr.steps_to(1e-6), tr.steps_to(1e-8)
    ratio = (e - b) / (b - a)
    ev.size(n=p.n, d=X.shape[1], m=tr.model.width, depth=depth, budget=tr.loss.shape[1] - 1)
    ev.figure("steps from 1e-4 to 1e-6 L(0) (median)", float((b - a).median()))
    ev.figure("(T(1e-8) - T(1e-6)) / (T(1e-6) - T(1e-4)), max over seeds that reached 1e-8", float(ratio[e.isfinite()].max()) if e.isfinite().any() else float("nan"),
              predicted="1 for a linear rate, 10 for L ~ 1/k")
    ev.figure("seeds the run could not decide", int(unknown.sum()))
    if e.isfinite().any():
        ev.margin(float(ratio[e.isfinite()].max()) / DECADE_RATIO, f"max decade ratio / {DECADE_RATIO}")
    plot_rel_loss(ev, tr, None, bound_label="", title=f"GD on the he family (m={tr.model.width}, depth {depth}, eta = {c:.2f}/lambda_max)")
    decide_probability(ev, failed, DELTA, what, unknown=unknown)


def at_most(limit):
    return lambda lo, hi: (lo > limit, (lo <= limit) & (hi > limit))


def at_least(limit):
    return lambda lo, hi: (hi < limit, (hi >= limit) & (lo < limit))
