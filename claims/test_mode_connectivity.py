"""Mode connectivity: Garipov et al. (2018), "Loss Surfaces, Mode Connectivity, and Fast Ensembling of
DNNs", arXiv:1802.10026, and Draxler et al. (2018), "Essentially No Barriers in Neural Network Energy
Landscape", arXiv:1803.00885 (catalogue section E; both entries [S]: secondary reading notes).

Set-up. Two one-hidden-layer tanh MLPs (``harness.mlp``, standard parameterisation, LeCun init) per pair,
from different seeds, trained by full-batch GD on the same data (unit inputs, sign-teacher labels
y = sign(v.x) regressed with the mean squared loss L = 1/(2n) sum (f - y)^2: a nonlinear target) to near
zero loss (L <= 1e-2 L(init), measured ~1e-4 relative). GD uses one step per layer, c / fan_in (the
NTK-parameterisation step written in standard parameters, c = 4), so every layer moves at a
width-independent speed and widths can be compared at one step budget (a single step ~1/width, forced by
the output layer's curvature, freezes the hidden layer of wide nets and makes every path look worse
with width: measured). Paths (``harness.paths``), every loss on the full training set:

* the straight segment (1-t) w1 + t w2;
* Garipov's quadratic Bezier curve (1-t)^2 w1 + 2t(1-t) theta + t^2 w2, theta fitted by SGD (momentum 0.9)
  on E_{t ~ U(0,1)} L(phi(t)) from the midpoint, two t per step;
* Draxler's nudged elastic band in its string form (spring 0, perpendicular force, pivots redistributed
  to equal arc length after every step), 7 pivots started on the segment.

The barrier B = max_t L(path(t)) - max(L(w1), L(w2)) is measured on a t grid refined around its argmax,
relative to the scale L(init) - L_min of the pair (the catalogue's predicate B_path <= tau (L_untrained - L_min)).

Measured (quick: width 16, 32 pairs; the shared example n = 20, d = 5): B_lin / scale 0.09-1.12 (median
0.26); fitted Bezier curve median 0.006, max 0.027; string method median 0.002, max 0.013; B_lin / B_path >= 13
(Bezier) and >= 30 (string) on every pair; path length / segment length 1.17 (Bezier) and 1.22 (string),
below the papers' 1.3-2.5 for large CNNs. Standard (width 32, 64 pairs, 13 data sets each): Bezier max
<= 0.010 with min ratio >= 20, string max <= 0.028 with min ratio >= 25.

Across widths 8..128 (quick, 8 pairs each) the segment's barrier does NOT shrink: exponents 0.03
[-0.17, 0.21] and -0.02 [-0.20, 0.15] on two data sets (standard, 8..512: 0.01, -0.01, -0.12). Linear mode
connectivity emerges with width only modulo the permutation symmetry of the hidden units (Entezari et
al. 2021; Zhan, Li, Wu 2025 prove an O(m^-1/2) rate for the permutation-aligned barrier), which these
claims do not align. The fitted curve's barrier stays below 2.5% of the scale at every width; its
exponent is reported, not asserted: -0.01 and +0.26 in quick (no decrease at the quick fitting budget),
-0.25, -0.07, -0.29 in standard (a mild decrease with the larger budget), so Draxler et al.'s "barriers
shrink with width" is only weakly seen and depends on the fitting budget.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from hypothesis import example, given
from hypothesis import strategies as st

from harness import ProblemSpec, claim, device, dtype, evidence, profile, trial_generators, undecided
from harness.analysis import paths as pth
from harness.contract.checks import decide_exponent, decide_probability, plot_scaling, quantile_band
from harness.networks.mlp import MLP
from harness.contract.papers import DRAXLER2018, GARIPOV2018
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


def _curve(spec: ProblemSpec, method: str, *, control: bool) -> None:
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


_CURVE_GIVEN = {"spec": problems(min_n=12, max_n=20, min_d=4, max_d=8, labels=("teacher",), max_n_over_d=4.0)}
_REGIME = (
    "One hidden layer of width 16 (quick; standard 32, nightly 64), n <= 20 points, sign-teacher regression, full-batch GD "
    "with step 4/fan_in per layer for 4 x profile steps; Bezier fit 2 x profile steps, string method 4/3 x; pairs = the "
    "profile's replicates (32 in quick). The papers' CNNs on CIFAR are not run. Drawn: n in 12..20, d in 4..8 with "
    "n/d <= 4, the data seed; inputs uniform on the sphere, sign-teacher labels and tanh only, the width fixed per profile "
    "(each example trains 2 x pairs networks and fits a path for every pair)."
)


@claim(
    id=GARIPOV_ID,
    paper=GARIPOV2018,
    theorem="Sec. 3 (curve finding), Table 2 [S]",
    statement="Two independently trained minima w1, w2 are joined by a simple curve of near-constant low loss: the quadratic "
    "Bezier curve phi(t) = (1-t)^2 w1 + 2t(1-t) theta + t^2 w2 with theta minimising E_{t~U(0,1)} L(phi_theta(t)) by SGD, "
    "while the straight segment between them crosses a high-loss region.",
    quantifier="probability",
    predicate=f"per pair of minima (both at L <= {EPS:g} L(init)): B_bezier <= {TAU:g} (L(init) - L_min) and B_lin >= "
    f"{RATIO:g} B_bezier, B the barrier max_t L - max(L(w1), L(w2)) on the full training set; on all but a delta={DELTA} "
    "fraction of pairs (exact binomial 95% bounds)",
    assumptions="unit inputs (uniform on the sphere), sign-teacher labels, 12 <= n <= 20, 4 <= d <= 8, n/d <= 4, tanh, mean squared loss",
    regime=_REGIME,
    notes="Measured (quick: width 16, 32 pairs, 3 data sets): B_bezier / scale max 0.027 (median 0.002-0.006), B_lin / scale "
    "min 0.065, min ratio B_lin / B_bezier 13; Bezier length 1.14-1.17 x the segment (Garipov et al.: 1.30-2.13). "
    "Standard (width 32, 64 pairs, 13 data sets): max 0.010, min ratio 20.",
    examples={"quick": 2},
)
@example(**SHARED)
@given(**_CURVE_GIVEN)
def test_bezier_mode_connectivity(spec):
    _curve(spec, "bezier", control=False)


@claim(
    id="garipov2018.control.midpoint_bend",
    paper=GARIPOV2018,
    theorem="Sec. 3 (planted: the curve without its fit)",
    statement="(planted, false) The quadratic Bezier curve between two minima is flat even when its bend is left at its "
    "initialisation, the midpoint (w1 + w2) / 2: no fit needed (checked on the shared example n=20, d=5, seed 5).",
    regime=_REGIME.split(" Drawn:")[0] + " One fixed data set: the true claim's explicit example (n=20, d=5, sign-teacher, "
    "seed 5), whose pairs are shared.",
    quantifier="probability",
    expect="falsified",
    control_of=GARIPOV_ID,
    predicate=f"B_bezier(theta = (w1 + w2)/2) <= {TAU:g} (L(init) - L_min) on all but a delta={DELTA} fraction of pairs",
    notes="Garipov's own falsifier. With theta at the midpoint the Bezier curve is exactly the segment (constant speed), "
    "so the barrier reappears; evaluated through the Bezier code path.",
)
@given(spec=st.just(SHARED["spec"]))
def test_control_midpoint_bend(spec):
    _curve(spec, "midpoint", control=True)


@claim(
    id=DRAXLER_ID,
    paper=DRAXLER2018,
    theorem="Sec. 3-4 (AutoNEB minimum-energy paths) [S]",
    statement="Minima of a neural network's loss are connected by essentially flat paths: the minimum-energy path found by "
    "a nudged elastic band (AutoNEB; spring 0 with redistributed pivots, i.e. the string method) has a barrier near zero, "
    "B_path <= tau (L_untrained - L_min) with tau ~ 0.01-0.05, far below the straight line's.",
    quantifier="probability",
    predicate=f"per pair of minima (both at L <= {EPS:g} L(init)): the string method's chain ({PIVOTS} pivots, perpendicular "
    f"force, redistribution every step, from the segment) has B_path <= {TAU:g} (L(init) - L_min) and B_lin >= {RATIO:g} "
    f"B_path, B measured along the chain (not only at the pivots) on the full training set; all but a delta={DELTA} fraction of pairs",
    assumptions="unit inputs (uniform on the sphere), sign-teacher labels, 12 <= n <= 20, 4 <= d <= 8, n/d <= 4, tanh, mean squared loss",
    regime=_REGIME + " AutoNEB's pivot insertion is not run: a fixed chain of 7 pivots.",
    notes="Measured (quick: width 16, 32 pairs, 3 data sets): B_path / scale max 0.023 (median 0.0005-0.0023), min "
    "B_lin / B_path 28; chains 1.17-1.22 x the segment's length (Draxler et al.: 1.5-2.5 for CNNs). Standard (width 32, 64 "
    "pairs, 13 data sets): max 0.028, min ratio 25. Reported barriers are upper bounds on the minimum-energy path's.",
    examples={"quick": 2},
)
@example(**SHARED)
@given(**_CURVE_GIVEN)
def test_autoneb_no_barrier(spec):
    _curve(spec, "string", control=False)


@claim(
    id="draxler2018.control.straight_line_flat",
    paper=DRAXLER2018,
    theorem="Sec. 4 (planted: the linear path)",
    statement="(planted, false) The straight line between two independently trained minima is already flat at small width: "
    "B_lin = max_t L((1-t) w1 + t w2) - max(L(w1), L(w2)) <= tau (L(init) - L_min) (checked on the shared example n=20, d=5, seed 5).",
    regime=_REGIME.split(" Drawn:")[0] + " One fixed data set: the true claims' explicit example (n=20, d=5, sign-teacher, "
    "seed 5), whose pairs and segments are shared.",
    quantifier="probability",
    expect="falsified",
    control_of=DRAXLER_ID,
    predicate=f"B_lin <= {TAU:g} (L(init) - L_min) on all but a delta={DELTA} fraction of pairs (width 16 in quick)",
    notes="The negative control of the issue: the linear path crosses a barrier of 10-70% of the scale.",
)
@given(spec=st.just(SHARED["spec"]))
def test_control_straight_line_flat(spec):
    _curve(spec, "segment", control=True)


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


def _segment_width(spec: ProblemSpec, *, control: bool) -> None:
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


@claim(
    id=WIDTH_ID,
    paper=GARIPOV2018,
    theorem="Table 2 / Fig. 2 [S]: the segment between independent minima stays high for wide networks",
    statement="The straight segment between independently trained minima crosses a high-loss region whatever the width "
    "(Garipov et al.: near-chance error on the segment for VGG-16 and ResNet-164; Draxler et al.: the linear path has a "
    "clear barrier for every architecture), while curves are flat. Measured here against the hypothesis of the issue "
    "that the straight-line barrier shrinks as the width grows: without aligning the hidden units' permutations it does not.",
    quantifier="scaling",
    predicate=f"slope of log(B_lin / (L(init) - L_min)) against log m, every pair a point, has its 95% CI above -{EXP_TOL:g} "
    "(no power-law decay); widths doubling from 8 (quick 8..128), 2 x scaling_seeds pairs per width",
    assumptions="unit inputs (uniform on the sphere), sign-teacher labels, 16 <= n <= 20, d in {5, 6}, n/d <= 4, tanh, mean squared loss, GD with per-layer step 4/fan_in",
    regime="Widths 8..128 (quick), 8..512 (standard), 8..2048 (nightly); the GD step per layer keeps every layer's "
    "speed width-independent. The papers' widths (CNNs of millions of parameters) are not run. Drawn: n in 16..20, d in "
    "{5, 6}, the data seed (one width sweep per example); sign-teacher labels and tanh only.",
    notes="Measured (quick, 8 pairs per width): exponent 0.03 [-0.17, 0.21] (n=20, d=5) and -0.02 [-0.20, 0.15] (n=16, "
    "d=5); B_lin / scale median 0.14-0.32 at every width; standard (8..512, 12 pairs): 0.01, -0.01, -0.12. The Bezier "
    "curve's barrier stays below 0.025 of the scale, its exponent reported (quick -0.01 and +0.26; standard -0.07 to -0.29). Entezari et al. (2021) conjecture, and "
    "Zhan, Li, Wu (2025) prove for two-layer ReLU nets, that the barrier vanishes with width only after permuting the hidden units.",
    examples={"quick": 1, "standard": 2, "nightly": 3},
    finding='Width alone does not linearly connect minima: the straight segment between two independently trained nets keeps its loss barrier as m grows (no permutation alignment), so the hypothesis that it shrinks like m^-1/2 is falsified; the curved paths of the Bezier and string-method claims stay flat.',
)
@example(**SHARED)
@given(spec=problems(min_n=16, max_n=20, min_d=5, max_d=6, labels=("teacher",), max_n_over_d=4.0))
def test_segment_barrier_width(spec):
    _segment_width(spec, control=False)


@claim(
    id="garipov2018.control.segment_barrier_shrinks_with_width",
    paper=GARIPOV2018,
    theorem="Table 2 (planted: the issue's hypothesis)",
    statement="(planted, false) The straight-line barrier between independently trained minima shrinks as the width grows, "
    "like m^-1/2: wide networks are linearly mode connected without any alignment (checked on the shared example n=20, d=5, seed 5).",
    regime="Widths as garipov2018.segment_barrier_width; one fixed data set: its explicit example (n=20, d=5, sign-teacher, "
    "seed 5), whose width sweep is shared.",
    quantifier="scaling",
    expect="falsified",
    control_of=WIDTH_ID,
    predicate=f"slope of log(B_lin / (L(init) - L_min)) against log m has its 95% CI below -{EXP_TOL:g} (-1/2 + {0.5 - EXP_TOL:g})",
    notes="Runs the true claim's lru-cached sweep (its explicit example); where that fit is undecided it draws 2x, then 4x "
    "the pairs per width (straight segments only) before deciding. The m^-1/2 rate holds for the permutation-aligned "
    "barrier (Zhan, Li, Wu 2025), not for the raw one.",
)
@given(spec=st.just(SHARED["spec"]))
def test_control_segment_barrier_shrinks_with_width(spec):
    _segment_width(spec, control=True)
