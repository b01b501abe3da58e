"""The ``theorem-check`` command (also ``python -m harness``).

Subcommands:

* ``list``: the claims the claim modules define, with the last verdict of ``reports/latest``;
* ``report RUN [--compare BASELINE]``: re-render report.md / report.html / plots of a finished
  run, and with ``--compare`` say what changed since a baseline run (exit 1 on a regression);
* ``baseline RUN``: make a run the baseline of its profile (``reports/baseline/<profile>/``);
* ``merge SHARD... --out DIR``: join the reports of the shards of one run into one;
* ``history``: the trend page of the runs in the history store (``--add RUN`` appends one);
* ``profiles``: the effort profiles, their sizes and search budgets;
* ``costs RUN --write claims/costs.json``: record each claim's seconds per example from a run, the
  table that turns a budget into a fixed example count (:mod:`harness.budget`);
* ``plan --profile nightly --device cuda``: each claim's estimated time in a profile, and the total;
* ``table RUN --format md|latex|csv``: one row per quantitative claim (bound, worst and median
  margin, measured against predicted, sizes), the table a paper's appendix cites;
* ``seeds --seeds 20``: run the claims under many run seeds and count spurious falsifications and
  escaped controls (:mod:`harness.seed_sweep`).

Running the claims themselves is pytest's job (``pytest claims --claims-profile=quick``).
``main(argv)`` returns the exit code: 0 on success, 1 when ``report --compare`` finds a
regression, 2 on a usage error, an unreadable report or a claim module that fails to import.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from ..report.text import columns_table as _table
from .claim_index import import_claims as _import_claims
from ..runtime.version import __version__

__all__ = ["main"]

EXIT_OK = 0
EXIT_REGRESSION = 1
EXIT_ERROR = 2
FORMATS = ("md", "html")


def _err(msg: str) -> None:
    print(f"theorem-check: error: {msg}", file=sys.stderr)


def _warn(msg: str) -> None:
    print(f"theorem-check: warning: {msg}", file=sys.stderr)


# ----------------------------------------------------------------------------------------------
# list
# ----------------------------------------------------------------------------------------------


def _last_verdicts(reports_dir: Path) -> tuple[dict[str, dict], Path | None]:
    from ..report import ReportError, load_report

    path = reports_dir / "latest" / "report.json"
    if not path.exists():
        return {}, None
    try:
        rep = load_report(path)
    except ReportError as e:
        _warn(f"last verdicts not shown: {e}")
        return {}, None
    out = {}
    for c in rep.get("claims") or []:
        if isinstance(c, dict) and "id" in c:
            out[c["id"]] = {"verdict": c.get("verdict"), "as_expected": c.get("as_expected"), "created": rep.get("created")}
    return out, path


def cmd_list(args: argparse.Namespace) -> int:
    from ..contract.claim import REGISTRY

    claims_dir = Path(args.claims_dir).resolve()
    if not claims_dir.is_dir():
        _err(f"{args.claims_dir}: no such claims directory")
        return EXIT_ERROR
    by_file, errors = _import_claims(claims_dir)
    last, report_path = _last_verdicts(Path(args.reports_dir))
    claims = []
    for f, ids in by_file.items():
        for cid in ids:
            info = REGISTRY[cid]
            lv = last.get(cid)
            claims.append(
                {
                    "id": cid,
                    "paper": info.paper.key,
                    "theorem": info.theorem,
                    "quantifier": info.quantifier,
                    "expect": info.expect,
                    "negative_control": info.expect == "falsified",
                    "control_of": info.control_of or None,
                    "examples": info.examples or None,
                    "budget": info.budget or None,
                    "file": str(f),
                    "last_verdict": lv["verdict"] if lv else None,
                    "last_as_expected": lv["as_expected"] if lv else None,
                }
            )
    claims.sort(key=lambda c: (c["paper"], c["id"]))
    if args.json:
        print(
            json.dumps(
                {
                    "claims_dir": str(claims_dir),
                    "modules": [str(f) for f in by_file],
                    "last_report": str(report_path) if report_path else None,
                    "claims": claims,
                    "errors": errors,
                },
                indent=1,
            )
        )
    else:
        if claims:
            header = ["id", "paper", "theorem", "quantifier", "expected", "control of"]
            if report_path:
                header.append("last verdict")
            rows = []
            for c in claims:
                row = [
                    c["id"],
                    c["paper"],
                    c["theorem"],
                    c["quantifier"],
                    "falsified (negative control)" if c["negative_control"] else c["expect"],
                    c["control_of"] or "-",
                ]
                if report_path:
                    v = c["last_verdict"] or "-"
                    row.append(f"{v} (UNEXPECTED)" if c["last_verdict"] and c["last_as_expected"] is False else v)
                rows.append(row)
            for line in _table(header, rows):
                print(line)
        controls = sum(c["negative_control"] for c in claims)
        tail = f"; last verdicts from {report_path}" if report_path else ""
        print(f"{len(claims)} claim(s) ({controls} negative control(s)) in {len(by_file)} module(s) under {args.claims_dir}{tail}")
    for e in errors:
        _err(f"cannot import {e['file']}: {e['error']}")
    return EXIT_ERROR if errors else EXIT_OK


# ----------------------------------------------------------------------------------------------
# report
# ----------------------------------------------------------------------------------------------


def _formats(text: str) -> list[str] | None:
    fmts = [f.strip().lower() for f in text.split(",") if f.strip()]
    if not fmts or any(f not in FORMATS for f in fmts):
        return None
    return list(dict.fromkeys(fmts))


def _load(path: Path):
    """load_report with every failure as a ReportError naming the file."""
    from ..report import ReportError, load_report

    try:
        return load_report(path)
    except OSError as e:  # a permission problem, a directory named report.json, ...
        raise ReportError(f"{path}: cannot read ({e.strerror or e})") from None


def resolve_baseline(path: Path, profile: str | None) -> tuple[Path, str]:
    """The baseline report a path names, and a note when it is not the obvious one.

    A report.json, a run directory holding one, or a baseline root holding one directory per
    profile (``reports/baseline/quick/report.json``): then the run's own profile, or, when the
    root has a single profile, that one (with a note: only verdicts compare across profiles)."""
    from ..report import ReportError

    if path.is_file():
        return path, ""
    if (path / "report.json").is_file():
        return path / "report.json", ""
    if path.is_dir():
        found = sorted(p.parent.name for p in path.glob("*/report.json"))
        if profile in found:
            return path / profile / "report.json", ""
        if len(found) == 1:
            return path / found[0] / "report.json", f"no {profile} baseline under {path}; comparing with the {found[0]} one"
        if found:
            raise ReportError(f"{path}: no baseline for profile {profile} (has: {', '.join(found)}); give one of them explicitly")
        raise ReportError(f"{path}: no report.json and no <profile>/report.json under it")
    raise ReportError(f"{path}: no such report")


def cmd_report(args: argparse.Namespace) -> int:
    from ..report import ReportError, render_all

    fmts = _formats(args.format)
    if fmts is None:
        _err(f"--format {args.format!r}: give a comma-separated subset of {','.join(FORMATS)}")
        return EXIT_ERROR
    fail_on = None
    if args.compare is not None:
        from .compare import parse_fail_on

        try:
            fail_on = parse_fail_on(args.fail_on)
        except ValueError as e:
            _err(str(e))
            return EXIT_ERROR
        if not args.slower > 1.0:
            _err(f"--slower {args.slower}: the factor must be > 1")
            return EXIT_ERROR
    run = Path(args.run)
    try:
        report = _load(run)
    except ReportError as e:
        _err(str(e))
        return EXIT_ERROR
    run_dir = run if run.is_dir() else run.parent
    out_dir = Path(args.out) if args.out else run_dir
    source = run / "report.json" if run.is_dir() else run
    comparison = None
    if args.compare is not None:  # read and check the baseline before writing anything
        from .compare import compare_reports

        try:
            base_path, note = resolve_baseline(Path(args.compare), (report.get("profile") or {}).get("name"))
            baseline = _load(base_path)
        except ReportError as e:
            _err(f"baseline: {e}")
            return EXIT_ERROR
        if note:
            _warn(note)
        comparison = compare_reports(
            baseline,
            report,
            baseline_path=str(base_path),
            run_path=str(source),
            slower=args.slower,
            min_seconds=args.min_seconds,
            rtol=args.rtol,
            fail_on=fail_on,
        )
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        if set(fmts) == set(FORMATS):
            render_all(report, out_dir, comparison)
        else:  # one format only: the plots (both formats link them), then that file
            from ..report.html import render_html
            from ..report.plots import render_plots
            from ..report.text import render_markdown

            render_plots(report, out_dir / "plots")
            if "md" in fmts:
                (out_dir / "report.md").write_text(render_markdown(report, comparison))
            if "html" in fmts:
                (out_dir / "report.html").write_text(render_html(report, out_dir, comparison))
        if comparison is not None:
            (out_dir / "comparison.json").write_text(json.dumps(comparison, indent=1))
    except (KeyError, TypeError, AttributeError, IndexError) as e:
        _err(f"{source}: malformed report, cannot render it ({type(e).__name__}: {e})")
        return EXIT_ERROR
    except OSError as e:
        _err(f"{out_dir}: cannot write ({e.strerror or e})")
        return EXIT_ERROR

    claims = report.get("claims") or []
    if claims:
        from ..report.text import claims_table

        for line in claims_table(claims):
            print(line)
    else:
        print(f"no claims in {source}")
    if report.get("missing"):
        from ..report.text import missing_lines

        print(f"MISSING: {len(report['missing'])} claim(s) collected but without a result:")
        for line in missing_lines(report["missing"]):
            print(f"  {line}")
    if comparison is not None:
        from .compare import comparison_lines

        print()
        for line in comparison_lines(comparison):
            print(line)
    for f in fmts:
        print(f"wrote {out_dir / f'report.{f}'}")
    if comparison is not None:
        print(f"wrote {out_dir / 'comparison.json'}")
    plots = sum(len(c.get("plot_files") or []) for c in claims)
    if plots:
        print(f"wrote {plots} plot(s) under {out_dir / 'plots'}")
    if comparison is not None and comparison["regressions"]:
        return EXIT_REGRESSION
    return EXIT_OK


# ----------------------------------------------------------------------------------------------
# baseline
# ----------------------------------------------------------------------------------------------


def _read_report(path: str | Path) -> dict | None:
    """A run's report, or None after saying why it cannot be read (the commands then exit 2)."""
    from ..report import ReportError

    try:
        return _load(Path(path))
    except ReportError as e:
        _err(str(e))
        return None


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def cmd_baseline(args: argparse.Namespace) -> int:
    from ..report import ReportError

    run = Path(args.run)
    try:
        report = _load(run)
    except ReportError as e:
        _err(str(e))
        return EXIT_ERROR
    profile = (report.get("profile") or {}).get("name") or "unknown"
    dest = Path(args.dir) / profile / "report.json"
    if report.get("missing"):
        _warn(f"{run}: {len(report['missing'])} claim(s) have no result in this run; the baseline will lack them")
    db = (report.get("search") or {}).get("database")
    if db:
        _warn(f"{run}: this run had the example database on ({db}): saved examples were tried first, and a clean "
              "checkout (CI) has none, so its examples and figures can differ from this baseline. Make baselines from "
              "'pytest claims --claims-db=none'")
    src = run / "report.json" if run.is_dir() else run
    try:  # the file itself, byte for byte, once it has been read and checked
        _write_atomic(dest, src.read_text())
    except OSError as e:
        _err(f"{dest}: cannot write ({e.strerror or e})")
        return EXIT_ERROR
    s = report["summary"]
    print(f"baseline for profile {profile}: {dest} ({s['claims']} claims, {s['as_expected']}/{s['claims']} as expected, "
          f"created {report['created']}, git {((report.get('environment') or {}).get('git_revision') or 'unknown')[:12]})")
    print(f"compare a run with it: python -m harness report RUN --compare {args.dir}")
    return EXIT_OK


