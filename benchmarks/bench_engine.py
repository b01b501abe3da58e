"""Trials per second: the batched closed-form engine against a naive autograd loop.

Every trial is 500 steps of full-batch GD on L = 1/2 sum (u - y)^2 for the DZPS two-layer ReLU
network (NTK scaling, only W trained) on a problem with n = 50, d = 10 (unit-sphere inputs,
``ProblemSpec(n=50, d=10, seed=i).build()`` for trial i) with eta = 1 / lambda_max(H^inf).

Engines, per width m in (100, 1000, 10000):

* ``naive``: one trial at a time, ``NaiveTwoLayer`` + ``torch.optim.SGD``, autograd backward,
  ``loss.item()`` every step (how a user would write it);
* ``engine``: ``harness.training.engine.train`` with T trials batched, ``record=LOSS_ONLY``;
* ``engine+record``: the same with the default ``Record()`` (drift and flips every step), as
  the claims use it;
* ``engine@v1`` / ``engine@v1+record``: the same trials through the engine as it was before the
  [T, n, m] layout and the chunk-per-thread CPU runs (``benchmarks/engine_v1.py``, its chunks
  one after another), timed in the same run, interleaved
  with today's rows, so the gain is measured side by side (``speedup_vs_v1``).

Besides the matmul peak, the run measures the memory bandwidth (a copy kernel, ``torch.Tensor.copy_``
of an array far larger than the caches) and gives every row a roofline bound: the time of one
trial-step at the better of the two limits, ``max(flops / matmul peak, bytes / bandwidth)``, where
the bytes are the least a step must move (read and write W, read a, X, y; with recording also
W(0) and the initial pattern as bits). ``roofline_fraction`` = bound / measured time (1.0: at the
machine's limit).

On CUDA the engine rows are repeated with larger batches. GFLOP/s counts the model's useful
work, ``4 n m d + 6 n m`` flops per trial-step (two n x m x d products, output and elementwise
terms), for every engine alike, and ``fraction_of_peak`` divides it by a measured square matmul.

    python benchmarks/bench_engine.py [--quick] [--device cpu|cuda|auto] [--dtype float64|float32]
                                      [--out reports/bench.json]
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

from harness.runtime.devices import configure_numerics
from harness.training.engine import LOSS_ONLY, Record, train
from harness.networks.two_layer import NaiveTwoLayer, TwoLayerReLU
from harness.data.problems import ProblemSpec
from harness.runtime.seeding import trial_generators
import harness.runtime.chunks as chunks_module
import harness.training.engine as engine_module

sys.path.insert(0, str(Path(__file__).resolve().parent))
from engine_v1 import train_chunk_v1

SCHEMA = "theorem-check/bench"
SCHEMA_VERSION = 1
N, D = 50, 10
STEPS = 500  #: steps of one trial; every trials_per_s is per 500-step trial
WIDTHS = (100, 1000, 10000)
DTYPES = {"float64": torch.float64, "float32": torch.float32}
SEED_TAG = "bench.engine"

# Trials timed per width. engine: batch T; naive: trials run one after another.
FULL = {
    "engine_T": {100: 64, 1000: 16, 10000: 4},
    "engine_T_large": {100: 1024, 1000: 256, 10000: 64},  # CUDA only
    "naive_trials": {100: 4, 1000: 2, 10000: 1},
    "naive_steps": {100: STEPS, 1000: STEPS, 10000: STEPS},
    "engine_steps": STEPS,
    "repeats": 3,
    "naive_repeats": {100: 3, 1000: 3, 10000: 1},
    "peak_size": {"cpu": 2048, "cuda": 4096},
    "copy_mib": {"cpu": 256, "cuda": 1024},
}
QUICK = {
    "engine_T": {100: 32, 1000: 8, 10000: 2},
    "engine_T_large": {100: 512, 1000: 128, 10000: 32},
    "naive_trials": {100: 2, 1000: 1, 10000: 1},
    "naive_steps": {100: 100, 1000: 100, 10000: 50},
    "engine_steps": 100,
    "repeats": 3,
    "naive_repeats": {100: 1, 1000: 1, 10000: 1},
    "peak_size": {"cpu": 1024, "cuda": 4096},
    "copy_mib": {"cpu": 128, "cuda": 1024},
}


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def flops_per_trial_step(m: int, n: int = N, d: int = D) -> float:
    """Useful flops of one GD step of one trial: Z = W X^T and gW = (S*r) X (2 n m d each),
    plus u = a . relu(Z) and the elementwise relu / pattern / residual products (~6 n m)."""
    return 4.0 * n * m * d + 6.0 * n * m


def bytes_per_trial_step(m: int, record: bool, itemsize: int, n: int = N, d: int = D) -> float:
    """The least memory traffic of one GD step of one trial: W read and written, a, X, y read;
    recording drift and flips also reads W(0) and the initial activation pattern (n m bits)."""
    words = 2 * m * d + m + n * d + n + (m * d if record else 0)
    return words * itemsize + (n * m / 8 if record else 0)


class Problems:
    """Problem i is ProblemSpec(n=50, d=10, seed=i).build(); built once, shared by all engines."""

    def __init__(self) -> None:
        self._cache: dict[int, object] = {}

    def get(self, count: int) -> list:
        for i in range(count):
            if i not in self._cache:
                p = ProblemSpec(n=N, d=D, seed=i).build()
                _ = p.lambda_max  # H^inf eigendecomposition outside the timed region
                self._cache[i] = p
        return [self._cache[i] for i in range(count)]


# ------------------------------------------------------------------------------------------
# the two ways of training
# ------------------------------------------------------------------------------------------


def naive_trial(problem, gen: torch.Generator, m: int, steps: int, device: str, dtype: torch.dtype) -> list[float]:
    """One trial the way a user would write it: nn.Module, optim.SGD, autograd, loss.item()."""
    model = TwoLayerReLU(m)
    p0 = model.init(problem.d, [gen])
    net = NaiveTwoLayer(model, p0.W[0].to(dtype), p0.a[0].to(dtype)).to(device)
    X = problem.X.to(device=device, dtype=dtype)
    y = problem.y.to(device=device, dtype=dtype)
    opt = torch.optim.SGD([q for q in net.parameters() if q.requires_grad], lr=1.0 / problem.lambda_max)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = 0.5 * ((net(X) - y) ** 2).sum()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def time_naive(problems: Problems, m: int, trials: int, steps: int, device: str, dtype: torch.dtype) -> tuple[float, list[float]]:
    probs = problems.get(trials)
    gens = trial_generators(SEED_TAG, m, trials)
    sync(device)
    t0 = time.perf_counter()
    first = None
    for i in range(trials):
        losses = naive_trial(probs[i], gens[i], m, steps, device, dtype)
        if first is None:
            first = losses
    sync(device)
    return time.perf_counter() - t0, first or []


#: engine rows: name -> (what is recorded, the step kernel: None for today's engine)
ENGINES = {
    "engine@v1": (LOSS_ONLY, train_chunk_v1),
    "engine@v1+record": (Record(), train_chunk_v1),
    "engine": (LOSS_ONLY, None),
    "engine+record": (Record(), None),
}


def time_engine(problems: Problems, m: int, T: int, steps: int, record: Record, device: str, dtype: torch.dtype, kernel=None):
    probs = problems.get(T)
    eta = [1.0 / p.lambda_max for p in probs]
    gens = trial_generators(SEED_TAG, m, T)  # fresh generators: the same init every repetition
    today = engine_module._train_chunk, chunks_module.cpu_chunk_workers
    if kernel is not None:  # v1 also ran its chunks one after another
        engine_module._train_chunk = kernel
        chunks_module.cpu_chunk_workers = lambda *args: 1
    try:
        sync(device)
        t0 = time.perf_counter()
        traj = train(probs, TwoLayerReLU(m), steps=steps, eta=eta, generators=gens, record=record, device=device, dtype=dtype)
        sync(device)  # train() synchronizes too; kept so the timing never depends on it
        return time.perf_counter() - t0, traj
    finally:
        engine_module._train_chunk, chunks_module.cpu_chunk_workers = today


# ------------------------------------------------------------------------------------------
# peaks and machine
# ------------------------------------------------------------------------------------------


def matmul_peak(device: str, dtype: torch.dtype, size: int, repeats: int = 3) -> dict:
    """GFLOP/s of a size x size x size matmul (median of ``repeats`` after a warm-up)."""
    g = torch.Generator(device="cpu").manual_seed(0)
    A = torch.randn(size, size, generator=g, dtype=dtype).to(device)
    B = torch.randn(size, size, generator=g, dtype=dtype).to(device)
    C = torch.empty(size, size, dtype=dtype, device=device)
    torch.matmul(A, B, out=C)
    sync(device)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        torch.matmul(A, B, out=C)
        sync(device)
        times.append(time.perf_counter() - t0)
    sec = statistics.median(times)
    return {"size": size, "seconds": sec, "gflops": 2.0 * size**3 / sec / 1e9}


def copy_bandwidth(device: str, mib: int, repeats: int = 5) -> dict:
    """GB/s of ``dst.copy_(src)`` on a float64 array of ``mib`` MiB (read + write counted), far
    larger than the caches: the memory-bandwidth roof (median of ``repeats`` after a warm-up)."""
    numel = mib * (1 << 20) // 8
    src = torch.ones(numel, dtype=torch.float64, device=device)
    dst = torch.empty_like(src)
    dst.copy_(src)
    sync(device)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        dst.copy_(src)
        sync(device)
        times.append(time.perf_counter() - t0)
    sec = statistics.median(times)
    return {"mib": mib, "seconds": sec, "gbytes_per_s": 2 * numel * 8 / sec / 1e9}


def _loadavg() -> list[float] | None:
    """1/5/15-minute load averages: a busy machine (load above the core count) skews every row."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):  # pragma: no cover - not on every platform
        return None


