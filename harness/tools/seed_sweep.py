"""The claims under many run seeds: are the verdicts honest under a real search?

``python -m harness seeds --seeds 20`` runs ``pytest claims`` once per run seed (1..20 by default),
each with its own report directory (``reports/seeds/runs/``, not kept in git) and the example
database off (so that no seed learns from another), keeps a compact record of each run
(``reports/seeds/<profile>/seed-<k>.json``: the git revision and per claim its verdict, examples and
seconds; small enough to commit) and summarises the runs in ``reports/seeds/<profile>.json`` and ``.md``:

* spurious falsifications: a claim expected to hold that some seed falsified (goal 0);
* escaped controls: a negative control that some seed failed to falsify (goal 0);
* inconclusive and error verdicts, per seed;
* examples per claim (min, median, max over the seeds) and seconds per run.

With ``--resume`` a seed whose compact record (or full report) is already there is read back instead
of being run again, so a long sweep can be done in pieces, on several machines or sessions; the
summary lists each seed's git revision, so a sweep over a changing tree says so.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from ..report import ReportError, load_report

__all__ = ["run_seed_sweep", "summarize_seed_runs"]


def _pytest_command(claims: str, profile: str, seed: int, workers: int, report_dir: Path, extra: Sequence[str]) -> list[str]:
    cmd = [sys.executable, "-m", "pytest", claims, "-q", "-p", "no:cacheprovider", f"--claims-profile={profile}",
           f"--claims-seed={seed}", f"--claims-report-dir={report_dir}", "--claims-no-history", "--claims-db=none"]
    if workers > 0:
        cmd += ["-n", str(workers)]
    return cmd + list(extra)


def compact_record(seed: int, seconds: float, report: dict) -> dict:
    """What the summary needs of one run: small enough to commit (a full report.json is megabytes)."""
    env = report.get("environment") or {}
    return {
        "schema": "theorem-check/seed-run",
        "seed": seed,
        "seconds": round(seconds, 1),
        "created": report.get("created"),
        "git_revision": env.get("git_revision"),
        "git_dirty": env.get("git_dirty"),
        "device": env.get("device"),
        "claims": [
            {k: c.get(k) for k in ("id", "expected", "verdict", "examples_tried", "seconds")}
            | {"reason": (c.get("inconclusive_reason") or (c.get("counterexample") or {}).get("message") or c.get("error") or "")[:300]}
            for c in report.get("claims") or []
        ],
        "missing": report.get("missing") or [],
    }


def summarize_seed_runs(runs: list[dict], *, profile: str) -> dict:
    """The sweep's summary from ``[{"seed", "seconds", "report"}]`` (each report a loaded report.json)."""
    per_claim: dict[str, dict] = {}
    seeds_out = []
    for run in runs:
        rep = run["report"]
        spurious, escaped, inconclusive, errors = [], [], [], []
        for c in rep["claims"]:
            e = per_claim.setdefault(c["id"], {"expected": c["expected"], "verdicts": {}, "examples": [], "seconds": []})
            e["verdicts"][c["verdict"]] = e["verdicts"].get(c["verdict"], 0) + 1
            e["examples"].append(int(c.get("examples_tried") or 0))
            e["seconds"].append(float(c.get("seconds") or 0.0))
            if c["expected"] == "confirmed" and c["verdict"] == "falsified":
                spurious.append(c["id"])
            if c["expected"] == "falsified" and c["verdict"] != "falsified":
                escaped.append(c["id"])
            if c["verdict"] == "inconclusive":
                inconclusive.append(c["id"])
            if c["verdict"] == "error":
                errors.append(c["id"])
        seeds_out.append(
            {
                "seed": run["seed"],
                "git_revision": ((rep.get("environment") or {}).get("git_revision") or rep.get("git_revision") or "")[:12],
                "seconds": round(run["seconds"], 1),
                "claims": len(rep["claims"]),
                "missing": len(rep.get("missing") or []),
                "spurious_falsifications": spurious,
                "escaped_controls": escaped,
                "inconclusive": inconclusive,
                "errors": errors,
                "examples": sum(int(c.get("examples_tried") or 0) for c in rep["claims"]),
                "claims_with_100_examples": sum(int(c.get("examples_tried") or 0) >= 100 for c in rep["claims"]),
            }
        )
    claims = {}
    for cid, e in sorted(per_claim.items()):
        ex = e["examples"]
        claims[cid] = {
            "expected": e["expected"],
            "verdicts": e["verdicts"],
            "examples_min": min(ex),
            "examples_median": statistics.median(ex),
            "examples_max": max(ex),
            "seconds_median": round(statistics.median(e["seconds"]), 2),
        }
    n = len(seeds_out)
    return {
        "schema": "theorem-check/seed-sweep",
        "version": 1,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "profile": profile,
        "seeds": [s["seed"] for s in seeds_out],
        "totals": {
            "runs": n,
            "spurious_falsifications": sum(len(s["spurious_falsifications"]) for s in seeds_out),
            "escaped_controls": sum(len(s["escaped_controls"]) for s in seeds_out),
            "inconclusive": sum(len(s["inconclusive"]) for s in seeds_out),
            "errors": sum(len(s["errors"]) for s in seeds_out),
            "missing": sum(s["missing"] for s in seeds_out),
            "seconds_per_run_median": round(statistics.median([s["seconds"] for s in seeds_out]), 1) if n else None,
            "examples_per_claim_median": statistics.median([c["examples_median"] for c in claims.values()]) if claims else None,
            "claims_with_100_examples_median": statistics.median([s["claims_with_100_examples"] for s in seeds_out]) if n else None,
            "git_revisions": sorted({s["git_revision"] for s in seeds_out}),
        },
        "per_seed": seeds_out,
        "claims": claims,
    }


