"""SGD escapes sharp minima on the smoothed loss (Kleinberg, Li, Yuan 2018): the constructed landscapes, noisy GD runs and escape counts.

The claims are in ``claims/test_kleinberg2018.py``; this module holds what they run.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
import numpy as np
import torch
from hypothesis import strategies as st
from scipy import stats as sps
from harness.contract.claim import evidence
from harness.runtime.session import profile
from harness.contract.claim import undecided
from harness.contract.checks import decide_all, decide_probability
from harness.runtime.seeding import generator, trial_generator
from harness.runtime.shared_work import shared_work
from harness.contract.stats import binomial_decision
from harness.networks.toy_landscapes import (
    Landscape,
    convolved_grad_quadrature,
    simulate,
    smoothed_step_monte_carlo,
    spike_landscape,
    wide_well_landscape,
)
import itertools

DELTA = 0.1  #: failure probability of each "with probability >= 1 - delta over the runs" statement
DISTANCES = (1.0, 1.25, 1.5)  #: distances of the narrow wells from x* = 0
STEEPNESS = 2.5  #: well depth A = STEEPNESS * kappa * r * w (a local minimum needs > sqrt(e))
WIDE = {"width": 0.2, "distance": 2.0, "depth": 1.8}  #: the wide bad minimum (f = 0.16 > f(x*), barrier 0.90)
SWEEP_RATIOS = (0.1, 0.25, 0.5, 1.0)  #: eta s / w of the escape-fraction curve (besides GD and the decided ratio)
NEAR = 0.5  #: "ends near x*": within NEAR (half the nearest spike's distance) after the quench
ESCAPE_ID = "kleinberg2018.sgd_escapes_sharp_minima"
SMOOTH_ID = "kleinberg2018.sgd_on_smoothed_loss"

#: per profile: narrow width w, runs at the decided ratio, runs per sweep ratio (and of plain GD),
#: Monte Carlo samples per point of the smoothed-step check
SIZES = {
    "quick": {"width": 0.002, "trials": 256, "sweep": 64, "samples": 1 << 15},
    "standard": {"width": 0.001, "trials": 1024, "sweep": 256, "samples": 1 << 17},
    "nightly": {"width": 0.0005, "trials": 4096, "sweep": 512, "samples": 1 << 19},
}


def sizes() -> dict:
    return SIZES.get(profile().name, SIZES["quick"])


@dataclass(frozen=True)
class ToySpec:
    """One example: dimension, noise ratio eta s / w, seed (directions of the wells, starts, noise)."""

    dim: int
    ratio: float
    seed: int


def toy_specs(lo: float, hi: float) -> st.SearchStrategy[ToySpec]:
    return st.builds(ToySpec, dim=st.integers(1, 10), ratio=st.floats(lo, hi), seed=st.integers(0, 2**16))


# ------------------------------------------------------------------------------------------ set-up


def narrow_landscape(dim: int, width: float, seed: int) -> Landscape:
    return spike_landscape(dim, width, DISTANCES, steepness=STEEPNESS, generator=generator("kleinberg2018.wells", seed, dim))


def wide_landscape(dim: int, seed: int) -> Landscape:
    return wide_well_landscape(dim, WIDE["width"], WIDE["distance"], WIDE["depth"], generator=generator("kleinberg2018.wide", seed, dim))


def gd_step(f: Landscape) -> tuple[float, torch.Tensor]:
    """eta = 1 / the largest Hessian eigenvalue at the spike minima (plain GD stable there), and the minima."""
    mins = f.well_minima()
    lam = torch.linalg.eigvalsh(f.hessian(mins))[:, -1]
    return 1.0 / float(lam.max()), mins


def barrier(f: Landscape, start: torch.Tensor, points: int = 20001) -> float:
    """max of f on the segment from ``start`` (a minimum) to x*, minus f(start): the barrier along the line
    (the lowest one for these radially symmetric wells)."""
    t = torch.linspace(0, 1, points, dtype=torch.float64).unsqueeze(1)
    xs = torch.tensor(f.x_star, dtype=torch.float64)
    line = start + t * (xs - start)
    v = f.value(line)
    return float(v.max() - v[0])


def convexity_points(f: Landscape, per_ray: int = 400) -> torch.Tensor:
    """Test points for one-point convexity: along the ray through every well (out to 1.3x its distance)."""
    out = []
    for w in f.wells:
        c = torch.tensor(w.center, dtype=torch.float64)
        t = torch.linspace(0.02, 1.3, per_ray, dtype=torch.float64).unsqueeze(1)
        out.append(t * c)
    return torch.cat(out)


def quench_steps(final: torch.Tensor, eta: float, kappa: float = 1.0) -> int:
    """Plain GD steps after the noise stops that bring every run of x*'s basin inside NEAR / 2 (the bowl
    contracts by (1 - eta kappa) per step)."""
    R = float(final.norm(dim=1).nan_to_num(0.0).max())
    return math.ceil((math.log(max(R, NEAR) / (NEAR / 2)) + 1.0) / (eta * kappa))


@shared_work(maxsize=8)
def escape_runs(spec: ToySpec, width: float, trials: int, sweep: int) -> dict:
    """Narrow landscape: plain GD (sweep runs), each SWEEP_RATIOS noise (sweep runs) and the decided
    ratio (trials runs), all from starts inside the spike basins, in one batched simulation; the wide
    landscape: trials runs from its minimum at the decided noise. Shared by the claim and its twin."""
    g = trial_generator("kleinberg2018.escape", spec.seed, spec.dim, spec.ratio)
    f = narrow_landscape(spec.dim, width, spec.seed)
    eta, mins = gd_step(f)
    D = spec.dim
    ratios = [0.0, *SWEEP_RATIOS, spec.ratio]
    counts = [sweep] * (len(ratios) - 1) + [trials]
    total = sum(counts)
    k = torch.randint(0, len(f.wells), (total,), generator=g)
    x0 = mins[k] + (width / 4) * torch.randn(total, D, generator=g, dtype=torch.float64) / math.sqrt(D)
    noise = torch.cat([torch.full((c,), r * width / eta, dtype=torch.float64) for r, c in zip(ratios, counts, strict=True)])
    steps = math.ceil(2.0 / (eta * f.curvature))
    res = simulate(f, x0, eta=eta, noise=noise, steps=steps, generator=g)
    Q = quench_steps(res.final, eta)
    quenched = f.descend(res.final, eta, Q)
    near = quenched.norm(dim=1) < NEAR
    stuck = torch.cdist(quenched, mins).min(dim=1).values < width
    fw = wide_landscape(D, spec.seed)
    (mw,) = fw.well_minima()
    x0w = mw + (WIDE["width"] / 10) * torch.randn(trials, D, generator=g, dtype=torch.float64) / math.sqrt(D)
    resw = simulate(fw, x0w, eta=eta, noise=spec.ratio * width / eta, steps=steps, generator=g)
    Qw = quench_steps(resw.final, eta)
    qw = fw.descend(resw.final, eta, Qw)
    bounds = np.cumsum([0, *counts])
    return {
        "f": f,
        "fw": fw,
        "eta": eta,
        "noise": spec.ratio * width / eta,
        "steps": steps,
        "quench": max(Q, Qw),
        "mins": mins,
        "wide_min": mw,
        "ratios": ratios,
        "slices": [slice(int(a), int(b)) for a, b in itertools.pairwise(bounds)],
        "final": res.final,
        "quenched": quenched,
        "near": near,
        "stuck": stuck,
        "wide_final": resw.final,
        "wide_near": qw.norm(dim=1) < NEAR,
        "wide_stays": (qw - mw).norm(dim=1) < WIDE["width"],
        "diverged": int(res.diverged.sum()) + int(resw.diverged.sum()),
    }


def _ray(f: Landscape, k: int = 0) -> torch.Tensor:
    c = torch.tensor(f.wells[k].center, dtype=torch.float64)
    return c / c.norm()


def _hist(pos: np.ndarray, edges: np.ndarray) -> np.ndarray:
    h, _ = np.histogram(pos, bins=edges)
    return h / max(1, pos.size)


def _escape_evidence(ev, spec: ToySpec, r: dict, width: float) -> None:
    f, fw, eta, s = r["f"], r["fw"], r["eta"], r["noise"]
    sl = r["slices"]
    D = spec.dim
    T_eff = eta * s**2 / 2
    b_narrow = [barrier(f, m) for m in r["mins"]]
    b_wide = barrier(fw, r["wide_min"])
    ev.size(dim=D, trials=sl[-1].stop - sl[-1].start, steps=r["steps"])
    ev.figure("eta (1 / lambda_max at the spike minima)", eta)
    ev.figure("eta s / w (noise per step over the spike width)", spec.ratio, predicted=">> 1")
    ev.figure("wide width / (eta s)", WIDE["width"] / (eta * s), predicted=">> 1")
    ev.figure("noisy steps, quench steps", [r["steps"], r["quench"]])
    ev.figure("barriers of the spike minima", b_narrow)
    ev.figure("Langevin temperature eta s^2 / 2", T_eff)
    ev.figure("wide barrier / temperature", b_wide / T_eff, predicted=">> 1")
    pts = convexity_points(f)
    ev.figure(
        "min <grad(f * N(0,(eta s)^2)), x - x*> / ||x - x*||^2 on the wells' rays (narrow)",
        float(f.convolve(eta * s).one_point_convexity(pts).min()),
        predicted="> 0 (one-point convex: Kleinberg's assumption)",
    )
    ev.figure("the same for the unsmoothed narrow f", float(f.one_point_convexity(pts).min()), predicted="< 0 (spike minima)")
    ev.figure(
        "the same for the smoothed wide f",
        float(fw.convolve(eta * s).one_point_convexity(convexity_points(fw)).min()),
        predicted="< 0 (the wide minimum survives smoothing)",
    )
    # escape fraction vs eta s / w
    xs, est, lo, hi = [], [], [], []
    for ratio, part in zip(r["ratios"], sl, strict=True):
        nr = r["near"][part]
        dec = binomial_decision(int(nr.sum()), int(nr.numel()), 0.5)
        xs.append(max(ratio, 0.03))
        est.append(dec.estimate)
        lo.append(dec.ci_low)
        hi.append(dec.ci_high)
    order = np.argsort(xs)
    lines = [
        {
            "label": "fraction ending near x* (one-sided 95% bounds); GD drawn at 0.03",
            "x": np.asarray(xs)[order],
            "y": np.asarray(est)[order],
            "y_low": np.asarray(lo)[order],
            "y_high": np.asarray(hi)[order],
            "style": "band",
        },
        {"label": f"1 - delta = {1 - DELTA}", "x": [0.03, max(xs)], "y": [1 - DELTA, 1 - DELTA], "style": "bound"},
    ]
    scan = np.geomspace(0.05, 4.0, 60)
    convex = [float(f.convolve(x * width).one_point_convexity(pts).min()) > 0 for x in scan]
    first = next((x for x, c in zip(scan, convex, strict=True) if c), None)
    if first is not None:
        lines.append({"label": f"f * N(0, (eta s)^2) one-point convex from eta s / w = {first:.2f}", "x": [first, first], "y": [0, 1], "style": "fit"})
    ev.figure("smallest eta s / w at which the smoothed narrow f is one-point convex", first)
    ev.plot("escape_fraction", lines, title=f"escape from a spike basin, D={D}, w={width:g}", xlabel="eta s / w", ylabel="P(end near x*)", xscale="log")
    # the landscape along the ray through the nearest spike, with the final positions
    u = _ray(f)
    grid = np.linspace(-0.6, 1.8, 1200)
    line = torch.as_tensor(grid, dtype=torch.float64).unsqueeze(1) * u
    fv = f.value(line).numpy()
    edges = np.linspace(-0.6, 1.8, 121)
    centres = 0.5 * (edges[1:] + edges[:-1])
    scale = float(fv.max())
    proj = (lambda x: (x @ u).numpy()) if D == 1 else (lambda x: x.norm(dim=1).numpy())
    hn = _hist(proj(r["final"][sl[-1]]), edges)
    hg = _hist(proj(r["final"][sl[0]]), edges)
    ev.plot(
        "landscape",
        [
            {"label": "f along the ray through the spikes", "x": grid, "y": fv, "style": "line"},
            {"label": f"spike minima (width w = {width:g}; too narrow to see at this scale)", "x": (r["mins"] @ u).numpy() if D == 1 else r["mins"].norm(dim=1).numpy(), "y": f.value(r["mins"]).numpy(), "style": "points"},
            {"label": f"final positions, noisy (histogram x {scale / max(hn.max(), 1e-12):.2g})", "x": centres, "y": hn * scale / max(hn.max(), 1e-12), "style": "line"},
            {"label": f"final positions, plain GD (histogram x {scale / max(hg.max(), 1e-12):.2g})", "x": centres, "y": hg * scale / max(hg.max(), 1e-12), "style": "line"},
        ],
        title=f"narrow spikes (w={width:g}), D={D}: where the runs end (before the quench)",
        xlabel="x" if D == 1 else "position along the ray (landscape); ||x - x*|| (histograms)",
        ylabel="f",
    )
    zoom = np.linspace(-8, 8, 321)
    c0 = torch.tensor(f.wells[0].center, dtype=torch.float64)
    zl = c0 + torch.as_tensor(zoom * width, dtype=torch.float64).unsqueeze(1) * u
    ev.plot(
        "spike_zoom",
        [
            {"label": "f", "x": zoom, "y": f.value(zl).numpy(), "style": "line"},
            {"label": f"f * N(0, (eta s)^2 I), eta s = {spec.ratio:.2f} w (what SGD descends)", "x": zoom, "y": f.convolve(eta * s).value(zl).numpy(), "style": "fit"},
        ],
        title=f"the nearest spike, zoomed (D={D})",
        xlabel="position along the ray from the spike centre / w",
        ylabel="f",
    )
    uw = _ray(fw)
    gridw = np.linspace(-0.6, 2.6, 1200)
    linew = torch.as_tensor(gridw, dtype=torch.float64).unsqueeze(1) * uw
    fvw = fw.value(linew).numpy()
    edgesw = np.linspace(-0.6, 2.6, 161)
    projw = (lambda x: (x @ uw).numpy()) if D == 1 else (lambda x: x.norm(dim=1).numpy())
    hw = _hist(projw(r["wide_final"]), edgesw)
    sw = float(fvw.max())
    ev.plot(
        "wide_well",
        [
            {"label": "f along the ray through the wide well", "x": gridw, "y": fvw, "style": "line"},
            {"label": f"final positions, noisy (histogram x {sw / max(hw.max(), 1e-12):.2g})", "x": 0.5 * (edgesw[1:] + edgesw[:-1]), "y": hw * sw / max(hw.max(), 1e-12), "style": "line"},
        ],
        title=f"wide well (width {WIDE['width']}), D={D}, same eta and s",
        xlabel="x" if D == 1 else "position along the ray; ||x - x*|| (histogram)",
        ylabel="f",
    )


def escape(spec: ToySpec, *, control: bool, S: dict | None = None) -> None:
    """The escape claim (control=False) or its planted twin on one example; ``S`` overrides the profile's sizes."""
    ev = evidence()
    S = S or sizes()
    width = S["width"]
    r = escape_runs(spec, width, S["trials"], S["sweep"])
    _escape_evidence(ev, spec, r, width)
    sl = r["slices"]
    assert r["diverged"] == 0, f"{r['diverged']} run(s) diverged"
    noisy_near = r["near"][sl[-1]]
    if control:
        decide_probability(ev, noisy_near, DELTA, f"noisy GD stays in the narrow basin (eta s = {spec.ratio:.2f} w, D={spec.dim})")
        return
    eta, s = r["eta"], r["noise"]
    if not float(r["f"].convolve(eta * s).one_point_convexity(convexity_points(r["f"])).min()) > 0:
        undecided("f * N(0, (eta s)^2) is not one-point convex toward x*: outside the theorem's assumption")
    ev.margin(1 - float(noisy_near.double().mean()), "fraction of noisy runs not ending near x*")
    decide_all(
        *(
            functools.partial(decide_probability, ev, bad, DELTA, what)
            for bad, what in (
                (~noisy_near, f"noisy GD ends near x* (eta s = {spec.ratio:.2f} w, D={spec.dim})"),
                (~r["stuck"][sl[0]], f"plain GD from the same starts stays in the spike basin (D={spec.dim})"),
                (r["wide_near"], f"the wide minimum (width {WIDE['width']} >> eta s = {eta * s:.3g}) is not escaped (D={spec.dim})"),
            )
        )
    )


