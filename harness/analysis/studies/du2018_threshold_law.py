"""The threshold width law of Du et al. 2018 (Theorem 4.1): threshold brackets over n and the bracketed exponent.

The claims are in ``claims/test_du2018_threshold_law.py``; this module holds what they run.
"""

from __future__ import annotations

import math
from hypothesis import strategies as st
from harness.contract.claim import evidence
from harness.runtime.session import profile
from harness.contract.claim import undecided
from harness.data.problems import ProblemSpec
from harness.runtime.shared_work import shared_work
from harness.contract.stats import bracketed_exponent, fit_exponent
from harness.data.strategies import seeds, step_factors
from harness.training.sweeps import threshold_bracket

LAW_ID = "du2018.thm4.1.threshold_law"
TOP = 16  #: the doubling grid starts at 16 n (m* is about n: DESIGN, measured facts)


GROUPS = 4  #: disjoint seed groups: independent estimates of each threshold
SEEDS = 32  #: 8 seeds a group: "held on every seed of the group"
THEORY = {  # exponent of n at fixed n/d (see the module docstring)
    "Du et al. 2018, Thm 4.1 (n^6 / lambda_0^4)": 6.0,
    "Song, Yang 2019 (n^4 / lambda_0^4; unverified)": 4.0,
    "Oymak, Soltanolkotabi 2020 (n^2 / d, smooth; unverified)": 1.0,
}
DU = 6.0


@shared_work(maxsize=8)
def law_brackets(ratio: int, geometry: str, labels: str, c: float, seed: int, ns: tuple[int, ...]) -> list[dict]:
    """m* brackets at each n (d = n / ratio), per seed group: shared by the law and its twin."""
    out = []
    for n in ns:
        spec = ProblemSpec(n=n, d=max(3, n // ratio), geometry=geometry, labels=labels, seed=seed)
        p = spec.build()
        eta = c / p.lambda_max
        b = threshold_bracket(
            p, LAW_ID, seed * 1009 + n, eta=eta, seeds=SEEDS, groups=GROUPS, max_width=TOP * n,
            fails=lambda tr, p=p, eta=eta: tr.check_rate_bound(1 - eta * p.lambda0 / 2).violated | tr.diverged,
        )
        out.append({"n": n, "d": spec.d, "lambda0": p.lambda0, **b})
    return out


def law(ratio, geometry, labels, c, seed):
    ev = evidence()
    ns = tuple(profile().threshold_ns)
    rows = law_brackets(ratio, geometry, labels, c, seed, ns)
    xs, mids, lo_pts, hi_pts = [], [], [], []
    for r in rows:
        for g in r["groups"]:
            if g["m_hold"] is None:
                undecided(f"the bound failed at the largest width tried ({TOP} n = {TOP * r['n']}) for n={r['n']}: m* is not bracketed")
            lo = g["m_fail"] if g["m_fail"] is not None else 0.5  # held down to width 1: m* = 1
            xs.append(r["n"])
            mids.append(math.sqrt(lo * g["m_hold"]))
            lo_pts.append(lo)
            hi_pts.append(g["m_hold"])
    fit = fit_exponent(xs, mids)
    union = bracketed_exponent(ns, [r["m_fail"] or 0.5 for r in rows], [r["m_hold"] for r in rows])
    lam = [r["lambda0"] for r in rows]
    ev.size(n=max(ns), m=TOP * max(ns), seeds=SEEDS)
    ev.size(n=min(ns))
    for r in rows:
        ev.figure(f"m* at n={r['n']} (all seeds)", r["m_hold"], interval=(r["m_fail"] or 0.5, r["m_hold"]), relation="bracket (m_fail, m_hold]")
    ev.figure("lambda_0 over the n grid (min)", min(lam))
    ev.figure("lambda_0 over the n grid (max)", max(lam))
    ev.figure("exponent: threshold width m* vs n", fit.slope, predicted=DU, interval=(fit.ci_low, fit.ci_high),
              relation=f"95% t-interval over {GROUPS} seed groups a width; decided against Du et al.'s 6")
    if union.feasible:
        ev.figure("certified exponent range (all seeds)", union.point, interval=(union.lo, union.hi),
                  relation="every power law through the brackets")
    for name, a in THEORY.items():
        ev.figure(f"theory exponent: {name}", a)
    ev.plot(
        "law",
        [
            {"label": f"m* brackets, {GROUPS} seed groups (low and high ends)", "x": xs + xs, "y": lo_pts + hi_pts, "style": "points"},
            {"label": f"fitted n^{fit.slope:.2f}", "x": list(ns), "y": [float(v) for v in fit.predict(list(ns))], "style": "line"},
            {"label": "n^6 (Du et al. 2018), through the fit at the smallest n", "x": list(ns),
             "y": [float(fit.predict(ns[0])) * (n / ns[0]) ** 6 for n in ns], "style": "bound"},
        ],
        title=f"threshold width against n (n/d = {ratio}, {geometry}, {labels} labels, eta = {c:.2f}/lambda_max)",
        xlabel="n", ylabel="width m", xscale="log", yscale="log",
    )
    return fit


GIVEN = dict(
    ratio=st.sampled_from([2, 1]),
    geometry=st.sampled_from(["sphere", "separated"]),
    labels=st.sampled_from(["gaussian", "sign", "teacher", "teacher_linear"]),
    c=step_factors(0.5, 1.5),
    seed=seeds(),
)
