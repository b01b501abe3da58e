"""The ``theorem-check`` command (also ``python -m harness``).

Subcommands:

* ``list``: the claims the claim modules define, with the last verdict of ``reports/latest``;
* ``report RUN``: re-render report.md / report.html / plots of a finished run;
* ``profiles``: the effort profiles and their sizes.

Running the claims themselves is pytest's job (``pytest claims --claims-profile=quick``).
``main(argv)`` returns the exit code: 0 on success, 2 on a usage error, an unreadable report
or a claim module that fails to import.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from . import __version__

__all__ = ["main"]

EXIT_OK = 0
EXIT_ERROR = 2
FORMATS = ("md", "html")


def _err(msg: str) -> None:
    print(f"theorem-check: error: {msg}", file=sys.stderr)


def _warn(msg: str) -> None:
    print(f"theorem-check: warning: {msg}", file=sys.stderr)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Left-aligned columns, two spaces apart, with a dashed rule under the header."""
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=False)]
    line = lambda cells: "  ".join(f"{c!s:<{w}}" for c, w in zip(cells, widths, strict=False)).rstrip()  # noqa: E731
    return [line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)]


# ----------------------------------------------------------------------------------------------
# list
# ----------------------------------------------------------------------------------------------


def _module_name(path: Path) -> str:
    """The name pytest would give a module of a directory without __init__.py (its stem),
    made unique if another file of that name is already imported."""
    name = path.stem
    mod = sys.modules.get(name)
    if mod is None or Path(getattr(mod, "__file__", "") or "").resolve() == path:
        return name
    i = 1
    while f"{name}__{i}" in sys.modules and Path(getattr(sys.modules[f"{name}__{i}"], "__file__", "") or "").resolve() != path:
        i += 1
    return f"{name}__{i}"


def _import_claim_module(path: Path) -> tuple[list[str], str | None]:
    """Import one claim module by path; return the claim ids it defines and an error, if any."""
    from .claim import REGISTRY, ClaimInfo

    name = _module_name(path)
    mod = sys.modules.get(name)
    before = set(REGISTRY)
    if mod is None:
        try:
            spec = importlib.util.spec_from_file_location(name, path)
            if spec is None or spec.loader is None:
                return [], "not a Python module"
            mod = importlib.util.module_from_spec(spec)
            sys.modules[name] = mod
            spec.loader.exec_module(mod)
        except KeyboardInterrupt:
            raise
        except BaseException as e:  # pytest.skip at module level, SystemExit, ... are errors here too
            sys.modules.pop(name, None)
            return [], _import_error(e, path)
    infos = (getattr(v, "claim_info", None) for v in list(vars(mod).values()))
    ids = {i.id for i in infos if isinstance(i, ClaimInfo)}
    ids |= set(REGISTRY) - before  # claims registered by other means (factories, classes)
    return sorted(ids), None


def _import_error(e: BaseException, path: Path) -> str:
    """``Type: message`` and the innermost line of the claim file the exception passed through."""
    where = ""
    for frame in reversed(traceback.extract_tb(e.__traceback__)):
        if frame.filename and Path(frame.filename).resolve() == path:
            where = f" (line {frame.lineno}: {(frame.line or '').strip()})"
            break
    msg = "".join(traceback.format_exception_only(type(e), e)).strip()
    return f"{msg}{where}"


def _last_verdicts(reports_dir: Path) -> tuple[dict[str, dict], Path | None]:
    from .report import ReportError, load_report

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
    from .claim import REGISTRY

    claims_dir = Path(args.claims_dir).resolve()
    if not claims_dir.is_dir():
        _err(f"{args.claims_dir}: no such claims directory")
        return EXIT_ERROR
    files = sorted(claims_dir.glob("test_*.py"))
    # As pytest imports them: the claims directory and the project root (its parent and the
    # working directory) importable, so claim modules may import helpers next to them.
    added = [p for p in (str(claims_dir), str(claims_dir.parent), str(Path.cwd())) if p not in sys.path]
    sys.path[:0] = added
    errors, by_file = [], {}
    try:
        for f in files:
            ids, error = _import_claim_module(f.resolve())
            if error:
                errors.append({"file": str(f), "error": error})
            by_file[f] = ids
    finally:
        for p in added:
            if p in sys.path:
                sys.path.remove(p)
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
                    "modules": [str(f) for f in files],
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
        print(f"{len(claims)} claim(s) ({controls} negative control(s)) in {len(files)} module(s) under {args.claims_dir}{tail}")
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


