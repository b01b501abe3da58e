"""Plain-text renderings: the terminal claims table and report.md."""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = [
    "by_paper",
    "claims_table",
    "comparison_markdown",
    "fmt",
    "missing_lines",
    "render_markdown",
    "search_line",
    "search_strength",
    "verdict_label",
]


def columns_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Left-aligned columns, two spaces apart, with a dashed rule under the header."""
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=False)]
    line = lambda cells: "  ".join(f"{c!s:<{w}}" for c, w in zip(cells, widths, strict=False)).rstrip()  # noqa: E731
    return [line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)]


def fmt(v, digits: int = 4) -> str:
    """Compact human formatting for figures (numbers, lists, dicts, None)."""
    if v is None:
        return "-"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            return str(v)
        if v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e5):
            return f"{v:.{digits - 1}e}"
        return f"{v:.{digits}g}"
    if isinstance(v, (list, tuple)):
        inner = ", ".join(fmt(x, digits) for x in v[:6])
        return f"[{inner}{', ...' if len(v) > 6 else ''}]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}={fmt(x, digits)}" for k, x in list(v.items())[:8]) + "}"
    return str(v)


def verdict_label(r: dict) -> str:
    return r["verdict"].upper()


def by_paper(claims: list[dict]) -> list[dict]:
    """The claims grouped by paper (in the order papers first appear), each true claim followed by its
    planted twins, with a per-paper tally: ``[{"paper", "claims", "verdicts", "as_expected", "strength"}]``."""
    groups: dict[str, dict] = {}
    for c in claims:
        paper = (c.get("info") or {}).get("paper") or {}
        key = paper.get("key") or "?"
        groups.setdefault(key, {"paper": paper, "claims": []})["claims"].append(c)
    out = []
    for g in groups.values():
        ids = {c["id"] for c in g["claims"]}
        twins: dict[str, list[dict]] = {}
        for c in g["claims"]:
            of = (c.get("info") or {}).get("control_of") or ""
            if c.get("expected") == "falsified" and of in ids:
                twins.setdefault(of, []).append(c)
        ordered = []
        for c in g["claims"]:
            if c.get("expected") == "falsified" and ((c.get("info") or {}).get("control_of") or "") in ids:
                continue
            ordered.append(c)
            ordered += twins.get(c["id"], [])
        verdicts: dict[str, int] = {}
        strength: dict[str, int] = {}
        for c in ordered:
            verdicts[c["verdict"]] = verdicts.get(c["verdict"], 0) + 1
            strength[search_strength(c)] = strength.get(search_strength(c), 0) + 1
        out.append(
            {
                "paper": g["paper"],
                "claims": ordered,
                "verdicts": verdicts,
                "as_expected": sum(bool(c.get("as_expected")) for c in ordered),
                "controls": sum(c.get("expected") == "falsified" for c in ordered),
                "strength": strength,
                "examples": sum(int(c.get("examples_tried") or 0) for c in ordered),
            }
        )
    return out


#: (fewest examples, word): how much search a verdict rests on
STRENGTHS = ((100, "broad"), (10, "some"), (1, "thin"), (0, "none"))


def search_strength(r: dict) -> str:
    """'broad' (>= 100 examples), 'some' (10-99), 'thin' (1-9), 'none': a confirmation on 3 examples
    must not read like one on 3,000."""
    n = int(r.get("examples_tried") or 0)
    return next(word for lo, word in STRENGTHS if n >= lo)


def _args_line(args: dict | None) -> str:
    if not args:
        return ""
    parts = []
    for k, v in args.items():
        if isinstance(v, dict):
            keep = {kk: vv for kk, vv in v.items() if kk in ("n", "d", "geometry", "labels", "seed")}
            if v.get("geometry") == "near_parallel":
                keep["angle"] = v.get("angle")
            if v.get("geometry") == "separated":
                keep["delta"] = v.get("delta")
            if v.get("geometry") == "antipodal":
                keep["pairs"] = v.get("pairs")
            parts.append(f"{k}=({', '.join(f'{kk}={fmt(vv, 3)}' for kk, vv in keep.items())})")
        else:
            parts.append(f"{k}={fmt(v, 3)}")
    return " ".join(parts)


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 3] + "..."


def _detail(r: dict) -> str:
    if r["verdict"] == "falsified" and r.get("counterexample"):
        return "counterexample: " + _args_line(r["counterexample"]["args"])
    if r["verdict"] == "inconclusive":
        return r.get("inconclusive_reason", "")
    if r["verdict"] == "error":
        # the exception's type and message (the first line), not Hypothesis's reproduction note
        return (r.get("error") or "").splitlines()[0][:130] if r.get("error") else ""
    m = r.get("margin") or {}
    if m.get("value") is not None:
        return f"worst margin {fmt(m['value'], 3)} ({m.get('description', '')})"
    return ""


_MODE = {"fixed": "pinned", "costs": "by cost", "clock": "on clock"}


def search_line(r: dict) -> str:
    """The strength of one claim's search in a phrase: examples, distinct ones, time against budget, plan."""
    s = r.get("search") or {}
    if not s:
        return f"{r.get('examples_tried', 0)} examples"
    ec = r.get("error_control") or {}
    level = ec.get("level")
    lvl = f"; error level <= {level:g}" if level else "; deterministic check"
    return (
        f"{search_strength(r)}: {s['examples_tried']} examples ({s['distinct_examples']} distinct, "
        f"{s.get('distinct_problems', s['distinct_examples'])} distinct problems), {fmt(s['seconds'], 3)} s of a {fmt(s['budget_s'], 3)} s budget "
        f"({_MODE.get(s['mode'], s['mode'])}, planned {s['planned_examples']}; stopped by {s['stopped_by']}), seed {s['run_seed']}{lvl}"
    )


