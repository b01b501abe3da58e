"""Two-layer ReLU nets with a fixed output layer (Du, Zhai, Poczos, Singh 2018): problem set-ups, training runs, rate checks and plots the claims share.

The claims are in ``claims/test_du2018.py``; this module holds what they run.
"""

from __future__ import annotations

import math
import numpy as np
import torch
from harness.training.engine import Record
from harness.networks.two_layer import TwoLayerReLU
from harness.runtime.session import device
from harness.runtime.session import dtype
from harness.contract.claim import evidence
import harness.kernels as kernels
from harness.runtime.session import profile
from harness.training.engine import train
from harness.runtime.seeding import trial_generators
from harness.contract.claim import undecided
from harness.contract.checks import decide_exponent, plot_rel_loss, plot_scaling
from harness.runtime.seeding import trial_generator
from harness.training.sweeps import width_sweep

DELTA = 0.1  #: the failure probability the "with probability >= 1 - delta" claims are checked at
ALL_GEOMETRIES = ("sphere", "near_parallel", "separated", "circle", "antipodal", "antiparallel", "duplicate")
#: geometries with lambda_0 > 0 by construction (circle and antipodal sets have lambda_0 = 0 or near it: not drawn here)
POS_GEOMETRIES = ("sphere", "near_parallel", "antiparallel", "separated")
#: every label kind with |y_i| <= C (all but 'conflicting', which needs a duplicate and lambda_0 = 0)
LABEL_KINDS = ("gaussian", "sign", "teacher", "teacher_linear")
DATA = ("inputs i.i.d. on the sphere, with a near-parallel (angle 1e-3..0.5) or an antiparallel pair, or delta-separated "
        "(circle and antipodal sets, whose lambda_0 is 0 or near it, are not drawn); labels Gaussian, random signs, teacher "
        "sign(v.x) or linear teacher sqrt(d) v.x")
PRACTICAL = ("practical widths m = k n (k drawn from the profile's multipliers, >= 8) and eta = c / lambda_max(H^inf), c in [0.1, 1.5]; "
             + DATA)
WIDE = (8, 16)  # multipliers for the practical regime: the bound held on every seed from ~8n (n/d <= 3)
FLOW_WIDE = (16, 32)  # gradient flow's bound has no slack: 8n failed on up to 44% of seeds (see the claim's regime)


def problem_kw(**kw):
    base = {"max_n_over_d": 3.0}
    base.update(kw)
    return base


def data_kw(**kw):
    """_problem_kw over every geometry with lambda_0 > 0 and every bounded label kind (see DATA)."""
    return problem_kw(**{"geometries": POS_GEOMETRIES, "labels": LABEL_KINDS, **kw})


def _train(spec, p, m, eta, cid, steps, record=None, replicates=None, **model_kw):
    R = replicates or profile().replicates
    return train(
        p,
        TwoLayerReLU(m, **model_kw),
        steps=steps,
        eta=eta,
        generators=trial_generators(cid, spec.seed, R),
        record=record or Record(),
        device=device(),
        dtype=dtype(),
    )


# ----------------------------------------------------------------------------------------------
# H^inf and lambda_0 (Assumption 3.1, Theorem 3.1)
# ----------------------------------------------------------------------------------------------

MC_SAMPLES = 200_000


