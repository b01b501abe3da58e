"""report.html: one card per claim (statement, citation, verdict, figures, plots, counterexample)."""

from __future__ import annotations

import base64
from pathlib import Path

import jinja2

from .text import _args_line, _detail, by_paper, fmt, search_line, search_strength

__all__ = ["render_html"]


def render_html(report: dict, run_dir: Path, comparison: dict | None = None) -> str:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("harness.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "jinja2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["fmt"] = fmt
    env.filters["args"] = _args_line
    env.globals["detail"] = _detail
    env.globals["search_line"] = search_line
    env.globals["search_strength"] = search_strength

    def embed(rel: str) -> str:
        p = run_dir / rel
        return "data:image/png;base64," + base64.b64encode(p.read_bytes()).decode() if p.exists() else rel

    env.globals["embed"] = embed
    from .table import COLUMNS, _cells, findings, quantitative_rows

    theory = [_cells(row, 200) for row in quantitative_rows(report)]
    return env.get_template("report.html.jinja2").render(
        r=report, comp=comparison, theory=theory, theory_columns=COLUMNS, findings=findings(report), papers=by_paper(report.get("claims") or [])
    )
