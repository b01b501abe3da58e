"""Fine-grained dynamics (Arora, Du, Hu, Li, Wang 2019): the y^T (H^inf)^-1 y form, eigen-projections and kernel trajectories.

The claims are in ``claims/test_arora2019.py``; this module holds what they run.
"""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import reject
from harness.training.engine import Record
from harness.networks.two_layer import TwoLayerReLU
from harness.runtime.session import device
from harness.runtime.session import dtype
from harness.contract.claim import evidence
from harness.runtime.session import profile
from harness.training.engine import train
from harness.runtime.seeding import trial_generators
from harness.contract.checks import decide_exponent, plot_scaling
from harness.training.sweeps import width_sweep

REGIME = "kappa = 1 (standard init) with the residual's actual start u(0) - y in place of -y; eta = c / lambda_max(H^inf)"
#: inputs with lambda_0 > 0 by construction, and every bounded label kind of the harness
GEOMETRIES = ("sphere", "near_parallel", "antiparallel", "separated")
LABELS = ("gaussian", "sign", "teacher", "teacher_linear")
DATA = ("c in [0.1, 1.5]; inputs i.i.d. on the sphere, with a near-parallel (angle 1e-3..0.5) or an antiparallel pair, or "
        "delta-separated, n/d <= 3; labels Gaussian, random signs, teacher sign(v.x) or linear teacher sqrt(d) v.x")


def kernel_prediction(p, eta, r0, steps):
    """(I - eta H^inf)^k r0 for k = 0..steps, as [T, K+1, n], plus the per-direction factors."""
    lam, V = p.hinf_eigh
    k = torch.arange(steps + 1, dtype=torch.float64)
    fac = (1 - eta * lam).unsqueeze(0) ** k.unsqueeze(1)  # [K+1, n]
    c0 = r0 @ V  # [T, n]
    return (c0.unsqueeze(1) * fac.unsqueeze(0)) @ V.T, fac, V


EPS = 0.05
#: the kernel-trajectory claim draws near-parallel pairs from this angle up (see its regime)
KERNEL_MIN_ANGLE = 0.35


def lambda0_floor(m: int) -> float:
    """The least lambda_0 the eigen-projection claim draws at width m: 0.08 at m = 4096, falling
    like m^-1/4 (the theorem's width grows like lambda_0^-4)."""
    return 0.08 * (4096 / m) ** 0.25


def eigen_deviation(spec, c, cid, use_y, lam_floor: float | None = None):
    """The worst per-direction deviation at the profile's largest width; with ``lam_floor``, a
    problem whose lambda_0 is below it is rejected (not drawn), as the claim's regime says."""
    ev = evidence()
    p = spec.build()
    P = profile()
    m = max(P.width_grid)
    if lam_floor is not None and float(p.hinf_eigh[0][0]) < lam_floor:
        reject()
    eta = c / p.lambda_max
    tr = train(
        p,
        TwoLayerReLU(m),
        steps=P.steps,
        eta=eta,
        generators=trial_generators(cid, spec.seed, P.scaling_seeds),
        record=Record(residual=True, drift=False, flips=False),
        device=device(),
        dtype=dtype(),
    )
    r = tr.residual
    start = (-p.y).expand_as(r[:, 0]) if use_y else r[:, 0]
    pred, _, V = kernel_prediction(p, eta, start, tr.steps)
    proj, proj_pred = r @ V, pred @ V  # [T, K+1, n] coordinates along v_i
    scale = start.norm(dim=1).view(-1, 1)
    dev_dir = (proj - proj_pred).abs().amax(dim=1) / scale  # [T, n]
    worst = float(dev_dir.max())
    lam = p.hinf_eigh[0]
    ev.size(n=p.n, d=p.d, m=m)
    ev.figure("max_i max_k |v_i.(u(k)-y) - (1 - eta lambda_i)^k v_i.r(0)| / ||r(0)||", worst, predicted=f"<= {EPS}")
    ev.figure("eta lambda_i (slowest, fastest)", [float(eta * lam[0]), float(eta * lam[-1])])
    ev.margin(worst / EPS, f"worst per-direction deviation / {EPS}")
    kk = np.arange(tr.steps + 1)
    lines = []
    for i, name in ((p.n - 1, "top"), (p.n // 2, "middle"), (0, "bottom")):
        lines.append({"label": f"|v.r(k)| {name} (lambda={float(lam[i]):.3f}), seed 0", "x": kk, "y": proj[0, :, i].abs(), "style": "line"})
        lines.append({"label": f"(1 - eta lambda)^k |v.r(0)| {name}", "x": kk, "y": proj_pred[0, :, i].abs(), "style": "prediction"})
    ev.plot(
        "eigen",
        lines,
        title=f"residual along eigenvectors of H^inf (n={p.n}, m={m}){' -- y-form' if use_y else ''}",
        xlabel="step k",
        ylabel="|projection|",
        yscale="log",
    )
    assert worst <= EPS, (
        f"a residual projection left its predicted decay by {worst:.3f} ||r(0)|| > {EPS} ||r(0)|| at m={m}"
    )


# ----------------------------------------------------------------------------------------------
# Theorem 4.1 in its own regime: small init kappa, the y-form, kappa and m coupled
# ----------------------------------------------------------------------------------------------

SMALL_INIT_ID = "arora2019.thm4.1.small_init_y_form"
KAPPA_EXPONENT = -0.25  #: kappa(m) = kappa_0 (m / m_min)^(-1/4): the theorem's m ~ 1/(kappa^2 eps^2) then gives eps ~ m^(-1/4)


def y_form_errors(spec, c, kappa0, cid, coupled):
    """eps(m) per seed: max_k ||(u(k) - y) + (I - eta H^inf)^k y|| / ||y||, kappa coupled to m (or held)."""
    ev = evidence()
    p = spec.build()
    eta = c / p.lambda_max
    grid = profile().width_grid
    kappa = (lambda m: kappa0 * (m / min(grid)) ** KAPPA_EXPONENT) if coupled else (lambda m: kappa0)
    runs = width_sweep(p, cid, spec.seed, eta=eta, seeds=2 * profile().scaling_seeds, init_scale=kappa,
                       record=Record(residual=True, drift=False, flips=False))
    xs, ys, u0 = [], [], []
    for m, tr in runs.items():
        r = tr.residual
        pred, _, _ = kernel_prediction(p, eta, (-p.y).expand_as(r[:, 0]), tr.steps)
        eps = (r - pred).norm(dim=2).amax(dim=1) / p.y.norm()
        xs += [m] * tr.trials
        ys += eps.tolist()
        u0.append(float((r[:, 0] + p.y).norm(dim=1).median() / p.y.norm()))
    ev.size(n=p.n, d=p.d, m=max(runs))
    ev.figure("kappa at the smallest and largest width", [kappa(min(runs)), kappa(max(runs))])
    ev.figure("||u(0)|| / ||y|| at the smallest and largest width (median)", [u0[0], u0[-1]])
    ev.figure("eps at the largest width (median)", float(np.median(ys[-runs[max(runs)].trials :])))
    plot_scaling(ev, xs, ys, predicted=KAPPA_EXPONENT if coupled else 0.0,
                 title=f"y-form error vs m ({'kappa ~ m^-1/4' if coupled else f'kappa = {kappa0:g} held'})",
                 xlabel="width m", ylabel="eps(m) = max_k ||u(k) - y + (I - eta H^inf)^k y|| / ||y||")
    decide_exponent(ev, xs, ys, KAPPA_EXPONENT, 0.1, "y-form error eps vs m", alternative="at_most")


SMALL_INIT = ("sphere", "antiparallel", "separated")
