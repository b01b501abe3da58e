"""What changed between a baseline run and a new run of the claims.

:func:`compare_reports` takes two loaded report.json dicts and lists, per claim:

* **verdict** changes. A change is a *regression* when the new verdict is not the expected one
  and the old one was (a true claim no longer confirmed, a negative control no longer
  falsified), or when the claim now errors; the reverse is a *fix*;
* **figure** moves: a numeric figure of the representative example whose new value lies
  outside the baseline's interval (or, when only the new run has one, the old value outside
  the new interval): an exponent or threshold that moved beyond its confidence interval. A
  figure without an interval on either side is listed as *changed* when it moved by more
  than ``rtol`` (relative), for information only;
* **seconds**: a claim *slower* by more than the factor ``slower`` and by at least
  ``min_seconds`` (and *faster* the other way, for information), on its ``work_seconds`` (its own
  time plus the compute time of shared cached work it reused, :mod:`harness.shared_work`) when both
  runs have them: wall seconds depend on which of two claims sharing a sweep ran first;
* **new** claims (information) and **removed** claims, and claims the run lists as
  **missing** (a worker killed, a stopped session), both regressions.

Figures are compared only when both runs used the same run seed (``--claims-seed``: another seed
draws other examples), and figures and seconds only when both used the same profile, dtype and kind
of device (a quick-profile CPU baseline says nothing about nightly GPU sizes or times); then
only verdicts, new, removed and missing claims count, and the comparison says so.

The result is a plain JSON-ready dict (``comparison.json``); :func:`comparison_lines` renders
it as the terminal table, and the report templates render it as a section.
"""

from __future__ import annotations

import datetime as _dt
import math
from typing import Any

__all__ = [
    "COMPARISON_SCHEMA",
    "DEFAULT_MIN_SECONDS",
    "DEFAULT_RTOL",
    "DEFAULT_SLOWER",
    "FAIL_ON",
    "compare_reports",
    "comparison_lines",
    "parse_fail_on",
]

COMPARISON_SCHEMA = "theorem-check/comparison"
DEFAULT_SLOWER = 2.0
DEFAULT_MIN_SECONDS = 1.0
DEFAULT_RTOL = 0.25
#: The kinds of change that can count as a regression (``--fail-on``).
FAIL_ON = ("verdict", "figure", "slower", "removed", "missing")

# Order of kinds in tables: regressions first, then the informational ones.
_KIND_ORDER = {"missing": 0, "removed": 1, "verdict": 2, "figure": 3, "slower": 4, "new": 5, "figure-changed": 6, "faster": 7}


def parse_fail_on(text: str) -> tuple[str, ...]:
    """``"verdict,figure"`` -> ``("verdict", "figure")``; ``"none"`` -> ``()``; ValueError otherwise."""
    parts = [p.strip().lower() for p in text.split(",") if p.strip()]
    if parts == ["none"]:
        return ()
    if parts == ["all"]:
        return FAIL_ON
    bad = [p for p in parts if p not in FAIL_ON]
    if bad or not parts:
        raise ValueError(f"--fail-on {text!r}: give a comma-separated subset of {','.join(FAIL_ON)} (or all, none)")
    return tuple(dict.fromkeys(parts))