# ----------------------------------------------------------------------------------------------
# merge
# ----------------------------------------------------------------------------------------------


def cmd_merge(args: argparse.Namespace) -> int:
    from .merge import merge_reports
    from ..report import ReportError, write_report

    try:
        merged = merge_reports(args.shards, allow_partial=args.allow_partial,
                               command=" ".join(["python -m harness merge", *args.shards]))
    except ReportError as e:
        _err(str(e))
        return EXIT_ERROR
    for w in merged.get("merge_warnings", []):
        _warn(w)
    try:
        latest = write_report(merged, args.out)
    except OSError as e:
        _err(f"{args.out}: cannot write ({e.strerror or e})")
        return EXIT_ERROR
    from ..report.text import claims_table, missing_lines

    for line in claims_table(merged["claims"]) if merged["claims"] else ["no claims"]:
        print(line)
    if merged.get("missing"):
        print(f"MISSING: {len(merged['missing'])} claim(s) or shard(s) without a result:")
        for line in missing_lines(merged["missing"]):
            print(f"  {line}")
    print(f"merged {len(merged['claims'])} claim(s) from {len(merged['merged_from'])} shard report(s) into {latest} "
          f"({(latest / 'report.json')})")
    if not args.no_history:
        from .history import HistoryError, append_run

        store = args.history or str(Path(args.out) / "history.jsonl")
        try:
            append_run(store, merged, source=str(latest.resolve()))
            print(f"history: appended to {store}")
        except HistoryError as e:
            _warn(f"history not appended: {e}")
    return EXIT_OK