def claims_table(results: list[dict]) -> list[str]:
    """Lines for the terminal summary: verdict, expectation, id, examples, seconds/budget, detail."""
    rows = sorted(results, key=lambda r: r["id"])
    if not rows:
        return ["no claims"]
    w = max(len(r["id"]) for r in rows)
    out = [f"{'verdict':<13}{'expected':<12}{'claim':<{w + 2}}{'examples':>8} {'search':<6} {'s/budget':>11}  detail"]
    for r in rows:
        exp = "ok" if r["as_expected"] else "UNEXPECTED"
        tag = " (control)" if r["expected"] == "falsified" else ""
        s = r.get("search") or {}
        spent = f"{s['seconds']:.1f}/{s['budget_s']:g}" if s else "-"
        out.append(
            f"{verdict_label(r):<13}{exp:<12}{r['id']:<{w + 2}}{r['examples_tried']:>8} {search_strength(r):<6} {spent:>11}  {_clip(_detail(r), 130)}{tag}"
        )
    s = {}
    for r in rows:
        s[r["verdict"]] = s.get(r["verdict"], 0) + 1
    bad = [r["id"] for r in rows if not r["as_expected"]]
    many = sum(r["examples_tried"] >= 100 for r in rows)
    out.append(
        ", ".join(f"{v} {k}" for k, v in sorted(s.items()))
        + f"; {len(rows) - len(bad)}/{len(rows)} as expected"
        + f"; {sum(r['examples_tried'] for r in rows)} examples, {many}/{len(rows)} claims with >= 100"
        + (f"; unexpected: {', '.join(bad)}" if bad else "")
    )
    return out


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _figures_md(figs: dict) -> list[str]:
    if not figs:
        return []
    lines = ["| figure | measured | predicted | relation |", "|---|---|---|---|"]
    for name, f in figs.items():
        meas = fmt(f["measured"])
        if f.get("interval"):
            meas += f" [{fmt(f['interval'][0])}, {fmt(f['interval'][1])}]"
        lines.append(f"| {_cell(name)} | {_cell(meas)} | {_cell(fmt(f['predicted']))} | {_cell(f.get('relation', ''))} |")
    return lines