def hinf_formula_check(spec, formula, name):
    ev = evidence()
    p = spec.build()
    mc = kernels.hinf_monte_carlo(p.X, MC_SAMPLES, trial_generator("hinf-mc", spec.seed))
    closed = formula(p.X)
    err = float((mc - closed).abs().max())
    tol = 5 * 0.5 / math.sqrt(MC_SAMPLES)  # 5 sigma of a mean of M terms bounded in [-1, 1] (sd <= 1/2)
    ev.size(n=p.n, d=p.d)
    ev.figure("max_ij |MC - closed form|", err, predicted=f"<= {tol:.2e}", relation="5 Monte-Carlo standard errors")
    ev.margin(err / tol, "max entry error / 5 sigma_MC")
    iu = torch.triu_indices(p.n, p.n)
    ev.plot(
        "entries",
        [
            {"label": "entries (i <= j)", "x": closed[iu[0], iu[1]], "y": mc[iu[0], iu[1]], "style": "points"},
            {"label": "y = x", "x": [-0.2, 0.55], "y": [-0.2, 0.55], "style": "bound"},
        ],
        title=f"{name} vs Monte Carlo (M={MC_SAMPLES})",
        xlabel=f"{name} (closed form)",
        ylabel="Monte Carlo E[x_i.x_j 1{w.x_i>=0} 1{w.x_j>=0}]",
    )
    assert err <= tol, f"closed form {name} is off its defining expectation by {err:.3e} > {tol:.3e}"
    evs = torch.linalg.eigvalsh(closed)
    assert float(evs[0]) >= -1e-12, f"{name} is not PSD: lambda_min = {float(evs[0]):.3e}"
    assert torch.allclose(closed.diagonal(), torch.full((p.n,), 0.5, dtype=closed.dtype)), "diagonal is not 1/2"


def lambda0_check(spec, expect_positive):
    ev = evidence()
    p = spec.build()
    lam = torch.linalg.eigvalsh(p.hinf)
    lam0, lmax = float(lam[0]), float(lam[-1])
    ev.size(n=p.n, d=p.d)
    ev.figure("lambda_0", lam0, predicted="> 0" if expect_positive else "= 0", relation=f"geometry={spec.geometry}")
    ev.figure("lambda_0 / lambda_max", lam0 / lmax)
    ev.plot(
        "spectrum",
        [{"label": "eigenvalues of H^inf", "x": list(range(1, p.n + 1)), "y": lam.abs().clamp_min(1e-18), "style": "points"}],
        title=f"H^inf spectrum ({spec.geometry}, n={p.n}, d={p.d})",
        xlabel="index (ascending)",
        ylabel="|eigenvalue|",
        yscale="log",
    )
    return lam0, lmax


#: lambda_0 above this fraction of lambda_max is certified positive in float64; within ZERO of it,
#: it is zero to rounding (eigvalsh's backward error is ~ n eps lambda_max, eps = 2.2e-16); between
#: them float64 cannot tell, and the example is undecided.
POSITIVE, ZERO = 1e-10, 1e-13
#: the geometries Theorem 3.1 speaks of (no antiparallel pairs by construction; an even circle has them, and is rejected)
NOT_PARALLEL = ("sphere", "near_parallel", "separated", "circle", "duplicate")


def pairs(X):
    """(coincident, antiparallel) pairs of unit inputs, counted from the data, not from the geometry's name."""
    G = X @ X.T
    iu = torch.triu_indices(X.shape[0], X.shape[0], offset=1)
    g = G[iu[0], iu[1]]
    return int((g >= 1 - 1e-12).sum()), int((g <= -1 + 1e-12).sum())


def zero_or_positive(lam0, lmax, what):
    """Assert lambda_0 is certified positive; undecided between the rounding zone and certification."""
    evidence().margin(POSITIVE * lmax / max(lam0, 1e-300), "1e-10 lambda_max / lambda_0 (<= 1: certified positive)")
    assert lam0 > ZERO * lmax, f"lambda_0 = {lam0:.3e} = 0 to rounding ({ZERO:g} lambda_max = {ZERO * lmax:.1e}) for {what}"
    if lam0 <= POSITIVE * lmax:
        undecided(f"lambda_0 = {lam0:.3e} is above rounding but below {POSITIVE:g} lambda_max: float64 cannot certify it positive")


# ----------------------------------------------------------------------------------------------
# Initialization (proof of Theorem 3.2): E u_i(0) = 0, E u_i(0)^2 = 1/2 for unit inputs
# ----------------------------------------------------------------------------------------------

INIT_SEEDS = 512


