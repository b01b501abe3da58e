"""Lazy training (Chizat, Oyallon, Bach 2019): the alpha-scaled objective and how far parameters and the NTK move.

The claims are in ``claims/test_chizat2019.py``; this module holds what they run.
"""

from __future__ import annotations

from dataclasses import dataclass
import numpy as np
import torch
from harness.runtime.session import device
from harness.runtime.session import dtype
from harness.contract.claim import evidence
from harness.runtime.session import profile
from harness.runtime.seeding import trial_generators
from harness.contract.claim import undecided
from harness.contract.checks import decide_exponents, plot_scaling
from harness.networks.deep import DeepNet, empirical_ntk
from harness.training.deep_engine import train_deep
from harness.analysis.linearize import linearization_gap, linearized_outputs
from harness.data.problems import ProblemSpec
from harness.runtime.shared_work import shared_work
from harness.contract.stats import fit_exponent

ALPHAS = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0)  #: the scale factors swept (every profile)
TOL_MOVE = 0.1  #: margin of the movement exponent (the catalogue's -1 +- 0.1)
TOL_GAP = 0.15  #: margin of the one-sided output-gap exponent
LAZY_ID = "chizat2019.lazy_alpha"
UNC_ID = "chizat2019.control.uncentered"
#: Theorem 2.2 asks nothing of the inputs (no positive-definite kernel): every geometry of harness.data.problems
ALL_GEOMETRIES = ("sphere", "near_parallel", "separated", "circle", "antipodal", "antiparallel", "duplicate")
LABELS = ("gaussian", "sign", "teacher", "teacher_linear")


def lazy_width() -> int:
    """The fixed width: the profile's deep_width (quick 64, standard 256, nightly 1024)."""
    return profile().deep_width


def lazy_seeds() -> int:
    """Seeds per alpha: 2 x scaling_seeds (8 in quick); the same seeds (inits) at every alpha."""
    return 2 * profile().scaling_seeds


def lazy_steps() -> int:
    return max(1, profile().steps // 3)


@dataclass(frozen=True)
class AlphaSweep:
    """Per (alpha, seed): alpha, sup_k ||theta(k) - theta_0||, sup_k ||u(k) - u_lin(k)|| / ||u(0) - y||,
    L(K)/L(0); per alpha the median of alpha ||theta(k) - theta_0|| over the steps."""

    alpha: np.ndarray
    move: np.ndarray
    gap: np.ndarray
    rel_loss: np.ndarray
    curves: tuple[tuple[float, np.ndarray], ...]
    diverged: int
    n: int
    d: int
    width: int
    steps: int


@shared_work(maxsize=8)
def _alpha_sweep(spec: ProblemSpec, act: str, depth: int, c: float, center: bool, cid: str) -> AlphaSweep:
    """One set of lazy_seeds() inits at width lazy_width(), trained at every alpha of ALPHAS for lazy_steps()
    GD steps on R(alpha (f - f_0)) / alpha^2 (or R(alpha f) / alpha^2 when not centered), eta =
    c / lambda_max(Theta_0) per seed; the linearized model from the same init. Cached: Hypothesis replays
    a failing example."""
    p = spec.build()
    K, S, m = lazy_steps(), lazy_seeds(), lazy_width()
    net = DeepNet("fc", m, depth, act)
    params = net.init(p.d, trial_generators(cid, spec.seed * 7919 + depth, S))
    dev_params = {k: v.to(device=device(), dtype=dtype()) for k, v in params.items()}
    theta0 = empirical_ntk(net, dev_params, p.X.to(device=device(), dtype=dtype())).cpu().to(torch.float64)
    eta = c / torch.linalg.eigvalsh(theta0)[:, -1]
    out = {k: [] for k in ("alpha", "move", "gap", "rel_loss")}
    curves, diverged = [], 0
    for a in ALPHAS:
        tr = train_deep(
            net, params, p.X, p.y, steps=K, eta=eta, device=device(), dtype=dtype(), alpha=a, center=center, track_movement=True, keep_outputs=True
        )
        diverged += int(tr.diverged.sum())
        u = tr.outputs
        lin = linearized_outputs(theta0, u[:, 0], p.y, eta, K)
        _, sup = linearization_gap(u, lin)
        out["alpha"] += [a] * S
        out["move"] += tr.movement.max(dim=1).values.tolist()
        out["gap"] += (sup / (u[:, 0] - p.y).norm(dim=1)).tolist()
        out["rel_loss"] += tr.rel_loss()[:, -1].tolist()
        curves.append((a, np.median(a * tr.movement.numpy(), axis=0)))
    arr = {k: np.asarray(v, dtype=float) for k, v in out.items()}
    return AlphaSweep(**arr, curves=tuple(curves), diverged=diverged, n=p.n, d=p.d, width=m, steps=K)


def lazy(spec, act, depth, c, center, cid, *, control: bool):
    ev = evidence()
    r = _alpha_sweep(spec, act, depth, c, center, cid)
    xs = r.alpha
    ev.size(n=r.n, d=r.d, m=r.width, depth=depth, steps=r.steps, seeds=lazy_seeds(), alpha=max(ALPHAS))
    ev.figure("alphas", list(ALPHAS))
    ev.figure("diverged runs", r.diverged, predicted=0)
    if r.diverged:
        if control:
            undecided(f"{r.diverged} run(s) diverged at eta = {c:.2f}/lambda_max(Theta_0)")
        raise AssertionError(f"GD diverged on {r.diverged} run(s) at eta = {c:.2f}/lambda_max(Theta_0) (act={act}, H={depth})")
    lo, hi = min(ALPHAS), max(ALPHAS)
    for a in (lo, hi):
        sel = xs == a
        ev.figure(f"median alpha sup_k ||theta(k) - theta_0|| at alpha={a:g}", float(np.median(a * r.move[sel])), relation="constant if lazy")
        ev.figure(f"median sup_k ||u(k) - u_lin(k)|| / ||u(0) - y|| at alpha={a:g}", float(np.median(r.gap[sel])))
        ev.figure(f"median objective F(K)/F(0) at alpha={a:g}", float(np.median(r.rel_loss[sel])))
    ev.figure("r^2 of the log-log movement fit", fit_exponent(xs, r.move).r2)
    what = "centered" if center else "uncentered"
    title = f"{what}, {act}, m={r.width}, H={depth}, K={r.steps}, c={c:.2f}"
    plot_scaling(ev, xs, r.move, predicted=-1.0, title=f"weight movement: {title}", xlabel="scale alpha", ylabel="sup_k ||theta(k) - theta_0||", name="movement")
    plot_scaling(ev, xs, r.gap, predicted=-1.0, title=f"gap to the linearization: {title}", xlabel="scale alpha", ylabel="sup_k ||u(k) - u_lin(k)|| / ||u(0) - y||", name="linearization_gap")
    ev.plot(
        "rescaled_movement",
        [{"label": f"alpha={a:g}, median of {lazy_seeds()} seeds", "x": np.arange(cv.size), "y": cv, "style": "line"} for a, cv in r.curves],
        title=f"rescaled movement: {title}",
        xlabel="step k",
        ylabel="alpha ||theta(k) - theta_0|| (one curve if lazy)",
    )
    decide_exponents(
        ev,
        [
            (xs, r.move, -1.0, TOL_MOVE, f"sup_k ||theta(k) - theta_0|| vs alpha ({what}, {act}, H={depth})", "two-sided"),
            (xs, r.gap, -1.0, TOL_GAP, f"sup_k ||u(k) - u_lin(k)|| / ||u(0) - y|| vs alpha ({what}, {act}, H={depth})", "at_most"),
        ],
    )
