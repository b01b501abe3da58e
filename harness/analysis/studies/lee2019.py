"""Wide networks evolve as linear models (Lee et al. 2019): the network against its linearization over widths.

The claims are in ``claims/test_lee2019.py``; this module holds what they run.
"""

from __future__ import annotations

import math
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

TOL = 0.15  #: equivalence margin of every exponent (the catalogue's -1/2 +- 0.15)
MAX_WIDTH = 4096
LIN_ID = "lee2019.thm2.1.linearization"
MF_ID = "lee2019.control.mean_field_not_linear"
#: unit inputs with no parallel pair: with an odd activation (tanh) and no bias an antiparallel pair makes Theta singular
NOT_PARALLEL = ("sphere", "near_parallel", "separated")
LABELS = ("gaussian", "sign", "teacher", "teacher_linear")


def lin_widths() -> tuple[int, ...]:
    """Five widths doubling from deep_width / 4 (quick 16..256, standard 64..1024, nightly 256..4096).
    The fifth (smallest) width costs little and narrows the exponent's interval by about a third."""
    ws = [max(8, profile().deep_width // 4) * 2**k for k in range(5)]
    while ws[-1] > MAX_WIDTH:
        ws = [w // 2 for w in ws]
    return tuple(ws)


def lin_seeds() -> int:
    """Seeds per width: 3 x scaling_seeds (12 in quick). The log movement has a seed-to-seed sd of
    0.05-0.18; 8 seeds over four widths gave 95% intervals of +-0.05..0.09 and about one example in
    ten undecided on the +-0.15 band; 12 seeds over five widths give +-0.04..0.06."""
    return 3 * profile().scaling_seeds


def lin_steps() -> int:
    return max(1, profile().steps // 3)


@dataclass(frozen=True)
class LinSweep:
    """Per seed (every width): width, movement sup_k ||theta(k) - theta_0|| / sqrt(m), output gap
    sup_k ||u(k) - u_lin(k)|| / ||u(0) - y||, ||theta(K) - theta_0|| / ||theta_0|| (all tensors) and of W^(1)
    and a, L(K)/L(0); per width the median deviation curve ||u(k) - u_lin(k)|| / ||u(0) - y||."""

    m: np.ndarray
    move: np.ndarray
    gap: np.ndarray
    rel_all: np.ndarray
    rel_w1a: np.ndarray
    rel_loss: np.ndarray
    curves: tuple[tuple[int, np.ndarray], ...]
    diverged: int
    n: int
    d: int
    steps: int


@shared_work(maxsize=8)
def _sweep(spec: ProblemSpec, act: str, depth: int, c: float, scaling: str, cid: str) -> LinSweep:
    """Train lin_seeds() seeds at every width of lin_widths() for lin_steps() GD steps at
    eta = c / lambda_max(Theta_0) (per seed), recording the network's outputs and its movement, and
    run the linearized model from the same init. Cached: Hypothesis replays a failing example."""
    p = spec.build()
    K = lin_steps()
    S = lin_seeds()
    out = {k: [] for k in ("m", "move", "gap", "rel_all", "rel_w1a", "rel_loss")}
    curves, diverged = [], 0
    for m in lin_widths():
        net = DeepNet("fc", m, depth, act, output_scaling=scaling)
        params = net.init(p.d, trial_generators(cid, spec.seed * 7919 + m, S))
        dev_params = {k: v.to(device=device(), dtype=dtype()) for k, v in params.items()}
        theta0 = empirical_ntk(net, dev_params, p.X.to(device=device(), dtype=dtype())).cpu().to(torch.float64)
        eta = c / torch.linalg.eigvalsh(theta0)[:, -1]
        tr = train_deep(net, params, p.X, p.y, steps=K, eta=eta, device=device(), dtype=dtype(), keep_outputs=True, track_movement=True)
        diverged += int(tr.diverged.sum())
        u = tr.outputs
        lin = linearized_outputs(theta0, u[:, 0], p.y, eta, K)
        r0 = (u[:, 0] - p.y).norm(dim=1)
        dev, sup = linearization_gap(u, lin)
        norm0 = torch.sqrt(sum((params[k].flatten(1) ** 2).sum(dim=1) for k in net.trainable))
        norm_w1a = torch.sqrt(sum((params[k].flatten(1) ** 2).sum(dim=1) for k in ("W1", "a")))
        moved_w1a = torch.sqrt(sum((tr.rel_change[k] * params[k].flatten(1).norm(dim=1)) ** 2 for k in ("W1", "a")))
        out["m"] += [m] * S
        out["move"] += (tr.movement.max(dim=1).values / math.sqrt(m)).tolist()
        out["gap"] += (sup / r0).tolist()
        out["rel_all"] += (tr.movement[:, -1] / norm0).tolist()
        out["rel_w1a"] += (moved_w1a / norm_w1a).tolist()
        out["rel_loss"] += tr.rel_loss()[:, -1].tolist()
        curves.append((m, np.nanmedian((dev / r0.unsqueeze(1)).numpy(), axis=0)))
    arr = {k: np.asarray(v, dtype=float) for k, v in out.items()}
    return LinSweep(**arr, curves=tuple(curves), diverged=diverged, n=p.n, d=p.d, steps=K)


def linearization(spec, act, depth, c, scaling, cid, *, control: bool):
    ev = evidence()
    r = _sweep(spec, act, depth, c, scaling, cid)
    widths = lin_widths()
    xs = r.m
    ev.size(n=r.n, d=r.d, m=max(widths), depth=depth, steps=r.steps, seeds=lin_seeds())
    ev.figure("widths", list(widths))
    ev.figure("diverged runs", r.diverged, predicted=0)
    if r.diverged:
        if control:
            undecided(f"{r.diverged} run(s) diverged at eta = {c:.2f}/lambda_max(Theta_0) ({scaling} scaling)")
        raise AssertionError(f"GD diverged on {r.diverged} run(s) at eta = {c:.2f}/lambda_max(Theta_0) (act={act}, H={depth})")
    big = xs == max(widths)
    ev.figure(f"median L(K)/L(0) at m={max(widths)}", float(np.median(r.rel_loss[big])))
    for m in (widths[0], widths[-1]):
        ev.figure(f"median sup_k ||u(k) - u_lin(k)|| / ||u(0) - y|| at m={m}", float(np.median(r.gap[xs == m])))
        ev.figure(f"median sup_k ||theta(k) - theta_0|| / sqrt(m) at m={m}", float(np.median(r.move[xs == m])))
    for y, label, pred in (
        (r.rel_all, "||theta(K) - theta_0|| / ||theta_0||, all tensors (||theta_0|| ~ m at depth >= 2)", -1.0 if scaling == "ntk" else -0.5),
        (r.rel_w1a, "||(W1, a)(K) - (W1, a)(0)|| / ||(W1, a)(0)||", -0.5 if scaling == "ntk" else 0.0),
    ):
        f = fit_exponent(xs, y)
        ev.figure(f"exponent (reported): {label}", f.slope, predicted=pred, interval=(f.ci_low, f.ci_high), relation="fitted, not asserted")
    title = f"{scaling}, {act}, H={depth}, K={r.steps}, c={c:.2f}"
    plot_scaling(ev, xs, r.move, predicted=-0.5, title=f"weight movement: {title}", xlabel="width m", ylabel="sup_k ||theta(k) - theta_0|| / sqrt(m)", name="movement")
    plot_scaling(ev, xs, r.gap, predicted=-0.5, title=f"gap to the linearization: {title}", xlabel="width m", ylabel="sup_k ||u(k) - u_lin(k)|| / ||u(0) - y||", name="linearization_gap")
    ev.plot(
        "deviation_over_steps",
        [{"label": f"m={m}, median of {lin_seeds()} seeds", "x": np.arange(1, cv.size), "y": cv[1:], "style": "line"} for m, cv in r.curves],
        title=f"||u(k) - u_lin(k)|| / ||u(0) - y||: {title}",
        xlabel="step k",
        ylabel="||u(k) - u_lin(k)|| / ||u(0) - y||",
        yscale="log",
    )
    decide_exponents(
        ev,
        [
            (xs, r.move, -0.5, TOL, f"sup_k ||theta(k) - theta_0|| / sqrt(m) vs m ({scaling}, {act}, H={depth})", "two-sided"),
            (xs, r.gap, -0.5, TOL, f"sup_k ||u(k) - u_lin(k)|| / ||u(0) - y|| vs m ({scaling}, {act}, H={depth})", "at_most"),
        ],
    )
