"""Plots for the report cards, drawn with matplotlib's object API (no pyplot, Agg canvas)."""

from __future__ import annotations

import math
import re
from pathlib import Path

__all__ = ["render_plot", "render_plots"]

STYLE = {
    "line": {"lw": 1.6},
    "bound": {"lw": 1.4, "ls": "--", "color": "black"},
    "prediction": {"lw": 1.4, "ls": ":", "color": "tab:red"},
    "fit": {"lw": 1.2, "ls": "-.", "color": "tab:gray"},
}


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def render_plot(spec: dict, path: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.6, 3.7), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    logy = spec.get("yscale") == "log"
    logx = spec.get("xscale") == "log"

    def ok(x: float, y: float) -> bool:
        if x is None or y is None or not isinstance(y, (int, float)) or not isinstance(x, (int, float)):
            return False
        if not (math.isfinite(x) and math.isfinite(y)):
            return False
        return (not logy or y > 0) and (not logx or x > 0)

    for ln in spec["lines"]:
        xs_all, ys_all = ln["x"], ln["y"]
        keep = [i for i, (x, y) in enumerate(zip(xs_all, ys_all, strict=True)) if ok(x, y)]
        if not keep:
            continue
        xs, ys = [xs_all[i] for i in keep], [ys_all[i] for i in keep]
        style = ln.get("style", "line")
        label = ln.get("label")
        if style == "points":
            ax.scatter(xs, ys, s=14, label=label, alpha=0.8, zorder=3)
        elif style == "band" and "y_low" in ln:
            band = [i for i in keep if ok(xs_all[i], ln["y_low"][i]) and ok(xs_all[i], ln["y_high"][i])]
            ax.fill_between(
                [xs_all[i] for i in band], [ln["y_low"][i] for i in band], [ln["y_high"][i] for i in band], alpha=0.2, label=label
            )
            ax.plot(xs, ys, lw=1.4)
        else:
            ax.plot(xs, ys, label=label, **STYLE.get(style, {}))
    for axis, scale in (("x", spec.get("xscale")), ("y", spec.get("yscale"))):
        if scale in ("log", "linear", "symlog"):
            getattr(ax, f"set_{axis}scale")(scale)
    ax.set_title(spec.get("title", ""), fontsize=10)
    ax.set_xlabel(spec.get("xlabel", ""))
    ax.set_ylabel(spec.get("ylabel", ""))
    ax.grid(True, which="major", alpha=0.3)
    if any(ln.get("label") for ln in spec["lines"]):
        ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    fig.savefig(path)


def render_plots(report: dict, plot_dir: Path) -> None:
    """Render every plot of every claim's representative example; record file names in the claim."""
    plot_dir.mkdir(parents=True, exist_ok=True)
    for c in report["claims"]:
        files = []
        rep = c.get("representative") or {}
        for spec in rep.get("plots", []):
            name = f"{_safe(c['id'])}__{_safe(spec['name'])}.png"
            try:
                render_plot(spec, plot_dir / name)
            except Exception as e:  # a bad plot must not lose the report
                c.setdefault("plot_errors", []).append(f"{spec['name']}: {type(e).__name__}: {e}")
                continue
            files.append(f"plots/{name}")
        c["plot_files"] = files