def output_moments(spec, m, init):
    ev = evidence()
    p = spec.build()
    model = TwoLayerReLU(m)
    par = model.init(p.d, trial_generators("du2018.init.output_moments", spec.seed * 7919 + m, INIT_SEEDS))
    if init == "torch_default":  # nn.Linear's Kaiming-uniform: U(-1/sqrt(d), 1/sqrt(d))
        g = trial_generators("du2018.init.torch_default", spec.seed, 1)[0]
        par.W = (torch.rand(par.W.shape, generator=g, dtype=torch.float64) * 2 - 1) / math.sqrt(p.d)
    u0 = model.forward(par, p.X.unsqueeze(0).expand(INIT_SEEDS, -1, -1))  # [seeds, n]
    sq = u0**2
    per_seed = sq.mean(dim=1)  # independent across seeds
    mean, se = float(per_seed.mean()), float(per_seed.std() / math.sqrt(INIT_SEEDS))
    mean_u, se_u = float(u0.mean(dim=1).mean()), float(u0.mean(dim=1).std() / math.sqrt(INIT_SEEDS))
    ev.size(n=p.n, d=p.d, m=m, seeds=INIT_SEEDS)
    ev.figure("E u_i(0)^2", mean, predicted=0.5, interval=(mean - 4 * se, mean + 4 * se), relation="mean +- 4 standard errors over seeds")
    ev.figure("E u_i(0)", mean_u, predicted=0.0, interval=(mean_u - 4 * se_u, mean_u + 4 * se_u))
    ev.margin(abs(mean - 0.5) / (4 * se), "|mean - 1/2| / 4 standard errors")
    ev.plot(
        "moments",
        [
            {"label": "mean over seeds of u_i(0)^2, per input i", "x": list(range(p.n)), "y": sq.mean(dim=0), "style": "points"},
            {"label": "1/2 (proof of Theorem 3.2)", "x": [0, p.n - 1], "y": [0.5, 0.5], "style": "bound"},
        ],
        title=f"initial outputs ({init} init, m={m}, {INIT_SEEDS} seeds)",
        xlabel="input i",
        ylabel="E u_i(0)^2",
    )
    assert abs(mean - 0.5) <= 4 * se, f"E u_i(0)^2 = {mean:.4f} +- {se:.4f}, not 1/2 ({init} init)"
    assert abs(mean_u) <= 4 * se_u, f"E u_i(0) = {mean_u:.4f} +- {se_u:.4f}, not 0"


# ----------------------------------------------------------------------------------------------
# Convergence rates: Theorem 3.2 (gradient flow) and Theorem 4.1 (GD)
# ----------------------------------------------------------------------------------------------


