"""Mode connectivity (Garipov et al. 2018, Draxler et al. 2018): pairs of trained minima, straight segments, Bezier curves and the string method, barriers over widths.

The claims are in ``claims/test_mode_connectivity.py``; this module holds what they run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
import numpy as np
import torch
from harness.data.problems import ProblemSpec
from harness.runtime.session import device
from harness.runtime.session import dtype
from harness.contract.claim import evidence
from harness.runtime.session import profile
from harness.runtime.seeding import trial_generators
from harness.contract.claim import undecided
from harness.analysis import paths as pth
from harness.contract.checks import decide_exponent, decide_probability, plot_scaling, quantile_band
from harness.networks.mlp import MLP
from harness.runtime.shared_work import shared_work
from harness.contract.stats import compare_exponent, fit_exponent
from harness.data.strategies import problems

TAU = 0.05  #: barrier allowed on a found path, as a fraction of L(init) - L_min (the catalogue's 0.01-0.05)
RATIO = 10.0  #: the segment's barrier must exceed the found path's by this factor
DELTA = 0.15  #: fraction of pairs allowed to fail (exact binomial bounds over the pairs)
EPS = 1e-2  #: "near-zero loss": both ends below EPS * L(init)
C_LR = 4.0  #: GD step per layer c / fan_in
PIVOTS = 7  #: inner pivots of the string
EXP_TOL = 0.3  #: the segment barrier's exponent in width is "flat" if its 95% CI stays above -EXP_TOL
SWEEP = "mode_connectivity"  #: seeds of the pairs, shared by every claim of the module

GARIPOV_ID = "garipov2018.bezier_mode_connectivity"
DRAXLER_ID = "draxler2018.autoneb_no_barrier"
WIDTH_ID = "garipov2018.segment_barrier_width"

SHARED = {"spec": ProblemSpec(n=20, d=5, labels="teacher", seed=5)}


# ----------------------------------------------------------------------------- sizes


def curve_width() -> int:
    """Width of the curve claims: small (the straight line's barrier is clear there)."""
    return {"quick": 16, "standard": 32}.get(profile().name, 64)


def curve_pairs() -> int:
    """Pairs of minima per example of the curve claims: the profile's replicates (32 in quick)."""
    return profile().replicates


def width_grid() -> tuple[int, ...]:
    """Widths of the width sweep: doubling from 8 (quick 8..128, standard 8..512, nightly 8..2048)."""
    top = {"quick": 128, "standard": 512}.get(profile().name, 2048)
    return tuple(8 * 2**k for k in range(int(math.log2(top // 8)) + 1))


def width_pairs() -> int:
    """Pairs per width in the width sweep: 2 x scaling_seeds (8 in quick)."""
    return 2 * profile().scaling_seeds


def _budget() -> dict[str, int]:
    """Steps: GD training 4 x profile steps (1200 in quick), Bezier fit 2 x, string method 4/3 x."""
    s = profile().steps
    return {"train": 4 * s, "bezier": 2 * s, "neb": (4 * s) // 3}


def _key() -> tuple:
    return (profile().name, str(device()), str(dtype()), _budget()["train"])


# ----------------------------------------------------------------------------- training the pairs


def layer_lr(mlp: MLP, c: float) -> torch.Tensor:
    """[P]: the step c / fan_in for every weight and bias of each layer (GD in the NTK parameterisation,
    written in the standard parameters: theta = s psi with s = fan_in^-1/2 and step c on psi)."""
    return torch.cat([torch.full((o * i + o,), c / i, dtype=torch.float64) for (o, i), _ in mlp.shapes])


def train_gd(mlp: MLP, theta: torch.Tensor, X: torch.Tensor, y: torch.Tensor, steps: int, lr: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Full-batch GD theta <- theta - lr * grad L (lr [P], one step per parameter) on T networks at once.
    Returns (theta [T, P], L(theta) [T]); a network whose loss turns non-finite is frozen and gets L = inf."""
    th = theta.clone()
    alive = torch.ones(th.shape[0], dtype=torch.bool, device=th.device)
    for _ in range(steps):
        th.requires_grad_(True)
        L = mlp.loss(th, X, y)
        (g,) = torch.autograd.grad(L.sum(), th)
        with torch.no_grad():
            alive &= torch.isfinite(L) & torch.isfinite(g).all(dim=1)
            th = th.detach() - torch.where(alive.unsqueeze(1), lr * g, torch.zeros_like(g))
    with torch.no_grad():
        L = mlp.loss(th, X, y)
    return th.detach(), torch.where(alive & torch.isfinite(L), L, torch.full_like(L, math.inf))


@dataclass(frozen=True, eq=False)
class Pairs:
    """Minima w1, w2 [S, P] of S pairs and their scales."""

    mlp: MLP
    X: torch.Tensor
    y: torch.Tensor
    w1: torch.Tensor
    w2: torch.Tensor
    L_init: torch.Tensor  #: [S] mean of the two initial losses
    L_end: torch.Tensor  #: [S, 2] losses at the minima
    ok: torch.Tensor  #: [S] both ends trained to L <= EPS L(init) (the claims' hypothesis)
    lr: torch.Tensor  #: [P]

    @property
    def scale(self) -> torch.Tensor:
        """L(init) - L_min per pair."""
        return self.L_init - self.L_end.min(dim=1).values

    def loss(self, q: torch.Tensor) -> torch.Tensor:
        return self.mlp.loss(q, self.X, self.y)


@shared_work(maxsize=16)
def _pairs(spec: ProblemSpec, width: int, S: int, key: tuple) -> Pairs:
    p = spec.build()
    mlp = MLP((p.d, width, 1), "tanh")
    dev, dt = device(), dtype()
    X, y = p.X.to(device=dev, dtype=dt), p.y.to(device=dev, dtype=dt)
    theta0 = mlp.init(trial_generators(SWEEP, spec.seed * 7919 + width, 2 * S), dtype=dt).to(dev)
    lr = layer_lr(mlp, C_LR).to(device=dev, dtype=dt)
    with torch.no_grad():
        L0 = mlp.loss(theta0, X, y)
    w, L = train_gd(mlp, theta0, X, y, _budget()["train"], lr)
    L0p = torch.stack([L0[:S], L0[S:]], dim=1)
    Lp = torch.stack([L[:S], L[S:]], dim=1)
    ok = (Lp <= EPS * L0p).all(dim=1)
    return Pairs(mlp, X, y, w[:S], w[S:], L0p.mean(dim=1), Lp, ok, lr)


@dataclass(frozen=True, eq=False)
class PathResult:
    ts: np.ndarray  #: [G]
    losses: torch.Tensor  #: [S, G] (CPU, float64)
    barrier: torch.Tensor  #: [S] B = max_t L - max(L(w1), L(w2)) (grid refined around the argmax)
    length: torch.Tensor  #: [S] arc length / ||w2 - w1||


def _measure(pr: Pairs, nodes: torch.Tensor, kind: str) -> PathResult:
    ts, L, top = pth.max_along(pr.loss, nodes, kind)
    to64 = lambda v: v.detach().cpu().to(torch.float64)  # noqa: E731
    return PathResult(ts.numpy(), to64(L), to64(pth.barrier(L, top)), to64(pth.length_ratio(nodes, kind)))


@shared_work(maxsize=32)
def _path(spec: ProblemSpec, width: int, S: int, method: str, key: tuple) -> PathResult:
    """The barrier and loss profile of one kind of path for every pair: ``segment``, ``midpoint`` (a
    Bezier curve whose bend is left at the midpoint: Garipov's falsifier, the segment again), ``bezier``
    (fitted bend), ``string`` (NEB / string method from the segment)."""
    pr = _pairs(spec, width, S, key)
    b = _budget()
    if method == "segment":
        return _measure(pr, pth.segment_nodes(pr.w1, pr.w2, 0, "chain"), "chain")
    if method == "midpoint":
        return _measure(pr, pth.segment_nodes(pr.w1, pr.w2, 1, "bezier"), "bezier")
    if method == "bezier":
        gens = trial_generators(SWEEP + ".t", spec.seed * 7919 + width, S)
        fit = pth.fit_bends(pr.loss, pr.w1, pr.w2, kind="bezier", bends=1, steps=b["bezier"], lr=0.4 * pr.lr, momentum=0.9, t_batch=2, generators=gens)
        return _measure(pr, fit.nodes, "bezier")
    if method == "string":
        start = pth.segment_nodes(pr.w1, pr.w2, PIVOTS, "chain")
        res = pth.neb(pr.loss, start, steps=b["neb"], lr=0.2 * pr.lr, momentum=0.8, spring=0.0, project=True)
        return _measure(pr, res.nodes, "chain")
    raise ValueError(f"unknown path method {method!r}")


# ----------------------------------------------------------------------------- the curve claims


def _loss_plot(ev, results: dict[str, PathResult], ok: torch.Tensor, title: str, name: str = "loss_along_paths") -> None:
    lines = []
    for label, r in results.items():
        med, lo, hi = quantile_band(r.losses[ok])
        lines.append({"label": f"{label} (median, 10-90% band over pairs)", "x": r.ts, "y": med, "y_low": lo, "y_high": hi, "style": "band"})
    ev.plot(name, lines, title=title, xlabel="t along the path", ylabel="training loss L(path(t))", yscale="log")


def curve(spec: ProblemSpec, method: str, *, control: bool) -> None:
    """``method`` is the path the predicate is about (bezier / string, or for a control midpoint /
    segment); the segment is always measured alongside."""
    ev = evidence()
    width, S = curve_width(), curve_pairs()
    key = _key()
    pr = _pairs(spec, width, S, key)
    seg = _path(spec, width, S, "segment", key)
    path = seg if method == "segment" else _path(spec, width, S, method, key)
    ok = pr.ok.cpu()
    scale = pr.scale.cpu().to(torch.float64)
    ev.size(n=spec.n, d=spec.d, m=width, params=pr.mlp.n_params, pairs=S, steps=_budget()["train"])
    ev.figure("pairs with both ends trained to L <= 1e-2 L(init)", int(ok.sum()), predicted=S)
    if int(ok.sum()) < S // 2:
        undecided(f"only {int(ok.sum())}/{S} pairs reached L <= {EPS:g} L(init) in {_budget()['train']} GD steps")
    rel_end = (pr.L_end.cpu() / pr.L_init.cpu().unsqueeze(1))[ok]
    ev.figure("max L(w) / L(init) at the minima", float(rel_end.max()), predicted=f"<= {EPS:g}")
    ev.figure("median L(init) - L_min", float(scale[ok].median()))
    rl = (seg.barrier / scale)[ok]
    rp = (path.barrier / scale)[ok]
    ev.figure("segment: B_lin / (L(init) - L_min), median", float(rl.median()))
    ev.figure("segment: B_lin / (L(init) - L_min), min over pairs", float(rl.min()))
    label = {"bezier": "Bezier curve (fitted bend)", "string": f"string method ({PIVOTS} pivots)", "midpoint": "Bezier curve, bend at the midpoint (not fitted)", "segment": "segment"}[method]
    ev.figure(f"{label}: B / (L(init) - L_min), median", float(rp.median()))
    ev.figure(f"{label}: B / (L(init) - L_min), max over pairs", float(rp.max()), predicted=f"<= {TAU:g}")
    results = {"straight segment": seg}
    if method != "segment":
        results[label] = path
        ratio = rl / rp.clamp_min(1e-300)
        ev.figure(f"min over pairs of B_lin / B ({label})", float(ratio.min()), predicted=f">= {RATIO:g}" if not control else None)
        ev.figure(f"{label}: arc length / ||w2 - w1||, median", float(path.length[ok].median()), predicted="1.3-2.5 (the papers, large CNNs)")
    _loss_plot(ev, results, ok, f"width {width}, n={spec.n}, d={spec.d}: {S} pairs of minima")
    if control:
        failed = rp > TAU
        ev.margin(float(rp.max()) / TAU, f"max over pairs of B / (TAU (L(init) - L_min)) ({label})")
        decide_probability(ev, failed, DELTA, f"{label} flat: B <= {TAU:g} (L(init) - L_min)")
        return
    failed = (rp > TAU) | (rl < RATIO * rp) | ~torch.isfinite(rp)
    ev.margin(max(float(rp.max()) / TAU, float((RATIO * rp / rl.clamp_min(1e-300)).max())), f"max over pairs of B / (TAU scale) and RATIO B / B_lin ({label})")
    decide_probability(ev, failed, DELTA, f"{label}: B <= {TAU:g} (L(init) - L_min) and B_lin >= {RATIO:g} B")


CURVE_GIVEN = {"spec": problems(min_n=12, max_n=20, min_d=4, max_d=8, labels=("teacher",), max_n_over_d=4.0)}
REGIME = (
    "One hidden layer of width 16 (quick; standard 32, nightly 64), n <= 20 points, sign-teacher regression, full-batch GD "
    "with step 4/fan_in per layer for 4 x profile steps; Bezier fit 2 x profile steps, string method 4/3 x; pairs = the "
    "profile's replicates (32 in quick). The papers' CNNs on CIFAR are not run. Drawn: n in 12..20, d in 4..8 with "
    "n/d <= 4, the data seed; inputs uniform on the sphere, sign-teacher labels and tanh only, the width fixed per profile "
    "(each example trains 2 x pairs networks and fits a path for every pair)."
)


# ----------------------------------------------------------------------------- the segment's barrier across widths


@shared_work(maxsize=4)
def _width_sweep(spec: ProblemSpec, key: tuple) -> dict[int, tuple[Pairs, PathResult, PathResult]]:
    S = width_pairs()
    return {m: (_pairs(spec, m, S, key), _path(spec, m, S, "segment", key), _path(spec, m, S, "bezier", key)) for m in width_grid()}


def _segment_barriers(spec: ProblemSpec, S: int) -> tuple[list[float], list[float]]:
    """(width, B_lin / (L(init) - L_min)) for every trained pair of S pairs a width (straight segments only)."""
    xs, ys = [], []
    for m in width_grid():
        pr, seg = _pairs(spec, m, S, _key()), _path(spec, m, S, "segment", _key())
        ok = pr.ok.cpu()
        xs += [m] * int(ok.sum())
        ys += (seg.barrier[ok] / pr.scale.cpu().to(torch.float64)[ok]).clamp_min(1e-300).tolist()
    return xs, ys


def segment_width(spec: ProblemSpec, *, control: bool) -> None:
    ev = evidence()
    sweep = _width_sweep(spec, _key())
    widths = width_grid()
    S = width_pairs()
    xs, ys, xp, yp = [], [], [], []
    trained = 0
    lines = []
    for m, (pr, seg, bez) in sweep.items():
        ok = pr.ok.cpu()
        trained += int(ok.sum())
        scale = pr.scale.cpu().to(torch.float64)[ok]
        xs += [m] * int(ok.sum())
        ys += (seg.barrier[ok] / scale).clamp_min(1e-300).tolist()
        xp += [m] * int(ok.sum())
        yp += (bez.barrier[ok] / scale).clamp_min(1e-300).tolist()
        if m in (widths[0], widths[len(widths) // 2], widths[-1]):
            for r, lab in ((seg, "segment"), (bez, "Bezier curve")):
                med = (r.losses[ok] / scale.unsqueeze(1)).median(dim=0).values.numpy()
                lines.append({"label": f"{lab}, m={m} (median over pairs)", "x": r.ts, "y": med, "style": "line"})
    ev.size(n=spec.n, d=spec.d, m=max(widths), pairs=S, steps=_budget()["train"])
    ev.figure("widths", list(widths))
    ev.figure("pairs trained to L <= 1e-2 L(init)", trained, predicted=S * len(widths))
    if trained < S * len(widths) * 3 // 4:
        undecided(f"only {trained}/{S * len(widths)} pairs reached L <= {EPS:g} L(init)")
    xa, ya, pa = np.asarray(xs, float), np.asarray(ys), np.asarray(yp)
    for m in (widths[0], widths[-1]):
        ev.figure(f"median B_lin / (L(init) - L_min) at m={m}", float(np.median(ya[xa == m])))
        ev.figure(f"median B_bezier / (L(init) - L_min) at m={m}", float(np.median(pa[xa == m])))
    fp = fit_exponent(xp, yp)
    ev.figure("exponent (reported): Bezier barrier / scale vs m (Draxler: paths' barriers shrink with width)", fp.slope, interval=(fp.ci_low, fp.ci_high), relation="fitted, not asserted")
    ev.figure("max over widths and pairs of B_bezier / scale", float(pa.max()), predicted=f"<= {TAU:g}")
    ev.plot("loss_along_paths", lines, title=f"L(t) / (L(init) - L_min): segment vs Bezier, n={spec.n}, d={spec.d}", xlabel="t along the path", ylabel="L / (L(init) - L_min)", yscale="log")
    plot_scaling(ev, xs, ys, predicted=0.0 if not control else -0.5, title="straight-line barrier vs width", xlabel="width m", ylabel="B_lin / (L(init) - L_min)", name="barrier_vs_width")
    ev.plot(
        "barriers_vs_width",
        [
            {"label": "segment B_lin / scale (each pair)", "x": xs, "y": ys, "style": "points"},
            {"label": "Bezier B / scale (each pair)", "x": xp, "y": yp, "style": "points"},
            {"label": f"tau = {TAU:g}", "x": [widths[0], widths[-1]], "y": [TAU, TAU], "style": "bound"},
        ],
        title="barrier vs width: segment and fitted curve",
        xlabel="width m",
        ylabel="B / (L(init) - L_min)",
        xscale="log",
        yscale="log",
    )
    what = "straight-line barrier B_lin / (L(init) - L_min) vs width"
    if control:
        # the twin's decision may fall in the undecided band on 8 pairs a width: draw 2x, then 4x the
        # pairs (fresh networks, straight segments only) before deciding, so that its falsification
        # does not hang on the run seed (the seed sweep found it undecided on run seed 5)
        pairs = S
        while compare_exponent(fit_exponent(xs, ys), -0.5, 0.5 - EXP_TOL, "at_most").decision == "undecided" and pairs < 4 * S:
            pairs *= 2
            xs, ys = _segment_barriers(spec, pairs)
            ev.figure("pairs per width in the fit (drawn again with more pairs: the fit was undecided)", pairs)
        decide_exponent(ev, xs, ys, -0.5, 0.5 - EXP_TOL, what, alternative="at_most")
    else:
        decide_exponent(ev, xs, ys, 0.0, EXP_TOL, what, alternative="at_least")