def _num(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    f = float(v)
    return f if math.isfinite(f) else None


def _interval(v: Any) -> tuple[float, float] | None:
    if not isinstance(v, (list, tuple)) or len(v) != 2:
        return None
    lo, hi = _num(v[0]), _num(v[1])
    if lo is None or hi is None:
        return None
    return (min(lo, hi), max(lo, hi))


def _side(rep: dict, path: str) -> dict:
    env = rep.get("environment") or {}
    return {
        "path": path,
        "created": rep.get("created"),
        "profile": (rep.get("profile") or {}).get("name"),
        "device": env.get("device"),
        "device_name": env.get("device_name"),
        "dtype": env.get("dtype"),
        "git_revision": env.get("git_revision"),
        "duration_s": rep.get("duration_s"),
        "claims": len(rep.get("claims") or []),
    }


def _device_kind(device: str | None) -> str:
    return (device or "cpu").split(":", 1)[0]


def _fmt(v: Any) -> str:
    from ..report.text import fmt

    return fmt(v, 4)


def _figures(c: dict) -> tuple[dict, dict]:
    rep = c.get("representative") or {}
    figs = rep.get("figures") or {}
    return (figs if isinstance(figs, dict) else {}), (rep.get("args") or {})


def compare_reports(
    baseline: dict,
    run: dict,
    *,
    baseline_path: str = "",
    run_path: str = "",
    slower: float = DEFAULT_SLOWER,
    min_seconds: float = DEFAULT_MIN_SECONDS,
    rtol: float = DEFAULT_RTOL,
    fail_on: tuple[str, ...] = FAIL_ON,
) -> dict:
    """Compare ``run`` against ``baseline`` (both loaded report dicts). See the module docstring."""
    if slower <= 1.0:
        raise ValueError(f"slower factor must be > 1, got {slower}")
    b_side, r_side = _side(baseline, baseline_path), _side(run, run_path)
    notes: list[str] = []
    same_profile = b_side["profile"] == r_side["profile"]
    same_numerics = same_profile and b_side["dtype"] == r_side["dtype"] and _device_kind(b_side["device"]) == _device_kind(r_side["device"])
    if not same_profile:
        notes.append(
            f"profiles differ (baseline {b_side['profile']}, run {r_side['profile']}): figures and seconds are shown "
            "for information, only verdicts and lost claims count"
        )
    elif not same_numerics:
        notes.append(
            f"device or dtype differs (baseline {b_side['device']}/{b_side['dtype']}, run {r_side['device']}/{r_side['dtype']}): "
            "figures and seconds are shown for information, only verdicts and lost claims count"
        )
    elif b_side["device_name"] != r_side["device_name"]:
        notes.append(f"different hardware (baseline {b_side['device_name']}, run {r_side['device_name']}): seconds are for information")
    same_hardware = same_numerics and b_side["device_name"] == r_side["device_name"]
    # another run seed draws other examples: their figures are other samples, not the same numbers
    b_seed, r_seed = (baseline.get("search") or {}).get("seed", 0), (run.get("search") or {}).get("seed", 0)
    same_figures = same_numerics and b_seed == r_seed
    if same_numerics and not same_figures:
        notes.append(
            f"run seeds differ (baseline {b_seed}, run {r_seed}): other examples were drawn, so figures are shown for "
            "information; verdicts, lost claims and seconds count"
        )

    base = {c["id"]: c for c in baseline.get("claims") or []}
    new = {c["id"]: c for c in run.get("claims") or []}
    run_missing = {m.get("id"): m for m in run.get("missing") or [] if isinstance(m, dict)}
    changes: list[dict] = []

    def add(kind: str, cid: str | None, regression: bool, before: Any, after: Any, detail: str, **extra: Any) -> None:
        changes.append({"kind": kind, "id": cid, "regression": bool(regression), "before": before, "after": after, "detail": detail, **extra})

    for cid in sorted(set(new) - set(base)):
        c = new[cid]
        add("new", cid, False, None, c["verdict"], f"new claim, {c['verdict']}" + ("" if c["as_expected"] else " (UNEXPECTED)"))
    for cid in sorted(set(base) - set(new)):
        b = base[cid]
        if cid in run_missing:
            add("missing", cid, "missing" in fail_on, b["verdict"], None, f"no result in this run: {run_missing[cid].get('reason', 'unknown')}")
        else:
            add("removed", cid, "removed" in fail_on, b["verdict"], None, "in the baseline, not in this run")
    for cid, m in run_missing.items():
        if cid not in base and cid not in new:
            add("missing", cid, "missing" in fail_on, None, None, f"no result in this run ({m.get('nodeid', '?')}): {m.get('reason', 'unknown')}")

    seconds: list[dict] = []
    for cid in sorted(set(base) & set(new)):
        b, r = base[cid], new[cid]
        # verdicts
        if b["verdict"] != r["verdict"] or b.get("expected") != r.get("expected"):
            worse = not r["as_expected"] and (b["as_expected"] or (r["verdict"] == "error" and b["verdict"] != "error"))
            better = r["as_expected"] and not b["as_expected"]
            label = "REGRESSED" if worse else ("fixed" if better else "changed")
            exp = f"expected {r.get('expected')}" + (f", was expected {b.get('expected')}" if b.get("expected") != r.get("expected") else "")
            add("verdict", cid, worse and "verdict" in fail_on, b["verdict"], r["verdict"], f"{label} ({exp})", label=label)
        # figures of the representative example
        bf, b_args = _figures(b)
        rf, r_args = _figures(r)
        for name in sorted(set(bf) & set(rf)):
            bfig, rfig = bf[name] or {}, rf[name] or {}
            if not isinstance(bfig, dict) or not isinstance(rfig, dict):
                continue
            bm, rm = _num(bfig.get("measured")), _num(rfig.get("measured"))
            if bm is None or rm is None:
                if bfig.get("measured") != rfig.get("measured") and (bm is not None or rm is not None):
                    add("figure-changed", cid, False, bfig.get("measured"), rfig.get("measured"), f"{name}: no longer comparable numbers", figure=name)
                continue
            b_int, r_int = _interval(bfig.get("interval")), _interval(rfig.get("interval"))
            other = "" if b_args == r_args else " (figures of a different example)"
            if b_int is not None or r_int is not None:
                if b_int is not None:
                    moved = not (b_int[0] <= rm <= b_int[1])
                    how = f"{name}: {_fmt(rm)} outside the baseline's [{_fmt(b_int[0])}, {_fmt(b_int[1])}]"
                else:
                    moved = not (r_int[0] <= bm <= r_int[1])
                    how = f"{name}: baseline {_fmt(bm)} outside this run's [{_fmt(r_int[0])}, {_fmt(r_int[1])}]"
                if moved:
                    add("figure", cid, same_figures and "figure" in fail_on, bm, rm, how + other,
                        figure=name, interval_before=list(b_int) if b_int else None, interval_after=list(r_int) if r_int else None)
            else:
                scale = max(abs(bm), abs(rm), 1e-300)
                if abs(rm - bm) / scale > rtol:
                    add("figure-changed", cid, False, bm, rm, f"{name}: moved {_fmt(rm - bm)} (no interval){other}", figure=name)
        # seconds: work seconds (own time + shared cached work reused, harness.shared_work) where both
        # runs have them, so a claim does not look slower because its twin ran on another shard
        key = "work_seconds" if _num(b.get("work_seconds")) is not None and _num(r.get("work_seconds")) is not None else "seconds"
        bs, rs = _num(b.get(key)), _num(r.get(key))
        if bs is not None and rs is not None:
            ratio = rs / bs if bs > 0 else (math.inf if rs > 0 else 1.0)
            seconds.append({"id": cid, "before": bs, "after": rs, "ratio": round(ratio, 3) if math.isfinite(ratio) else None})
            if rs > slower * bs and rs - bs >= min_seconds:
                add("slower", cid, same_hardware and "slower" in fail_on, bs, rs,
                    f"{_fmt(bs)} s -> {_fmt(rs)} s ({'x' + _fmt(ratio) if math.isfinite(ratio) else 'from 0'}, limit x{_fmt(slower)})")
            elif bs > slower * rs and bs - rs >= min_seconds:
                add("faster", cid, False, bs, rs, f"{_fmt(bs)} s -> {_fmt(rs)} s (x{_fmt(ratio)})")

    changes.sort(key=lambda ch: (not ch["regression"], _KIND_ORDER.get(ch["kind"], 9), ch["id"] or ""))
    counts: dict[str, int] = {}
    for ch in changes:
        counts[ch["kind"]] = counts.get(ch["kind"], 0) + 1
    regressions = sum(ch["regression"] for ch in changes)
    return {
        "schema": COMPARISON_SCHEMA,
        "schema_version": 1,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "baseline": b_side,
        "run": r_side,
        "settings": {"slower": slower, "min_seconds": min_seconds, "rtol": rtol, "fail_on": list(fail_on)},
        "comparable": {"figures": same_figures, "seconds": same_hardware},
        "notes": notes,
        "counts": counts,
        "regressions": regressions,
        "status": "regression" if regressions else "ok",
        "changes": changes,
        "seconds": seconds,
    }


def comparison_lines(comp: dict) -> list[str]:
    """The terminal rendering: a header, the table of changes, a closing verdict line."""
    from ..report.text import columns_table as _table

    b, r = comp["baseline"], comp["run"]
    out = [
        f"comparison with baseline {b['path'] or '(baseline)'}: created {b['created']}, profile {b['profile']}, "
        f"{b['device']} ({b['device_name']}), git {(b['git_revision'] or 'unknown')[:12]}",
        f"this run {r['path'] or ''}: created {r['created']}, profile {r['profile']}, {r['device']} ({r['device_name']}), "
        f"git {(r['git_revision'] or 'unknown')[:12]}",
    ]
    out += [f"note: {n}" for n in comp["notes"]]
    if comp["changes"]:
        rows = [
            [
                "REGRESSION" if ch["regression"] else "-",
                ch["kind"],
                ch["id"] or "?",
                _fmt(ch["before"]),
                _fmt(ch["after"]),
                ch["detail"][:110],
            ]
            for ch in comp["changes"]
        ]
        out += _table(["", "change", "claim", "baseline", "this run", "detail"], rows)
    else:
        out.append("no changes: same claims, same verdicts, figures within their intervals, no claim slower")
    bd, rd = _num(b.get("duration_s")), _num(r.get("duration_s"))
    if bd and rd:
        out.append(f"run time {_fmt(bd)} s -> {_fmt(rd)} s (x{_fmt(rd / bd)})")
    n = comp["regressions"]
    kinds = ", ".join(f"{v} {k}" for k, v in sorted(comp["counts"].items()))
    out.append(f"{n} regression(s)" + (f"; changes: {kinds}" if kinds else "") + f" (fail on: {','.join(comp['settings']['fail_on']) or 'nothing'})")
    return out
