"""Tables in docs/ that the code writes: the claims, the profiles, the benchmark figures.

A docs page marks a generated block with ``<!-- BEGIN generated: NAME -->`` and
``<!-- END generated: NAME -->``; ``python -m harness docs`` rewrites every such block from the code
(``claims``: the registry of ``claims/``, ``profiles``: :data:`harness.runtime.profiles.PROFILES`,
``bench``: ``reports/bench.json``), and ``--check`` only says which blocks are stale (exit 1), which
is what ``tests/test_docs.py`` runs, so the pages cannot drift from the code.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

__all__ = ["GENERATORS", "bench_markdown", "claims_markdown", "profile_rows", "profiles_markdown", "sync_docs"]

_BLOCK = re.compile(r"(<!-- BEGIN generated: (?P<name>[a-z_]+) -->\n)(?P<body>.*?)(<!-- END generated: (?P=name) -->)", re.S)


def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    esc = lambda c: str(c).replace("|", "\\|").replace("\n", " ")  # noqa: E731
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header), *("| " + " | ".join(esc(c) for c in r) + " |" for r in rows)]


def claims_markdown(claims_dir: str | Path = "claims") -> str:
    """One row per claim, grouped by paper: id, theorem, quantifier, expected verdict, statement."""
    from ..contract.claim import REGISTRY
    from .claim_index import import_claims

    by_file, errors = import_claims(Path(claims_dir).resolve())
    if errors:
        raise RuntimeError("; ".join(f"{e['file']}: {e['error']}" for e in errors))
    out: list[str] = []
    infos = sorted((REGISTRY[cid] for ids in by_file.values() for cid in ids), key=lambda i: (i.paper.key, i.expect != "confirmed", i.id))
    files = {cid: Path(f).name for f, ids in by_file.items() for cid in ids}
    papers: dict[str, list] = {}
    for info in infos:
        papers.setdefault(info.paper.key, []).append(info)
    total = sum(len(v) for v in papers.values())
    controls = sum(i.expect == "falsified" for i in infos)
    out.append(f"{total} claims ({controls} planted twins, expected falsified) in {len(by_file)} files.")
    for key, group in papers.items():
        p = group[0].paper
        out += ["", f"### {p.authors} {p.year}: {p.title} ({key})", ""]
        rows = [
            [f"`{i.id}`", i.theorem, i.quantifier, "falsified (twin of `" + i.control_of + "`)" if i.control_of else i.expect, i.statement, f"`{files[i.id]}`"]
            for i in group
        ]
        out += _md_table(["id", "theorem", "quantifier", "expected", "statement", "file"], rows)
    return "\n".join(out)


def profile_rows(sep: str = ", ") -> tuple[list[str], list[list[str]]]:
    """The profiles table (header, one row per profile), shared by ``profiles`` and the docs."""
    from ..runtime.profiles import PROFILES

    header = ["profile", "budget s", "examples", "replicates", "n", "d", "steps", "widths (scaling)", "m / n", "seeds/width"]
    rows = [
        [p.name, f"{p.budget_s:g}", f"{p.min_examples}..{p.max_examples}", str(p.replicates), f"{p.min_n}..{p.max_n}",
         f"{p.min_d}..{p.max_d}", str(p.steps), sep.join(map(str, p.width_grid)), sep.join(map(str, p.width_multipliers)), str(p.scaling_seeds)]
        for p in PROFILES.values()
    ]
    return header, rows


def profiles_markdown() -> str:
    from ..runtime.profiles import PROFILES

    header, rows = profile_rows()
    rows = [[*r, p.description] for r, p in zip(rows, PROFILES.values(), strict=True)]
    return "\n".join(_md_table([*header, "for"], rows))


def _fmt(x, digits: int = 3) -> str:
    return "-" if x is None else f"{x:.{digits}g}"


def bench_markdown(path: str | Path = "reports/bench.json") -> str:
    """The benchmark tables of ``reports/bench.json`` (written by ``benchmarks/bench_engine.py`` and
    ``bench_deep.py``, ``bench_compile.py``): the two-layer engine against the naive loop, the deep engine and the NTKs,
    and torch.compile on a bare step."""
    b = json.loads(Path(path).read_text())
    mach = b.get("machine") or {}
    out = [
        f"Two-layer engine ({b.get('command')}, {b.get('mode')}, {b.get('timestamp')}; {mach.get('processor')}, "
        f"{mach.get('cpu_count')} cores, torch {mach.get('torch')}; n = {(b.get('problem') or {}).get('n')}, 500-step trials):",
        "",
    ]
    for dev, pk in (b.get("peaks") or {}).items():
        copy, f64 = pk.get("copy") or {}, pk.get("float64") or {}
        out += [f"Roofs on {dev}: float64 matmul peak {_fmt(f64.get('gflops'))} GFLOP/s, copy bandwidth "
                f"{_fmt(copy.get('gbytes_per_s'))} GB/s ({copy.get('mib', '-')} MiB arrays).", ""]
    rows = [
        [r["device"], r["dtype"], str(r["m"]), r["engine"], str(r["batch"]), _fmt(r["trials_per_s"]), _fmt(r["speedup_vs_naive"], 2) + "x",
         (_fmt(r["speedup_vs_v1"], 2) + "x") if r.get("speedup_vs_v1") is not None else "-",
         _fmt(r.get("fraction_of_peak"), 2), _fmt(r.get("roofline_fraction"), 2), r.get("roofline_bound") or "-"]
        for r in b.get("rows") or []
    ]
    out += _md_table(["device", "dtype", "m", "engine", "trials batched", "trials / s", "vs naive", "vs engine@v1", "of matmul peak",
                      "of roofline", "bound"], rows)
    d = b.get("deep")
    if d:
        dm = d.get("machine") or {}
        out += ["", f"Deep families ({d.get('command')}, {d.get('mode')}, {d.get('timestamp')}; {dm.get('processor')}, {dm.get('cpu_count')} cores; "
                f"depth {(d.get('problem') or {}).get('depth')}, n = {(d.get('problem') or {}).get('n')}, 100-step trials; NTK rows: kernels per second):", ""]
        rows = []
        for r in d.get("rows") or []:
            rate = r.get("trials_per_s", r.get("ntks_per_s"))
            rows.append([r["device"], r["family"], r["activation"], str(r["m"]), r["engine"], str(r["batch"]), str(r.get("chunk_trials", "-")),
                         _fmt(rate), _fmt(r["speedup_vs_naive"], 2) + "x"])
        out += _md_table(["device", "family", "activation", "m", "engine", "trials", "at once", "per second", "vs per-trial loop"], rows)
    c = b.get("compile")
    if c:
        cm = c.get("machine") or {}
        out += ["", f"torch.compile on a bare two-layer step ({c.get('command')}, {c.get('date')}; backend {c.get('backend')}, {c.get('dtype')}, "
                f"{c.get('threads')} thread(s), {(c.get('rows') or [{}])[0].get('trials')} trials; {cm.get('processor')}; cores busy before the run "
                f"{_fmt(cm.get('cpu_busy_before'), 2)}, load averages {cm.get('loadavg_start')}):", ""]
        rows = [[r["shape"], f"{r['n']}, {r['d']}, {r['m']}", r["what"], _fmt(r["first_call_s"]), _fmt(r["eager_ms_per_step"]),
                 _fmt(r["compiled_ms_per_step"]), _fmt(r["speedup"], 2) + "x"] for r in c.get("rows") or []]
        out += _md_table(["shape", "n, d, m", "the call", "first call (s)", "eager ms / step", "compiled ms / step", "speedup"], rows)
    return "\n".join(out)


#: block name -> generator (called with the project root)
GENERATORS: dict[str, Callable[[Path], str]] = {
    "claims": lambda root: claims_markdown(root / "claims"),
    "profiles": lambda root: profiles_markdown(),
    "bench": lambda root: bench_markdown(root / "reports" / "bench.json"),
}


def sync_docs(docs_dir: str | Path = "docs", *, root: str | Path = ".", check: bool = False) -> list[str]:
    """Rewrite (or, with ``check``, only compare) every generated block under ``docs_dir``; returns
    ``file: block`` for each block that was stale. An unknown block name is an error."""
    root = Path(root)
    cache: dict[str, str] = {}
    stale = []
    for page in sorted(Path(docs_dir).rglob("*.md")):
        text = page.read_text()

        def fill(m: re.Match, page=page) -> str:
            name = m.group("name")
            if name not in GENERATORS:
                raise ValueError(f"{page}: unknown generated block {name!r} (known: {', '.join(GENERATORS)})")
            if name not in cache:
                cache[name] = GENERATORS[name](root).rstrip() + "\n"
            if m.group("body") != cache[name]:
                stale.append(f"{page}: {name}")
            return m.group(1) + cache[name] + m.group(4)

        new = _BLOCK.sub(fill, text)
        if new != text and not check:
            page.write_text(new)
    return stale
