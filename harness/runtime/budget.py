"""Search budgets: how many examples a claim runs, from its cost.

Each profile gives every claim a budget of search seconds (``Profile.budget_s``: quick 5 s,
standard 30 s, nightly 90 s) and a range of examples (``min_examples`` .. ``max_examples``).
A claim runs as many examples as its budget pays for: a cheap claim thousands, a costly one its
minimum. The count is planned one of three ways (:class:`Plan`, ``mode``):

* ``fixed``: the claim pins its count per profile (``@claim(examples={"quick": 2})``): a sweep that
  costs minutes an example.
* ``costs``: the claim's seconds per example were measured (``claims/costs.json``, written by
  ``python -m harness costs reports/latest --write claims/costs.json``), and the count is
  ``clamp(budget / cost, min_examples, max_examples)``, fixed before the run: the same seed gives
  the same examples, so the same report, on any machine.
* ``clock``: no measured cost (a new claim, a claim written outside this repository, a profile
  never calibrated): the claim runs examples until its budget is spent on the clock (at least
  ``min_examples``, at most ``max_examples``). Counts then vary a little from run to run; record
  costs to pin them.

``--claims-budget=SECONDS`` replaces every claim's budget (a claim's own ``budget=`` included);
``--claims-costs=PATH`` names the cost table (``none``: every claim on the clock).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

__all__ = [
    "COSTS_SCHEMA",
    "CostsError",
    "Plan",
    "SearchSettings",
    "load_costs",
    "measured_costs",
    "plan_for",
    "write_costs",
]

COSTS_SCHEMA = "theorem-check/costs"
Mode = Literal["fixed", "costs", "clock"]


class CostsError(ValueError):
    """The cost table is missing, corrupt or not a theorem-check cost table."""


@dataclass(frozen=True)
class SearchSettings:
    """How this session searches: run seed, budget override, cost table, example database."""

    seed: int = 0
    budget_s: float | None = None  #: --claims-budget (None: the profile's and the claims' own)
    costs: dict[str, dict[str, float]] = field(default_factory=dict)  #: profile -> claim id -> seconds/example
    costs_path: str = ""
    database: str | None = None  #: directory of Hypothesis's example database (None: off)

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("costs")
        return d


@dataclass(frozen=True)
class Plan:
    """The search one claim gets in one run."""

    mode: Mode
    examples: int  #: Hypothesis's max_examples: the planned count (fixed, costs) or the cap (clock)
    min_examples: int
    budget_s: float
    cost_per_example: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def on_clock(self) -> bool:
        return self.mode == "clock"


def plan_for(claim_id: str, pinned: dict[str, int] | None, budget: dict[str, float] | None, profile, search: SearchSettings) -> Plan:
    """The :class:`Plan` of claim ``claim_id`` under ``profile`` (see the module docstring)."""
    lo, hi = int(profile.min_examples), int(profile.max_examples)
    seconds = float(profile.budget_s)
    if budget and profile.name in budget:
        seconds = float(budget[profile.name])
    if search.budget_s is not None:
        seconds = float(search.budget_s)
    if pinned and profile.name in pinned:
        n = int(pinned[profile.name])
        return Plan("fixed", n, n, seconds)
    cost = (search.costs.get(profile.name) or {}).get(claim_id)
    if cost is not None and cost > 0:
        n = max(lo, min(hi, math.floor(seconds / cost)))
        return Plan("costs", n, min(lo, n), seconds, cost)
    return Plan("clock", hi, lo, seconds)


def measured_costs(report: dict) -> dict[str, float]:
    """Seconds per example of each claim of a report: its work seconds (own time plus the cost of
    shared work it reused, so the same whichever claim ran first) over its examples tried, rounded
    to 2 significant digits so that a recalibration moves counts only when costs really moved."""
    out = {}
    for c in report.get("claims") or []:
        n = int(c.get("examples_tried") or 0)
        w = float(c.get("work_seconds") or c.get("seconds") or 0.0)
        if n > 0 and w > 0:
            out[c["id"]] = float(f"{max(w / n, 1e-4):.2g}")
    return out


def load_costs(path: str | Path) -> dict[str, dict[str, float]]:
    """profile -> claim id -> seconds/example, from a cost table written by :func:`write_costs`."""
    p = Path(path)
    try:
        data = json.loads(p.read_text())
    except FileNotFoundError:
        raise CostsError(f"no cost table at {p}") from None
    except (OSError, json.JSONDecodeError) as e:
        raise CostsError(f"cannot read the cost table {p}: {e}") from None
    if not isinstance(data, dict) or data.get("schema") != COSTS_SCHEMA or not isinstance(data.get("profiles"), dict):
        raise CostsError(f"{p} is not a theorem-check cost table (schema {COSTS_SCHEMA!r})")
    out: dict[str, dict[str, float]] = {}
    for prof, table in data["profiles"].items():
        out[str(prof)] = {str(k): float(v) for k, v in (table.get("seconds_per_example") or {}).items()}
    return out


def write_costs(path: str | Path, profile: str, costs: dict[str, float], *, source: str = "", machine: str = "") -> dict:
    """Merge the costs of one profile into the cost table at ``path`` (claims not in ``costs`` keep
    theirs); returns the table."""
    p = Path(path)
    data = {"schema": COSTS_SCHEMA, "version": 1, "profiles": {}}
    if p.exists():
        try:
            old = json.loads(p.read_text())
            if isinstance(old, dict) and old.get("schema") == COSTS_SCHEMA:
                data = old
        except json.JSONDecodeError:
            pass
    # merged into the profile's table: a run of some claims (pytest claims -k ...) updates just those
    old_costs = (data["profiles"].get(profile) or {}).get("seconds_per_example") or {}
    data["profiles"][profile] = {
        "source": source,
        "machine": machine,
        "seconds_per_example": dict(sorted({**old_costs, **costs}.items())),
    }
    p.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    return data