def missing_lines(missing: list[dict]) -> list[str]:
    """One line per claim that was collected but gave no result."""
    return [f"{m.get('id') or '?'} ({m.get('nodeid', '?')}): {m.get('reason', 'no result')}" for m in missing]


def comparison_markdown(comp: dict) -> list[str]:
    """The 'Changes since the baseline' section of report.md."""
    b = comp["baseline"]
    L = [
        "## Changes since the baseline",
        "",
        f"Baseline `{b['path']}`: created {b['created']}, profile {b['profile']}, {b['device']} ({b['device_name']}), "
        f"git {(b['git_revision'] or 'unknown')[:12]}. **{comp['regressions']} regression(s)**.",
        "",
    ]
    L += [f"- note: {n}" for n in comp["notes"]]
    if comp["changes"]:
        L += ["| | change | claim | baseline | this run | detail |", "|---|---|---|---|---|---|"]
        for ch in comp["changes"]:
            L.append(
                f"| {'**REGRESSION**' if ch['regression'] else ''} | {ch['kind']} | {_cell(ch['id'] or '?')} | {_cell(fmt(ch['before']))} | "
                f"{_cell(fmt(ch['after']))} | {_cell(ch['detail'])} |"
            )
    else:
        L.append("No changes: same claims, same verdicts, figures within their intervals, no claim slower.")
    return L


