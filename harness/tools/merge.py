"""Join the report.json files of the shards of one run into one report.

A run split across machines (``pytest claims --splits N --group i`` with pytest-split, one
group per machine, each writing its own report) is joined by :func:`merge_reports`:

* every claim of every shard appears exactly once: a claim id in two shard reports is an
  error naming both files (two shards ran the same claim, or one report was given twice);
* when the shards say which pytest-split group they were (the plugin records
  ``shard: {"group", "splits"}``), a group given twice is an error, and a group not given is
  an error too (its claims would be lost) unless ``allow_partial``, when it is listed under
  ``missing``; so are the claims each shard itself lists as missing (a worker killed);
* the shards must share the profile and dtype (figures of different sizes do not mix); a
  different git revision is allowed, with a warning in ``merge_warnings``.

Every input is read and checked before anything is written: a corrupt or foreign file is a
:class:`~harness.report.ReportError` naming it, and the output is not touched.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from pathlib import Path

from ..report import SCHEMA, SCHEMA_VERSION, ReportError, load_report, sort_claims, summarize

__all__ = ["merge_reports"]


def _file(p: str | Path) -> Path:
    p = Path(p)
    return p / "report.json" if p.is_dir() else p


def merge_reports(paths: Sequence[str | Path], *, allow_partial: bool = False, command: str = "") -> dict:
    """One report from the shard reports at ``paths`` (files or run directories)."""
    if not paths:
        raise ReportError("no shard reports to merge")
    shards: list[tuple[str, dict]] = []
    seen_files: dict[Path, str] = {}
    for p in paths:
        f = _file(p)
        rep = load_report(f)
        key = f.resolve()
        if key in seen_files:
            raise ReportError(f"{f}: given twice (also as {seen_files[key]}); each shard's report once")
        seen_files[key] = str(f)
        shards.append((str(f), rep))

    first_path, first = shards[0]
    for path, rep in shards[1:]:
        for what, get in (
            ("profile", lambda r: (r.get("profile") or {}).get("name")),
            ("dtype", lambda r: (r.get("environment") or {}).get("dtype")),
            ("run seed", lambda r: (r.get("search") or {}).get("seed")),
        ):
            if get(rep) != get(first):
                raise ReportError(f"{path}: {what} {get(rep)!r}, but {first_path} has {get(first)!r}: the shards of one run share it")

    warnings: list[str] = []
    revs = {(rep.get("environment") or {}).get("git_revision") for _, rep in shards}
    if len(revs) > 1:
        warnings.append("shards ran different git revisions: " + ", ".join(
            f"{path}: {((rep.get('environment') or {}).get('git_revision') or 'unknown')[:12]}" for path, rep in shards))

    missing: list[dict] = []
    groups: dict[int, str] = {}
    splits: set[int] = set()
    with_shard = [(path, rep["shard"]) for path, rep in shards if isinstance(rep.get("shard"), dict)]
    for path, sh in with_shard:
        g, n = sh.get("group"), sh.get("splits")
        splits.add(n)
        if g in groups:
            raise ReportError(f"{path}: pytest-split group {g}/{n} is also {groups[g]}: the same shard given twice")
        groups[g] = path
    if len(splits) > 1:
        raise ReportError("shards were split different ways: " + ", ".join(f"{path}: group {sh.get('group')}/{sh.get('splits')}" for path, sh in with_shard))
    if with_shard:
        n = next(iter(splits))
        if len(with_shard) != len(shards):
            warnings.append(f"{len(shards) - len(with_shard)} report(s) carry no pytest-split group; the group check covers the others only")
        absent = [g for g in range(1, int(n) + 1) if g not in groups]
        if absent:
            if not allow_partial:
                raise ReportError(
                    f"pytest-split group(s) {', '.join(map(str, absent))} of {n} not given (their claims would be lost); "
                    "give every shard's report, or pass --allow-partial to merge what is here and list them as missing"
                )
            missing += [{"id": None, "nodeid": f"pytest-split group {g}/{n}", "reason": "that shard's report was not given"} for g in absent]

    claims: list[dict] = []
    owner: dict[str, str] = {}
    for path, rep in shards:
        for c in rep["claims"]:
            if c["id"] in owner:
                raise ReportError(f"claim {c['id']} is in both {owner[c['id']]} and {path}: a claim must come from one shard only")
            owner[c["id"]] = path
            claims.append(c)
    for path, rep in shards:
        for m in rep.get("missing") or []:
            if isinstance(m, dict) and m.get("id") not in owner:
                missing.append({**m, "shard": path})

    env = dict(first.get("environment") or {})
    env["xdist_workers"] = sum(int((rep.get("environment") or {}).get("xdist_workers") or 0) for _, rep in shards)
    merged = {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "duration_s": max(float(rep.get("duration_s") or 0.0) for _, rep in shards),
        "command": command or "python -m harness merge " + " ".join(p for p, _ in shards),
        "profile": first["profile"],
        "environment": env,
        "summary": summarize(sort_claims(claims), missing if missing else None),
        "claims": sort_claims(claims),
        "merged_from": [
            {
                "path": path,
                "created": rep.get("created"),
                "duration_s": rep.get("duration_s"),
                "claims": len(rep["claims"]),
                "shard": rep.get("shard"),
                "device": (rep.get("environment") or {}).get("device"),
                "device_name": (rep.get("environment") or {}).get("device_name"),
                "git_revision": (rep.get("environment") or {}).get("git_revision"),
            }
            for path, rep in shards
        ],
    }
    if "search" in first:
        merged["search"] = first["search"]
    if missing:
        merged["missing"] = missing
    if warnings:
        merged["merge_warnings"] = warnings
    return merged
