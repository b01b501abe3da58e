"""Deep families: batched training and the torch.func empirical NTK against plain per-trial loops.

Every trial is 100 steps of full-batch GD on L = 1/2 sum (u - y)^2 for one deep family
(``harness.networks.deep.DeepNet``: ``fc`` and ``resnet`` with softplus, ``he`` with ReLU, and ``cnn_resnet``
when the installed harness has it), depth H = 4, on ``ProblemSpec(n=20, d=10, seed=i)`` for trial
i, with eta = 0.5 / lambda_max(Theta(0)) of trial 0. Per family and width m in (64, 256, 1024):

* ``naive``: one trial at a time, a plain ``torch.nn.Module`` written from the paper's equations
  (``nn.Linear`` layers without bias, the same initial weights) + ``torch.optim.SGD``, autograd,
  ``loss.item()`` every step -- how a user would write it (``cnn_resnet``: ``nn.Conv1d`` layers);
* ``batched``: ``harness.training.deep_engine.train_deep`` given all T trials; it chooses how many
  to train at once (``default_chunk_trials``: all on a GPU, on a CPU as many as fit a cache-sized
  budget, side by side on the threads) and the row records that choice (``chunk_trials``,
  ``chunking``). Naive and batched take turns round after round; each row is a median.

And the empirical NTK Theta = J J^T of all trained layers at init, m in (64, 256):
``ntk_loop`` (per trial, per input ``torch.autograd.grad`` of the output, then J J^T) against
``ntk_vmap`` (``harness.networks.deep.empirical_ntk``: ``torch.func`` jacrev + vmap over inputs and trials) and
``ntk_layerwise`` (``harness.networks.deep.layerwise_ntk``: no Jacobians; fc, resnet, he).

Results go into the ``deep`` section of ``reports/bench.json`` (the two-layer engine's rows, written
by ``bench_engine.py``, are kept; each script keeps the other's section).

    python benchmarks/bench_deep.py [--quick] [--device cpu|cuda|auto] [--dtype float64|float32]
                                    [--families fc,resnet,he] [--out reports/bench.json]
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_engine import _cpu_busy, _loadavg, log, machine_info, sync, write_atomic

from harness.networks.deep import DeepNet, activation, empirical_ntk, layerwise_ntk
from harness.training.deep_engine import train_deep
from harness.runtime.devices import configure_numerics
from harness.data.problems import ProblemSpec
from harness.runtime.seeding import trial_generators

N, D, DEPTH = 20, 10, 4
STEPS = 100  #: steps of one trial; trials_per_s is per 100-step trial
WIDTHS = (64, 256, 1024)
NTK_WIDTHS = (64, 256)
LAYERWISE = ("fc", "resnet", "he")  # the families harness.networks.deep.layerwise_ntk covers
DTYPES = {"float64": torch.float64, "float32": torch.float32}
FAMILIES = {"fc": "softplus", "resnet": "softplus", "he": "relu", "cnn_resnet": "softplus"}
SEED_TAG = "bench.deep"

FULL = {"T": {64: 32, 256: 8, 1024: 4}, "T_cuda": {64: 512, 256: 128, 1024: 32}, "naive_trials": {64: 4, 256: 2, 1024: 1}, "steps": STEPS, "repeats": 3, "ntk_T": 4}
QUICK = {"T": {64: 8, 256: 4, 1024: 2}, "T_cuda": {64: 64, 256: 32, 1024: 8}, "naive_trials": {64: 2, 256: 1, 1024: 1}, "steps": 30, "repeats": 3, "ntk_T": 2}


class NaiveDeep(nn.Module):
    """One trial of a ``fc`` / ``resnet`` / ``he`` family as a plain module (a user's implementation)."""

    def __init__(self, net: DeepNet, params: dict[str, torch.Tensor]) -> None:
        super().__init__()
        self.net = net
        self.sigma = activation(net.activation)
        if net.family == "he":
            self.first = nn.Linear(params["A"].shape[1], net.width, bias=False)
            self.first.weight = nn.Parameter(params["A"].clone(), requires_grad=False)
            self.out = nn.Parameter(params["B"].clone(), requires_grad=False)
        else:
            self.first = nn.Linear(params["W1"].shape[1], net.width, bias=False)
            self.first.weight = nn.Parameter(params["W1"].clone())
            self.out = nn.Parameter(params["a"].clone())
        self.layers = nn.ModuleList()
        for w in params["W"]:
            lin = nn.Linear(net.width, net.width, bias=False)
            lin.weight = nn.Parameter(w.clone())
            self.layers.append(lin)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        net, m, H = self.net, self.net.width, self.net.depth
        if net.family == "he":
            h = torch.relu(self.first(X))
            for lin in self.layers:
                h = torch.relu(lin(h))
            return h @ self.out
        c = math.sqrt(net.c_sigma / m)
        h = c * self.sigma(self.first(X))
        for lin in self.layers:
            z = self.sigma(lin(h))
            h = h + (net.c_res / (H * math.sqrt(m))) * z if net.family == "resnet" else c * z
        return h @ self.out


class NaiveCnnResnet(nn.Module):
    """One trial of ``cnn_resnet`` as a plain module: ``nn.Conv1d`` layers (no bias, zero padding
    (q - 1) / 2, the same initial weights: patch row k c + i of W is channel i at offset k)."""

    def __init__(self, net: DeepNet, params: dict[str, torch.Tensor]) -> None:
        super().__init__()
        self.net = net
        self.sigma = activation(net.activation)
        m, q = net.width, net.patch

        def conv(W: torch.Tensor, c_in: int) -> nn.Conv1d:
            layer = nn.Conv1d(c_in, m, q, padding=q // 2, bias=False)
            layer.weight = nn.Parameter(W.view(m, q, c_in).permute(0, 2, 1).contiguous())
            return layer

        self.first = conv(params["W1"], net.channels_in)
        self.layers = nn.ModuleList(conv(w, m) for w in params["W"])
        self.out = nn.Parameter(params["a"].clone())  # [m, p]

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        net, m, H = self.net, self.net.width, self.net.depth
        x = X.view(X.shape[0], net.channels_in, -1)  # [n, c, p]
        x = math.sqrt(net.c_sigma / m) * self.sigma(self.first(x))
        for layer in self.layers:
            x = x + (net.c_res / (H * math.sqrt(m))) * self.sigma(layer(x))
        return torch.einsum("nmp,mp->n", x, self.out)


def _problem(i: int, device: str, dtype: torch.dtype):
    p = ProblemSpec(n=N, d=D, seed=i).build()
    return p.X.to(device=device, dtype=dtype), p.y.to(device=device, dtype=dtype)


def _net(family: str, m: int) -> DeepNet:
    if family == "cnn_resnet":
        return DeepNet(family, m, DEPTH, FAMILIES[family])  # its input layout is the family's own
    return DeepNet(family, m, DEPTH, FAMILIES[family])


def _eta(net: DeepNet, X: torch.Tensor) -> float:
    params = net.init(X.shape[1], trial_generators(SEED_TAG, 0, 1))
    theta = empirical_ntk(net, params, X.cpu().to(torch.float64))
    return 0.5 / float(torch.linalg.eigvalsh(theta)[0, -1])


def naive_trial(net: DeepNet, i: int, steps: int, eta: float, device: str, dtype: torch.dtype) -> list[float]:
    X, y = _problem(0, device, dtype)  # every trial trains on the same data in both engines
    params = net.init(X.shape[1], trial_generators(SEED_TAG, 0, i + 1)[i:])
    params = {k: v[0].to(device=device, dtype=dtype) for k, v in params.items()}
    model = (NaiveCnnResnet if net.family == "cnn_resnet" else NaiveDeep)(net, params).to(device=device, dtype=dtype)
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=eta)
    losses = []
    for _ in range(steps + 1):
        opt.zero_grad()
        loss = 0.5 * ((model(X) - y) ** 2).sum()
        losses.append(loss.item())
        if len(losses) > steps:
            break
        loss.backward()
        opt.step()
    return losses


def batched(net: DeepNet, T: int, steps: int, eta: float, device: str, dtype: torch.dtype):
    X, y = _problem(0, device, dtype)
    params = net.init(X.shape[1], trial_generators(SEED_TAG, 0, T))
    tr = train_deep(net, params, X, y, steps=steps, eta=eta, device=device, dtype=dtype)
    sync(device)
    return tr


def ntk_loop(net: DeepNet, T: int, device: str, dtype: torch.dtype) -> torch.Tensor:
    X, _ = _problem(0, device, dtype)
    params = net.init(X.shape[1], trial_generators(SEED_TAG, 0, T))
    out = []
    for t in range(T):
        p = {k: v[t : t + 1].to(device=device, dtype=dtype).requires_grad_(k in net.trainable) for k, v in params.items()}
        rows = []
        for i in range(X.shape[0]):
            u = net.forward(p, X[i : i + 1]).sum()
            g = torch.autograd.grad(u, [p[k] for k in net.trainable])
            rows.append(torch.cat([x.flatten() for x in g]))
        J = torch.stack(rows)
        out.append(J @ J.T)
    sync(device)
    return torch.stack(out)


def ntk_vmap(net: DeepNet, T: int, device: str, dtype: torch.dtype) -> torch.Tensor:
    X, _ = _problem(0, device, dtype)
    params = {k: v.to(device=device, dtype=dtype) for k, v in net.init(X.shape[1], trial_generators(SEED_TAG, 0, T)).items()}
    th = empirical_ntk(net, params, X)
    sync(device)
    return th


def ntk_layerwise(net: DeepNet, T: int, device: str, dtype: torch.dtype) -> torch.Tensor:
    X, _ = _problem(0, device, dtype)
    params = {k: v.to(device=device, dtype=dtype) for k, v in net.init(X.shape[1], trial_generators(SEED_TAG, 0, T)).items()}
    th = layerwise_ntk(net, params, X)
    sync(device)
    return th


def _median_time(fn, repeats: int, *args):
    times, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn(*args)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times, result


def bench(device: str, dtype_name: str, cfg: dict, families: list[str], widths: tuple[int, ...]) -> tuple[list[dict], list[dict]]:
    dtype = DTYPES[dtype_name]
    rows, checks = [], []
    steps = cfg["steps"]
    for family in families:
        for m in widths:
            net = _net(family, m)
            eta = _eta(net, _problem(0, "cpu", torch.float64)[0])
            base = {"device": device, "dtype": dtype_name, "family": family, "activation": net.activation, "m": m, "depth": DEPTH, "n": N}
            k = cfg["naive_trials"][m]
            Ts = [cfg["T"][m]] + ([cfg["T_cuda"][m]] if device.startswith("cuda") else [])
            log(f"{device}/{dtype_name} {family} m={m}: naive ({k} trial(s)) and batched (T={Ts}) x {steps} steps, "
                f"{cfg['repeats']} round(s), interleaved ...")
            naive_trial(net, 0, min(steps, 3), eta, device, dtype)  # warm-ups
            for T in Ts:
                batched(net, T, min(steps, 3), eta, device, dtype)
            # naive and batched take turns, round after round, so a slow spell of the machine hits
            # both; each row is the median of its rounds
            naive_times, batched_times, trajs = [], {T: [] for T in Ts}, {}
            for _ in range(cfg["repeats"]):
                t0 = time.perf_counter()
                naive_losses = [naive_trial(net, i, steps, eta, device, dtype) for i in range(k)]
                naive_times.append(time.perf_counter() - t0)
                for T in Ts:
                    t0 = time.perf_counter()
                    trajs[T] = batched(net, T, steps, eta, device, dtype)
                    batched_times[T].append(time.perf_counter() - t0)
            sec = statistics.median(naive_times)
            naive = {**base, "engine": "naive", "batch": 1, "trials": k, "steps": steps,
                     "seconds": sec, "seconds_all": naive_times}
            naive["trials_per_s"] = k / sec * steps / STEPS
            naive["speedup_vs_naive"] = 1.0
            rows.append(naive)
            for T in Ts:
                sec, tr = statistics.median(batched_times[T]), trajs[T]
                row = {**base, "engine": "batched", "batch": T, "trials": T, "steps": steps, "seconds": sec, "seconds_all": batched_times[T],
                       "chunk_trials": tr.chunk_trials, "chunking": tr.chunking}
                row["trials_per_s"] = T / sec * steps / STEPS
                row["speedup_vs_naive"] = row["trials_per_s"] / naive["trials_per_s"]
                rows.append(row)
                log(f"  T={T}: {row['trials_per_s']:.3g} trials/s, {row['speedup_vs_naive']:.2f}x naive (naive {naive['trials_per_s']:.3g}); {tr.chunking}")
                if cfg["T"][m] == T:
                    a = torch.tensor(naive_losses[0], dtype=torch.float64)
                    b = tr.loss[0, : a.numel()]
                    checks.append({"device": device, "dtype": dtype_name, "family": family, "m": m, "max_rel_loss_diff": float(((a - b).abs() / b.abs()).max())})
        for m in (w for w in NTK_WIDTHS if w in widths):
            net = _net(family, m)
            T = cfg["ntk_T"]
            base = {"device": device, "dtype": dtype_name, "family": family, "activation": net.activation, "m": m, "depth": DEPTH, "n": N, "batch": T}
            log(f"{device}/{dtype_name} {family} m={m}: NTK of {T} trials, loop and vmap ...")
            ntk_vmap(net, 1, device, dtype)  # warm-up
            sl, _, th_loop = _median_time(ntk_loop, cfg["repeats"], net, T, device, dtype)
            sv, _, th_vmap = _median_time(ntk_vmap, cfg["repeats"], net, T, device, dtype)
            rel = float(((th_loop - th_vmap).abs().max() / th_loop.abs().max()).cpu())
            rows.append({**base, "engine": "ntk_loop", "seconds": sl, "ntks_per_s": T / sl, "speedup_vs_naive": 1.0})
            rows.append({**base, "engine": "ntk_vmap", "seconds": sv, "ntks_per_s": T / sv, "speedup_vs_naive": sl / sv})
            check = {"device": device, "dtype": dtype_name, "family": family, "m": m, "ntk_max_rel_diff": rel}
            log(f"  loop {T / sl:.3g} NTKs/s, vmap {T / sv:.3g} NTKs/s ({sl / sv:.1f}x), max rel diff {rel:.1e}")
            if family in LAYERWISE:
                sw, _, th_lw = _median_time(ntk_layerwise, cfg["repeats"], net, T, device, dtype)
                rows.append({**base, "engine": "ntk_layerwise", "seconds": sw, "ntks_per_s": T / sw, "speedup_vs_naive": sl / sw})
                check["ntk_layerwise_max_rel_diff"] = float(((th_loop - th_lw).abs().max() / th_loop.abs().max()).cpu())
                log(f"  layerwise {T / sw:.3g} NTKs/s ({sl / sw:.1f}x loop), max rel diff {check['ntk_layerwise_max_rel_diff']:.1e}")
            checks.append(check)
    return rows, checks


def summary_lines(rows: list[dict]) -> list[str]:
    out = [f"{'device':<7}{'dtype':<9}{'family':<11}{'m':>6} {'engine':<17}{'T':>5}{'per s':>11}{'speedup':>9}"]
    for r in rows:
        rate = r.get("trials_per_s", r.get("ntks_per_s"))
        out.append(f"{r['device']:<7}{r['dtype']:<9}{r['family']:<11}{r['m']:>6} {r['engine']:<17}{r['batch']:>5}{rate:>11.3g}{r['speedup_vs_naive']:>8.1f}x")
    return out


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer trials and steps (scaled to 100-step trials)")
    ap.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="auto: cuda if available, else cpu")
    ap.add_argument("--dtype", default="float64", choices=sorted(DTYPES), help="training dtype (default float64)")
    ap.add_argument("--families", default="", help="comma-separated subset of fc,resnet,he,cnn_resnet (default: all the harness has)")
    ap.add_argument("--widths", default=",".join(map(str, WIDTHS)), help="comma-separated subset of 64,256,1024")
    ap.add_argument("--out", default="reports/bench.json", help="the JSON file whose 'deep' section is (re)written")
    return ap.parse_args(argv)


