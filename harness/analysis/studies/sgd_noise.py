"""SGD's noise scale is lr / batch size (Jastrzebski et al. 2017): runs over learning rates and batch sizes and the width of the minima they reach.

The claims are in ``claims/test_sgd_noise.py``; this module holds what they run.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
import numpy as np
import torch
from hypothesis import strategies as st
from scipy import stats as sps
from harness.data.problems import ProblemSpec
from harness.runtime.session import device
from harness.runtime.session import dtype
from harness.contract.claim import evidence
from harness.runtime.session import profile
from harness.runtime.seeding import trial_generators
from harness.contract.claim import undecided
from harness.analysis.hessian import lanczos, loss_fn, top_eigenvalue
from harness.networks.mlp import MLP, train_mlp
from harness.runtime.shared_work import shared_work

SHARP_MARGIN = 0.05  #: equivalence margin on log(lambda_max(a) / lambda_max(b)) (5%)
LOSS_MARGIN = 0.02  #: equivalence margin on log(L(a) / L(b)) (2%)
CONFIDENCE = 0.95  #: two-sided t-intervals over seeds (each TOST side at 2.5%)
SPEARMAN_MAX = -0.5  #: the catalogue's rho(eta / B, lambda_max) < -0.5
SDE_REGIME = 1.0  #: eta lambda_max at most this for the rescaled pairs (the SDE approximation; the "breaking point" beyond)
CLAIM_ID = "jastrzebski2017.lr_over_batch"
SWEEP_ID = "jastrzebski2017.sgd_sweep"  #: the seed name of the sweep the claim and its twin share


@dataclass(frozen=True)
class Grid:
    """Sizes of one sweep (read from the profile)."""

    n: int
    d: int
    etas: tuple[float, ...]
    batches: tuple[int, ...]
    time: float  #: SDE time t = eta x steps of every run
    seeds: int


GRIDS = {
    "quick": Grid(n=64, d=5, etas=(0.025, 0.05, 0.1), batches=(8, 16, 32), time=50.0, seeds=12),
    "standard": Grid(n=128, d=10, etas=(0.0125, 0.025, 0.05, 0.1), batches=(4, 8, 16, 32), time=60.0, seeds=24),
    "nightly": Grid(n=256, d=10, etas=(0.0125, 0.025, 0.05, 0.1), batches=(4, 8, 16, 32, 64), time=100.0, seeds=32),
}


def grid() -> Grid:
    return GRIDS.get(profile().name, GRIDS["quick"])


@dataclass(frozen=True)
class JSpec:
    """One example: the dataset seed and the hidden width."""

    seed: int
    hidden: int


def specs() -> st.SearchStrategy[JSpec]:
    """Dataset seed 0..2^16 and hidden width 12..24 (16 first: the simplest example, JSpec(0, 16), is the twin's)."""
    return st.builds(JSpec, seed=st.integers(0, 2**16), hidden=st.sampled_from([16, *(h for h in range(12, 25) if h != 16)]))


def equal_ratio_pairs(g: Grid) -> list[tuple[tuple[float, int], tuple[float, int]]]:
    """Every pair of grid points with the same eta / B (the smaller eta first)."""
    pts = sorted(itertools.product(g.etas, g.batches))
    return [(a, b) for a, b in itertools.combinations(pts, 2) if math.isclose(a[0] / a[1], b[0] / b[1], rel_tol=1e-9)]


def same_lr_pairs(g: Grid, factor: int = 4) -> list[tuple[tuple[float, int], tuple[float, int]]]:
    """(eta, B) and (eta, factor B) for every eta and every B with factor B in the grid."""
    return [((e, B), (e, factor * B)) for e in g.etas for B in g.batches if factor * B in g.batches]


# ------------------------------------------------------------------------------------------ the sweep


@shared_work(maxsize=4)
def sgd_sweep(spec: JSpec, g: Grid) -> dict:
    """Train every (eta, B) of the grid for steps = time / eta from the same g.seeds initialisations.

    Runs with the same B are batched in one train_mlp call per stage (the smallest eta lasts longest:
    after time / eta_max steps the largest eta stops and the others continue). Returns per (eta, B):
    the sharpness [S], the time-averaged final loss [S], the loss traces [S, steps + 1], eta lambda_max."""
    p = ProblemSpec(n=g.n, d=g.d, labels="gaussian", seed=spec.seed).build()
    mlp = MLP((g.d, spec.hidden, 1), "tanh")
    S = g.seeds
    theta0 = mlp.init(trial_generators(SWEEP_ID, spec.seed * 7919 + spec.hidden, S))
    f = loss_fn(mlp, p.X, p.y)
    etas = sorted(g.etas)
    out: dict = {"sharpness": {}, "loss": {}, "trace": {}, "diverged": 0, "mlp": mlp, "problem": p}
    checked = False
    for B in g.batches:
        if g.n <= B:
            raise ValueError(f"batch {B} is not below n = {g.n}: that is GD, not SGD")
        rows = len(etas) * S
        th = theta0.repeat(len(etas), 1)
        lr = torch.tensor(etas, dtype=torch.float64).repeat_interleave(S)
        gens = [gen for i in range(len(etas)) for gen in trial_generators(SWEEP_ID, spec.seed * 7919 + 1000 * B + i, S)]
        traces: list[list[torch.Tensor]] = [[] for _ in range(rows)]
        done = 0
        for j in reversed(range(len(etas))):  # stage j: rows of etas[0..j] are still running
            steps = round(g.time / etas[j]) - done
            live = list(range((j + 1) * S))
            tr = train_mlp(
                mlp, th[live], p.X, p.y, steps=steps, lr=lr[live], batch_size=B, generators=[gens[i] for i in live], device=device(), dtype=dtype()
            )
            th[live] = tr.theta
            out["diverged"] += int(tr.diverged.sum())
            for r_, i in enumerate(live):
                traces[i].append(tr.loss[r_] if not traces[i] else tr.loss[r_, 1:])
            done += steps
        lam = top_eigenvalue(f, th, iters=1000, rtol=1e-9, generator=torch.Generator().manual_seed(spec.seed))
        if not checked:  # power iteration vs ARPACK Lanczos on two runs: a mismatch is a harness error
            for i in (0, rows - 1):
                ref = float(lanczos(f, th[i], k=1, which="LA")[0])
                if not abs(float(lam[i]) - ref) <= 1e-5 * abs(ref):
                    raise RuntimeError(f"power iteration {float(lam[i]):.8g} disagrees with Lanczos {ref:.8g}")
            checked = True
        for i, e in enumerate(etas):
            key = (e, B)
            tr_ = torch.stack([torch.cat(traces[i * S + s]) for s in range(S)])
            window = max(1, math.ceil(0.1 * (tr_.shape[1] - 1)))
            out["sharpness"][key] = lam[i * S : (i + 1) * S].clone()
            out["loss"][key] = tr_[:, -window:].mean(dim=1)
            out["trace"][key] = tr_
    return out


# ------------------------------------------------------------------------------------------ decisions


@dataclass(frozen=True)
class Equivalence:
    """Paired comparison of a and b over seeds: mean and t-interval of log(a / b), against +-margin."""

    mean: float
    low: float
    high: float
    margin: float
    decision: str  #: "holds" (interval inside +-margin), "violated" (interval outside), "undecided"


def equivalence(a: torch.Tensor, b: torch.Tensor, margin: float, confidence: float = CONFIDENCE) -> Equivalence:
    """Two one-sided tests on the paired log ratios log(a_s / b_s): holds when the two-sided
    ``confidence`` t-interval of their mean lies inside [-margin, margin], violated when it lies wholly
    outside, undecided otherwise. Needs >= 3 seeds."""
    x = (torch.log(a) - torch.log(b)).numpy()
    if x.size < 3 or not np.isfinite(x).all():
        return Equivalence(float("nan"), float("-inf"), float("inf"), margin, "undecided")
    m = float(x.mean())
    half = float(sps.t.ppf(0.5 + confidence / 2, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size))
    lo, hi = m - half, m + half
    if -margin <= lo and hi <= margin:
        dec = "holds"
    elif lo > margin or hi < -margin:
        dec = "violated"
    else:
        dec = "undecided"
    return Equivalence(m, lo, hi, margin, dec)


def per_seed_slopes(sharp: dict, keys: list[tuple[float, int]]) -> np.ndarray:
    """OLS slope of log lambda_max against log(eta / B) across ``keys``, one per seed."""
    x = np.log([e / B for e, B in keys])
    Y = np.log(np.stack([sharp[k].numpy() for k in keys]))  # [K, S]
    xc = x - x.mean()
    return (xc[:, None] * (Y - Y.mean(axis=0))).sum(axis=0) / (xc**2).sum()


def _fmt(k: tuple[float, int]) -> str:
    return f"(eta={k[0]:g}, B={k[1]})"


def _compare(ev, pairs, values: dict, margin: float, what: str) -> tuple[list[str], list[str], float]:
    """Equivalence of every pair; record figures; return (violations, undecided, worst |CI end| / margin)."""
    bad, open_, worst = [], [], 0.0
    for a, b in pairs:
        eq = equivalence(values[a], values[b], margin)
        ev.figure(
            f"{what}: log ratio {_fmt(a)} / {_fmt(b)}",
            eq.mean,
            predicted=f"within +-{margin:g}",
            interval=(eq.low, eq.high),
            relation=f"{CONFIDENCE:.0%} t-interval over seeds (paired)",
        )
        worst = max(worst, max(abs(eq.low), abs(eq.high)) / margin)
        msg = f"{what} {_fmt(a)} vs {_fmt(b)}: log ratio {eq.mean:+.3f}, CI [{eq.low:+.3f}, {eq.high:+.3f}] vs +-{margin:g}"
        if eq.decision == "violated":
            bad.append(msg)
        elif eq.decision == "undecided":
            open_.append(msg)
    return bad, open_, worst


def _plots(ev, spec: JSpec, g: Grid, r: dict) -> None:
    sharp = r["sharpness"]
    lines = []
    for B in g.batches:
        xs, ys = [], []
        for e in g.etas:
            xs += [e / B] * g.seeds
            ys += sharp[(e, B)].tolist()
        lines.append({"label": f"B = {B} (each seed)", "x": xs, "y": ys, "style": "points"})
    keys = sorted(sharp, key=lambda k: k[0] / k[1])
    lines.append(
        {
            "label": "geometric mean over seeds",
            "x": [k[0] / k[1] for k in keys],
            "y": [float(torch.exp(torch.log(sharp[k]).mean())) for k in keys],
            "style": "line",
        }
    )
    ev.plot(
        "sharpness_vs_lr_over_B",
        lines,
        title=f"final sharpness vs eta/B: tanh MLP ({g.d},{spec.hidden},1), n={g.n}, t = eta k = {g.time:g}",
        xlabel="eta / B",
        ylabel="lambda_max of the Hessian at the end",
        xscale="log",
        yscale="log",
    )
    # the paired view the decisions use: each seed's sharpness over its own geometric mean across the grid
    gm = torch.exp(torch.stack([torch.log(sharp[k]) for k in keys]).mean(dim=0))  # [S]
    rel = []
    for B in g.batches:
        xs, ys = [], []
        for e in g.etas:
            xs += [e / B] * g.seeds
            ys += (sharp[(e, B)] / gm).tolist()
        rel.append({"label": f"B = {B} (each seed)", "x": xs, "y": ys, "style": "points"})
    rel.append(
        {
            "label": "geometric mean over seeds",
            "x": [k[0] / k[1] for k in keys],
            "y": [float(torch.exp(torch.log(sharp[k] / gm).mean())) for k in keys],
            "style": "line",
        }
    )
    ev.plot(
        "relative_sharpness_vs_lr_over_B",
        rel,
        title="sharpness relative to the same seed's mean over the grid (paired)",
        xlabel="eta / B",
        ylabel="lambda_max / seed's geometric mean",
        xscale="log",
        yscale="log",
    )
    pairs = equal_ratio_pairs(g)
    classes: dict[float, set] = {}
    for a, b in pairs:
        classes.setdefault(round(a[0] / a[1], 12), set()).update([a, b])
    if classes:
        ratio, members = max(classes.items(), key=lambda kv: len(kv[1]))
        tl = []
        for k in sorted(members):
            tr = r["trace"][k]
            med = torch.nanquantile(torch.where(torch.isfinite(tr), tr, torch.nan), 0.5, dim=0).numpy()
            tl.append({"label": f"{_fmt(k)}, median over seeds", "x": k[0] * np.arange(med.size), "y": med, "style": "line"})
        ev.plot(
            "loss_vs_sde_time",
            tl,
            title=f"full-batch loss at equal eta/B = {ratio:.3g}",
            xlabel="SDE time t = eta x steps",
            ylabel="training loss",
            yscale="log",
        )


def lr_over_batch(spec: JSpec, *, control: bool, g: Grid | None = None) -> None:
    """The claim (control=False) or its planted twin on one example; ``g`` overrides the profile's grid."""
    ev = evidence()
    g = g or grid()
    r = sgd_sweep(spec, g)
    sharp, loss = r["sharpness"], r["loss"]
    keys = sorted(sharp)
    ev.size(n=g.n, d=g.d, m=spec.hidden, seeds=g.seeds, steps=round(g.time / min(g.etas)))
    ev.figure("grid eta x B", [list(g.etas), list(g.batches)])
    ev.figure("SDE time t = eta x steps of every run", g.time)
    for k in keys:
        ev.figure(f"median lambda_max at {_fmt(k)}, eta/B = {k[0] / k[1]:.4g}", float(sharp[k].median()))
    eta_lam = max(float((k[0] * sharp[k]).max()) for k in keys)
    ev.figure("max eta lambda_max over all runs", eta_lam, predicted=f"<= {SDE_REGIME} (SDE regime)")
    ev.figure("diverged runs", r["diverged"], predicted=0)
    _plots(ev, spec, g, r)
    assert r["diverged"] == 0, f"{r['diverged']} SGD run(s) diverged"
    if control:
        bad, open_, worst = _compare(ev, same_lr_pairs(g), sharp, SHARP_MARGIN, "sharpness at equal eta")
        ev.margin(worst, "largest |CI end| / margin over the (eta, B) vs (eta, 4B) pairs")
        assert not bad, "; ".join(bad)
        if open_:
            undecided("; ".join(open_))
        return
    if eta_lam > SDE_REGIME:
        undecided(f"eta lambda_max reached {eta_lam:.2f} > {SDE_REGIME}: outside the SDE regime of the theorem")
    pairs = equal_ratio_pairs(g)
    bad, open_, w1 = _compare(ev, pairs, sharp, SHARP_MARGIN, "sharpness")
    bad2, open2, w2 = _compare(ev, pairs, loss, LOSS_MARGIN, "loss (last 10% of t)")
    bad, open_ = bad + bad2, open_ + open2
    yard = [abs(float((torch.log(sharp[a]) - torch.log(sharp[b])).mean())) for a, b in same_lr_pairs(g)]
    ev.figure(
        "yardstick: |mean log ratio| of (eta, B) vs (eta, 4B), per eta",
        yard,
        relation=f"the effect of a 4x change of eta/B at fixed eta, against the +-{SHARP_MARGIN} margin",
    )
    slopes = per_seed_slopes(sharp, keys)
    m = float(slopes.mean())
    half = float(sps.t.ppf(0.5 + CONFIDENCE / 2, slopes.size - 1) * slopes.std(ddof=1) / math.sqrt(slopes.size))
    ev.figure(
        "slope of log lambda_max vs log(eta/B) (per seed, mean)",
        m,
        predicted="< 0 (flatter at higher eta/B)",
        interval=(m - half, m + half),
        relation=f"{CONFIDENCE:.0%} t-interval over seeds",
    )
    means = [float(torch.log(sharp[k]).mean()) for k in keys]
    rho = float(sps.spearmanr([k[0] / k[1] for k in keys], means).statistic)
    ev.figure("Spearman rho(eta/B, mean log lambda_max) over the grid", rho, predicted=f"< {SPEARMAN_MAX}")
    ev.margin(max(w1, w2), "largest |CI end| / margin over the equal-ratio pairs (sharpness and loss)")
    if m + half >= 0:
        msg = f"slope of log lambda_max vs log(eta/B) {m:.3f}, CI [{m - half:.3f}, {m + half:.3f}]"
        (bad if m - half >= 0 else open_).append(msg)
    if not rho < SPEARMAN_MAX:
        bad.append(f"Spearman rho(eta/B, sharpness) = {rho:.2f} >= {SPEARMAN_MAX}")
    assert not bad, "; ".join(bad)
    if open_:
        undecided("; ".join(open_) + f"; more than {g.seeds} seeds would narrow the intervals")
