"""Width against depth (Du, Lee, Li, Wang, Zhai 2019, Theorems 5.1 vs 6.1): threshold widths of the NTK's initialization condition over a doubling width grid, per depth and family, and the certified growth between depths.

The claims are in ``claims/test_dllwz2019_width_depth.py``; this module holds what they run.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
import numpy as np
import torch
from harness.runtime.session import device
from harness.runtime.session import dtype
from harness.contract.claim import evidence
from harness.runtime.session import profile
from harness.runtime.seeding import trial_generators
from harness.contract.claim import undecided
from harness.networks.deep import DeepNet, analytic_ntk, layerwise_ntk
from harness.data.problems import ProblemSpec
from harness.runtime.shared_work import shared_work
from harness.contract.stats import binomial_decision, fit_exponent

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


def width_vs_depth(spec, act):
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


def fc_flat(spec, act):
    ev = evidence()
    r = _record(ev, spec, act, sweep(spec, act))
    f_lo, f_hi = r["g"]["fc"]
    allow = r["depth_ratio"] ** SEPARATION
    ev.margin(f_lo / allow, "certified fc threshold growth / allowed (H_max/H_min)^(1/2)")
    _decide(ev, [(decide_ratio(f_lo, f_hi, allow, "at_most"), f"fc threshold growth in [{f_lo:.3g}, {f_hi:.3g}] vs claimed <= {allow:.3g}")])


REGIME = (
    "The theorems' widths (2^O(H) n^4 / lambda^4 for fc, n^4 H^2 for ResNet) cannot be run; the threshold of a relative "
    "form of the proofs' initialization condition is measured instead (TAU = 1/2, DELTA = 1/4), on a doubling width grid "
    "from 4 to 8 deep_width (quick 512, standard 2048, nightly 8192; cut where (H-1) m^2 > 2^28), depths doubling "
    "from 2 (quick and standard 2..16, nightly 2..32), replicates seeds per grid point (quick 32), up to 4x where a trial "
    "is cheap, and 2x then 4x the replicates at a point still undecided after its seeds (the seed sweep of issue 11 left the twin "
    "undecided on run seed 2 with fc H=16 undecided at m=256 and 512 on 32 seeds). At these sizes fc's threshold grows like H (relu) or faster (tanh, gelu), not visibly like 2^H for relu."
)