# ----------------------------------------------------------------------------------------------
# history
# ----------------------------------------------------------------------------------------------


def cmd_history(args: argparse.Namespace) -> int:
    from .history import HistoryError, append_run, read_history, render_history_html, select_runs
    from ..report import ReportError

    store = Path(args.store)
    if args.add:
        reports = []
        try:  # all of them read and checked before the store is touched
            reports = [(r, _load(Path(r))) for r in args.add]
        except ReportError as e:
            _err(str(e))
            return EXIT_ERROR
        for r, rep in reports:
            try:
                added = append_run(store, rep, source=str(Path(r).resolve()))
            except HistoryError as e:
                _err(str(e))
                return EXIT_ERROR
            print(f"{'added' if added else 'already in the store'}: {r} ({rep['created']}, profile {rep['profile'].get('name')})")
    try:
        records, warnings = read_history(store)
    except HistoryError as e:
        _err(str(e))
        return EXIT_ERROR
    for w in warnings:
        _warn(w)
    runs, profile = select_runs(records, profile=args.profile, last=args.last)
    if args.profile and not runs:
        have = sorted({str(r.get("profile")) for r in records})
        _err(f"{store}: no runs of profile {args.profile} (has: {', '.join(have) or 'none'})")
        return EXIT_ERROR
    out = Path(args.out) if args.out else store.parent / "history.html"
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        _write_atomic(out, render_history_html(records, profile=profile, last=args.last, store=str(store)))
    except OSError as e:
        _err(f"{out}: cannot write ({e.strerror or e})")
        return EXIT_ERROR
    rows = []
    for r in runs[-10:]:
        s = r.get("summary") or {}
        rows.append([
            str(r.get("created")),
            (r.get("git_revision") or "?")[:10],
            str(r.get("device")),
            str(r.get("duration_s")),
            ", ".join(f"{v} {k}" for k, v in sorted((s.get("verdicts") or {}).items())),
            str(len(s.get("unexpected") or [])),
            str(len(s.get("missing") or [])),
        ])
    if rows:
        for line in _table(["created", "git", "device", "s", "verdicts", "unexpected", "missing"], rows):
            print(line)
    claims = {cid for r in runs for cid in r["claims"]}
    print(f"{len(runs)} run(s) of profile {profile} ({len(records)} in the store), {len(claims)} claim(s); wrote {out}")
    return EXIT_OK