def render_markdown(summary: dict) -> str:
    t = summary["totals"]
    L = [
        f"# theorem-check under {t['runs']} run seeds (profile {summary['profile']})",
        "",
        f"Created {summary['created']}; seeds {', '.join(map(str, summary['seeds']))}; git revision(s) "
        f"{', '.join(t.get('git_revisions') or ['?'])}.",
        "",
        f"- spurious falsifications of true claims: **{t['spurious_falsifications']}** (goal 0)",
        f"- negative controls that escaped: **{t['escaped_controls']}** (goal 0)",
        f"- inconclusive verdicts: {t['inconclusive']}; errors: {t['errors']}; missing: {t['missing']}",
        f"- seconds per run (median): {t['seconds_per_run_median']}; examples per claim (median of medians): "
        f"{t['examples_per_claim_median']}; claims with >= 100 examples (median over seeds): {t['claims_with_100_examples_median']}",
        "",
        "| seed | seconds | examples | claims >= 100 | spurious | escaped | inconclusive | errors |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s in summary["per_seed"]:
        L.append(
            f"| {s['seed']} | {s['seconds']} | {s['examples']} | {s['claims_with_100_examples']} | {', '.join(s['spurious_falsifications']) or 0} | "
            f"{', '.join(s['escaped_controls']) or 0} | {', '.join(s['inconclusive']) or 0} | {', '.join(s['errors']) or 0} |"
        )
    L += ["", "| claim | expected | verdicts over the seeds | examples min / median / max | median s |", "|---|---|---|---|---|"]
    for cid, c in summary["claims"].items():
        v = ", ".join(f"{k} {n}" for k, n in sorted(c["verdicts"].items()))
        L.append(f"| {cid} | {c['expected']} | {v} | {c['examples_min']} / {c['examples_median']:g} / {c['examples_max']} | {c['seconds_median']} |")
    return "\n".join(L) + "\n"


def run_seed_sweep(
    seeds: Sequence[int],
    *,
    profile: str = "quick",
    claims: str = "claims",
    workers: int = 2,
    out: str | Path = "reports/seeds",
    resume: bool = False,
    extra: Sequence[str] = (),
    log: Callable[[str], None] = print,
    runner: Callable[[list[str]], int] | None = None,
) -> dict:
    """Run the claims once per seed and write ``<out>/<profile>.json`` and ``.md``; returns the summary."""
    out = Path(out)
    records = out / profile
    records.mkdir(parents=True, exist_ok=True)
    runs = []
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    run = runner or (lambda cmd: subprocess.run(cmd, env=env).returncode)

    def write_summary() -> dict:
        summary = summarize_seed_runs(runs, profile=profile)
        (out / f"{profile}.json").write_text(json.dumps(summary, indent=1) + "\n")
        (out / f"{profile}.md").write_text(render_markdown(summary))
        return summary

    for i, seed in enumerate(seeds, 1):
        rdir = out / "runs" / profile / f"seed-{seed}"
        latest = rdir / "latest"
        record_path = records / f"seed-{seed}.json"
        rep, seconds = None, 0.0
        if resume and record_path.exists():
            try:
                rep = json.loads(record_path.read_text())
                seconds = float(rep.get("seconds") or 0.0)
                log(f"[{i}/{len(seeds)}] seed {seed}: read back from {record_path}")
            except (OSError, json.JSONDecodeError):
                rep = None
        if rep is None and resume and (latest / "report.json").exists():
            try:
                full = load_report(latest)
                seconds = float(full.get("duration_s") or 0.0)
                rep = compact_record(seed, seconds, full)
                log(f"[{i}/{len(seeds)}] seed {seed}: read back from {latest}")
            except ReportError:
                rep = None
        if rep is None:
            cmd = _pytest_command(claims, profile, seed, workers, rdir, extra)
            log(f"[{i}/{len(seeds)}] seed {seed}: {' '.join(cmd[2:])}")
            t0 = time.perf_counter()
            code = run(cmd)
            seconds = time.perf_counter() - t0
            try:
                rep = compact_record(seed, seconds, load_report(latest))
            except ReportError as e:
                raise ReportError(f"seed {seed}: pytest exited {code} and left no report ({e})") from None
            log(f"[{i}/{len(seeds)}] seed {seed}: pytest exited {code} in {seconds:.0f} s")
        record_path.write_text(json.dumps(rep, indent=1) + "\n")
        runs.append({"seed": seed, "seconds": seconds, "report": rep})
        write_summary()  # after every seed: a sweep stopped half-way still leaves its summary
    return write_summary()