def render_markdown(report: dict, comparison: dict | None = None) -> str:
    env = report["environment"]
    s = report["summary"]
    prof = report["profile"]
    srch = report.get("search") or {}
    L = [
        "# theorem-check report",
        "",
        f"- created {report['created']}, {report['duration_s']} s; profile **{prof['name']}** ({prof['description']})",
        f"- search: run seed **{srch.get('seed', '?')}**, budget "
        + (f"{srch['budget_s']:g} s a claim (--claims-budget)" if srch.get("budget_s") else f"{prof.get('budget_s', '?')} s a claim (the profile's)")
        + f"; {s.get('examples_tried', '?')} examples in all, {s.get('claims_with_100_examples', '?')}/{s['claims']} claims tried >= 100"
        + f"; cost table {srch.get('costs_path') or 'none (claims on the clock)'}; example database {srch.get('database') or 'off'}",
        f"- device {env['device']} ({env['device_name']}), dtype {env['dtype']}, TF32 {env['tf32']}, torch {env['torch']}, "
        f"hypothesis {env['hypothesis']}, git {(env.get('git_revision') or 'unknown')[:12]}{' (dirty)' if env.get('git_dirty') else ''}",
        f"- {s['claims']} claims: " + ", ".join(f"{v} {k}" for k, v in sorted(s["verdicts"].items()))
        + f"; {s['as_expected']}/{s['claims']} as expected ({s['negative_controls']} negative controls)",
    ]
    if s["unexpected"]:
        L.append(f"- **unexpected:** {', '.join(s['unexpected'])}")
    if report.get("missing"):
        L.append(f"- **missing ({len(report['missing'])}, no result):** " + "; ".join(missing_lines(report["missing"])))
    if report.get("merged_from"):
        L.append(f"- merged from {len(report['merged_from'])} shard report(s): " + ", ".join(m["path"] for m in report["merged_from"]))
    if comparison is not None:
        L += ["", *comparison_markdown(comparison)]
    groups = by_paper(report["claims"])
    L += ["", "| paper | claims | verdicts | as expected | search |", "|---|---|---|---|---|"]
    for g in groups:
        L.append(
            f"| {g['paper'].get('authors', g['paper'].get('key', '?'))} {g['paper'].get('year', '')} | {len(g['claims'])} ({g['controls']} controls) | "
            + ", ".join(f"{v} {k}" for k, v in sorted(g["verdicts"].items()))
            + f" | {g['as_expected']}/{len(g['claims'])} | "
            + ", ".join(f"{g['strength'][w]} {w}" for w in ("broad", "some", "thin", "none") if g["strength"].get(w))
            + f"; {g['examples']} examples |"
        )
    L += ["", "| claim | paper | theorem | verdict | expected | examples (search) | s / budget | detail |", "|---|---|---|---|---|---|---|---|"]
    for c in (c for g in groups for c in g["claims"]):
        info = c["info"]
        sc = c.get("search") or {}
        spent = f"{sc['seconds']:.1f} / {sc['budget_s']:g}" if sc else "-"
        L.append(
            f"| [{c['id']}](#{c['id'].replace('.', '')}) | {info['paper']['key']} | {_cell(info['theorem'])} | **{c['verdict']}** | "
            f"{c['expected']} | {c['examples_tried']} ({search_strength(c)}) | {spent} | {_cell(_clip(_detail(c), 120))} |"
        )
    from .table import findings_markdown, quantitative_rows, render_table

    found = findings_markdown(report)
    if found:
        L += ["", *found]
    rows = quantitative_rows(report)
    if rows:
        L += ["", "## Theory against practice", "",
              "Every quantitative claim: margin = measured / allowed (at most 1 is inside the bound), worst and median over "
              "the deciding examples; the headline figure against the theorem's prediction. Also "
              "`python -m harness table RUN --format md|latex|csv`.", "", render_table(rows, "md").rstrip()]
    for c in (c for g in groups for c in g["claims"]):
        info = c["info"]
        L += ["", f"## {c['id']}", ""]
        L.append(f"**{c['verdict'].upper()}** (expected {c['expected']}) — {info['paper']['authors']} {info['paper']['year']}, "
                 f"*{info['paper']['title']}*, {info['theorem']}" + (f" ([arXiv:{info['paper']['arxiv']}]({info['paper']['url']}))" if info['paper']['arxiv'] else ""))
        L += ["", f"> {info['statement']}", ""]
        for label, key in (("Predicate", "predicate"), ("Assumptions", "assumptions"), ("Regime", "regime"), ("Guards", "control_of"), ("Notes", "notes")):
            if info.get(key):
                L.append(f"- {label}: {info[key]}")
        L.append(
            f"- Examples: {c['examples_tried']} tried, {c['examples_passed']} held, {c['examples_failed']} failed, "
            f"{c['examples_undecided']} undecided, {c['examples_rejected']} rejected; {c['seconds']} s"
            + (f" ({c['work_seconds']} s with the shared work it reused)" if (c.get("work_seconds") or 0) > c["seconds"] + 0.01 else "")
        )
        L.append(f"- Search: {search_line(c)}")
        if c["sizes_covered"]:
            L.append("- Sizes covered: " + ", ".join(f"{k} {fmt(v[0], 3)}..{fmt(v[1], 3)}" for k, v in c["sizes_covered"].items()))
        if c["margin"]["value"] is not None:
            L.append(f"- Worst margin: {fmt(c['margin']['value'])} ({c['margin']['description']}; <= 1 is inside the bound)")
        if c["verdict"] == "inconclusive":
            L.append(f"- Inconclusive: {c['inconclusive_reason']}")
        if c.get("error"):
            L += ["", "```", c["error"], "```"]
        rep = c.get("representative") or {}
        if rep.get("figures"):
            L += ["", *_figures_md(rep["figures"])]
        for note in rep.get("notes", []):
            L.append(f"- {note}")
        ce = c.get("counterexample")
        if ce:
            L += ["", "**Minimal counterexample** (shrunk by Hypothesis): `" + _args_line(ce["args"]) + "`", ""]
            if ce.get("message"):
                L += ["```", ce["message"][:1500], "```"]
            if ce.get("first_found_args") and ce["first_found_args"] != ce["args"]:
                L.append("First found: `" + _args_line(ce["first_found_args"]) + "`")
            for rp in ce.get("replications") or []:
                L.append(f"- Replication on {rp['seeds']} seeds: **{rp['status']}**" + (f" ({_cell(rp['message'][:300])})" if rp.get("message") else ""))
            L.append(f"Replay: `{c.get('replay', '')}`")
        for f in c.get("plot_files", []):
            L += ["", f"![{f}]({f})"]
    return "\n".join(L) + "\n"