# ----------------------------------------------------------------------------------------------
# profiles
# ----------------------------------------------------------------------------------------------


def cmd_profiles(args: argparse.Namespace) -> int:
    from ..runtime.profiles import PROFILES
    from .docs import profile_rows

    header, rows = profile_rows(sep=",")
    for line in _table(header, rows):
        print(line)
    print()
    for p in PROFILES.values():
        print(f"{p.name}: {p.description}")
    print("\npick one with: pytest claims --claims-profile=NAME; budget: seconds of search per claim "
          "(--claims-budget=S replaces it); examples: the fewest and the most a claim runs")
    return EXIT_OK


def cmd_docs(args: argparse.Namespace) -> int:
    from .docs import sync_docs

    if not Path(args.docs_dir).is_dir():
        _err(f"{args.docs_dir}: no such docs directory")
        return EXIT_ERROR
    try:
        stale = sync_docs(args.docs_dir, root=args.root, check=args.check)
    except (OSError, ValueError, RuntimeError, json.JSONDecodeError) as e:
        _err(str(e))
        return EXIT_ERROR
    if args.check:
        for s in stale:
            print(f"stale: {s} (python -m harness docs rewrites it)")
        print("docs: every generated block is up to date" if not stale else f"docs: {len(stale)} stale block(s)")
        return EXIT_REGRESSION if stale else EXIT_OK
    print(f"docs: rewrote {len(stale)} block(s)" + (": " + ", ".join(stale) if stale else " (all were up to date)"))
    return EXIT_OK


# ----------------------------------------------------------------------------------------------
# costs and seeds (the search: harness.budget, harness.seed_sweep)
# ----------------------------------------------------------------------------------------------


