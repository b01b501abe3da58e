"""Theory against practice: one table of every quantitative claim of a run.

A row per claim that measures something against a theorem (a bound with a margin, an exponent or a
threshold with a prediction): the theorem it cites, the bound (its predicate), the worst and the
median margin over the examples that decided (the slack: how much of the room the bound allows the
measurement used; <= 1 is inside the bound), the measured figure against the predicted one with its
interval, the sizes covered and the search behind it. Negative controls are left out unless asked
for: they are planted to fail.

``python -m harness table reports/latest --format md|latex|csv`` prints it; the LaTeX form uses
booktabs (``\\usepackage{booktabs}``) and is ready for a paper's appendix.
"""

from __future__ import annotations

import csv
import io
import math
import statistics
from typing import Any

__all__ = ["FORMATS", "findings", "findings_markdown", "quantitative_rows", "render_table"]

FORMATS = ("md", "latex", "csv")
COLUMNS = ("claim", "citation", "verdict", "bound", "worst margin", "median margin", "measured", "predicted", "interval", "sizes", "examples")


def _num(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    f = float(v)
    return f if math.isfinite(f) else None


def _g(v: float | None, digits: int = 3) -> str:
    if v is None:
        return ""
    if float(v).is_integer() and abs(v) < 1e9:
        return str(int(v))
    if v != 0 and (abs(v) >= 1e4 or abs(v) < 1e-3):
        return f"{v:.{max(digits - 1, 1)}e}"
    return f"{v:.{digits}g}"


def _headline(figures: dict) -> tuple[str, dict] | None:
    """The figure a reader cites: an exponent or threshold with a prediction first, then any figure
    with a numeric prediction, then any with an interval."""
    items = [(k, f) for k, f in (figures or {}).items() if isinstance(f, dict)]
    for want in (
        lambda k, f: ("exponent" in k or "threshold" in k) and _num(f.get("predicted")) is not None,
        lambda k, f: _num(f.get("predicted")) is not None,
        lambda k, f: "exponent" in k or "threshold" in k,
        lambda k, f: f.get("interval") is not None,
    ):
        for k, f in items:
            if want(k, f) and _num(f.get("measured")) is not None:
                return k, f
    return None


def quantitative_rows(report: dict, *, controls: bool = False) -> list[dict]:
    """One dict per quantitative claim of ``report`` (a loaded report.json), in the report's order."""
    rows = []
    for c in report.get("claims") or []:
        if c.get("expected") == "falsified" and not controls:
            continue
        info = c.get("info") or {}
        rep = c.get("representative") or {}
        margins = [m for m in (_num(e.get("margin")) for e in c.get("examples") or [] if e.get("status") in ("passed", "failed")) if m is not None]
        worst = _num((c.get("margin") or {}).get("value"))
        head = _headline(rep.get("figures") or {})
        if worst is None and not margins and head is None:
            continue  # a qualitative claim: nothing measured against a number
        paper = info.get("paper") or {}
        fig_name, fig = head if head else ("", {})
        interval = fig.get("interval") if isinstance(fig.get("interval"), (list, tuple)) else None
        sizes = c.get("sizes_covered") or {}
        rows.append(
            {
                "id": c["id"],
                "citation": f"{paper.get('authors', paper.get('key', ''))} {paper.get('year', '')}, {info.get('theorem', '')}".strip(" ,"),
                "arxiv": paper.get("arxiv", ""),
                "verdict": c.get("verdict", ""),
                "expected": c.get("expected", ""),
                "bound": info.get("predicate", "") or info.get("statement", ""),
                "margin_description": (c.get("margin") or {}).get("description", ""),
                "worst_margin": worst,
                "median_margin": statistics.median(margins) if margins else None,
                "figure": fig_name,
                "measured": _num(fig.get("measured")),
                "predicted": _num(fig.get("predicted")) if _num(fig.get("predicted")) is not None else (fig.get("predicted") or None),
                "interval": [_num(interval[0]), _num(interval[1])] if interval and len(interval) == 2 else None,
                "sizes": {k: [_num(v[0]), _num(v[1])] for k, v in sizes.items() if isinstance(v, (list, tuple)) and len(v) == 2},
                "examples": int(c.get("examples_tried") or 0),
            }
        )
    return rows


def _sizes(s: dict) -> str:
    return ", ".join(f"{k} {_g(lo)}" + ("" if lo == hi else f"..{_g(hi)}") for k, (lo, hi) in s.items())


def _cells(r: dict, short_bound: int = 0) -> list[str]:
    bound = r["bound"]
    if short_bound and len(bound) > short_bound:
        bound = bound[: short_bound - 1].rstrip() + "…"
    pred = r["predicted"]
    return [
        r["id"],
        r["citation"] + (f" (arXiv:{r['arxiv']})" if r["arxiv"] else ""),
        r["verdict"],
        bound,
        _g(r["worst_margin"]),
        _g(r["median_margin"]),
        (f"{r['figure']}: " if r["figure"] else "") + _g(r["measured"]),
        _g(pred) if isinstance(pred, float) else (str(pred) if pred else ""),
        f"[{_g(r['interval'][0])}, {_g(r['interval'][1])}]" if r["interval"] else "",
        _sizes(r["sizes"]),
        str(r["examples"]),
    ]


_LATEX_ESCAPES = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
    "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "<": r"\textless{}", ">": r"\textgreater{}", "…": r"\ldots{}",
}