def rate_check(spec, k, c, cid, rate_name, rate_of, *, steps=None, theory_step=False):
    """Train R seeds at m = k n; check L(t) <= bound(t) L(0) on every seed; decide with a binomial bound."""
    ev = evidence()
    p = spec.build()
    m = k * p.n
    eta = p.lambda0 / p.n**2 if theory_step else c / p.lambda_max
    steps = steps or profile().steps
    # the loss and lambda_min(H(k)) are all it reads: drift and flips (two passes over [T, n, m] a step) stay off
    tr = _train(spec, p, m, eta, cid, steps, Record(gram_every=max(1, steps // 10), drift=False, flips=False))
    per_step = rate_of(eta, p)
    chk = tr.check_rate_bound(per_step)
    failed = chk.violated | tr.diverged
    rho = tr.contraction()
    ev.size(n=p.n, d=p.d, m=m, steps=steps)
    ev.figure("eta * lambda_max(H^inf)", eta * p.lambda_max)
    ev.figure("per-step factor of the bound", per_step, relation=rate_name)
    ev.figure(
        "observed per-step contraction (median)",
        float(np.nanmedian(rho.numpy())) if torch.isfinite(rho).any() else None,
        predicted=f"<= {per_step:.6f}",
        relation="fitted on L/L0 in [1e-18, 1e-1]",
    )
    lmin0 = tr.gram_lambda_min[:, 0]
    ev.figure("kernel-limit factor 1 - 2 eta lambda_min(H(0)) (median)", float((1 - 2 * eta * lmin0).median()))
    ev.figure("worst max_k L(k) / bound(k)", float(chk.worst_ratio.max()), predicted="<= 1")
    ev.margin(float(chk.worst_decay_ratio.max()), f"max over seeds and steps of log {rate_name} / log(L(k)/L(0))")
    kk = torch.arange(steps + 1, dtype=torch.float64)
    plot_rel_loss(
        ev,
        tr,
        torch.as_tensor(per_step, dtype=torch.float64) ** kk,
        bound_label=f"bound {rate_name}",
        title=f"{cid.split('.', 1)[1]}: n={p.n}, m={m}, eta={eta * p.lambda_max:.3g}/lambda_max",
    )
    return ev, failed, chk


def drift_scaling(spec, cid, predicted, tol, scaling="ntk", c=1.0):
    ev = evidence()
    p = spec.build()
    runs = width_sweep(p, cid, spec.seed, eta=c / p.lambda_max, record=Record(flips=False), scaling=scaling)
    xs, ys = [], []
    for m, tr in runs.items():
        xs += [m] * tr.trials
        ys += tr.drift[:, -1].tolist()
    ev.size(n=p.n, d=p.d, m=max(runs))
    ev.figure("final L/L0 at the largest width (median)", float(runs[max(runs)].rel_loss()[:, -1].median()))
    plot_scaling(ev, xs, ys, predicted=predicted, title=f"max_r ||w_r(K) - w_r(0)|| vs m ({scaling} scaling, n={p.n})", xlabel="width m", ylabel="max_r drift at K")
    decide_exponent(ev, xs, ys, predicted, tol, "max_r ||w_r(K) - w_r(0)|| vs m")


# ----------------------------------------------------------------------------------------------
# Step size independent of m (Section 4 remark)
# ----------------------------------------------------------------------------------------------


def _largest_monotone_eta(spec, p, m, cid, scaling, steps, rounds=10):
    """Per seed, bisect log2(c) for the largest eta = c / lambda_max with L(k) non-increasing over ``steps``."""
    P = profile()
    R = P.scaling_seeds
    model = TwoLayerReLU(m, scaling=scaling)
    params = model.init(p.d, trial_generators(cid, spec.seed * 7919 + m, R))
    lo = torch.full((R,), -24.0, dtype=torch.float64)  # log2 c, known stable
    hi = torch.full((R,), 5.0, dtype=torch.float64)  # known unstable
    for _ in range(rounds):
        mid = (lo + hi) / 2
        tr = train(p, model, steps=steps, eta=(2.0**mid) / p.lambda_max, params=params, record=Record(drift=False, flips=False), device=device(), dtype=dtype())
        L = tr.loss
        mono = (L[:, 1:] <= L[:, :-1] * (1 + 1e-12)).all(dim=1) & ~tr.diverged
        lo = torch.where(mono, mid, lo)
        hi = torch.where(mono, hi, mid)
    return (2.0**lo) / p.lambda_max


def step_size_check(spec, cid, scaling):
    ev = evidence()
    p = spec.build()
    widths = [p.n * 4**j for j in range(4)]  # n, 4n, 16n, 64n
    steps = max(50, profile().steps // 3)
    xs, ys = [], []
    for m in widths:
        eta_star = _largest_monotone_eta(spec, p, m, cid, scaling, steps)
        xs += [m] * len(eta_star)
        ys += eta_star.tolist()
    ev.size(n=p.n, d=p.d, m=widths[-1])
    ev.figure("eta* lambda_max(H^inf) at the largest width (median)", float(np.median(ys[-profile().scaling_seeds :])) * p.lambda_max, predicted="~2 (kernel edge of stability)")
    upper = [i for i, x in enumerate(xs) if x >= widths[1]]
    xu, yu = [xs[i] for i in upper], [ys[i] for i in upper]
    plot_scaling(ev, xs, ys, predicted=0.0, title=f"largest monotone step size vs m ({scaling} scaling, n={p.n})", xlabel="width m", ylabel="eta*")
    decide_exponent(ev, xu, yu, 0.0, 0.1, "eta*(m) over the upper widths", alternative="at_least")


def duplicate_run(spec, cid):
    p = spec.build()
    P = profile()
    tr = _train(spec, p, 16 * p.n, 1 / p.lambda_max, cid, 3 * P.steps, Record(drift=False, flips=False), replicates=max(4, P.replicates // 4))
    floor = float((p.y[0] - p.y[-1]) ** 2 / 4)
    return p, tr, floor