def cmd_costs(args: argparse.Namespace) -> int:
    import platform

    from ..runtime.budget import measured_costs, write_costs

    report = _read_report(args.run)
    if report is None:
        return EXIT_ERROR
    profile = (report.get("profile") or {}).get("name") or "unknown"
    costs = measured_costs(report)
    if not costs:
        _err(f"{args.run}: no claim with examples and seconds to measure a cost from")
        return EXIT_ERROR
    budget = (report.get("search") or {}).get("budget_s") or (report.get("profile") or {}).get("budget_s") or 0
    rows = []
    for c in sorted(report["claims"], key=lambda c: c["id"]):
        if c["id"] not in costs:
            continue
        mode = (c.get("search") or {}).get("mode", "?")
        planned = "pinned" if mode == "fixed" else (str(int(min(max(budget / costs[c["id"]], 0), 1e9))) if budget else "?")
        rows.append([c["id"], str(c.get("examples_tried")), f"{c.get('work_seconds') or c.get('seconds')}", f"{costs[c['id']]:g}", planned])
    for line in _table(["claim", "examples", "work s", "s / example", f"examples in {budget:g} s"], rows):
        print(line)
    env = report.get("environment") or {}
    if args.write:
        try:
            write_costs(args.write, profile, costs, source=f"{args.run} ({report.get('created')}, git "
                        f"{(env.get('git_revision') or 'unknown')[:12]})", machine=f"{platform.machine()}, {env.get('device', '?')}, "
                        f"{env.get('torch_threads', '?')} thread(s)")
        except OSError as e:
            _err(f"{args.write}: cannot write ({e.strerror or e})")
            return EXIT_ERROR
        print(f"wrote the costs of {len(costs)} claim(s), profile {profile}, to {args.write}")
    else:
        print(f"{len(costs)} claim(s); write them with --write claims/costs.json")
    return EXIT_OK


def cmd_table(args: argparse.Namespace) -> int:
    from ..report.table import quantitative_rows, render_table

    report = _read_report(args.run)
    if report is None:
        return EXIT_ERROR
    rows = quantitative_rows(report, controls=args.controls)
    if not rows:
        _err(f"{args.run}: no quantitative claim (a margin or a figure with a prediction) in this run")
        return EXIT_ERROR
    prof = (report.get("profile") or {}).get("name", "?")
    seed = (report.get("search") or {}).get("seed", 0)
    title = args.title or (f"Theory against practice: {len(rows)} claims, theorem-check profile {prof}, run seed {seed}, "
                           f"{(report.get('environment') or {}).get('device', '?')}; margin = measured / allowed (at most 1 inside the bound)")
    text = render_table(rows, args.format, title=title)
    if args.out:
        try:
            _write_atomic(Path(args.out), text)
        except OSError as e:
            _err(f"{args.out}: cannot write ({e.strerror or e})")
            return EXIT_ERROR
        print(f"wrote {len(rows)} row(s) to {args.out}")
    else:
        sys.stdout.write(text)
    return EXIT_OK


def cmd_plan(args: argparse.Namespace) -> int:
    from ..runtime.budget import CostsError, load_costs
    from ..contract.claim import REGISTRY
    from .plan import device_factor, plan_claims

    claims_dir = Path(args.claims_dir).resolve()
    if not claims_dir.is_dir():
        _err(f"{args.claims_dir}: no such claims directory")
        return EXIT_ERROR
    by_file, errors = _import_claims(claims_dir)
    for e in errors:
        _warn(f"{e['file']}: {e['error'].splitlines()[0] if e['error'] else 'import failed'} (its claims are not planned)")
    try:
        costs = load_costs(args.costs) if Path(args.costs).exists() else {}
    except CostsError as e:
        _err(str(e))
        return EXIT_ERROR
    cost_source = args.costs
    if args.run:
        from .plan import run_costs

        report = _read_report(args.run)
        if report is None:
            return EXIT_ERROR
        ref = (report.get("profile") or {}).get("name", "quick")
        costs = {ref: run_costs(report)}  # only this run's (wall) costs
        cost_source = f"{args.run} (profile {ref}, wall seconds: shared work counted once)"
    factor, source = device_factor(args.device, args.bench)
    ids = [cid for ids in by_file.values() for cid in ids]
    claims = [{"id": cid, "examples": REGISTRY[cid].examples, "budget": REGISTRY[cid].budget} for cid in ids]
    plans = sorted(plan_claims(claims, args.profile, costs, factor=factor, budget_s=args.budget), key=lambda p: -p.seconds)
    total = sum(p.seconds for p in plans)
    wall = max(total / max(args.workers, 1), max((p.seconds for p in plans), default=0.0))
    if args.json:
        print(json.dumps({"profile": args.profile, "device": args.device, "device_factor": factor, "device_factor_source": source,
                          "workers": args.workers, "total_s": total, "wall_s": wall, "claims": [p.to_dict() for p in plans]}, indent=1))
        return EXIT_OK
    rows = [[p.id, str(p.examples), "-" if p.cost_s is None else f"{p.cost_s:.3g}", p.how, f"{p.seconds:,.0f}"] for p in plans]
    for line in _table(["claim", "examples", "s / example", "cost", "seconds"], rows):
        print(line)
    how = {}
    for p in plans:
        how[p.how] = how.get(p.how, 0) + 1
    print(f"\nprofile {args.profile} on {args.device} ({'device factor ' + format(factor, '.3g') if factor else 'device factor unknown'}: {source})")
    print("costs: " + ", ".join(f"{n} {k}" for k, n in sorted(how.items())) + f" (from {cost_source})")
    if not args.run:
        print("the cost table holds work seconds (a twin is charged the sweep it shares with its claim): totals are an upper "
              "bound; --from RUN plans from a run's own seconds")
    print(f"total {total / 3600:.2f} h of claim time; with {args.workers} worker(s) about {wall / 3600:.2f} h wall clock")
    if factor is None:
        print("the target device's speed is unknown: scaled costs were left out (their claims count their budget)")
    if any(p.how.startswith("scaled") for p in plans):
        print("scaled costs are an order of magnitude: calibrate with one run of the profile, then python -m harness costs RUN --write " + args.costs)
    return EXIT_OK