ESCAPE_STATEMENT = (
    "Noisy GD x <- x - eta (grad f(x) + omega), omega ~ N(0, s^2 I), escapes a local minimum whose diameter w is small "
    "compared with the per-step noise eta s and ends near the global minimum x*, while plain GD from the same starts stays "
    "in the narrow basin and a wide bad minimum (width >> eta s) is not escaped: SGD works on f convolved with the law of eta "
    "omega, in which narrow minima are smoothed away."
)


# ------------------------------------------------------------------------------------------ the smoothed step


def smoothing_points(f: Landscape, scale: float, per_well: int = 8) -> torch.Tensor:
    """Points y along the ray through every well, within +-3 scale of its centre, offset sideways by
    scale / 3 in D > 1 (so that no coordinate is degenerate)."""
    out = []
    for k, w in enumerate(f.wells):
        c = torch.tensor(w.center, dtype=torch.float64)
        u = c / c.norm()
        t = torch.linspace(-3, 3, per_well, dtype=torch.float64).unsqueeze(1) * scale
        pts = c + t * u
        if f.dim > 1:
            side = torch.zeros(f.dim, dtype=torch.float64)
            side[(k + 1) % f.dim] = 1.0
            side = side - (side @ u) * u
            pts = pts + scale / 3 * side / side.norm().clamp_min(1e-12)
        out.append(pts)
    return torch.cat(out)


