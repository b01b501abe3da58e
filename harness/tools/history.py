"""The history store: one JSON line per run, appended under an exclusive lock, and its trend page.

Why JSON lines with ``fcntl.flock``: writers are a few processes at the end of a session (one
pytest controller per machine, ``harness merge``, ``harness history --add``), each appending one
line. An exclusive advisory lock around a single ``write`` of the whole line (on a file opened
with ``O_APPEND``) keeps lines whole and never interleaved, the file stays greppable and
diff-able, and needs nothing outside the standard library; SQLite's WAL would serve as well but
adds a binary file nobody can read in a terminal. Readers take a shared lock. A line cut short
(a writer killed mid-write, a full disk) is skipped with a warning, and the next writer starts
on a fresh line, so one bad line never hides the others.

A record keeps, per claim: verdict, expected, as_expected, seconds, examples tried, worst
margin and the numeric figures of the representative example (measured, interval, predicted).
:func:`render_history_html` draws one chart per claim figure across runs (inline SVG, no
plotting library): the verdict strip, seconds, the worst margin and each figure.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import json
import math
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

try:  # POSIX; elsewhere the store still works for a single writer
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "HISTORY_SCHEMA",
    "STORE_NAME",
    "HistoryError",
    "append_run",
    "read_history",
    "render_history_html",
    "run_id",
    "run_record",
]

HISTORY_SCHEMA = "theorem-check/history"
HISTORY_VERSION = 1
STORE_NAME = "history.jsonl"


class HistoryError(ValueError):
    """The history store cannot be read or written."""


def _num(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    f = float(v)
    return f if math.isfinite(f) else None


def run_id(report: dict) -> str:
    """A stable id of a run: the same report.json always gives the same id (dedupes re-adds)."""
    key = [
        report.get("created"),
        report.get("duration_s"),
        report.get("command"),
        (report.get("environment") or {}).get("git_revision"),
        sorted((c.get("id"), c.get("verdict"), c.get("seconds")) for c in report.get("claims") or []),
    ]
    return hashlib.blake2b(json.dumps(key, default=str).encode(), digest_size=8).hexdigest()


def _figures(c: dict) -> dict:
    figs = ((c.get("representative") or {}).get("figures")) or {}
    out = {}
    for name, f in figs.items() if isinstance(figs, dict) else ():
        if not isinstance(f, dict):
            continue
        m = _num(f.get("measured"))
        if m is None:
            continue
        rec: dict[str, float] = {"m": m}
        iv = f.get("interval")
        if isinstance(iv, (list, tuple)) and len(iv) == 2 and _num(iv[0]) is not None and _num(iv[1]) is not None:
            rec["lo"], rec["hi"] = float(iv[0]), float(iv[1])
        p = _num(f.get("predicted"))
        if p is not None:
            rec["p"] = p
        out[name] = rec
    return out


def run_record(report: dict, *, source: str = "") -> dict:
    """The history line of one run (a loaded or freshly built report dict)."""
    env = report.get("environment") or {}
    claims = {}
    for c in report.get("claims") or []:
        claims[c["id"]] = {
            "verdict": c.get("verdict"),
            "expected": c.get("expected"),
            "as_expected": c.get("as_expected"),
            "seconds": c.get("seconds"),
            "work_seconds": c.get("work_seconds"),
            "examples": c.get("examples_tried"),
            "margin": _num((c.get("margin") or {}).get("value")),
            "figures": _figures(c),
        }
    s = report.get("summary") or {}
    return {
        "schema": HISTORY_SCHEMA,
        "schema_version": HISTORY_VERSION,
        "run_id": run_id(report),
        "created": report.get("created"),
        "duration_s": report.get("duration_s"),
        "profile": (report.get("profile") or {}).get("name"),
        "run_seed": (report.get("search") or {}).get("seed"),
        "device": env.get("device"),
        "device_name": env.get("device_name"),
        "dtype": env.get("dtype"),
        "git_revision": env.get("git_revision"),
        "git_dirty": env.get("git_dirty"),
        "xdist_workers": env.get("xdist_workers"),
        "shards": len(report.get("merged_from") or []) or None,
        "source": source,
        "summary": {
            "claims": s.get("claims", len(claims)),
            "verdicts": s.get("verdicts", {}),
            "as_expected": s.get("as_expected"),
            "unexpected": s.get("unexpected", []),
            "missing": [m.get("id") or m.get("nodeid") for m in report.get("missing") or [] if isinstance(m, dict)],
        },
        "claims": claims,
    }


@contextlib.contextmanager
def _locked(path: Path, mode: str, lock: int) -> Iterator[Any]:
    with open(path, mode) as f:
        if fcntl is not None:
            fcntl.flock(f.fileno(), lock)
        try:
            yield f
        finally:
            if fcntl is not None:
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def append_run(store: str | Path, report: dict, *, source: str = "") -> bool:
    """Append ``report``'s record to ``store`` (created with its folder if absent).

    Safe for concurrent writers (an exclusive ``flock`` around one append). Returns False, and
    writes nothing, when a run with the same :func:`run_id` is already in the store."""
    path = Path(store)
    rec = run_record(report, source=source)
    line = (json.dumps(rec, separators=(",", ":")) + "\n").encode()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with _locked(path, "a+b", fcntl.LOCK_EX if fcntl else 0) as f:
            f.seek(0)
            data = f.read()
            if f'"run_id":"{rec["run_id"]}"'.encode() in data:
                return False
            if data and not data.endswith(b"\n"):  # a writer died mid-line: start on a fresh one
                line = b"\n" + line
            f.write(line)  # one write of the whole line under the lock (O_APPEND)
            f.flush()
            os.fsync(f.fileno())
    except OSError as e:
        raise HistoryError(f"{path}: cannot append to the history store ({e.strerror or e})") from None
    return True


def read_history(store: str | Path) -> tuple[list[dict], list[str]]:
    """All records of ``store`` in file order, and warnings for lines that were skipped."""
    path = Path(store)
    try:
        with _locked(path, "rb", fcntl.LOCK_SH if fcntl else 0) as f:
            data = f.read()
    except FileNotFoundError:
        raise HistoryError(f"{path}: no history store (runs are appended at the end of each pytest session)") from None
    except OSError as e:
        raise HistoryError(f"{path}: cannot read the history store ({e.strerror or e})") from None
    records, warnings = [], []
    for i, raw in enumerate(data.split(b"\n"), 1):
        if not raw.strip():
            continue
        try:
            rec = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            warnings.append(f"{path}:{i}: not a JSON line (a write cut short?), skipped")
            continue
        if not isinstance(rec, dict) or rec.get("schema") != HISTORY_SCHEMA or not isinstance(rec.get("claims"), dict):
            warnings.append(f"{path}:{i}: not a theorem-check history record, skipped")
            continue
        records.append(rec)
    return records, warnings


# ----------------------------------------------------------------------------------------------
# the trend page
# ----------------------------------------------------------------------------------------------

VERDICT_COLORS = {"confirmed": "#1b7f3b", "falsified": "#b3261e", "inconclusive": "#8a6d00", "error": "#555555"}
_W, _H, _PAD_L, _PAD_R, _PAD_T, _PAD_B = 380, 150, 58, 10, 22, 24


def _f(v: float) -> str:
    from ..report.text import fmt

    return fmt(v, 3)


def _esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


def svg_chart(
    n_runs: int,
    points: list[dict],
    *,
    title: str,
    predicted: float | None = None,
    labels: list[str] | None = None,
) -> str:
    """A line chart over run index 0..n_runs-1. Each point: ``{"i", "y", "lo"?, "hi"?, "tip",
    "color"?}``; intervals are drawn as error bars, ``predicted`` as a dashed line. A log axis is
    used when every value is positive and they span more than two decades."""
    ys = [p["y"] for p in points] + [v for p in points for v in (p.get("lo"), p.get("hi")) if v is not None]
    if predicted is not None:
        ys.append(predicted)
    ys = [y for y in ys if y is not None and math.isfinite(y)]
    log = bool(ys) and min(ys) > 0 and max(ys) / min(ys) > 100
    tr = (lambda v: math.log10(v)) if log else (lambda v: v)
    if ys:
        lo, hi = min(tr(y) for y in ys), max(tr(y) for y in ys)
    else:
        lo, hi = 0.0, 1.0
    if hi - lo < 1e-12:
        lo, hi = lo - (abs(lo) * 0.1 or 0.5), hi + (abs(hi) * 0.1 or 0.5)
    span = hi - lo
    lo, hi = lo - 0.06 * span, hi + 0.06 * span
    pw, ph = _W - _PAD_L - _PAD_R, _H - _PAD_T - _PAD_B

    def X(i: float) -> float:
        return _PAD_L + (pw * (i / (n_runs - 1)) if n_runs > 1 else pw / 2)

    def Y(v: float) -> float:
        return _PAD_T + ph * (1 - (tr(v) - lo) / (hi - lo))

    back = (lambda t: 10**t) if log else (lambda t: t)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{_H}" viewBox="0 0 {_W} {_H}" class="chart">',
        f'<text x="{_PAD_L}" y="14" font-size="12" font-weight="600">{_esc(title)}{" (log)" if log else ""}</text>',
        f'<rect x="{_PAD_L}" y="{_PAD_T}" width="{pw}" height="{ph}" fill="none" stroke="#ccc"/>',
        f'<text x="{_PAD_L - 4}" y="{_PAD_T + 9}" font-size="10" text-anchor="end">{_esc(_f(back(hi)))}</text>',
        f'<text x="{_PAD_L - 4}" y="{_PAD_T + ph}" font-size="10" text-anchor="end">{_esc(_f(back(lo)))}</text>',
    ]
    if labels:
        parts.append(f'<text x="{_PAD_L}" y="{_H - 6}" font-size="10">{_esc(labels[0])}</text>')
        if len(labels) > 1:
            parts.append(f'<text x="{_W - _PAD_R}" y="{_H - 6}" font-size="10" text-anchor="end">{_esc(labels[-1])}</text>')
    if predicted is not None and math.isfinite(predicted) and (not log or predicted > 0):
        y = Y(predicted)
        parts.append(f'<line x1="{_PAD_L}" x2="{_PAD_L + pw}" y1="{y:.1f}" y2="{y:.1f}" stroke="#b3261e" stroke-dasharray="4 3"><title>predicted {_esc(_f(predicted))}</title></line>')
    pts = sorted((p for p in points if p["y"] is not None and (not log or p["y"] > 0)), key=lambda p: p["i"])
    seg: list[str] = []
    prev = None
    for p in pts:
        if prev is not None and p["i"] != prev + 1 and seg:  # a gap: the claim or figure was absent
            parts.append(f'<polyline fill="none" stroke="#4a6cf7" stroke-width="1.4" points="{" ".join(seg)}"/>')
            seg = []
        seg.append(f"{X(p['i']):.1f},{Y(p['y']):.1f}")
        prev = p["i"]
    if seg:
        parts.append(f'<polyline fill="none" stroke="#4a6cf7" stroke-width="1.4" points="{" ".join(seg)}"/>')
    for p in pts:
        x = X(p["i"])
        if p.get("lo") is not None and p.get("hi") is not None and (not log or p["lo"] > 0):
            parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{Y(p["lo"]):.1f}" y2="{Y(p["hi"]):.1f}" stroke="#888" stroke-width="1"/>')
        parts.append(
            f'<circle cx="{x:.1f}" cy="{Y(p["y"]):.1f}" r="3" fill="{p.get("color", "#4a6cf7")}"><title>{_esc(p.get("tip", ""))}</title></circle>'
        )
    parts.append("</svg>")
    return "".join(parts)


def svg_verdicts(n_runs: int, cells: list[dict], *, labels: list[str] | None = None) -> str:
    """The verdict strip: one square per run (colour: verdict; thick orange frame: unexpected)."""
    w = max(_W, _PAD_L + 14 * n_runs + _PAD_R)
    step = min(14.0, (w - _PAD_L - _PAD_R) / max(1, n_runs))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="52" class="chart verdicts">',
        f'<text x="{_PAD_L}" y="12" font-size="12" font-weight="600">verdict per run</text>',
    ]
    for c in cells:
        x = _PAD_L + c["i"] * step
        color = VERDICT_COLORS.get(c["verdict"], "#bbb")
        frame = ' stroke="#ff9f0a" stroke-width="2.5"' if not c.get("as_expected", True) else ""
        parts.append(f'<rect x="{x:.1f}" y="18" width="{step - 2:.1f}" height="14" fill="{color}"{frame}><title>{_esc(c.get("tip", ""))}</title></rect>')
    if labels:
        parts.append(f'<text x="{_PAD_L}" y="46" font-size="10">{_esc(labels[0])}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _short(created: str | None) -> str:
    return (created or "?")[:16].replace("T", " ")


def select_runs(records: Iterable[dict], *, profile: str | None = None, last: int | None = None) -> tuple[list[dict], str | None]:
    """Records of one profile (default: the newest run's), oldest first, the ``last`` newest kept."""
    recs = sorted(records, key=lambda r: str(r.get("created") or ""))
    if profile is None and recs:
        profile = recs[-1].get("profile")
    recs = [r for r in recs if r.get("profile") == profile]
    if last:
        recs = recs[-last:]
    return recs, profile


def render_history_html(records: list[dict], *, profile: str | None = None, last: int | None = 60, store: str = "") -> str:
    """The trend page: a table of runs, then per claim the verdict strip and one chart per figure."""
    all_profiles = sorted({str(r.get("profile")) for r in records})
    runs, profile = select_runs(records, profile=profile, last=last)
    n = len(runs)
    labels = [_short(r.get("created")) for r in runs] if runs else None
    css = (
        "body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1240px;padding:1em 1.5em;color:#1d1d1f}"
        "table{border-collapse:collapse}td,th{border-bottom:1px solid #ddd;padding:2px 8px;text-align:left}"
        ".card{border:1px solid #ddd;border-radius:8px;padding:.5em 1em;margin:1em 0}.card h2{font-size:15px;margin:.2em 0}"
        ".charts{display:flex;flex-wrap:wrap;gap:6px}.meta{color:#555}.bad{color:#b3261e;font-weight:600}"
    )
    out = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>theorem-check history — {_esc(profile)}</title><style>{css}</style></head><body>",
        f"<h1>theorem-check history: profile {_esc(profile)}</h1>",
        f'<div class="meta">{n} run(s) of profile {_esc(profile)} from <code>{_esc(store)}</code>'
        + (f"; profiles in the store: {_esc(', '.join(all_profiles))} (pick one with --profile)" if len(all_profiles) > 1 else "")
        + "</div>",
    ]
    if not runs:
        out.append("<p>No runs of this profile in the store yet.</p></body></html>")
        return "\n".join(out)
    out.append("<h2>Runs</h2><table><tr><th>#</th><th>created</th><th>git</th><th>device</th><th>s</th><th>claims</th><th>verdicts</th><th>unexpected</th><th>missing</th></tr>")
    for i, r in enumerate(runs):
        s = r.get("summary") or {}
        verdicts = ", ".join(f"{v} {k}" for k, v in sorted((s.get("verdicts") or {}).items()))
        unexpected = s.get("unexpected") or []
        missing = s.get("missing") or []
        out.append(
            f"<tr><td>{i}</td><td>{_esc(r.get('created'))}</td><td><code>{_esc((r.get('git_revision') or '?')[:10])}</code>"
            f"{' (dirty)' if r.get('git_dirty') else ''}</td><td>{_esc(r.get('device'))} ({_esc(r.get('device_name'))})</td>"
            f"<td>{_esc(r.get('duration_s'))}</td><td>{_esc(s.get('claims'))}</td><td>{_esc(verdicts)}</td>"
            f"<td class=\"{'bad' if unexpected else ''}\">{_esc(', '.join(unexpected)) or '-'}</td>"
            f"<td class=\"{'bad' if missing else ''}\">{_esc(', '.join(map(str, missing))) or '-'}</td></tr>"
        )
    out.append("</table>")
    ids = sorted({cid for r in runs for cid in r["claims"]})
    out.append(f"<h2>Claims ({len(ids)})</h2>")
    for cid in ids:
        cells, secs, margins = [], [], []
        figs: dict[str, list[dict]] = {}
        predicted: dict[str, float] = {}
        for i, r in enumerate(runs):
            c = r["claims"].get(cid)
            if not c:
                continue
            when = f"{_short(r.get('created'))} · git {(r.get('git_revision') or '?')[:10]}"
            cells.append({"i": i, "verdict": c.get("verdict"), "as_expected": c.get("as_expected", True), "tip": f"{when}: {c.get('verdict')}"})
            color = VERDICT_COLORS.get(str(c.get("verdict")), "#4a6cf7")
            # work seconds (own + shared cached work reused) do not depend on which claim ran first
            sec = c.get("work_seconds") if _num(c.get("work_seconds")) is not None else c.get("seconds")
            if _num(sec) is not None:
                secs.append({"i": i, "y": float(sec), "tip": f"{when}: {sec} s", "color": color})
            if _num(c.get("margin")) is not None:
                margins.append({"i": i, "y": float(c["margin"]), "tip": f"{when}: margin {_f(c['margin'])}", "color": color})
            for name, f in (c.get("figures") or {}).items():
                if _num(f.get("m")) is None:
                    continue
                iv = f" [{_f(f['lo'])}, {_f(f['hi'])}]" if "lo" in f and "hi" in f else ""
                figs.setdefault(name, []).append(
                    {"i": i, "y": float(f["m"]), "lo": f.get("lo"), "hi": f.get("hi"), "tip": f"{when}: {_f(f['m'])}{iv}", "color": color}
                )
                if _num(f.get("p")) is not None:
                    predicted[name] = float(f["p"])  # the newest prediction
        last_c = next((r["claims"][cid] for r in reversed(runs) if cid in r["claims"]), {})
        out.append(f'<div class="card" id="{_esc(cid)}"><h2>{_esc(cid)}</h2>')
        out.append(
            f'<div class="meta">last verdict {_esc(last_c.get("verdict"))} (expected {_esc(last_c.get("expected"))}); '
            f"in {len(cells)} of {n} run(s)</div>"
        )
        out.append(svg_verdicts(n, cells, labels=labels))
        out.append('<div class="charts">')
        if secs:
            out.append(svg_chart(n, secs, title="seconds", labels=labels))
        if margins:
            out.append(svg_chart(n, margins, title="worst margin (<= 1 inside the bound)", predicted=1.0, labels=labels))
        for name in sorted(figs):
            out.append(svg_chart(n, figs[name], title=name, predicted=predicted.get(name), labels=labels))
        out.append("</div></div>")
    out.append("</body></html>")
    return "\n".join(out)