def _latex(text: str) -> str:
    return "".join(_LATEX_ESCAPES.get(ch, ch) for ch in text)


def render_table(rows: list[dict], fmt: str, *, title: str = "") -> str:
    """``rows`` from :func:`quantitative_rows` as Markdown, LaTeX (booktabs) or CSV."""
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(COLUMNS)
        for r in rows:
            w.writerow(_cells(r))
        return buf.getvalue()
    if fmt == "md":
        out = [f"**{title}**", ""] if title else []
        out += ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
        for r in rows:
            out.append("| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in _cells(r, 160)) + " |")
        return "\n".join(out) + "\n"
    if fmt == "latex":
        cols = ("claim", "citation", "verdict", "worst", "median", "measured", "predicted", "interval", "sizes", "ex.")
        out = [
            "% theorem-check: theory against practice (needs \\usepackage{booktabs})",
            "\\begin{table}[htbp]",
            "\\centering",
            "\\scriptsize",
            "\\begin{tabular}{llllllllll}",
            "\\toprule",
            " & ".join(cols) + " \\\\",
            "\\midrule",
        ]
        for r in rows:
            c = _cells(r)
            keep = [c[0], c[1], c[2], c[4], c[5], c[6], c[7], c[8], c[9], c[10]]
            out.append(" & ".join(_latex(x) for x in keep) + " \\\\")
        out += [
            "\\bottomrule",
            "\\end{tabular}",
            f"\\caption{{{_latex(title or 'Each claim against its theorem: margin = measured / allowed (at most 1 inside the bound)')}}}",
            "\\end{table}",
        ]
        return "\n".join(out) + "\n"
    raise ValueError(f"format {fmt!r}: choose one of {', '.join(FORMATS)}")


def findings(report: dict) -> list[dict]:
    """The claims of a run that carry a ``finding`` (where finite-width behaviour departs from a theorem's
    statement or an over-reading of it), each with its planted twins, verdicts, headline figure, a
    replay command of the falsification that backs it, and a plot."""
    claims = report.get("claims") or []
    by_id = {c["id"]: c for c in claims}
    out = []
    for c in claims:
        text = (c.get("info") or {}).get("finding") or ""
        if not text:
            continue
        twins = [t for t in claims if (t.get("info") or {}).get("control_of") == c["id"]]
        head = _headline((c.get("representative") or {}).get("figures") or {})
        backing = next((x for x in [c, *twins] if x.get("verdict") == "falsified" and x.get("replay")), None)
        of = (c.get("info") or {}).get("control_of") or ""
        out.append(
            {
                "id": c["id"],
                "finding": text,
                "verdict": c.get("verdict"),
                "expected": c.get("expected"),
                "as_expected": bool(c.get("as_expected")),
                "guards": of if of in by_id else "",
                "twins": [{"id": t["id"], "verdict": t.get("verdict"), "as_expected": bool(t.get("as_expected"))} for t in twins],
                "figure": {"name": head[0], **head[1]} if head else None,
                "replay": backing.get("replay") if backing else "",
                "replay_of": backing["id"] if backing else "",
                "plot": next(iter(c.get("plot_files") or []), ""),
            }
        )
    return out


def findings_markdown(report: dict) -> list[str]:
    rows = findings(report)
    if not rows:
        return []
    L = ["## Findings: where finite-width behaviour departs from the theory", ""]
    for f in rows:
        twins = "; ".join(f"`{t['id']}` {t['verdict']}" for t in f["twins"])
        fig = f["figure"]
        figline = ""
        if fig:
            figline = f" Figure: {fig['name']} = {_g(_num(fig.get('measured')))}"
            if isinstance(fig.get("interval"), (list, tuple)):
                figline += f" [{_g(_num(fig['interval'][0]))}, {_g(_num(fig['interval'][1]))}]"
            if fig.get("predicted") is not None:
                figline += f" (theory: {fig['predicted']})"
            figline += "."
        L.append(f"- **{f['id']}** ({f['verdict']}{'' if f['as_expected'] else ', UNEXPECTED'}): {f['finding']}{figline}"
                 + (f" Twins: {twins}." if twins else "")
                 + (f" Replay (`{f['replay_of']}`): `{f['replay']}`" if f["replay"] else ""))
    return L