def _seed_list(text: str) -> list[int]:
    """'20' -> 1..20; '3,7,9' -> [3, 7, 9]; '5-8' -> 5..8."""
    text = text.strip()
    try:
        if "," in text:
            out = [int(t) for t in text.split(",") if t.strip()]
        elif "-" in text[1:]:
            a, b = text.split("-", 1)
            out = list(range(int(a), int(b) + 1))
        else:
            out = list(range(1, int(text) + 1))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give a count (20), a list (3,7,9) or a range (5-8)") from None
    if not out or min(out) < 0 or len(set(out)) != len(out):
        raise argparse.ArgumentTypeError(f"{text!r}: seeds must be distinct integers >= 0, at least one")
    return out


def cmd_seeds(args: argparse.Namespace) -> int:
    from ..report import ReportError
    from .seed_sweep import run_seed_sweep

    try:
        summary = run_seed_sweep(args.seeds, profile=args.profile, claims=args.claims, workers=args.workers,
                                 out=args.out, resume=args.resume, extra=args.pytest_args or (),
                                 log=lambda m: print(m, flush=True))
    except ReportError as e:
        _err(str(e))
        return EXIT_ERROR
    t = summary["totals"]
    print(f"{t['runs']} run(s) of profile {args.profile}: {t['spurious_falsifications']} spurious falsification(s), "
          f"{t['escaped_controls']} escaped control(s), {t['inconclusive']} inconclusive, {t['errors']} error(s); "
          f"median {t['seconds_per_run_median']} s a run; wrote {Path(args.out) / (args.profile + '.json')} and .md")
    return EXIT_REGRESSION if (t["spurious_falsifications"] or t["escaped_controls"] or t["errors"]) else EXIT_OK


# ----------------------------------------------------------------------------------------------
# parser and entry point
# ----------------------------------------------------------------------------------------------


def _claims_dir_and_json(p: argparse.ArgumentParser) -> None:
    """The options of the commands that import the claim modules (list, plan)."""
    p.add_argument("--claims-dir", default="claims", help="directory of test_*.py claim modules (default: claims)")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON instead of a table")


