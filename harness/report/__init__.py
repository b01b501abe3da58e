"""Layer 7, reports: ``report.json`` (versioned schema), ``report.md``, ``report.html`` and ``plots/*.png``.

Reads claim results (plain dicts) and renders them; may import the layers below (runtime, contract,
...), never the tools or the plugin above it.

A run is written into ``<dir>/runs/<stamp>-<pid>/`` and only then published by atomically
swapping the ``<dir>/latest`` symlink, so an interrupted run never leaves a half-written
report behind ``latest``.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import shutil
import subprocess
import time
from pathlib import Path

from ..runtime.version import __version__

__all__ = [
    "SCHEMA",
    "SCHEMA_VERSION",
    "ReportError",
    "build_report",
    "load_report",
    "render_all",
    "summarize",
    "write_report",
]

SCHEMA = "theorem-check/report"
SCHEMA_VERSION = 1
KEEP_RUNS = 20


REQUIRED = {"claims": list, "environment": dict, "summary": dict, "profile": dict, "created": str}
CLAIM_KEYS = ("id", "info", "verdict", "expected", "as_expected", "examples_tried")


class ReportError(ValueError):
    """A report file is missing, corrupt or not a theorem-check report."""


def _git(root: str, *args: str) -> str:
    try:
        return subprocess.run(["git", "-C", root, *args], capture_output=True, text=True, timeout=10).stdout.strip()
    except Exception:
        return ""


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment(settings, root: str, workers: int) -> dict:
    import hypothesis
    import numpy
    import pytest
    import scipy
    import torch

    if settings.device.startswith("cuda"):
        dev_name = torch.cuda.get_device_name(torch.device(settings.device))
    else:
        dev_name = _cpu_name()
    rev = _git(root, "rev-parse", "HEAD")
    return {
        "theorem_check": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "torch": torch.__version__,
        "hypothesis": hypothesis.__version__,
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "pytest": pytest.__version__,
        "device": settings.device,
        "device_name": dev_name,
        "dtype": settings.dtype,
        "tf32": "off",
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "xdist_workers": workers,
        "git_revision": rev or None,
        "git_dirty": bool(_git(root, "status", "--porcelain", "--untracked-files=no")) if rev else None,
    }


def sort_claims(claims: list[dict]) -> list[dict]:
    """The report's order of claims: by paper key, then id."""
    return sorted(claims, key=lambda r: (r["info"]["paper"]["key"], r["id"]))


def summarize(claims: list[dict], missing: list[dict] | None = None) -> dict:
    """The ``summary`` block of a report (``missing`` counted only when given)."""
    counts: dict[str, int] = {}
    for r in claims:
        counts[r["verdict"]] = counts.get(r["verdict"], 0) + 1
    out = {
        "claims": len(claims),
        "verdicts": counts,
        "as_expected": sum(bool(r["as_expected"]) for r in claims),
        "unexpected": [r["id"] for r in claims if not r["as_expected"]],
        "negative_controls": sum(r["expected"] == "falsified" for r in claims),
        "examples_tried": sum(int(r.get("examples_tried") or 0) for r in claims),
        "claims_with_100_examples": sum(int(r.get("examples_tried") or 0) >= 100 for r in claims),
    }
    if missing is not None:
        out["missing"] = len(missing)
    return out


def build_report(
    results: list[dict],
    *,
    profile: str,
    settings,
    started: float,
    root: str,
    argv: list[str],
    workers: int,
    missing: list[dict] | None = None,
    shard: dict | None = None,
    search=None,
) -> dict:
    """The report dict of one session.

    Optional keys (schema_version 1 readers ignore them, and every reader accepts a report
    without them): ``missing``, the claims collected for this run that gave no result (a
    worker killed, the session stopped early), each ``{"id", "nodeid", "reason"}``; and
    ``shard``, ``{"group", "splits"}`` when the run was one pytest-split group; ``search``, the
    run seed, budget override, cost table and example database of the run.
    """
    from ..runtime.profiles import PROFILES

    claims = sort_claims(results)
    report = {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "duration_s": round(time.time() - started, 2),
        "command": " ".join(argv),
        "profile": PROFILES[profile].to_dict(),
        "environment": environment(settings, root, workers),
        "summary": summarize(claims, missing if missing else None),
        "claims": claims,
    }
    if search is not None:
        report["search"] = search.to_dict()
    if missing:
        report["missing"] = missing
    if shard:
        report["shard"] = shard
    return report