def _cpu_busy(seconds: float = 0.5) -> float | None:
    """Fraction of all cores busy over ``seconds`` while this process sleeps (Linux /proc/stat)."""

    def read() -> tuple[int, int]:
        with open("/proc/stat") as f:
            vals = [int(x) for x in f.readline().split()[1:]]
        idle = vals[3] + (vals[4] if len(vals) > 4 else 0)  # idle + iowait
        return sum(vals[:8]), idle  # user..steal (guest time is already counted in user)

    try:
        t0, i0 = read()
        time.sleep(seconds)
        t1, i1 = read()
    except (OSError, ValueError, IndexError):
        return None
    return round(1.0 - (i1 - i0) / (t1 - t0), 3) if t1 > t0 else None


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info(devices: list[str]) -> dict:
    info = {
        "platform": platform.platform(),
        "processor": _cpu_name(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "cuda_available": torch.cuda.is_available(),
        "device_names": {},
    }
    for dev in devices:
        info["device_names"][dev] = torch.cuda.get_device_name(torch.device(dev)) if dev.startswith("cuda") else info["processor"]
    return info


# ------------------------------------------------------------------------------------------
# the benchmark
# ------------------------------------------------------------------------------------------


def _median_time(fn, repeats: int, *args) -> tuple[float, list[float], object]:
    """Median seconds of ``repeats`` calls of ``fn(*args)`` (each returns (seconds, result))."""
    times, last = [], None
    for _ in range(repeats):
        sec, last = fn(*args)
        times.append(sec)
    return statistics.median(times), times, last


def _row(device, dtype_name, m, engine, batch, sec, times, trials, steps, peak_gflops, bandwidth=None) -> dict:
    trial_steps = trials * steps
    tps = trials / sec * (steps / STEPS)  # 500-step trials per second
    gflops = flops_per_trial_step(m) * trial_steps / sec / 1e9
    nbytes = bytes_per_trial_step(m, engine.endswith("record"), DTYPES[dtype_name].itemsize)
    t_flops = flops_per_trial_step(m) / (peak_gflops * 1e9) if peak_gflops else 0.0
    t_bytes = nbytes / (bandwidth * 1e9) if bandwidth else 0.0
    bound = max(t_flops, t_bytes)
    return {
        "device": device,
        "dtype": dtype_name,
        "m": m,
        "n": N,
        "d": D,
        "engine": engine,
        "batch": batch,
        "trials_per_s": tps,
        "speedup_vs_naive": None,  # filled in once the naive row of (device, dtype, m) is known
        "seconds": sec,
        "seconds_all": times,
        "repeats": len(times),
        "trials": trials,
        "steps": steps,
        "steps_per_trial_reported": STEPS,
        "scaled_from_steps": steps if steps != STEPS else None,
        "gflops": gflops,
        "fraction_of_peak": gflops / peak_gflops if peak_gflops else None,
        "bytes_per_trial_step": nbytes,
        "roofline_bound": ("compute" if t_flops >= t_bytes else "memory") if bound else None,
        "roofline_seconds_per_trial_step": bound or None,
        "roofline_fraction": bound * trial_steps / sec if bound else None,
    }


def bench_device(device: str, dtype_name: str, cfg: dict, widths: tuple[int, ...], problems: Problems) -> tuple[list[dict], dict, list[dict]]:
    dtype = DTYPES[dtype_name]
    is_cuda = device.startswith("cuda")
    size = cfg["peak_size"]["cuda" if is_cuda else "cpu"]
    peaks = {}
    for name, dt in DTYPES.items():
        log(f"{device}: matmul peak {size}^3 {name} ...")
        peaks[name] = matmul_peak(device, dt, size)
        log(f"{device}: matmul peak {name}: {peaks[name]['gflops']:.1f} GFLOP/s")
    peak = peaks[dtype_name]["gflops"]
    bw = copy_bandwidth(device, cfg["copy_mib"]["cuda" if is_cuda else "cpu"])
    peaks["copy"] = bw
    log(f"{device}: copy bandwidth {bw['gbytes_per_s']:.1f} GB/s ({bw['mib']} MiB arrays)")
    rows, checks = [], []
    for m in widths:
        # naive ------------------------------------------------------------------------
        nt, ns, nrep = cfg["naive_trials"][m], cfg["naive_steps"][m], cfg["naive_repeats"][m]
        log(f"{device}/{dtype_name} m={m}: naive, {nt} trial(s) x {ns} steps x {nrep} rep(s) ...")
        time_naive(problems, m, 1, min(ns, 20), device, dtype)  # warm-up
        sec, times, naive_losses = _median_time(time_naive, nrep, problems, m, nt, ns, device, dtype)
        naive = _row(device, dtype_name, m, "naive", 1, sec, times, nt, ns, peak, bw["gbytes_per_s"])
        naive["speedup_vs_naive"] = 1.0
        rows.append(naive)
        log(f"{device}/{dtype_name} m={m}: naive {naive['trials_per_s']:.3g} trials/s ({sec:.2f} s)")
        # engines: warm each up, then time them in turn, repeat after repeat (a slow spell of the
        # machine hits every engine alike), and take each one's median ----------------------
        batches = [cfg["engine_T"][m]] + ([cfg["engine_T_large"][m]] if is_cuda else [])
        es, reps = cfg["engine_steps"], cfg["repeats"]
        for T in batches:
            log(f"{device}/{dtype_name} m={m}: {', '.join(ENGINES)}, T={T} x {es} steps x {reps} rep(s), interleaved ...")
            for record, kernel in ENGINES.values():
                time_engine(problems, m, T, min(es, 20), record, device, dtype, kernel)  # warm-up
            times = {name: [] for name in ENGINES}
            trajs = {}
            for _ in range(reps):
                for name, (record, kernel) in ENGINES.items():
                    sec, trajs[name] = time_engine(problems, m, T, es, record, device, dtype, kernel)
                    times[name].append(sec)
            made = {}
            for name in ENGINES:
                sec = statistics.median(times[name])
                row = _row(device, dtype_name, m, name, T, sec, times[name], T, es, peak, bw["gbytes_per_s"])
                row["speedup_vs_naive"] = row["trials_per_s"] / naive["trials_per_s"]
                made[name] = row
            for name, row in made.items():
                v1 = made["engine@v1+record" if name.endswith("record") else "engine@v1"]
                row["speedup_vs_v1"] = row["trials_per_s"] / v1["trials_per_s"]
                rows.append(row)
                log(
                    f"{device}/{dtype_name} m={m}: {name} T={T}: {row['trials_per_s']:.3g} trials/s, "
                    f"{row['speedup_vs_naive']:.1f}x naive, {row['speedup_vs_v1']:.2f}x v1, "
                    f"{100 * row['roofline_fraction']:.0f}% of roofline ({row['seconds']:.2f} s)"
                )
            if batches[0] == T:
                # the engines and the naive loop train the same trial 0: the losses must agree,
                # and today's records must agree with v1's
                k = min(len(naive_losses), trajs["engine"].steps)
                a = torch.tensor(naive_losses[:k], dtype=torch.float64)
                b = trajs["engine"].loss[0, :k]
                rel = float(((a - b).abs() / b.abs().clamp_min(1e-300)).max()) if k else float("nan")
                old, new = trajs["engine@v1+record"], trajs["engine+record"]
                rec_diff = max(
                    float(((new.drift - old.drift).abs() / old.drift.abs().clamp_min(1e-300)).max()),
                    float((new.flips - old.flips).abs().max()),
                    float(((new.loss - old.loss).abs() / old.loss.abs().clamp_min(1e-300)).max()),
                )
                checks.append({"device": device, "dtype": dtype_name, "m": m, "steps_compared": k, "max_rel_loss_diff": rel,
                               "max_diff_vs_v1_records": rec_diff})
                log(f"{device}/{dtype_name} m={m}: naive vs engine loss, max rel diff {rel:.2e} over {k} steps; "
                    f"engine vs v1 records (loss, drift, flips), max diff {rec_diff:.2e}")
    return rows, peaks, checks


def write_atomic(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n")
    os.replace(tmp, path)


def summary_lines(rows: list[dict]) -> list[str]:
    out = [f"{'device':<7}{'dtype':<9}{'m':>6} {'engine':<18}{'T':>5}{'trials/s':>11}{'vs naive':>9}{'vs v1':>7}"
           f"{'GFLOP/s':>9}{'of peak':>9}{'roofline':>9}"]
    for r in rows:
        frac = f"{100 * r['fraction_of_peak']:.1f}%" if r["fraction_of_peak"] is not None else "-"
        roof = f"{100 * r['roofline_fraction']:.1f}%" if r.get("roofline_fraction") is not None else "-"
        v1 = f"{r['speedup_vs_v1']:.2f}x" if r.get("speedup_vs_v1") is not None else "-"
        out.append(
            f"{r['device']:<7}{r['dtype']:<9}{r['m']:>6} {r['engine']:<18}{r['batch']:>5}{r['trials_per_s']:>11.3g}"
            f"{r['speedup_vs_naive']:>8.1f}x{v1:>7}{r['gflops']:>9.2f}{frac:>9}{roof:>9}"
        )
    return out


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer trials and steps (scaled to 500-step trials), about a minute")
    ap.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="auto: cuda if available, else cpu")
    ap.add_argument("--dtype", default="float64", choices=sorted(DTYPES), help="training dtype (default float64)")
    ap.add_argument("--out", default="reports/bench.json", help="where the JSON goes (default reports/bench.json)")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's own choice)")
    ap.add_argument("--widths", default=",".join(map(str, WIDTHS)), help="comma-separated subset of 100,1000,10000")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    elif args.device == "cuda" and not torch.cuda.is_available():
        print(f"--device cuda: this torch ({torch.__version__}) sees no CUDA device", file=sys.stderr)
        return 2
    else:
        device = args.device
    try:
        widths = tuple(int(w) for w in args.widths.split(","))
    except ValueError:
        print(f"--widths {args.widths!r}: not a comma-separated list of integers", file=sys.stderr)
        return 2
    bad = [w for w in widths if w not in WIDTHS]
    if bad:
        print(f"--widths: {bad} not among {WIDTHS}", file=sys.stderr)
        return 2
    if args.threads < 0:
        print(f"--threads {args.threads}: must be >= 0", file=sys.stderr)
        return 2
    if args.threads:
        torch.set_num_threads(args.threads)
    load_start = _loadavg()
    configure_numerics()  # TF32 off: float32 rows and peaks are true float32
    cfg = QUICK if args.quick else FULL
    t_start = time.perf_counter()
    busy = _cpu_busy()
    if device == "cpu" and busy is not None and busy > 0.25:
        log(
            f"warning: other processes keep {100 * busy:.0f}% of the {os.cpu_count()} cores busy; CPU timings "
            "will be noisy and torch's thread pool may slow down many-fold (wait, or try --threads 1)"
        )
    log(f"device {device}, dtype {args.dtype}, {'quick' if args.quick else 'full'} run, torch {torch.__version__}, {torch.get_num_threads()} threads")
    rows, peaks, checks = bench_device(device, args.dtype, cfg, widths, Problems())
    data = {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "timestamp": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.argv[0]).name, *(argv if argv is not None else sys.argv[1:])]),
        "mode": "quick" if args.quick else "full",
        "wall_seconds": round(time.perf_counter() - t_start, 2),
        "machine": {
            **machine_info([device]),
            "cpu_busy_before": busy,
            "loadavg_start": load_start,
            "loadavg_end": _loadavg(),
        },
        "problem": {
            "n": N,
            "d": D,
            "geometry": "sphere",
            "labels": "gaussian",
            "seeds": "trial i uses ProblemSpec(n=50, d=10, seed=i)",
            "eta": "1 / lambda_max(H^inf) per problem",
            "model": "TwoLayerReLU(m), NTK scaling, W trained, a fixed",
        },
        "notes": [
            "trials_per_s is 500-step trials per second; rows timed with fewer steps (scaled_from_steps) "
            "are scaled linearly to 500 steps (seconds / trials / steps are the timed values).",
            "seconds is the median over `repeats` timed runs after an untimed warm-up (seconds_all lists them); "
            "engine timings include drawing the initialization inside train().",
            "speedup_vs_naive = trials_per_s / trials_per_s of the naive row with the same device, dtype and m.",
            "gflops counts 4*n*m*d + 6*n*m useful flops per trial-step for every engine; fraction_of_peak divides "
            "it by the matmul peak of the same device and dtype (peaks).",
            "naive: NaiveTwoLayer + torch.optim.SGD, autograd backward, loss.item() every step, one trial at a time.",
            "engine: harness.training.engine.train(record=LOSS_ONLY); engine+record: the default Record() (drift and flips every step).",
            "engine@v1 rows: the same calls with the step as it was before the [T, n, m] layout (benchmarks/engine_v1.py), "
            "timed interleaved with today's rows; speedup_vs_v1 compares rows with the same records.",
            "roofline: bytes_per_trial_step is the least traffic of a step (W read and written; a, X, y read; with "
            "recording W(0) and the initial pattern as bits); roofline_seconds_per_trial_step = max(flops / matmul peak, "
            "bytes / copy bandwidth) (peaks.copy); roofline_fraction = that bound / the measured time per trial-step.",
            "CPU timings are sensitive to other busy processes (torch's thread pool oversubscribes): "
            "machine.cpu_busy_before is the fraction of all cores other processes used in the 0.5 s before the run "
            "(above ~0.25 the rows are suspect); loadavg_start/loadavg_end are the 1/5/15-min load averages.",
        ],
        "peaks": {device: peaks},
        "checks": checks,
        "rows": rows,
    }
    out = Path(args.out)
    if out.exists():  # keep the sections other benchmarks wrote (bench_deep.py: "deep", "deep_cuda")
        try:
            old = json.loads(out.read_text())
        except (OSError, ValueError):
            old = {}
        data.update({k: v for k, v in old.items() if k.startswith("deep")})
    write_atomic(out, data)
    for line in summary_lines(rows):
        print(line)
    log(f"wrote {out} ({data['wall_seconds']} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
