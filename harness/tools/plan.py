"""Run plans: how long will a profile take, claim by claim, before the night starts?

For each claim the plan takes its seconds per example in the target profile and device and the
examples the search will run (:func:`harness.budget.plan_for`), and estimates its seconds:

* **measured**: the cost table (``claims/costs.json``) has the claim's cost for this profile (recorded
  from a run of it: ``python -m harness costs RUN --write claims/costs.json``): that cost;
* **scaled**: only another profile's cost is known (usually ``quick``, on the CPU): that cost times
  the work ratio of the two profiles, steps x seeds x n x width (each a ratio of the profiles'
  sizes; a two-layer step costs ~ n m d per seed, and d grows with n), times ``device_factor``
  (how much faster the target device is: by default 1 on the CPU, and on CUDA the ratio of the
  engine's throughput in ``reports/bench.json`` where it has CUDA rows, else unknown). A scaled
  estimate is an order of magnitude, not a promise: calibrate with one run of the profile.
* **unknown**: no cost anywhere (a new claim): the budget, as on the clock.

A claim's seconds are then ``pinned x cost`` (a pinned count), else ``max(budget, min_examples x
cost)`` capped at ``max_examples x cost`` (the search runs its planned examples, at least its
minimum). Workers run claims in parallel: the wall-clock estimate is the total over the workers,
never less than the longest claim.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from ..runtime.budget import SearchSettings, plan_for
from ..runtime.profiles import PROFILES, Profile

__all__ = ["ClaimPlan", "device_factor", "plan_claims", "run_costs", "work_ratio"]


@dataclass(frozen=True)
class ClaimPlan:
    id: str
    examples: int
    cost_s: float | None  #: seconds per example on the target
    how: str  #: measured / scaled from <profile> / unknown
    seconds: float

    def to_dict(self) -> dict:
        return asdict(self)


def work_ratio(target: Profile, source: Profile) -> float:
    """How much more one example of ``target`` computes than one of ``source``: steps x seeds x n x width."""
    return (
        (target.steps / source.steps)
        * (target.replicates / source.replicates)
        * (target.max_n / source.max_n)
        * (max(target.width_grid) / max(source.width_grid))
    )


def device_factor(device: str, bench_path: str | Path = "reports/bench.json") -> tuple[float | None, str]:
    """(speed-up of ``device`` over the CPU, where it comes from). CPU: 1. CUDA: the ratio of the
    engine's best float64 trials/s on CUDA to the CPU's at the largest width both measured, from the
    benchmark's rows; None when it has no CUDA rows."""
    if not device.startswith("cuda"):
        return 1.0, "the CPU the costs were measured on"
    try:
        rows = json.loads(Path(bench_path).read_text()).get("rows") or []
    except (OSError, json.JSONDecodeError):
        rows = []
    best: dict[tuple[str, int], float] = {}
    for r in rows:
        if r.get("engine", "").startswith("engine") and r.get("dtype") == "float64":
            key = ("cuda" if str(r.get("device", "")).startswith("cuda") else "cpu", int(r.get("m") or 0))
            best[key] = max(best.get(key, 0.0), float(r.get("trials_per_s") or 0.0))
    common = sorted({m for d, m in best if d == "cuda"} & {m for d, m in best if d == "cpu"})
    if not common or not best.get(("cpu", common[-1])):
        return None, f"no CUDA rows in {bench_path}: run bash benchmarks/gpu_check.sh on a GPU"
    m = common[-1]
    return best[("cuda", m)] / best[("cpu", m)], f"{bench_path}: engine trials/s, CUDA over CPU at m={m}"


def plan_claims(
    claims: list[dict],
    profile: str,
    costs: dict[str, dict[str, float]],
    *,
    factor: float | None = 1.0,
    budget_s: float | None = None,
) -> list[ClaimPlan]:
    """One :class:`ClaimPlan` per claim (``{"id", "examples", "budget"}`` dicts, as ``harness list``
    gives them). ``costs``: profile -> claim id -> seconds per example (measured)."""
    P = PROFILES[profile]
    out = []
    for c in claims:
        cid = c["id"]
        cost, how = None, "unknown"
        if cid in (costs.get(profile) or {}):
            cost, how = costs[profile][cid], "measured"
        else:
            for src in ("quick", "standard", "nightly"):
                if src != profile and cid in (costs.get(src) or {}) and factor:
                    cost = costs[src][cid] * work_ratio(P, PROFILES[src]) / factor
                    how = f"scaled from {src}"
                    break
        # the search's own plan (harness.budget.plan_for) with this cost: one formula for the count
        search = SearchSettings(budget_s=budget_s, costs={profile: {cid: cost}} if cost else {})
        plan = plan_for(cid, c.get("examples"), c.get("budget"), P, search)
        if cost is None:
            n, seconds = (plan.examples if plan.mode == "fixed" else P.min_examples), plan.budget_s
        else:
            n, seconds = plan.examples, plan.examples * cost
        out.append(ClaimPlan(cid, int(n), cost, how, float(seconds)))
    return out


def run_costs(report: dict) -> dict[str, float]:
    """Seconds per example of each claim of a run, on its own wall seconds (a twin that found its
    claim's sweep cached costs what it cost): what a plan of the whole run should add up."""
    out = {}
    for c in report.get("claims") or []:
        n, sec = int(c.get("examples_tried") or 0), float(c.get("seconds") or 0.0)
        if n > 0 and sec > 0:
            out[c["id"]] = sec / n
    return out