def load_report(path: str | Path) -> dict:
    """Read and validate a report.json (a file or a run directory)."""
    p = Path(path)
    if p.is_dir():
        p = p / "report.json"
    try:
        data = json.loads(p.read_text())
    except FileNotFoundError:
        raise ReportError(f"{p}: no such report") from None
    except OSError as e:
        raise ReportError(f"{p}: cannot be read ({e.strerror or e})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ReportError(f"{p}: not valid JSON ({e})") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise ReportError(f"{p}: not a theorem-check report (schema {data.get('schema') if isinstance(data, dict) else None!r})")
    if data.get("schema_version") != SCHEMA_VERSION:
        raise ReportError(f"{p}: schema_version {data.get('schema_version')} is not supported (this is {SCHEMA_VERSION})")
    for key, kind in REQUIRED.items():
        if not isinstance(data.get(key), kind):
            raise ReportError(f"{p}: corrupt report: '{key}' is missing or not a {kind.__name__}")
    for i, c in enumerate(data["claims"]):
        missing = [k for k in CLAIM_KEYS if k not in c] if isinstance(c, dict) else ["(not an object)"]
        if missing:
            raise ReportError(f"{p}: corrupt report: claim #{i} lacks {', '.join(missing)}")
        if not isinstance(c["id"], str) or not isinstance(c["verdict"], str):
            raise ReportError(f"{p}: corrupt report: claim #{i} has a non-string id or verdict")
    if not isinstance(data.get("missing", []), list):
        raise ReportError(f"{p}: corrupt report: 'missing' is not a list")
    return data


def render_all(report: dict, run_dir: Path, comparison: dict | None = None) -> None:
    """Plots, report.md and report.html into ``run_dir`` (report.json is written separately).

    With ``comparison`` (from :func:`harness.compare.compare_reports`) both files open with a
    section on what changed since the baseline."""
    from .html import render_html
    from .plots import render_plots
    from .text import render_markdown

    render_plots(report, run_dir / "plots")
    (run_dir / "report.md").write_text(render_markdown(report, comparison))
    (run_dir / "report.html").write_text(render_html(report, run_dir, comparison))


def write_report(report: dict, out_dir: str | Path) -> Path:
    """Write a complete run directory, then point ``out_dir/latest`` at it atomically."""
    out = Path(out_dir)
    runs = out / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%S")
    name = f"{stamp}-{os.getpid()}"
    i = 0
    while (runs / name).exists() or (runs / f".{name}.partial").exists():  # two runs in one second, one process
        i += 1
        name = f"{stamp}-{os.getpid()}-{i}"
    tmp = runs / f".{name}.partial"
    final = runs / name
    tmp.mkdir()
    render_all(report, tmp)  # adds plot_files to the claims
    (tmp / "report.json").write_text(json.dumps(report, indent=1, sort_keys=False))
    tmp.rename(final)
    latest = out / "latest"
    link_tmp = out / f".latest-{os.getpid()}"
    if link_tmp.is_symlink() or link_tmp.exists():
        link_tmp.unlink()
    os.symlink(Path("runs") / final.name, link_tmp)
    if latest.exists() and not latest.is_symlink():
        shutil.rmtree(latest)  # a real directory from elsewhere: replaced once
    os.replace(link_tmp, latest)
    _prune(runs)
    return latest


def _prune(runs: Path) -> None:
    done = sorted((p for p in runs.iterdir() if p.is_dir() and not p.name.startswith(".")), key=lambda p: p.name)
    for old in done[:-KEEP_RUNS]:
        shutil.rmtree(old, ignore_errors=True)