def smoothed_reference(f: Landscape, y: torch.Tensor, sigma: float, width: float) -> tuple[torch.Tensor, str, float]:
    """E grad f(y - u), u ~ N(0, sigma^2 I): trapezoidal quadrature for D <= 2 (checked against the closed
    form, a mismatch is a harness error), the closed-form convolution for D > 2."""
    closed = f.convolve(sigma).grad(y)
    if f.dim > 2:
        return closed, "closed-form Gaussian convolution", float("nan")
    quad = convolved_grad_quadrature(f.grad, y, sigma, spacing=min(width, sigma) / 8)
    err = float((quad - closed).abs().max() / closed.abs().max())
    if not err <= 1e-8:
        raise RuntimeError(f"quadrature and the closed-form convolution disagree: relative error {err:.3g}")
    return quad, "trapezoidal quadrature of grad f against N(0, (eta s)^2 I)", err


def _smoothed(spec: ToySpec, cid: str, *, smoothed: bool, S: dict | None = None) -> None:
    """The smoothed-step identity (smoothed=True) or its planted twin; ``S`` overrides the profile's sizes."""
    ev = evidence()
    S = S or sizes()
    width = S["width"]
    f = narrow_landscape(spec.dim, width, spec.seed)
    eta, _ = gd_step(f)
    s = spec.ratio * width / eta
    sigma = eta * s
    y = smoothing_points(f, max(sigma, width))
    mc, se = smoothed_step_monte_carlo(f, y, eta=eta, noise=s, samples=S["samples"], generator=trial_generator(cid, spec.seed, spec.dim, spec.ratio))
    ref, how, qerr = smoothed_reference(f, y, sigma, width)
    plain = f.grad(y)
    predicted = -eta * (ref if smoothed else plain)
    z = ((mc - predicted) / se).abs()
    N = z.numel()
    z_crit = float(sps.norm.ppf(1 - 1e-3 / (2 * N)))
    ev.size(dim=spec.dim, points=y.shape[0], samples=S["samples"])
    ev.figure("eta s / w", spec.ratio)
    ev.figure("reference for E[y' - y]", how)
    ev.figure("quadrature vs closed form (max relative error)", qerr, predicted="<= 1e-8")
    ev.figure("max |MC - predicted| / SE over points and coordinates", float(z.max()), predicted=f"<= {z_crit:.2f} (Bonferroni, alpha = 1e-3)")
    ev.figure(
        "max |grad f| / max |grad (f * N(0,(eta s)^2))| at the points (how much smoothing changes the step)",
        float(plain.norm(dim=1).max() / ref.norm(dim=1).max()),
    )
    ev.margin(float(z.max()) / z_crit, "max |z| / Bonferroni critical value")
    u = _ray(f)
    n0 = y.shape[0] // len(f.wells)
    c0 = torch.tensor(f.wells[0].center, dtype=torch.float64)
    t = ((y[:n0] - c0) @ u).numpy() / width
    comp = lambda v: (v[:n0] @ u).numpy()  # noqa: E731
    fine = np.linspace(t.min(), t.max(), 300)  # the two predictions on a fine line (closed form) through the same offset
    yf = y[0] + torch.as_tensor(fine - t[0], dtype=torch.float64).unsqueeze(1) * width * u
    ev.plot(
        "smoothed_step",
        [
            {"label": "Monte Carlo E[y' - y] (actual SGD step)", "x": t, "y": comp(mc), "style": "points"},
            {"label": "-eta grad (f * N(0, (eta s)^2)) (smoothed GD)", "x": fine, "y": (-eta * f.convolve(sigma).grad(yf) @ u).numpy(), "style": "line"},
            {"label": "-eta grad f (plain GD)", "x": fine, "y": (-eta * f.grad(yf) @ u).numpy(), "style": "bound"},
        ],
        title=f"one step of y_t = x_t - eta grad f(x_t) near a spike, D={spec.dim}, eta s = {spec.ratio:.2f} w",
        xlabel="position along the ray, from the spike centre / w",
        ylabel="component of the step along the ray",
    )
    assert float(z.max()) <= z_crit, (
        f"the mean SGD step of y differs from {'smoothed' if smoothed else 'plain'} GD by {float(z.max()):.1f} standard errors "
        f"(critical {z_crit:.2f}) at eta s = {spec.ratio:.2f} w, D={spec.dim}"
    )
