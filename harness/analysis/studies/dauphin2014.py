"""Saddles outnumber minima (Dauphin et al. 2014): critical points of small MLPs, their Hessian index against their loss.

The claims are in ``claims/test_dauphin2014.py``; this module holds what they run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
import numpy as np
import torch
from hypothesis import strategies as st
from harness.data.problems import ProblemSpec
from harness.runtime.session import device
from harness.contract.claim import evidence
from harness.runtime.session import profile
from harness.runtime.seeding import trial_generators
from harness.contract.claim import undecided
from harness.contract.checks import decide_probability
from harness.analysis.critical import CriticalPoints, Objective, distinct, find_critical_points, gd_snapshots, mlp_objective, spearman_bootstrap
from harness.networks.mlp import MLP
from harness.runtime.seeding import generator
from harness.runtime.shared_work import shared_work
from harness.contract.stats import binomial_decision

SWEEP_ID = "dauphin2014.critical_points"  #: seed namespace shared by every claim of this module
WEIGHT_DECAY = 1e-3
LR = 0.5
GD_STEPS = (0, 10, 50, 200, 1000)
LM_ITERS, NEWTON_ITERS = 40, 120
GTOL = 1e-10  #: ||grad L|| below which a point counts as critical (float64)
RTOL = 1e-6  #: negative eigenvalue: lambda < -RTOL max|lambda| (the catalogue's pitfall)
RHO = 0.5  #: the predicate's Spearman threshold
MIN_POINTS = 12  #: fewer distinct critical points leave the example undecided
DELTA_FRAC = 0.1  #: Delta = 0.1 (L(0) - L_min): "much higher than the global minimum"
DELTA = 0.1  #: allowed fraction of local minima above L_min + Delta

#: (d, h, c, n, inits) per profile; P = h (d + 1) + c (h + 1)
SIZES = {
    "quick": (4, 8, 2, 40, 40),  # P = 58, 200 starts
    "standard": (6, 12, 3, 80, 32),  # P = 123, 160 starts
    "nightly": (8, 16, 4, 120, 48),  # P = 212, 240 starts
}


@dataclass(frozen=True)
class Case:
    """One landscape: data seed, activation and sizes (hashable: the key of the shared sweep)."""

    seed: int
    activation: str
    d: int
    h: int
    c: int
    n: int
    inits: int


@dataclass
class Sweep:
    case: Case
    points: CriticalPoints  #: distinct critical points
    converged: int  #: starts that reached ||grad L|| <= GTOL
    starts: int
    by_step: dict[int, int]  #: converged starts per GD step of the start
    L_min: float  #: lowest loss found (critical points and GD end points)
    L_zero: float  #: L(theta = 0) = mean ||y||^2 / 2: the trivial predictor
    grad_scale: float  #: median ||grad L|| at the random inits
    train_error: np.ndarray  #: unregularised MSE at each distinct point
    n_params: int
    seconds: float


def case_for(seed: int, activation: str) -> Case:
    d, h, c, n, inits = SIZES.get(profile().name, SIZES["quick"])
    return Case(int(seed), activation, d, h, c, n, inits)


def landscape(case: Case) -> tuple[MLP, Objective, torch.Tensor, torch.Tensor]:
    p = ProblemSpec(n=case.n, d=case.d, seed=case.seed).build()
    Y = torch.randn(case.n, case.c, generator=generator("dauphin2014.targets", case.seed), dtype=torch.float64)
    mlp = MLP((case.d, case.h, case.c), case.activation)
    X, Y = p.X.to(device()), Y.to(device())
    return mlp, mlp_objective(mlp, X, Y, weight_decay=WEIGHT_DECAY), X, Y


@shared_work(maxsize=4)
def sweep(case: Case) -> Sweep:
    """Critical points of one landscape from GD-snapshot starts, shared by every claim on ``case``."""
    mlp, obj, X, Y = landscape(case)
    th0 = mlp.init(trial_generators(SWEEP_ID, case.seed * 7919 + case.h, case.inits)).to(device())
    starts, tags = gd_snapshots(obj, th0, LR, GD_STEPS)
    cp = find_critical_points(obj, starts, lm_iters=LM_ITERS, newton_iters=NEWTON_ITERS, gtol=GTOL, rtol=RTOL)
    pts = distinct(cp)
    gd_end = obj.loss(starts[tags.to(starts.device) == max(GD_STEPS)]).cpu()
    L_min = min(float(gd_end.min()), float(pts.loss.min()) if len(pts) else math.inf)
    L_zero = float(obj.loss(torch.zeros(1, mlp.n_params, dtype=torch.float64, device=X.device)))
    steps = tags[cp.origin]
    train_err = mlp.loss(pts.theta.to(X.device), X, Y).cpu().numpy() if len(pts) else np.zeros(0)
    return Sweep(
        case=case,
        points=pts,
        converged=len(cp),
        starts=cp.starts,
        by_step={k: int((steps == k).sum()) for k in GD_STEPS},
        L_min=L_min,
        L_zero=L_zero,
        grad_scale=float(obj.grad(th0).norm(dim=1).median()),
        train_error=train_err,
        n_params=mlp.n_params,
        seconds=cp.seconds,
    )


# ----------------------------------------------------------------------------- evidence shared by the claims


def _record(ev, sw: Sweep) -> None:
    c, pts = sw.case, sw.points
    ev.size(n=c.n, d=c.d, m=c.h, outputs=c.c, params=sw.n_params, starts=sw.starts, critical_points=len(pts))
    ev.figure("starts that converged to ||grad L|| <= 1e-10", sw.converged, predicted=f"of {sw.starts}")
    ev.figure("converged starts by GD step of the start", {str(k): v for k, v in sw.by_step.items()})
    ev.figure("distinct critical points (copies under unit permutations / sign flips merged)", len(pts))
    if len(pts):
        ev.figure("max ||grad L|| at the points / median ||grad L|| at init", float(pts.grad_norm.max()) / sw.grad_scale, predicted="<= 1e-8")
        ev.figure("max Newton step ||H^+ grad L|| (distance to the exact critical point)", float(pts.newton_step.max()))
        ev.figure("max eigenvalues within 1e-6 max|lambda| (degenerate directions)", int(pts.zeros.max()), predicted=0)
        gap = (pts.eigenvalues.abs().amin(dim=1) / pts.eigenvalues.abs().amax(dim=1)).min()
        ev.figure("min over points of min|lambda| / max|lambda| (the index tolerance is 1e-6)", float(gap))
    ev.figure("L_min (lowest loss found) / L(0) (trivial predictor)", [sw.L_min, sw.L_zero])
    ev.figure("critical-point search seconds", round(sw.seconds, 2))


def _scatter(ev, sw: Sweep, threshold: float | None = None) -> None:
    pts = sw.points
    lines = [{"label": f"distinct critical points ({len(pts)})", "x": pts.loss.numpy(), "y": pts.index.numpy(), "style": "points"}]
    mins = pts.negatives == 0
    if bool(mins.any()):
        lines.append({"label": "index 0 (local minima)", "x": pts.loss[mins].numpy(), "y": pts.index[mins].numpy(), "style": "points"})
    if threshold is not None:
        lines.append({"label": "L_min + Delta", "x": [threshold, threshold], "y": [0.0, float(pts.index.max())], "style": "bound"})
    c = sw.case
    ev.plot(
        "index_vs_loss",
        lines,
        title=f"Index vs loss: MLP ({c.d}, {c.h}, {c.c}) {c.activation}, P={sw.n_params}, n={c.n}",
        xlabel="loss L (MSE + 1e-3/2 ||theta||^2) at the critical point",
        ylabel="index alpha (fraction of negative eigenvalues)",
    )


def _spectra(ev, sw: Sweep) -> None:
    pts = sw.points
    if len(pts) == 0:
        return
    order = torch.argsort(pts.loss)
    pick = sorted({int(order[0]), int(order[len(order) // 2]), int(order[-1])}, key=lambda i: float(pts.loss[i]))
    P = sw.n_params
    lines = [
        {
            "label": f"L={float(pts.loss[i]):.3f}, index {int(pts.negatives[i])}/{P}",
            "x": np.arange(1, P + 1),
            "y": pts.eigenvalues[i].numpy() / WEIGHT_DECAY,
            "style": "line",
        }
        for i in pick
    ]
    ev.plot("hessian_spectra", lines, title="Hessian spectra (sorted) at the lowest, median and highest critical point", xlabel="eigenvalue rank", ylabel="lambda_i / 1e-3 (symlog)", yscale="symlog")


# ----------------------------------------------------------------------------- decisions (tests call these)


def check_rho(ev, loss, index, *, control: bool, what: str) -> None:
    """Spearman rho(loss, index) with a 95% percentile bootstrap interval. True claim: rho > RHO holds if
    the interval is above RHO, fails if it is below. Control (rho <= 0): holds if the interval is below 0,
    fails if it is above 0. Otherwise undecided; undecided with fewer than MIN_POINTS points."""
    loss, index = np.asarray(loss, dtype=float), np.asarray(index, dtype=float)
    ev.size(critical_points=loss.size)
    if loss.size < MIN_POINTS:
        undecided(f"{what}: only {loss.size} distinct critical points (< {MIN_POINTS}); more starts would decide")
    if np.unique(index).size < 2:
        undecided(f"{what}: every critical point has the same index {index[0]:g}; rho is undefined")
    rho, lo, hi = spearman_bootstrap(loss, index, seed=loss.size)
    bound = 0.0 if control else RHO
    rel = "<= 0 (planted)" if control else f"> {RHO}"
    ev.figure(f"Spearman rho(loss, index): {what}", rho, predicted=rel, interval=(lo, hi), relation="95% percentile bootstrap over the critical points")
    if not control:
        ev.margin(RHO / lo if lo > 0 else math.inf, f"{RHO} / (CI low of rho) ({what}); <= 1 inside")
    if control:
        if lo <= 0.0 < hi:
            undecided(f"{what}: rho {rho:.3f}, CI [{lo:.3f}, {hi:.3f}] contains 0")
        assert hi <= bound, f"{what}: rho(loss, index) = {rho:.3f}, 95% CI [{lo:.3f}, {hi:.3f}] lies above 0: the index depends on the loss"
        return
    if lo <= bound <= hi:
        undecided(f"{what}: rho {rho:.3f}, CI [{lo:.3f}, {hi:.3f}] straddles {RHO}; more critical points would decide")
    assert lo > bound, f"{what}: rho(loss, index) = {rho:.3f}, 95% CI [{lo:.3f}, {hi:.3f}] is below {RHO}"


def check_saddles(ev, loss, negatives, L_min: float, L_ref: float, *, control: bool, what: str) -> None:
    """Among critical points with loss > L_min + Delta, Delta = DELTA_FRAC (L_ref - L_min): true claim,
    local minima (no negative eigenvalue) are at most a DELTA fraction; control, saddles are at most a
    DELTA fraction (i.e. >= 90% are local minima). Exact one-sided binomial bounds (decide_probability)."""
    loss, negatives = np.asarray(loss, dtype=float), np.asarray(negatives)
    thr = L_min + DELTA_FRAC * (L_ref - L_min)
    high = loss > thr
    ev.figure("Delta = 0.1 (L(0) - L_min); threshold L_min + Delta", [DELTA_FRAC * (L_ref - L_min), thr])
    ev.figure("critical points above the threshold / local minima among them", [int(high.sum()), int((negatives[high] == 0).sum())])
    minima = loss[negatives == 0]
    if minima.size:
        ev.figure("highest local minimum: (L - L_min) / (L(0) - L_min)", float((minima.max() - L_min) / (L_ref - L_min)), relation=f"reported; Delta is {DELTA_FRAC} of the range")
    if high.sum() == 0:
        undecided(f"{what}: no critical point above L_min + Delta")
    failed = torch.as_tensor(negatives[high] > 0) if control else torch.as_tensor(negatives[high] == 0)
    dec = binomial_decision(int(failed.sum()), int(failed.numel()), DELTA)
    ev.margin(dec.ci_high / DELTA, f"95% upper bound on the failure rate / delta ({what})")
    decide_probability(ev, failed, DELTA, what)


# ----------------------------------------------------------------------------- MLP claims


def mlp_case(seed: int, activation: str, *, kind: str, control: bool) -> None:
    ev = evidence()
    sw = sweep(case_for(seed, activation))
    _record(ev, sw)
    pts = sw.points
    if kind == "rho":
        if len(pts) >= 3:
            _scatter(ev, sw)
            _spectra(ev, sw)
            r_err = spearman_bootstrap(sw.train_error, pts.index.numpy(), seed=1)
            ev.figure("Spearman rho(unregularised training MSE, index) (reported)", r_err[0], interval=r_err[1:], relation="not asserted")
        check_rho(ev, pts.loss.numpy(), pts.index.numpy(), control=control, what=f"MLP {activation}, P={sw.n_params}")
        return
    thr = sw.L_min + DELTA_FRAC * (sw.L_zero - sw.L_min)
    if len(pts):
        _scatter(ev, sw, thr)
        _spectra(ev, sw)
    if len(pts) < MIN_POINTS:
        undecided(f"only {len(pts)} distinct critical points (< {MIN_POINTS})")
    label = "saddle fraction <= 0.1 above L_min + Delta (planted)" if control else "local minima above L_min + Delta"
    check_saddles(ev, pts.loss.numpy(), pts.negatives.numpy(), sw.L_min, sw.L_zero, control=control, what=f"{label}, MLP {activation}, P={sw.n_params}")


GIVEN = {"seed": st.integers(0, 2**16), "activation": st.sampled_from(["tanh", "gelu"])}
EXAMPLES = {"quick": 1, "standard": 3, "nightly": 6}
REGIME = (
    "Small MLPs (d, h, c) with the exact dense Hessian: quick (4, 8, 2) P=58, n=40, 200 starts; standard (6, 12, 3) "
    "P=123, n=80, 160 starts; nightly (8, 16, 4) P=212, n=120, 240 starts; tanh or gelu; Gaussian targets on unit "
    "inputs (the paper: down-sampled MNIST / CIFAR-10, larger nets); L2 term 1e-3/2 ||theta||^2 (see the module "
    "docstring: without it the found points are degenerate); float64. Drawn: the data seed (0..2^16) and the activation "
    "(tanh or gelu); the sizes are the profile's, one landscape per example (a full critical-point sweep, ~11 s CPU in "
    "quick). softplus and sigmoid nets are not drawn: GD from LeCun inits does not come near their minimum in 1000 steps, "
    "so the finder reaches no low critical points there (module docstring)."
)


# ----------------------------------------------------------------------------- the dimension control


def random_1d(seed: int, features: int = 64, length: float = 0.5, confine: float = 0.01) -> Objective:
    """f(x) = sum_k a_k cos(w_k x + phi_k) + confine x^2, a_k ~ N(0, 2/K), w_k ~ N(0, 1/length^2),
    phi_k ~ U[0, 2 pi): a random-Fourier-feature draw of a Gaussian process with a squared-exponential
    kernel of length ``length`` (variance 1), plus a weak confining term. Closed-form f', f''."""
    g = generator("dauphin2014.random_1d", seed)
    w = torch.randn(features, generator=g, dtype=torch.float64) / length
    ph = torch.rand(features, generator=g, dtype=torch.float64) * (2 * math.pi)
    a = torch.randn(features, generator=g, dtype=torch.float64) * math.sqrt(2.0 / features)

    def arg(x: torch.Tensor) -> torch.Tensor:
        return x[:, :1] * w + ph

    return Objective(
        loss=lambda x: (a * torch.cos(arg(x))).sum(1) + confine * x[:, 0] ** 2,
        grad=lambda x: (-(a * w * torch.sin(arg(x))).sum(1) + 2 * confine * x[:, 0]).unsqueeze(1),
        hessian=lambda x: (-(a * w * w * torch.cos(arg(x))).sum(1) + 2 * confine).view(-1, 1, 1),
        n_params=1,
    )


WINDOW = 8.0  #: the 1-D landscape is searched on [-8, 8] (200 starts)


def one_dimensional_points(seed: int) -> CriticalPoints:
    obj = random_1d(seed)
    starts = torch.linspace(-WINDOW, WINDOW, 200, dtype=torch.float64).unsqueeze(1)
    pts = distinct(find_critical_points(obj, starts, lm_iters=10, newton_iters=30, max_step=0.05, gtol=GTOL, rtol=RTOL))
    return pts.subset(pts.theta[:, 0].abs() <= WINDOW)
