"""Width against depth in Du, Lee, Li, Wang, Zhai (2019), "Gradient Descent Finds Global Minima of Deep
Neural Networks", arXiv:1811.03804 (ICML 2019): plain (fully connected) nets need a width that grows
exponentially with the depth H, ResNets one that grows only polynomially.

The paper (catalogue dllwz.thm5.1 / dllwz.thm6.1): Theorem 5.1 asks m = Omega(2^O(H) n^4 / lambda^4 ...) for the
fully connected net x^(h) = sqrt(c_sigma/m) sigma(W^(h) x^(h-1)); Theorem 6.1 asks a width polynomial in n and
H (its summary: m ~ n^4 H^2) for the ResNet x^(h) = x^(h-1) + c_res/(H sqrt m) sigma(W^(h) x^(h-1)), c_res = 0.1.
Both are sufficient widths with unrunnable constants. What is measured instead is the empirical threshold
width of one of the proofs' width conditions, the concentration of the Gram matrix at initialization
(the Sec. 5 / 6 initialization lemmas: G(0) close to its limit K^(H), m = Omega(n^2 log(Hn/delta) 2^O(H) / lambda^2)
for fc), in relative form:

* a seed *succeeds* at (family, H, m) when r = ||Theta(0) - Theta^inf||_2 / ||Theta^inf||_2 <= TAU = 1/2, Theta(0)
  the empirical NTK of all layers (``harness.networks.deep.layerwise_ntk``, tested against torch.func in
  tests/test_deep.py), Theta^inf the analytic one (``harness.deep_kernels``);
* the config *holds* when P(r > TAU) <= DELTA = 1/4 over the init, decided by exact binomial bounds over
  ``profile().replicates`` seeds, up to 4x as many where a trial is cheap (``harness.contract.stats.binomial_decision``:
  holds / violated / undecided; the seeds of a width are drawn until the decision cannot change any more,
  which gives exactly the decision of all of them);
* the threshold width m*(H) is the smallest width of the doubling grid 4, 8, ..., 8 deep_width at which the config
  holds. The grid is walked upward and stops at the first "holds"; m*(H) is known to lie in [low, high]:
  high = the first width that holds (inf if none up to the cap), low = twice the largest width certified
  violated below it (4 if none).

Why this criterion: it is one of the width conditions of the proofs, it needs no training (an NTK at
init costs O(n m^2 H), so widths up to 512-8192 fit), and it depends measurably on width (r falls like
m^-1/2, dllwz2019.def5.1.ntk_convergence). The proofs' absolute form ||G(0) - K|| <= lambda_min / 4 cannot be
run: for softplus fc, lambda_min(Theta^inf) / lambda_max falls like e^(-1.1 H) (2.5e-3 at H = 2, 1.2e-9 at
H = 16, 4.7e-17 at H = 32; measured n = 10, d = 8), so it needs m ~ 10^6 at H = 2 and ~ 10^18 at H = 16;
GD-based criteria (L <= eps L(0) in K steps) fail at every width for deep softplus fc for the same reason
(conditioning, not width). A relative gap of Theta is what finite-width theory tracks: for ReLU fc its
relative variance grows like exp(5 H / m) (Hanin & Nica, arXiv:1909.05989), so a fixed tolerance gives
m* ~ H, not 2^H.

Measured, quick profile (n = 10, d = 8, data seed 3: the shared example; seeds per width 32..128 by cost,
TAU = 1/2, DELTA = 1/4; m*(H) as [low, high]; inf: beyond the width cap 512):

    act       family  H=2        H=4         H=8          H=16         certified growth H=2 -> 16
    relu      fc      [64, 64]   [128, 128]  [256, 512]   [256, 512]   [4, 8]
    relu      resnet  [32, 32]   [32, 32]    [32, 32]     [32, 32]     [1, 1]
    tanh      fc      [32, 32]   [64, 64]    [256, 256]   [1024, inf]  [32, inf]
    tanh      resnet  [16, 16]   [16, 16]    [16, 16]     [16, 16]     [1, 1]
    gelu      fc      [64, 128]  [256, 256]  [512, inf]   [1024, inf]  [8, inf]
    gelu      resnet  [32, 64]   [32, 64]    [32, 64]     [32, 64]     [0.5, 2]
    softplus  fc      [8, 16]    [16, 32]    [16, 16]     [8, 16]      [0.5, 2]   (not drawn, see below)
    softplus  resnet  [4, 8]     [4, 8]      [4, 4]       [4, 8]       [0.5, 2]

On four more datasets (n, d, seed = 8, 5, 1; 9, 12, 7; 10, 5, 22; 8, 8, 5) the certified fc growth was
at least 4 (relu), 16 (tanh), 8 (gelu) and the ResNet's at most 2, in all 15 (dataset, activation) pairs:
the claim held and the twin was falsified every time. Standard profile (widths to 2048, 64..256 seeds;
same example): relu fc [64, 64], [128, 128], [256, 256], [256, 1024]; tanh fc [32, 32], [64, 64],
[256, 256], [512, 1024]; gelu fc [128, 128], [256, 256], [512, 1024], [4096, inf]; ResNet flat at 32,
16, [32, 64]; 90-200 s per activation on one CPU core.

fc: m* grows by 4-8x (relu), 32x or more (tanh, gelu) from H = 2 to 16. The fitted exponent of m* against H
is ~0.9 for relu, the linear growth of the Hanin-Nica H/m; tanh and gelu grow faster: with c_sigma
normalisation their plain nets are on the chaotic side, where the kernel's fluctuations grow exponentially
in H, and gelu's passes every runnable width by H = 8. ResNet: flat (exponent 0), because the 1/H
residual scaling keeps depth harmless. So the exponential picture shows up for tanh and gelu and a
linear one for relu (critical); neither is the theorem's literal 2^O(H) constant, and the ResNet stays
far under the theorem's H^2.

Not covered: softplus, the paper's guiding activation. With c_sigma normalisation its fc net is on the
ordered side (correlations run to 1 with depth). The kernel collapses to rank one, and the relative
fluctuation of Theta(0) does NOT grow with H (table above). Its depth problem is the collapse of
lambda_min(Theta^inf) described above, another face of the 2^O(H). The claim would be falsified on
softplus, so the activations drawn are relu (outside Condition 3.2; the Hanin-Nica case) and tanh and
gelu (analytic and not polynomial: inside Condition 3.2).

Multiple testing: every grid point is a 95% decision; the predicates use four of them (fc at H_min's first
hold and H_max's last violation, the ResNet's likewise), all far from their bounds in the runs above.

* ``dllwz2019.width_vs_depth``: over the depth grid (quick and standard 2..16, nightly 2..32) the fc
  threshold grows by at least (H_max / H_min)^(1/2) (certified: low(H_max) / high(H_min)); the ResNet's by at
  most H_max / H_min (certified: high(H_max) / low(H_min); the paper's bound is (H_max / H_min)^2) and by less
  than the fc threshold's certified growth.
* ``dllwz2019.control.fc_width_flat_in_depth`` (planted, false): the fc threshold grows by at most
  (H_max / H_min)^(1/2), as a ResNet's would. Falsified by the same sweep (lru-cached, same seeds).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from hypothesis import example, given
from hypothesis import strategies as st

from harness import claim, device, dtype, evidence, profile, trial_generators, undecided
from harness.networks.deep import DeepNet, analytic_ntk, layerwise_ntk
from harness.contract.papers import DLLWZ
from harness.data.problems import ProblemSpec
from harness.runtime.shared_work import shared_work
from harness.contract.stats import binomial_decision, fit_exponent
from harness.data.strategies import problems

CLAIM_ID = "dllwz2019.width_vs_depth"
TWIN_ID = "dllwz2019.control.fc_width_flat_in_depth"
TAU = 0.5  #: a seed succeeds when ||Theta(0) - Theta^inf||_2 / ||Theta^inf||_2 <= TAU
DELTA = 0.25  #: a config holds when P(fail) <= DELTA (exact binomial bounds)
SEPARATION = 0.5  #: fc grows at least like H^SEPARATION (the twin: at most)
RESNET_MAX = 1.0  #: the ResNet's threshold grows at most like H^RESNET_MAX (the paper's bound: H^2)
WIDTH_FLOOR = 4
MAX_LAYER_ELEMENTS = 1 << 28  #: (H - 1) m^2 of one trial (2 GiB of float64): the width cap per depth
CHUNK_ELEMENTS = 1 << 21  #: parameters of the trials drawn at once (small chunks let a settled decision stop early)
SEED_BUDGET = 1 << 24  #: normals drawn at one grid point beyond which it gets only the replicates
ACTIVATIONS = ("relu", "tanh", "gelu")
FAMILIES = ("fc", "resnet")
HOLDS, VIOLATED, UNDECIDED = "holds", "violated", "undecided"
#: the twin's example; the true claim runs it first too (@example), so the two share one sweep
SHARED = {"spec": ProblemSpec(n=10, d=8, seed=3), "act": "relu"}




# ----------------------------------------------------------------------------- grids


def depth_grid() -> tuple[int, ...]:
    """Doubling depths from 2 to min(max_depth, max(16, sqrt(deep_width))): quick and standard 2..16,
    nightly 2..32."""
    P = profile()
    top = min(P.max_depth, max(16, int(math.sqrt(P.deep_width))))
    hs = [2]
    while hs[-1] * 2 <= top:
        hs.append(hs[-1] * 2)
    return tuple(hs)


def width_grid(depth: int) -> tuple[int, ...]:
    """Doubling widths from WIDTH_FLOOR to 8 deep_width (quick 512, standard 2048, nightly 8192), cut
    where one trial's m x m layers would exceed MAX_LAYER_ELEMENTS."""
    top = 8 * profile().deep_width
    ws = [WIDTH_FLOOR]
    while ws[-1] * 2 <= top and (depth - 1) * (ws[-1] * 2) ** 2 <= MAX_LAYER_ELEMENTS:
        ws.append(ws[-1] * 2)
    return tuple(ws)


