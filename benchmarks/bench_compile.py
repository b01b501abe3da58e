"""Does torch.compile pay for the small steps of the search? A bare two-layer GD step, eager against compiled.

The quick profile's cheap training claims spend most of a step in fixed per-op costs (docs/search.md,
"How many examples the budget buys"), so fusing the step is the obvious lever. This measures it on the
bare step of the two-layer model (two batched GEMMs and the element-wise ops between them, no
recording), one trial batch of T seeds, in three phases:

1. shape A, the first call: the compile (cold, or from inductor's disk cache; the row says which it
   could not know, so read ``first_call_s`` with the cache in mind), then steady steps against eager;
2. shape B: a second shape, on which torch.compile recompiles with dynamic shapes;
3. shape C: a third shape, served by the dynamic graph (a search draws n, d and m anew every example,
   so this is the speed it would see).

Results go into the ``compile`` section of ``reports/bench.json`` (other sections are kept).

    python benchmarks/bench_compile.py                       # inductor, 300 steps a phase, ~1 min
    python benchmarks/bench_compile.py --backend eager       # the plumbing only (no code generation)
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_engine import _cpu_busy, _loadavg, machine_info, write_atomic

SHAPES = {"A": (20, 12, 320), "B": (15, 9, 240), "C": (17, 7, 160)}  # (n, d, m): quick-profile sizes
TRIALS = 32  # the seeds of one probability example


def step(W, X, a, y, eta: float):
    """One full-batch GD step of u = a . relu(W^T x) / sqrt(m) on 0.5 ||u - y||^2, for T trials at once."""
    m = W.shape[-1]
    Z = torch.bmm(X, W)  # [T, n, m]
    u = (torch.relu(Z) * a).sum(-1) / m**0.5
    r = u - y
    G = torch.bmm(X.transpose(1, 2), (Z > 0).to(W.dtype) * (r.unsqueeze(-1) * a)) / m**0.5
    return W - eta * G, (r * r).sum(-1)


def _problem(n: int, d: int, m: int, dtype: torch.dtype, seed: int):
    g = torch.Generator().manual_seed(seed)
    X = torch.nn.functional.normalize(torch.randn(TRIALS, n, d, dtype=dtype, generator=g), dim=-1)
    W = torch.randn(TRIALS, d, m, dtype=dtype, generator=g)
    a = torch.randint(0, 2, (TRIALS, 1, m), generator=g).to(dtype) * 2 - 1
    y = torch.randn(TRIALS, n, dtype=dtype, generator=g)
    return W, X, a, y


def _run(fn, args, steps: int) -> tuple[float, torch.Tensor]:
    W, X, a, y = args
    t = time.perf_counter()
    for _ in range(steps):
        W, loss = fn(W, X, a, y, 0.05)
    return time.perf_counter() - t, loss


def measure(backend: str, steps: int, repeats: int, dtype: torch.dtype) -> dict:
    torch._dynamo.reset()
    compiled = torch.compile(step, backend=backend)
    rows, checks = [], []
    for phase, (name, (n, d, m)) in enumerate(SHAPES.items(), start=1):
        args = _problem(n, d, m, dtype, seed=phase)
        t0 = time.perf_counter()
        compiled(*args, 0.05)
        first = time.perf_counter() - t0
        eager_s, compiled_s = [], []
        for _ in range(repeats):  # in turns, so that a busy machine slows both alike
            e, le = _run(step, args, steps)
            c, lc = _run(compiled, args, steps)
            eager_s.append(e)
            compiled_s.append(c)
        diff = float(((le - lc).abs() / le.abs().clamp_min(1e-300)).max())
        checks.append({"shape": name, "max_rel_loss_diff": diff})
        e, c = statistics.median(eager_s), statistics.median(compiled_s)
        rows.append(
            {
                "phase": phase,
                "shape": name,
                "n": n,
                "d": d,
                "m": m,
                "trials": TRIALS,
                "steps": steps,
                "first_call_s": round(first, 4),
                "eager_ms_per_step": round(1e3 * e / steps, 4),
                "compiled_ms_per_step": round(1e3 * c / steps, 4),
                "speedup": round(e / c, 3),
                "what": ("compiles for this shape" if phase == 1 else "recompiles, for dynamic shapes" if phase == 2 else "the dynamic graph, no compile"),
            }
        )
        print(
            f"shape {name} (n={n}, d={d}, m={m}): first call {first:.2f} s, eager {rows[-1]['eager_ms_per_step']:.3f} ms a step, "
            f"compiled {rows[-1]['compiled_ms_per_step']:.3f} ms, {rows[-1]['speedup']:.2f}x",
            file=sys.stderr,
        )
    return {"rows": rows, "checks": checks}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backend", default="inductor", help="torch.compile backend (default inductor; 'eager' checks the plumbing)")
    ap.add_argument("--steps", type=int, default=300, help="steps a timing (default 300, the quick profile's)")
    ap.add_argument("--repeats", type=int, default=3, help="timings a phase, eager and compiled in turns (median; default 3)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1, as an xdist worker of a quick run has)")
    ap.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    ap.add_argument("--out", default="reports/bench.json", help="the JSON file whose 'compile' section is (re)written")
    args = ap.parse_args(argv)
    if args.steps < 1 or args.repeats < 1 or args.threads < 1:
        ap.error("--steps, --repeats and --threads must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    try:
        args = parse_args(argv)
    except SystemExit as e:
        return int(e.code or 0)
    torch.set_num_threads(args.threads)
    dtype = getattr(torch, args.dtype)
    busy, load_start = _cpu_busy(), _loadavg()
    section = measure(args.backend, args.steps, args.repeats, dtype)
    section.update(
        date=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        backend=args.backend,
        dtype=args.dtype,
        threads=args.threads,
        machine={**machine_info(["cpu"]), "cpu_busy_before": busy, "loadavg_start": load_start, "loadavg_end": _loadavg()},
        command=" ".join(["python benchmarks/bench_compile.py", *(argv if argv is not None else sys.argv[1:])]),
    )
    out = Path(args.out)
    data = json.loads(out.read_text()) if out.exists() else {"schema": "theorem-check/bench"}
    data["compile"] = section
    write_atomic(out, data)
    print(f"wrote the 'compile' section of {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