def cmd_report(args: argparse.Namespace) -> int:
    from .report import ReportError, load_report, render_all

    fmts = _formats(args.format)
    if fmts is None:
        _err(f"--format {args.format!r}: give a comma-separated subset of {','.join(FORMATS)}")
        return EXIT_ERROR
    run = Path(args.run)
    try:
        report = load_report(run)
    except ReportError as e:
        _err(str(e))
        return EXIT_ERROR
    except OSError as e:  # a permission problem, a directory named report.json, ...
        _err(f"{run}: cannot read ({e.strerror or e})")
        return EXIT_ERROR
    run_dir = run if run.is_dir() else run.parent
    out_dir = Path(args.out) if args.out else run_dir
    source = run / "report.json" if run.is_dir() else run
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        if set(fmts) == set(FORMATS):
            render_all(report, out_dir)
        else:  # one format only: the plots (both formats link them), then that file
            from .report.html import render_html
            from .report.plots import render_plots
            from .report.text import render_markdown

            render_plots(report, out_dir / "plots")
            if "md" in fmts:
                (out_dir / "report.md").write_text(render_markdown(report))
            if "html" in fmts:
                (out_dir / "report.html").write_text(render_html(report, out_dir))
    except (KeyError, TypeError, AttributeError, IndexError) as e:
        _err(f"{source}: malformed report, cannot render it ({type(e).__name__}: {e})")
        return EXIT_ERROR
    except OSError as e:
        _err(f"{out_dir}: cannot write ({e.strerror or e})")
        return EXIT_ERROR

    claims = report.get("claims") or []
    if claims:
        from .report.text import claims_table

        for line in claims_table(claims):
            print(line)
    else:
        print(f"no claims in {source}")
    # (A later issue adds ``--compare BASELINE`` here: load the baseline with load_report and
    # print the verdict changes between the two runs after the claims table.)
    for f in fmts:
        print(f"wrote {out_dir / f'report.{f}'}")
    plots = sum(len(c.get("plot_files") or []) for c in claims)
    if plots:
        print(f"wrote {plots} plot(s) under {out_dir / 'plots'}")
    return EXIT_OK


# ----------------------------------------------------------------------------------------------
# profiles
# ----------------------------------------------------------------------------------------------


def cmd_profiles(args: argparse.Namespace) -> int:
    from .profiles import PROFILES

    header = ["profile", "examples", "replicates", "n", "d", "steps", "widths (scaling)", "m / n", "seeds/width"]
    rows = [
        [
            p.name,
            str(p.max_examples),
            str(p.replicates),
            f"{p.min_n}..{p.max_n}",
            f"{p.min_d}..{p.max_d}",
            str(p.steps),
            ",".join(map(str, p.width_grid)),
            ",".join(map(str, p.width_multipliers)),
            str(p.scaling_seeds),
        ]
        for p in PROFILES.values()
    ]
    for line in _table(header, rows):
        print(line)
    print()
    for p in PROFILES.values():
        print(f"{p.name}: {p.description}")
    print("\npick one with: pytest claims --claims-profile=NAME")
    return EXIT_OK


# ----------------------------------------------------------------------------------------------
# parser and entry point
# ----------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="theorem-check",
        description="theorem-check: executable claims of deep-learning optimization theory. "
        "Run the claims with pytest (pytest claims --claims-profile=quick); this command lists them "
        "and re-renders reports.",
    )
    ap.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("list", help="list the claims (id, paper, theorem, expected verdict, last verdict)",
                       description="Import every claims/test_*.py module and list the claims it defines, "
                       "with the last verdict from REPORTS_DIR/latest/report.json when there is one.")
    p.add_argument("--claims-dir", default="claims", help="directory of test_*.py claim modules (default: claims)")
    p.add_argument("--reports-dir", default="reports", help="where the latest run is looked for (default: reports)")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON instead of a table")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("report", help="re-render report.md / report.html / plots of a run",
                       description="Load a run's report.json and render its report.md, report.html and plots "
                       "again (report.json itself is never rewritten), then print the claims table.")
    p.add_argument("run", metavar="RUN", help="a run directory (reports/latest, reports/runs/<stamp>) or a report.json")
    p.add_argument("--format", default="md,html", help="comma-separated formats to write: md, html (default: md,html)")
    p.add_argument("--out", default=None, metavar="DIR", help="where to write them (default: the run's own directory)")
    # A later issue adds "--compare BASELINE" (verdict changes against another run) here.
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("profiles", help="show the effort profiles and their sizes",
                       description="Show the effort profiles (--claims-profile) and the sizes each one checks.")
    p.set_defaults(func=cmd_profiles)
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