def build_parser() -> argparse.ArgumentParser:
    from .compare import DEFAULT_MIN_SECONDS, DEFAULT_RTOL, DEFAULT_SLOWER, FAIL_ON
    from ..runtime.profiles import PROFILES

    ap = argparse.ArgumentParser(
        prog="theorem-check",
        description="theorem-check: executable claims of deep-learning optimization theory. "
        "Run the claims with pytest (pytest claims --claims-profile=quick); this command lists them, "
        "re-renders and compares reports, merges shards and draws the history.",
    )
    ap.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("list", help="list the claims (id, paper, theorem, expected verdict, last verdict)",
                       description="Import every claims/test_*.py module and list the claims it defines, "
                       "with the last verdict from REPORTS_DIR/latest/report.json when there is one.")
    _claims_dir_and_json(p)
    p.add_argument("--reports-dir", default="reports", help="where the latest run is looked for (default: reports)")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("report", help="re-render report.md / report.html / plots of a run; --compare BASELINE: what changed",
                       description="Load a run's report.json and render its report.md, report.html and plots "
                       "again (report.json itself is never rewritten), then print the claims table. With --compare "
                       "BASELINE, also list what changed since the baseline (verdicts, figures beyond their intervals, "
                       "new / removed / missing claims, slower claims), put it at the top of both reports and in "
                       "comparison.json, and exit 1 on a regression (2 on an unreadable report).")
    p.add_argument("run", metavar="RUN", help="a run directory (reports/latest, reports/runs/<stamp>) or a report.json")
    p.add_argument("--format", default="md,html", help="comma-separated formats to write: md, html (default: md,html)")
    p.add_argument("--out", default=None, metavar="DIR", help="where to write them (default: the run's own directory)")
    p.add_argument("--compare", default=None, metavar="BASELINE",
                   help="a baseline run (report.json, run directory, or a root of <profile>/report.json such as "
                   "reports/baseline): print what changed, add it to the reports, write comparison.json; "
                   "exit 1 on a regression")
    p.add_argument("--slower", type=float, default=DEFAULT_SLOWER, metavar="FACTOR",
                   help=f"a claim taking more than FACTOR times its baseline seconds is slower (default {DEFAULT_SLOWER})")
    p.add_argument("--min-seconds", type=float, default=DEFAULT_MIN_SECONDS, metavar="S",
                   help=f"... and only if it also took S seconds more (default {DEFAULT_MIN_SECONDS})")
    p.add_argument("--rtol", type=float, default=DEFAULT_RTOL,
                   help=f"a figure without a confidence interval is listed as changed beyond this relative change (default {DEFAULT_RTOL})")
    p.add_argument("--fail-on", default=",".join(FAIL_ON), metavar="KINDS",
                   help=f"which changes are regressions (exit 1): a comma-separated subset of {','.join(FAIL_ON)}, "
                   "or all, or none (default: all)")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("baseline", help="make a run the baseline of its profile",
                       description="Copy a run's report.json to DIR/<profile>/report.json (atomically), the baseline "
                       "that 'report RUN --compare DIR' compares with. Commit it to share it.")
    p.add_argument("run", metavar="RUN", help="a run directory (reports/latest) or a report.json")
    p.add_argument("--dir", default="reports/baseline", help="baseline root (default: reports/baseline)")
    p.set_defaults(func=cmd_baseline)

    p = sub.add_parser("merge", help="join the report.json files of the shards of one run",
                       description="Join shard reports (pytest --splits N --group i on several machines) into one run "
                       "written like a pytest session's: OUT/runs/<stamp>/ and the OUT/latest link. Every claim once: a claim "
                       "in two shards, a shard given twice or a pytest-split group not given is an error, and nothing is written.")
    p.add_argument("shards", metavar="SHARD", nargs="+", help="shard reports: report.json files or run directories")
    p.add_argument("--out", required=True, metavar="DIR", help="report directory of the merged run (e.g. reports)")
    p.add_argument("--allow-partial", action="store_true",
                   help="merge even if some pytest-split groups are absent; they are listed as missing")
    p.add_argument("--history", default=None, metavar="PATH", help="history store to append to (default: DIR/history.jsonl)")
    p.add_argument("--no-history", action="store_true", help="do not append the merged run to the history store")
    p.set_defaults(func=cmd_merge)

    p = sub.add_parser("history", help="the trend page of the runs in the history store",
                       description="Render the history store (one JSON line per run, appended by every pytest session "
                       "and merge) as an HTML page with one trend chart per claim figure across runs: verdicts, "
                       "seconds, worst margin, exponents and thresholds with their intervals.")
    p.add_argument("--store", default="reports/history.jsonl", help="the history store (default: reports/history.jsonl)")
    p.add_argument("--out", default=None, metavar="FILE", help="the page to write (default: history.html next to the store)")
    p.add_argument("--profile", default=None, help="runs of this profile (default: the newest run's)")
    p.add_argument("--last", type=int, default=60, metavar="N", help="the N newest runs (default 60)")
    p.add_argument("--add", nargs="+", default=None, metavar="RUN",
                   help="first append these runs (report.json or run directories) to the store; a run already there is skipped")
    p.set_defaults(func=cmd_history)

    p = sub.add_parser("profiles", help="show the effort profiles, their sizes and search budgets",
                       description="Show the effort profiles (--claims-profile), the sizes each one checks and the "
                       "search budget each claim gets.")
    p.set_defaults(func=cmd_profiles)

    p = sub.add_parser("docs", help="rewrite the generated tables of docs/ (claims, profiles, benchmarks) from the code",
                       description="Rewrite every block between '<!-- BEGIN generated: NAME -->' and '<!-- END generated: NAME -->' "
                       "in docs/*.md from the code: 'claims' (the claim registry of claims/), 'profiles' (the effort profiles), "
                       "'bench' (reports/bench.json). With --check, change nothing and exit 1 if any block is stale.")
    p.add_argument("--docs-dir", default="docs", help="the pages (default docs)")
    p.add_argument("--root", default=".", help="the project root: claims/ and reports/bench.json are read from it (default .)")
    p.add_argument("--check", action="store_true", help="only report stale blocks (exit 1 if any)")
    p.set_defaults(func=cmd_docs)

    p = sub.add_parser("costs", help="measure each claim's seconds per example from a run; --write the cost table",
                       description="Read a run's report.json and print each claim's cost (work seconds over examples "
                       "tried). With --write PATH, merge them into that cost table under the run's profile: the table "
                       "pytest reads (claims/costs.json by default) to turn each claim's budget into a fixed example "
                       "count, so that one run seed gives the same examples, hence the same report, on every run. "
                       "Calibrate from a run on the clock: pytest claims --claims-costs=none.")
    p.add_argument("run", metavar="RUN", help="a run directory (reports/latest) or a report.json")
    p.add_argument("--write", default=None, metavar="PATH", help="the cost table to write (e.g. claims/costs.json)")
    p.set_defaults(func=cmd_costs)

    p = sub.add_parser("plan", help="estimate each claim's time in a profile and the total, before running it",
                       description="Estimate, claim by claim, the seconds a profile will take on a device: the examples "
                       "its search will run times its seconds per example, measured for that profile in the cost table, "
                       "or scaled from another profile's (steps x seeds x n x width) and the device's speed from the "
                       "benchmark; and the total over the workers. See harness/plan.py.")
    p.add_argument("--profile", default="nightly", choices=sorted(PROFILES), help="the profile to plan (default nightly)")
    p.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    p.add_argument("--workers", type=int, default=1, help="parallel workers, e.g. GPUs (default 1)")
    p.add_argument("--budget", type=float, default=None, metavar="SECONDS", help="as --claims-budget: every claim's search seconds")
    p.add_argument("--costs", default="claims/costs.json", help="the cost table (default claims/costs.json)")
    p.add_argument("--from", dest="run", default=None, metavar="RUN",
                   help="plan from this run's own seconds per example (e.g. reports/latest) instead of the cost table")
    p.add_argument("--bench", default="reports/bench.json", help="the benchmark results for the device's speed")
    _claims_dir_and_json(p)
    p.set_defaults(func=cmd_plan)

    p = sub.add_parser("table", help="one table of every quantitative claim of a run: md, latex (booktabs) or csv",
                       description="One row per claim that measures something against a theorem: the theorem it cites "
                       "(with its arXiv id), the bound, the worst and the median margin over the deciding examples "
                       "(measured / allowed: at most 1 is inside the bound), the measured figure against the predicted one "
                       "with its interval, the sizes covered and the examples tried. Negative controls are left out "
                       "unless --controls.")
    p.add_argument("run", metavar="RUN", help="a run directory (reports/latest) or a report.json")
    p.add_argument("--format", default="md", choices=["md", "latex", "csv"], help="md (default), latex (booktabs) or csv")
    p.add_argument("--controls", action="store_true", help="include the negative controls (planted false claims)")
    p.add_argument("--title", default=None, help="the table's title (LaTeX caption)")
    p.add_argument("--out", default=None, metavar="FILE", help="write to FILE instead of standard output")
    p.set_defaults(func=cmd_table)

    p = sub.add_parser("seeds", help="run the claims under many run seeds: spurious falsifications, escaped controls",
                       description="Run 'pytest CLAIMS' once per run seed (--claims-seed), each into its own report "
                       "directory with the example database off, and write OUT/PROFILE.json and .md: per seed the "
                       "true claims falsified (spurious, goal 0), the controls not falsified (escaped, goal 0), "
                       "inconclusive and error verdicts, examples and seconds; per claim its verdicts over the seeds "
                       "and examples tried. Exit 1 if any seed had a spurious falsification, an escaped control or an error.")
    p.add_argument("--seeds", type=_seed_list, default=_seed_list("20"), metavar="SEEDS",
                   help="a count N (seeds 1..N), a list 3,7,9 or a range 5-8 (default 20)")
    p.add_argument("--profile", default="quick", help="the profile of every run (default quick)")
    p.add_argument("--claims", default="claims", help="what pytest runs (default claims)")
    p.add_argument("--workers", type=int, default=2, help="pytest-xdist workers per run (default 2; 0: none)")
    p.add_argument("--out", default="reports/seeds", metavar="DIR", help="where runs and the summary go (default reports/seeds)")
    p.add_argument("--resume", action="store_true", help="read back the seeds already run under DIR instead of running them again")
    p.add_argument("pytest_args", nargs="*", metavar="-- PYTEST_ARGS", help="more pytest arguments after --, e.g. -- -k du2018")
    p.set_defaults(func=cmd_seeds)
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (default: ``sys.argv[1:]``), run the subcommand, return its exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(list(argv) if argv is not None else None)
    except SystemExit as e:  # --help, --version, usage errors: argparse's own code (0 or 2)
        return e.code if isinstance(e.code, int) else (0 if e.code is None else EXIT_ERROR)
    try:
        return int(args.func(args))
    except BrokenPipeError:  # `theorem-check list | head`: the reader left; stop quietly
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - keeps the interpreter's final flush quiet
        return 1


if __name__ == "__main__":  # pragma: no cover - python -m harness.cli
    raise SystemExit(main())