def _per_trial(width: int, depth: int, d: int) -> int:
    """Normals one trial draws (W^(1), the m x m layers, a)."""
    return width * d + (depth - 1) * width**2 + width


def seeds(width: int, depth: int, d: int) -> int:
    """Seeds at one grid point, fixed in advance by its cost: the profile's replicates (32 quick, 64
    standard, 128 nightly), raised up to 4x where a trial is cheap (SEED_BUDGET normals in all), so that
    the binomial decisions at the cheap points (shallow nets, narrow ResNets) are sharp and the undecided
    band of widths is narrow; the expensive points (deep, wide fc) get the replicates."""
    R = profile().replicates
    return int(min(4 * R, max(R, SEED_BUDGET // _per_trial(width, depth, d))))


# ----------------------------------------------------------------------------- thresholds


@dataclass(frozen=True)
class GridPoint:
    """One (family, depth, width) of the walk."""

    width: int
    failures: int  #: seeds with r > TAU among those evaluated
    evaluated: int  #: seeds drawn before the decision was settled (<= seeds)
    seeds: int
    decision: str
    median_gap: float  #: median r over the evaluated seeds


@dataclass(frozen=True)
class Threshold:
    """The smallest grid width m* at which a config holds lies in [low, high] (high = inf: beyond the grid)."""

    low: float
    high: float

    @property
    def mid(self) -> float:
        """Geometric midpoint (inf when high is)."""
        return math.sqrt(self.low * self.high)

    def as_list(self) -> list:
        return [self.low, self.high if math.isfinite(self.high) else None]


@shared_work(maxsize=64)
def decision_table(total: int, delta: float) -> tuple[str, ...]:
    """``binomial_decision(f, total, delta).decision`` for f = 0..total (computed once per seed count)."""
    return tuple(binomial_decision(f, total, delta).decision for f in range(total + 1))


def settled(failures: int, evaluated: int, total: int, delta: float) -> str | None:
    """The decision of ``total`` seeds once it can no longer change: the binomial decision is monotone in
    the failure count, so it is settled when the two extremes of the seeds not yet drawn (all succeed / all
    fail) decide alike. None while it can still change."""
    table = decision_table(total, delta)
    best, worst = table[failures], table[failures + total - evaluated]
    return best if best == worst else None


def threshold_interval(widths: Sequence[int], decisions: Sequence[str]) -> Threshold:
    """Where the smallest holding width of a doubling grid lies, given the decisions at ``widths``
    (ascending, the grid's first points: the walk may have stopped early).

    high = the first width that holds (inf if none); low = twice the largest width decided "violated"
    below it (widths[0] if none). A "violated" above the first "holds" (not monotone) is an error of the
    caller: the threshold is defined for a property that, once it holds, holds at every larger width."""
    if len(widths) != len(decisions) or not widths:
        raise ValueError("threshold_interval needs one decision per width (at least one)")
    if any(b != 2 * a for a, b in itertools.pairwise(widths)):
        raise ValueError(f"widths must double: {tuple(widths)}")
    first = next((i for i, d in enumerate(decisions) if d == HOLDS), None)
    if first is not None and VIOLATED in decisions[first:]:
        raise ValueError(f"decisions are not monotone in width: {list(zip(widths, decisions, strict=True))}")
    below = decisions[: len(decisions) if first is None else first]
    last_bad = max((i for i, d in enumerate(below) if d == VIOLATED), default=None)
    low = float(widths[0]) if last_bad is None else 2.0 * widths[last_bad]
    high = float("inf") if first is None else float(widths[first])
    return Threshold(low, high)


def growth(a: Threshold, b: Threshold) -> tuple[float, float]:
    """Bounds on m*(b) / m*(a) from the two intervals."""
    return b.low / a.high, b.high / a.low


def decide_ratio(lo: float, hi: float, bound: float, relation: str) -> str:
    """Three-valued decision of "ratio >= bound" (``at_least``) or "ratio <= bound" (``at_most``) from
    certified bounds lo <= ratio <= hi."""
    if relation == "at_least":
        return HOLDS if lo >= bound else VIOLATED if hi < bound else UNDECIDED
    if relation == "at_most":
        return HOLDS if hi <= bound else VIOLATED if lo > bound else UNDECIDED
    raise ValueError(f"relation {relation!r} is not at_least or at_most")


# ----------------------------------------------------------------------------- the sweep


def _gaps(net: DeepNet, X: torch.Tensor, theta_inf: torch.Tensor, gens: Sequence[torch.Generator]) -> torch.Tensor:
    """r = ||Theta(0) - Theta^inf||_2 / ||Theta^inf||_2 for the trials of ``gens``."""
    params = {k: v.to(device=device(), dtype=dtype()) for k, v in net.init(X.shape[1], gens).items()}
    theta = layerwise_ntk(net, params, X).cpu().to(torch.float64)
    return torch.linalg.matrix_norm(theta - theta_inf, ord=2) / torch.linalg.matrix_norm(theta_inf, ord=2)


def _point(net: DeepNet, X: torch.Tensor, theta_inf: torch.Tensor, gens_for: Callable[[int], list[torch.Generator]]) -> GridPoint:
    """Draw seeds in chunks until the decision over all of them is settled; a point still undecided
    after its seeds (see :func:`seeds`) draws 2x, then up to 4x the profile's replicates (a second and
    third look, each at 95%), so that the interval of the threshold is sharp where it matters."""
    total = seeds(net.width, net.depth, X.shape[1])
    cap = max(total, 4 * profile().replicates)
    chunk = max(1, CHUNK_ELEMENTS // _per_trial(net.width, net.depth, X.shape[1]))
    rs: list[float] = []
    while True:
        gens = gens_for(total)
        decision = None
        for lo in range(len(rs), total, chunk):
            rs += _gaps(net, X, theta_inf, gens[lo : min(total, lo + chunk)]).tolist()
            decision = settled(sum(r > TAU for r in rs), len(rs), total, DELTA)
            if decision is not None:
                break
        if decision != UNDECIDED or total >= cap:
            break
        total = min(cap, 2 * total)
    return GridPoint(net.width, sum(r > TAU for r in rs), len(rs), total, decision, float(np.median(rs)))


@dataclass(frozen=True)
class Walk:
    family: str
    depth: int
    grid: tuple[int, ...]  #: the widths the walk could visit
    points: tuple[GridPoint, ...]  #: those it visited, ascending

    @property
    def threshold(self) -> Threshold:
        return threshold_interval([p.width for p in self.points], [p.decision for p in self.points])


def _walk(spec: ProblemSpec, family: str, act: str, depth: int) -> Walk:
    p = spec.build()
    grid = width_grid(depth)
    theta_inf = analytic_ntk(DeepNet(family, grid[0], depth, act), p.X)
    points = []
    for m in grid:
        # the same seeds for both families (common random numbers): the seeds of a width and depth
        key = spec.seed * 7919 + depth * 100_003 + m
        points.append(_point(DeepNet(family, m, depth, act), p.X, theta_inf, lambda k, key=key: trial_generators(CLAIM_ID, key, k)))
        if points[-1].decision == HOLDS:
            break
    return Walk(family, depth, grid, tuple(points))


@shared_work(maxsize=4)
def _sweep(spec: ProblemSpec, act: str, key: tuple) -> dict[tuple[str, int], Walk]:
    """Every family and depth of the grid (``key`` holds what else the result depends on: profile,
    device, dtype). Shared by the claim and its planted twin; Hypothesis replays a failing example."""
    return {(fam, H): _walk(spec, fam, act, H) for fam in FAMILIES for H in depth_grid()}


def sweep(spec: ProblemSpec, act: str) -> dict[tuple[str, int], Walk]:
    return _sweep(spec, act, (profile().name, str(device()), str(dtype()), depth_grid()))


# ----------------------------------------------------------------------------- the claim and its twin


def _fmt(t: Threshold) -> str:
    return f"[{t.low:g}, {t.high:g}]"


def _record(ev, spec, act, walks) -> dict:
    p = spec.build()
    hs = depth_grid()
    h0, h1 = hs[0], hs[-1]
    th = {fam: {H: walks[(fam, H)].threshold for H in hs} for fam in FAMILIES}
    ev.size(
        n=p.n,
        d=p.d,
        depth=h1,
        m=max(pt.width for w in walks.values() for pt in w.points),
        seeds=max(pt.seeds for w in walks.values() for pt in w.points),
    )
    ev.figure("depths", list(hs))
    ev.figure("tolerance TAU on ||Theta(0) - Theta^inf||_2 / ||Theta^inf||_2; DELTA on P(fail)", [TAU, DELTA])
    for fam in FAMILIES:
        ev.figure(
            f"{fam}: threshold width m*(H) as [low, high] per depth (null: beyond the width cap)",
            {str(H): th[fam][H].as_list() for H in hs},
            relation="smallest doubling-grid width where P(r > TAU) <= DELTA (binomial 95%)",
        )
    depth_ratio = h1 / h0
    g = {fam: growth(th[fam][h0], th[fam][h1]) for fam in FAMILIES}
    ev.figure(
        f"fc: m*(H={h1}) / m*(H={h0})",
        math.sqrt(g["fc"][0] * g["fc"][1]),
        predicted=f">= (H_max/H_min)^{SEPARATION:g} = {depth_ratio**SEPARATION:.3g} (paper: 2^O(H))",
        interval=g["fc"],
        relation="certified bounds from the threshold intervals",
    )
    ev.figure(
        f"resnet: m*(H={h1}) / m*(H={h0})",
        math.sqrt(g["resnet"][0] * g["resnet"][1]),
        predicted=f"<= (H_max/H_min)^{RESNET_MAX:g} = {depth_ratio**RESNET_MAX:.3g} and < fc's (paper: (H_max/H_min)^2)",
        interval=g["resnet"],
        relation="certified bounds from the threshold intervals",
    )
    for fam in FAMILIES:
        fin = [H for H in hs if math.isfinite(th[fam][H].high)]
        if len(fin) >= 2:
            # both ends of every finite interval: the fit's interval then carries the grid's resolution
            f = fit_exponent([H for H in fin for _ in (0, 1)], [v for H in fin for v in (th[fam][H].low, th[fam][H].high)])
            ci = (f.ci_low, f.ci_high) if math.isfinite(f.ci_low) and math.isfinite(f.ci_high) else None
            ev.figure(
                f"exponent (reported): {fam} m*(H) against H, fitted to the ends of the intervals at depths {fin}",
                f.slope,
                predicted="fc: 2^O(H) (exponential); resnet: <= 2 (m ~ n^4 H^2)",
                interval=ci,
                relation="fitted, not asserted" + ("" if ci else " (every interval the same: no spread)"),
            )
    cap = {H: width_grid(H)[-1] for H in hs}
    lines = []
    for fam in FAMILIES:
        lo = [th[fam][H].low for H in hs]
        hi = [min(th[fam][H].high, 2 * cap[H]) for H in hs]
        lines.append(
            {"label": f"{fam}: m*(H) in [low, high] (top at 2 x cap: beyond the grid)", "x": list(hs), "y": np.sqrt(np.multiply(lo, hi)), "y_low": lo, "y_high": hi, "style": "band"}
        )
    base = th["fc"][h0].mid if math.isfinite(th["fc"][h0].high) else th["fc"][h0].low
    lines.append({"label": f"H^{SEPARATION:g} through fc's m*(H={h0}) (the separating growth)", "x": list(hs), "y": [base * (H / h0) ** SEPARATION for H in hs], "style": "bound"})
    base_r = th["resnet"][h0].mid
    lines.append({"label": f"H^2 through resnet's m*(H={h0}) (the paper's ResNet bound, m ~ n^4 H^2)", "x": list(hs), "y": [base_r * (H / h0) ** 2 for H in hs], "style": "bound"})
    ev.plot(
        "threshold_width",
        lines,
        title=f"threshold width vs depth: {act}, n={p.n}, d={p.d}, TAU={TAU:g}, DELTA={DELTA:g}",
        xlabel="depth H",
        ylabel="threshold width m*",
        xscale="log",
        yscale="log",
    )
    fail_lines = []
    for fam in FAMILIES:
        for H in hs:
            pts = walks[(fam, H)].points
            fail_lines.append(
                {"label": f"{fam} H={H}", "x": [pt.width for pt in pts], "y": [pt.failures / pt.evaluated for pt in pts], "style": "line" if fam == "fc" else "points"}
            )
    fail_lines.append({"label": f"DELTA = {DELTA:g}", "x": [WIDTH_FLOOR, max(cap.values())], "y": [DELTA, DELTA], "style": "bound"})
    ev.plot(
        "failure_rate",
        fail_lines,
        title=f"fraction of seeds with r > {TAU:g} (over the seeds drawn until the decision settled), {act}",
        xlabel="width m",
        ylabel="P(||Theta(0) - Theta^inf|| / ||Theta^inf|| > TAU)",
        xscale="log",
    )
    table = "; ".join(f"{fam} " + " ".join(f"H={H}:{_fmt(th[fam][H])}" for H in hs) for fam in FAMILIES)
    ev.note(f"threshold widths ({act}): {table}")
    return {"g": g, "depth_ratio": depth_ratio, "th": th}


def _decide(ev, checks: list[tuple[str, str]]) -> None:
    """checks: (decision, what). Fail on any violated, defer on any undecided, else hold."""
    bad = [w for d, w in checks if d == VIOLATED]
    assert not bad, "; ".join(bad)
    open_ = [w for d, w in checks if d == UNDECIDED]
    if open_:
        undecided("; ".join(open_) + ": the threshold intervals overlap the bound; more seeds per width would narrow them")


def _width_vs_depth(spec, act):
    ev = evidence()
    r = _record(ev, spec, act, sweep(spec, act))
    (f_lo, f_hi), (r_lo, r_hi), q = r["g"]["fc"], r["g"]["resnet"], r["depth_ratio"]
    need_fc, allow_res = q**SEPARATION, q**RESNET_MAX
    ev.margin(max(need_fc / f_lo if f_lo > 0 else math.inf, r_hi / allow_res, r_hi / f_lo if f_lo > 0 else math.inf), "max of (needed fc growth / certified fc growth, certified resnet growth / allowed, certified resnet growth / certified fc growth)")
    comp = HOLDS if r_hi < f_lo else VIOLATED if r_lo >= f_hi else UNDECIDED
    _decide(
        ev,
        [
            (decide_ratio(f_lo, f_hi, need_fc, "at_least"), f"fc threshold growth in [{f_lo:.3g}, {f_hi:.3g}] vs needed >= {need_fc:.3g}"),
            (decide_ratio(r_lo, r_hi, allow_res, "at_most"), f"resnet threshold growth in [{r_lo:.3g}, {r_hi:.3g}] vs allowed <= {allow_res:.3g}"),
            (comp, f"resnet growth [{r_lo:.3g}, {r_hi:.3g}] below fc growth [{f_lo:.3g}, {f_hi:.3g}]"),
        ],
    )


def _fc_flat(spec, act):
    ev = evidence()
    r = _record(ev, spec, act, sweep(spec, act))
    f_lo, f_hi = r["g"]["fc"]
    allow = r["depth_ratio"] ** SEPARATION
    ev.margin(f_lo / allow, "certified fc threshold growth / allowed (H_max/H_min)^(1/2)")
    _decide(ev, [(decide_ratio(f_lo, f_hi, allow, "at_most"), f"fc threshold growth in [{f_lo:.3g}, {f_hi:.3g}] vs claimed <= {allow:.3g}")])


_REGIME = (
    "The theorems' widths (2^O(H) n^4 / lambda^4 for fc, n^4 H^2 for ResNet) cannot be run; the threshold of a relative "
    "form of the proofs' initialization condition is measured instead (TAU = 1/2, DELTA = 1/4), on a doubling width grid "
    "from 4 to 8 deep_width (quick 512, standard 2048, nightly 8192; cut where (H-1) m^2 > 2^28), depths doubling "
    "from 2 (quick and standard 2..16, nightly 2..32), replicates seeds per grid point (quick 32), up to 4x where a trial "
    "is cheap, and 2x then 4x the replicates at a point still undecided after its seeds (the seed sweep of issue 11 left the twin "
    "undecided on run seed 2 with fc H=16 undecided at m=256 and 512 on 32 seeds). At these sizes fc's threshold grows like H (relu) or faster (tanh, gelu), not visibly like 2^H for relu."
)


@claim(
    id=CLAIM_ID,
    paper=DLLWZ,
    theorem="Theorems 5.1 (fully connected: m = 2^O(H) poly(n)) vs 6.1 (ResNet: m = poly(n, H)); the initialization lemmas",
    statement="The width a plain fully-connected net needs grows exponentially with its depth H (2^O(H)), a ResNet's with "
    "the c_res/(H sqrt m) residual scaling only polynomially (m ~ n^4 H^2): depth costs the plain net width, the ResNet little.",
    quantifier="scaling",
    predicate=f"with m*(H) the smallest width of the doubling grid at which P(||Theta(0) - Theta^inf||_2 / ||Theta^inf||_2 > "
    f"{TAU:g}) <= {DELTA:g} (exact binomial 95% bounds, replicates seeds per width) and [low, high] its certified interval: "
    f"over the depth grid H_min..H_max, (a) fc: low(H_max) / high(H_min) >= (H_max/H_min)^{SEPARATION:g}; (b) resnet: "
    f"high(H_max) / low(H_min) <= (H_max/H_min)^{RESNET_MAX:g}; (c) resnet's certified upper growth < fc's certified lower growth",
    assumptions="unit inputs (sphere), n <= 10, n/d <= 2; relu, tanh, gelu (not softplus: see notes); ResNet c_res = 0.1; "
    "all layers in the NTK",
    regime=_REGIME,
    notes="Softplus is left out: its c_sigma-normalised fc net is on the ordered side and the relative fluctuation of "
    "Theta(0) does not grow with H (m* ~ 16-64 for H = 2..16); its depth problem is lambda_min(Theta^inf)/lambda_max falling "
    "like e^(-1.1 H), which makes the absolute condition ||G(0) - K|| <= lambda_min/4 unrunnable (m ~ 10^6 at H = 2). The paper's "
    "(H_max/H_min)^2 bound for the ResNet is reported; the measured ResNet threshold is flat.",
    examples={"quick": 1, "standard": 3, "nightly": 6},
)
@example(**SHARED)
@given(spec=problems(max_n=10, max_n_over_d=2.0), act=st.sampled_from(ACTIVATIONS))
def test_width_vs_depth(spec, act):
    _width_vs_depth(spec, act)


@claim(
    id=TWIN_ID,
    paper=DLLWZ,
    theorem="Theorem 5.1 vs 6.1 (planted false)",
    statement="(planted, false) A plain fully-connected net needs no more width as it gets deeper than a ResNet does: its "
    "threshold width grows at most like H^(1/2).",
    quantifier="scaling",
    expect="falsified",
    control_of=CLAIM_ID,
    predicate=f"fc: high(H_max) / low(H_min) <= (H_max/H_min)^{SEPARATION:g} (same thresholds as {CLAIM_ID}); violated when the "
    "certified lower growth low(H_max) / high(H_min) exceeds it",
    notes="Runs the same lru-cached sweep as the true claim (its first, explicit example: relu, n = 10, d = 8, seed 3). "
    "The fc fluctuation of the NTK at init grows with H/m (Hanin & Nica), so the threshold grows like H.",
)
@given(spec=st.just(SHARED["spec"]), act=st.just(SHARED["act"]))
def test_control_fc_width_flat_in_depth(spec, act):
    _fc_flat(spec, act)