def _available_families() -> list[str]:
    out = []
    for f in FAMILIES:
        try:
            DeepNet(f, 8, 2, FAMILIES[f])
        except ValueError:
            continue
        out.append(f)
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    elif args.device == "cuda" and not torch.cuda.is_available():
        print(f"--device cuda: this torch ({torch.__version__}) sees no CUDA device", file=sys.stderr)
        return 2
    else:
        device = args.device
    have = _available_families()
    families = [f for f in args.families.split(",") if f] or have
    bad = [f for f in families if f not in have]
    if bad:
        print(f"--families: {bad} not among the families this harness has ({', '.join(have)})", file=sys.stderr)
        return 2
    try:
        widths = tuple(int(w) for w in args.widths.split(","))
    except ValueError:
        print(f"--widths {args.widths!r}: not a comma-separated list of integers", file=sys.stderr)
        return 2
    if any(w not in WIDTHS for w in widths):
        print(f"--widths: {[w for w in widths if w not in WIDTHS]} not among {WIDTHS}", file=sys.stderr)
        return 2
    configure_numerics()
    cfg = QUICK if args.quick else FULL
    busy, load_start, t0 = _cpu_busy(), _loadavg(), time.perf_counter()
    rows, checks = bench(device, args.dtype, cfg, families, widths)
    section = {
        "timestamp": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.argv[0]).name, *(argv if argv is not None else sys.argv[1:])]),
        "mode": "quick" if args.quick else "full",
        "wall_seconds": round(time.perf_counter() - t0, 2),
        "machine": {**machine_info([device]), "cpu_busy_before": busy, "loadavg_start": load_start, "loadavg_end": _loadavg()},
        "problem": {"n": N, "d": D, "depth": DEPTH, "data": "ProblemSpec(n=20, d=10, seed=0) for every trial", "eta": "0.5 / lambda_max(Theta(0)) of trial 0"},
        "notes": [
            f"trials_per_s is {STEPS}-step trials per second (rows timed with fewer steps are scaled linearly).",
            "batched seconds is the median over repeats after an untimed warm-up; naive rows time one pass over their trials.",
            "checks: naive vs batched loss of trial 0 (same init, same data) and loop vs vmap and layerwise NTK.",
            "ntk_layerwise: harness.networks.deep.layerwise_ntk, (B_h B_h^T) * (x x^T) per layer, no Jacobians (fc, resnet, he).",
        ],
        "checks": checks,
        "rows": rows,
    }
    out = Path(args.out)
    data = json.loads(out.read_text()) if out.exists() else {"schema": "theorem-check/bench", "schema_version": 1}
    key = "deep" if device == "cpu" else f"deep_{device.split(':')[0]}"
    data[key] = section
    write_atomic(out, data)
    print("\n".join(summary_lines(rows)))
    print(f"wrote the '{key}' section of {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
