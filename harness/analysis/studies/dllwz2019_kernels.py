"""Gram stability and NTK convergence of deep nets (Du, Lee, Li, Wang, Zhai 2019): empirical and layer-wise NTKs against the infinite-width kernels over widths.

The claims are in ``claims/test_dllwz2019_kernels.py``; this module holds what they run.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
import numpy as np
import torch
from hypothesis import strategies as st
from harness.runtime.session import device
from harness.runtime.session import dtype
from harness.contract.claim import evidence
from harness.runtime.session import profile
from harness.runtime.seeding import trial_generators
from harness.contract.claim import undecided
from harness.contract.checks import decide_exponents, plot_scaling
from harness.networks.deep import DeepNet, analytic_ntk, empirical_ntk, layerwise_ntk
from harness.training.deep_engine import train_deep
from harness.contract.stats import fit_exponent
from harness.data.strategies import depths, problems, step_factors

#: every activation DeepNet and the analytic kernels both support (harness.networks.deep.C_SIGMA)
ACTIVATIONS = ("relu", "softplus", "tanh", "gelu")
TOL = 0.15  #: equivalence margin of every exponent (the catalogue's -1/2 +- 0.15)
MAX_WIDTH = 4096  #: largest width of any sweep (the init draws (H-1) m^2 normals per seed on the CPU)
CHUNK_ELEMENTS = 1 << 24  #: parameters of the trials processed at once (128 MiB of float64)

#: the Gram claims' activations: analytic, not polynomial, Lipschitz and smooth (Conditions 3.1 / 3.2)
SMOOTH = ("softplus", "tanh", "gelu")
#: unit inputs with no two parallel (Theorems 5.1 / 6.1); antiparallel pairs (antipodal, an even circle) are parallel
NOT_PARALLEL = ("sphere", "near_parallel", "separated")
#: every geometry of harness.problems: the concentration of Theta(0) at init needs no assumption on the inputs
ALL_GEOMETRIES = ("sphere", "near_parallel", "separated", "circle", "antipodal", "antiparallel", "duplicate")

NTK_ID = "dllwz2019.def5.1.ntk_convergence"
GRAM_ID = "dllwz2019.gram_stability"


# ----------------------------------------------------------------------------- helpers


def ntk_widths() -> tuple[int, ...]:
    """Six widths, doubling from deep_width / 2 (quick 32..1024, standard 128..4096), shifted down
    so that the largest is at most MAX_WIDTH (nightly: 128..4096)."""
    ws = [max(8, profile().deep_width // 2) * 2**k for k in range(6)]
    while ws[-1] > MAX_WIDTH:
        ws = [w // 2 for w in ws]
    return tuple(ws)


def gram_widths() -> tuple[int, ...]:
    """Four widths, doubling from deep_width / 2 (quick 32..256, standard 128..1024, nightly 512..4096):
    every one is trained, at O(n m^2 H) per step."""
    ws = [max(8, profile().deep_width // 2) * 2**k for k in range(4)]
    while ws[-1] > MAX_WIDTH:
        ws = [w // 2 for w in ws]
    return tuple(ws)


def ntk_seeds() -> int:
    """Seeds per width for the NTK fit: 6x the profile's scaling_seeds (24 in quick). The log of a
    relative kernel gap has a seed-to-seed sd of 0.3-0.65 (few effective degrees of freedom: the gap is
    dominated by common-mode fluctuations such as sum_r a_r^2 / m; softplus, whose kernel is nearly
    constant, is the noisiest), so 4 seeds per width gave 95% intervals of +-0.2, too wide for a +-0.15
    equivalence test; 16 left ~1 example in 6 undecided, 24 gives intervals of about +-0.05..0.09."""
    return 6 * profile().scaling_seeds


def gram_seeds() -> int:
    """Seeds per width for the training sweep: 3x scaling_seeds (12 in quick). The log movement has a
    seed-to-seed sd of 0.1-0.2; with 8 seeds about 1 example in 7 was undecided on the +-0.15 band."""
    return 3 * profile().scaling_seeds


def _self_check(net: DeepNet, params: dict[str, torch.Tensor], X: torch.Tensor, theta: torch.Tensor) -> None:
    """Compare :func:`layerwise_ntk` with ``harness.networks.deep.empirical_ntk`` (torch.func) on two trials; a
    mismatch is an error of the harness, not a falsification of the claim."""
    sub = {k: v[:2].to(torch.float64).cpu() for k, v in params.items()}
    ref = empirical_ntk(net, sub, X.to(torch.float64))
    got = theta[:2].to(torch.float64).cpu()
    err = float((got - ref).abs().max() / ref.abs().max())
    tol = 1e-10 if theta.dtype == torch.float64 else 1e-4
    if not err <= tol:
        raise RuntimeError(f"layerwise_ntk disagrees with harness.networks.deep.empirical_ntk: relative error {err:.3g} > {tol:g}")


def _chunks(net: DeepNet, d: int, gens: Sequence[torch.Generator]) -> list[Sequence[torch.Generator]]:
    per_trial = net.width * d + (net.depth - 1) * net.width**2 + net.width
    size = max(1, CHUNK_ELEMENTS // per_trial)
    return [gens[i : i + size] for i in range(0, len(gens), size)]


def _ntk_sweep(spec, family, act, depth, cid):
    """Relative spectral gap of the empirical NTK at init vs the analytic one, every seed at every width; and
    the relative gap of the seed-averaged kernel at the largest width (a normalisation mismatch would show
    there as a bias that averaging does not remove)."""
    p = spec.build()
    S = ntk_seeds()
    xs, ys = [], []
    theta_inf = None
    mean_top = torch.zeros(p.n, p.n, dtype=torch.float64)
    for m in ntk_widths():
        net = DeepNet(family, m, depth, act)
        if theta_inf is None:
            theta_inf = analytic_ntk(net, p.X)
            norm_inf = torch.linalg.matrix_norm(theta_inf, ord=2)
        gens = trial_generators(cid, spec.seed * 7919 + m, S)
        for part in _chunks(net, p.d, gens):
            params = {k: v.to(device=device(), dtype=dtype()) for k, v in net.init(p.d, part).items()}
            theta = layerwise_ntk(net, params, p.X)
            if m == ntk_widths()[0] and not xs:
                _self_check(net, params, p.X, theta)
            gap = torch.linalg.matrix_norm(theta.cpu().to(torch.float64) - theta_inf, ord=2) / norm_inf
            xs += [m] * len(part)
            ys += gap.tolist()
            if m == ntk_widths()[-1]:
                mean_top += theta.cpu().to(torch.float64).sum(dim=0) / S
    bias = float(torch.linalg.matrix_norm(mean_top - theta_inf, ord=2) / norm_inf)
    return p, theta_inf, np.asarray(xs, dtype=float), np.asarray(ys), bias


def ntk_convergence(spec, family, act, depth, cid, predicted):
    ev = evidence()
    p, theta_inf, xs, ys, bias = _ntk_sweep(spec, family, act, depth, cid)
    widths = ntk_widths()
    eig = torch.linalg.eigvalsh(theta_inf)
    ev.size(n=p.n, d=p.d, m=max(widths), depth=depth, seeds=ntk_seeds())
    ev.figure("widths", list(widths))
    ev.figure("lambda_min / lambda_max of the analytic NTK", float(eig[0] / eig[-1]))
    for m in (widths[0], widths[-1]):
        ev.figure(f"median relative gap ||Theta(0) - Theta^inf||_2 / ||Theta^inf||_2 at m={m}", float(np.median(ys[xs == m])))
    top = float(np.sqrt(np.mean(ys[xs == widths[-1]] ** 2)))
    ev.figure(
        f"relative gap of the seed-averaged Theta(0) at m={widths[-1]} (no bias: about rms gap / sqrt(seeds))",
        bias,
        predicted=top / math.sqrt(ntk_seeds()),
    )
    fit = fit_exponent(xs, ys)
    ev.figure("sd over seeds of log(gap) (mean over widths)", float(np.mean([np.log(ys[xs == m]).std(ddof=1) for m in widths])))
    ev.figure("r^2 of the log-log fit", fit.r2)
    plot_scaling(
        ev,
        xs,
        ys,
        predicted=predicted,
        title=f"NTK at init vs analytic: {family}, {act}, H={depth}, n={p.n}",
        xlabel="width m",
        ylabel="||Theta(0) - Theta^inf||_2 / ||Theta^inf||_2",
    )
    decide_exponents(ev, [(xs, ys, predicted, TOL, f"relative NTK gap at init vs m ({family}, {act}, H={depth})", "two-sided")])


NTK_GIVEN = {
    "spec": problems(max_n=10, max_n_over_d=2.0, geometries=ALL_GEOMETRIES),
    "family": st.sampled_from(["fc", "resnet"]),
    "act": st.sampled_from(ACTIVATIONS),
    "depth": depths(),
}


# ----------------------------------------------------------------------------- Gram stability in training


def _gram_sweep(spec, family, depth, c, cid, act="softplus"):
    """Train gram_seeds() seeds at every width for steps // 3 steps at eta = c / lambda_max(Theta(0)); per seed:
    the relative Gram change, each layer's movement ||W^(h)(K) - W^(h)(0)||_F / sqrt(m), the relative
    Frobenius change of the hidden m x m layers, lambda_min(Theta(K)) / lambda_min(Theta(0)), L(K)/L(0)."""
    p = spec.build()
    steps = max(1, profile().steps // 3)
    out = {k: [] for k in ("m", "gram", "move", "move_hidden", "rel_hidden", "lam_ratio", "rel_loss", "lam0")}
    diverged = 0
    for m in gram_widths():
        net = DeepNet(family, m, depth, act)
        gens = trial_generators(cid, spec.seed * 7919 + m, gram_seeds())
        for part in _chunks(net, p.d, gens):
            params = net.init(p.d, part)
            th0 = layerwise_ntk(net, {k: v.to(device=device(), dtype=dtype()) for k, v in params.items()}, p.X)
            if m == gram_widths()[0] and not out["m"]:
                _self_check(net, params, p.X, th0)
            th0 = th0.cpu().to(torch.float64)
            eig0 = torch.linalg.eigvalsh(th0)
            tr = train_deep(net, params, p.X, p.y, steps=steps, eta=c / eig0[:, -1], device=device(), dtype=dtype(), keep_params=True)
            diverged += int(tr.diverged.sum())
            pK = {k: v.to(device=device(), dtype=dtype()) for k, v in tr.paramsK.items()}
            thK = layerwise_ntk(net, pK, p.X).cpu().to(torch.float64)
            gram = torch.linalg.matrix_norm(thK - th0, ord=2) / torch.linalg.matrix_norm(th0, ord=2)
            dW1 = (tr.paramsK["W1"] - tr.params0["W1"]).flatten(1).norm(dim=1)
            dW = (tr.paramsK["W"] - tr.params0["W"]).flatten(2).norm(dim=2)  # [T, H-1]
            W0 = tr.params0["W"].flatten(2).norm(dim=2)
            per_layer = torch.cat([dW1.unsqueeze(1), dW], dim=1) / math.sqrt(m)  # [T, H]
            out["m"] += [m] * len(part)
            out["gram"] += gram.tolist()
            out["move"] += per_layer.max(dim=1).values.tolist()
            out["move_hidden"] += (dW / math.sqrt(m)).mean(dim=1).tolist()
            out["rel_hidden"] += (dW / W0).mean(dim=1).tolist()
            out["lam_ratio"] += (torch.linalg.eigvalsh(thK)[:, 0] / eig0[:, 0]).tolist()
            out["rel_loss"] += tr.rel_loss()[:, -1].tolist()
            out["lam0"] += eig0[:, 0].tolist()
    return p, steps, diverged, {k: np.asarray(v, dtype=float) for k, v in out.items()}


def gram_stability(spec, family, depth, c, cid, *, control: bool, act: str = "softplus"):
    ev = evidence()
    p, steps, diverged, r = _gram_sweep(spec, family, depth, c, cid, act)
    widths = gram_widths()
    xs = r["m"]
    ev.size(n=p.n, d=p.d, m=max(widths), depth=depth, steps=steps, seeds=gram_seeds())
    ev.figure("widths", list(widths))
    ev.figure("diverged runs", diverged, predicted=0)
    big = xs == max(widths)
    ev.figure(f"median L(K)/L(0) at m={max(widths)}", float(np.median(r["rel_loss"][big])))
    for m in (widths[0], widths[-1]):
        ev.figure(f"min over seeds of lambda_min(Theta(K)) / lambda_min(Theta(0)) at m={m}", float(r["lam_ratio"][xs == m].min()), predicted=">= 1/2 (the proof's requirement)")
    ev.figure(f"median lambda_min(Theta(0)) at m={max(widths)}", float(np.median(r["lam0"][big])))
    ev.figure(f"median relative Gram change at m={max(widths)}", float(np.median(r["gram"][big])))
    ev.figure(f"median max_h ||W^(h)(K) - W^(h)(0)||_F / sqrt(m) at m={max(widths)}", float(np.median(r["move"][big])))
    for key, label, pred in (
        ("move_hidden", "hidden layers (h >= 2): mean ||W^(h)(K) - W^(h)(0)||_F / sqrt(m)", -0.5),
        ("rel_hidden", "hidden layers (h >= 2): mean ||W^(h)(K) - W^(h)(0)||_F / ||W^(h)(0)||_F (||W(0)||_F ~ m)", -1.0),
    ):
        f = fit_exponent(xs, r[key])
        ev.figure(f"exponent (reported): {label}", f.slope, predicted=pred, interval=(f.ci_low, f.ci_high), relation="fitted, not asserted")
    fg = fit_exponent(xs, r["gram"])
    ev.figure(
        "exponent (reported): relative Gram change vs the O(1/m) kernel change of smooth nets",
        fg.slope,
        predicted=-1.0,
        interval=(fg.ci_low, fg.ci_high),
        relation="fitted, not asserted",
    )
    title = f"{family}, {act}, H={depth}, K={steps}, eta={c:.2f}/lam_max"
    plot_scaling(ev, xs, r["gram"], predicted=-0.5, title=f"Gram change: {title}", xlabel="width m", ylabel="||Theta(K) - Theta(0)||_2 / ||Theta(0)||_2", name="gram_change")
    plot_scaling(ev, xs, r["move"], predicted=-0.5, title=f"movement: {title}", xlabel="width m", ylabel="max_h ||W^(h)(K) - W^(h)(0)||_F / sqrt(m)", name="movement")
    ev.plot(
        "lambda_min_ratio",
        [
            {"label": "lambda_min(Theta(K)) / lambda_min(Theta(0)), each seed", "x": xs, "y": r["lam_ratio"], "style": "points"},
            {"label": "the proof needs >= 1/2", "x": [min(widths), max(widths)], "y": [0.5, 0.5], "style": "bound"},
        ],
        title=f"lambda_min ratio: {title}",
        xlabel="width m",
        ylabel="lam_min(Theta(K)) / lam_min(Theta(0))",
        xscale="log",
    )
    what_g = f"relative Gram change ||Theta(K) - Theta(0)||_2 / ||Theta(0)||_2 vs m ({family}, {act}, H={depth})"
    if control:
        if diverged:
            undecided(f"{diverged} run(s) diverged at eta = {c:.2f}/lambda_max(Theta(0))")
        decide_exponents(ev, [(xs, r["gram"], 0.0, TOL, what_g, "at_least")])
        return
    assert diverged == 0, f"GD diverged on {diverged} run(s) at eta = {c:.2f}/lambda_max(Theta(0)) ({family}, H={depth})"
    decide_exponents(
        ev,
        [
            (xs, r["move"], -0.5, TOL, f"max_h ||W^(h)(K) - W^(h)(0)||_F / sqrt(m) vs m ({family}, {act}, H={depth})", "two-sided"),
            (xs, r["gram"], -0.5, TOL, what_g, "at_most"),
        ],
    )


GRAM_GIVEN = {
    "spec": problems(max_n=10, max_n_over_d=2.0, geometries=NOT_PARALLEL, labels=("gaussian", "sign", "teacher", "teacher_linear")),
    "family": st.sampled_from(["fc", "resnet"]),
    "depth": depths(),
    "c": step_factors(0.25, 1.0),
    "act": st.sampled_from(SMOOTH),
}
