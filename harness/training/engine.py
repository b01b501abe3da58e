"""The training engine: many trials of one width at once, closed-form gradients, no autograd.

``train`` runs full-batch gradient descent for T trials (seeds x examples) of a
:class:`~harness.models.TwoLayerReLU` of one width, in chunks of trials sized to the device
(about 2^18 stacked n*m elements on a CPU, where batching pays only while it fits in cache;
far more on a GPU). Trials of different widths belong in different calls: padding to the
largest width was measured 6x slower than grouping.

Each trial has its own step size, its own data (or shares one problem), and its own
generator-drawn initialization, so a trial gives the same numbers alone or in any batch.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from ..runtime.chunks import run_in_chunks
from ..networks.two_layer import Params, TwoLayerReLU
from ..data.problems import Problem
from .trajectory import Trajectory

__all__ = ["LOSS_ONLY", "Record", "train"]

DIVERGENCE_FACTOR = 1e20


@dataclass(frozen=True)
class Record:
    """What to record besides the loss (each adds cost; gram checks every 10-100 steps are cheap)."""

    residual: bool = False  #: u(k) - y at every step
    drift: bool = True  #: max_r ||w_r(k) - w_r(0)|| at every step
    flips: bool = True  #: activation-pattern flip fraction at every step
    gram_every: int = 0  #: lambda_min(H(k)) and ||H(k) - H(0)|| every this many steps (0: never)
    keep_params: bool = False  #: return W(0), a(0) and W(K), a(K)


LOSS_ONLY = Record(drift=False, flips=False)


def _stack_data(problems: Problem | Sequence[Problem], T: int) -> tuple[torch.Tensor, torch.Tensor]:
    if isinstance(problems, Problem):
        return problems.X.unsqueeze(0).expand(T, -1, -1), problems.y.unsqueeze(0).expand(T, -1)
    if len(problems) != T:
        raise ValueError(f"got {len(problems)} problems for {T} trials")
    shapes = {tuple(p.X.shape) for p in problems}
    if len(shapes) != 1:
        raise ValueError(f"problems in one call must share (n, d); got {sorted(shapes)}")
    return torch.stack([p.X for p in problems]), torch.stack([p.y for p in problems])


def default_chunk_elements(device: str) -> int:
    return 1 << 18 if device == "cpu" else 1 << 25


def train(
    problems: Problem | Sequence[Problem],
    model: TwoLayerReLU,
    *,
    steps: int,
    eta: float | Sequence[float] | torch.Tensor,
    generators: Sequence[torch.Generator] | None = None,
    params: Params | None = None,
    record: Record = Record(),
    device: str = "cpu",
    dtype: torch.dtype = torch.float64,
    chunk_elements: int | None = None,
) -> Trajectory:
    """Run ``steps`` steps of GD on L = 1/2 sum (u - y)^2 for T trials; return the trajectory.

    Give either ``generators`` (one per trial: the init is drawn from it) or ``params``
    (stacked initial parameters, e.g. shared between two runs being compared).
    ``eta`` is a scalar or one step size per trial. A chunk that runs out of GPU memory
    (``torch.OutOfMemoryError``) is halved and redone, down to one trial per chunk.
    """
    if (generators is None) == (params is None):
        raise ValueError("give exactly one of generators= or params=")
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    T = len(generators) if generators is not None else int(params.W.shape[0])
    if T == 0:
        raise ValueError("no trials to train")
    X_all, y_all = _stack_data(problems, T)
    n, d = int(X_all.shape[1]), int(X_all.shape[2])
    p0 = model.init(d, list(generators)) if generators is not None else params
    if p0.W.shape[1:] != (model.width, d):
        raise ValueError(f"params have shape {tuple(p0.W.shape)}, model wants [T, {model.width}, {d}]")
    eta_all = torch.as_tensor(eta, dtype=torch.float64).flatten()
    if eta_all.numel() == 1:
        eta_all = eta_all.expand(T)
    if eta_all.numel() != T:
        raise ValueError(f"eta has {eta_all.numel()} entries for {T} trials")
    if not torch.isfinite(eta_all).all() or (eta_all < 0).any():
        raise ValueError("eta must be finite and >= 0")

    m = model.width
    per = max(1, (chunk_elements or default_chunk_elements(device)) // max(1, n * m))
    K1 = steps + 1
    gram_steps = sorted({*range(0, K1, record.gram_every), steps}) if record.gram_every > 0 else []
    out = {
        "loss": torch.empty(T, K1, dtype=torch.float64),
        "residual": torch.empty(T, K1, n, dtype=torch.float64) if record.residual else None,
        "drift": torch.empty(T, K1, dtype=torch.float64) if record.drift else None,
        "flips": torch.empty(T, K1, dtype=torch.float64) if record.flips else None,
        "output_drift": torch.empty(T, K1, dtype=torch.float64) if model.train_output else None,
        "gram_lambda_min": torch.empty(T, len(gram_steps), dtype=torch.float64) if gram_steps else None,
        "gram_change": torch.empty(T, len(gram_steps), dtype=torch.float64) if gram_steps else None,
    }
    diverged_at = torch.full((T,), -1, dtype=torch.int64)
    t0 = time.perf_counter()

    def run(lo: int, hi: int) -> Params | None:
        pK = _train_chunk(
            model,
            X_all[lo:hi].to(device=device, dtype=dtype),
            y_all[lo:hi].to(device=device, dtype=dtype),
            p0.select(slice(lo, hi)).to(device, dtype),
            eta_all[lo:hi].to(device=device, dtype=dtype),
            steps,
            record,
            gram_steps,
            {k: (v[lo:hi] if v is not None else None) for k, v in out.items()},
            diverged_at[lo:hi],
        )
        return pK.to("cpu", torch.float64) if record.keep_params else None

    # A chunk that runs out of GPU memory is halved and redone (it writes only its own rows of
    # ``out``, so the redo overwrites them); the numbers do not depend on the chunking. On a CPU
    # with several torch threads the chunks run side by side, one per thread.
    finals = [f for f in run_in_chunks(T, per, run, device=device, spread=True) if f is not None]
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()
    return Trajectory(
        model=model,
        steps=steps,
        eta=eta_all.clone(),
        dtype=dtype,
        device=device,
        diverged=diverged_at >= 0,
        diverged_at=diverged_at,
        gram_steps=gram_steps,
        params0=p0.clone() if record.keep_params else None,
        paramsK=Params(torch.cat([f.W for f in finals]), torch.cat([f.a for f in finals])) if finals else None,
        seconds=time.perf_counter() - t0,
        **out,
    )


def _dot_per_trial(A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
    """sum(A[t] * B[t]) for each trial t, without a temporary where the arrays are large.

    One trial (what a chunk holds once n m passes the chunk size): a BLAS dot product; a batched
    bmm of [1, nm] x [nm, 1] was measured 10x slower with two threads. Several small trials:
    the product and the sum (the temporary fits in cache).
    """
    if A.shape[0] == 1:
        return torch.vdot(A.reshape(-1), B.reshape(-1)).reshape(1)
    return (A * B).sum(dim=tuple(range(1, A.dim())))


@torch.no_grad()
def _train_chunk(model, X, y, p, eta, steps, record, gram_steps, out, diverged_at) -> Params:
    """GD on one chunk of trials, in the [T, n, m] layout with preallocated buffers.

    Both products of a step are wide GEMMs along the neurons: Z = X W^T ([n, d] x [d, m]) and
    the gradient (X * eta c r)^T S ([d, n] x [n, m]), with W kept transposed as [T, d, m]. The
    narrow products of the [T, m, n] layout ([m, n] x [n, d]) ran at 4-6 GFLOP/s in MKL on
    this CPU against 17-22 for the wide ones (benchmarks/bench_engine.py keeps that engine as
    ``engine@v1`` to show the difference). Recording costs one pass each: flips are
    sum(S * (1 - 2 S0)) + sum(S0) (a dot product, S and S0 in {0, 1}), drift is the largest
    squared column norm of W - W0 (square roots at the end). No host sync per step: divergence
    is tracked on the device and copied back at the end.
    """
    Tc, n, _ = X.shape
    m = model.width
    c = model.output_scale
    dev, dt = X.device, X.dtype
    Xt = X.transpose(1, 2).contiguous()  # [T, d, n]
    Wt = p.W.transpose(1, 2).contiguous()  # [T, d, m], trained in place
    W0t = Wt.clone() if out["drift"] is not None else None
    a, a0 = p.a.clone(), p.a
    # one [T, n, m] buffer: the preactivations Z, then relu(Z) in place (for u), then the pattern
    # S = 1{relu(z) > 0} = 1{z > 0} in place (for the gradient and the records): two cache-sized
    # arrays fewer than Z, A and S apart (1{z > 0} is the derivative autograd gives relu at 0; it
    # differs from 1{z >= 0} only where z = 0 exactly)
    Z = torch.empty(Tc, n, m, dtype=dt, device=dev)
    gWt = torch.empty_like(Wt)
    dW = torch.empty_like(Wt) if W0t is not None else None
    dW_sq = torch.empty(Tc, 1, m, dtype=dt, device=dev) if W0t is not None else None
    Q0 = None  # 1 - 2 S(0): flips(k) = (sum S(k) Q0 + sum S(0)) / (n m)
    S0_count = None
    H0 = None
    K_in = torch.bmm(X, Xt) if gram_steps else None
    alive = torch.ones(Tc, dtype=torch.bool, device=dev)
    div_at = torch.full((Tc,), -1, dtype=torch.int64, device=dev)
    inf = torch.tensor(float("inf"), dtype=dt, device=dev)
    loss_dev = torch.empty(Tc, steps + 1, dtype=dt, device=dev)
    drift_dev = torch.empty_like(loss_dev) if W0t is not None else None
    flips_dev = torch.empty_like(loss_dev) if out["flips"] is not None else None
    adrift_dev = torch.empty_like(loss_dev) if out["output_drift"] is not None else None
    resid_dev = torch.empty(Tc, steps + 1, n, dtype=dt, device=dev) if out["residual"] is not None else None
    g_idx = 0
    L0 = None
    for k in range(steps + 1):
        torch.bmm(X, Wt, out=Z)
        Z.clamp_min_(0)
        u = torch.bmm(Z, a.unsqueeze(2)).squeeze(2) * c
        r = u - y
        if model.train_output and k < steps:
            ga = torch.bmm(r.unsqueeze(1), Z).squeeze(1) * c
        S = Z.gt_(0)
        loss = 0.5 * (r * r).sum(dim=1)
        if k == 0:
            L0 = loss.clamp_min(torch.finfo(dt).tiny)
        # divergence: non-finite or runaway loss; the trial is frozen and reads inf from here on
        bad = alive & ~(torch.isfinite(loss) & (loss <= DIVERGENCE_FACTOR * L0))
        div_at = torch.where(bad, k, div_at)
        alive = alive & ~bad
        loss_dev[:, k] = torch.where(alive, loss, inf)
        if resid_dev is not None:
            resid_dev[:, k] = r
        if drift_dev is not None:
            torch.sub(Wt, W0t, out=dW)
            dW.mul_(dW)
            torch.sum(dW, dim=1, keepdim=True, out=dW_sq)
            drift_dev[:, k] = dW_sq.view(Tc, m).amax(dim=1)
        if adrift_dev is not None:
            adrift_dev[:, k] = (a - a0).abs().amax(dim=1)
        if k == 0 and flips_dev is not None:
            Q0 = 1 - 2 * S
            S0_count = S.sum(dim=(1, 2))
        if flips_dev is not None:
            flips_dev[:, k] = (_dot_per_trial(S, Q0) + S0_count) / (m * n)
        if g_idx < len(gram_steps) and gram_steps[g_idx] == k:
            H = K_in * torch.bmm(S * (a * a).unsqueeze(1), S.transpose(1, 2)) * (c * c)
            if H0 is None:
                H0 = H
            keep = alive.view(Tc, 1, 1)
            # eigvalsh needs finite input: diverged trials get H(0) here, then read NaN below
            ev = torch.linalg.eigvalsh(torch.where(keep, H, H0))
            dH = torch.linalg.eigvalsh(torch.where(keep, H - H0, torch.zeros_like(H)))
            nan = torch.full_like(ev[:, 0], float("nan"))
            out["gram_lambda_min"][:, g_idx] = torch.where(alive, ev[:, 0], nan).cpu().to(torch.float64)
            out["gram_change"][:, g_idx] = torch.where(alive, dH.abs().amax(dim=1), nan).cpu().to(torch.float64)
            g_idx += 1
        if k == steps:
            break
        eta_eff = torch.where(alive, eta, 0.0)
        # W_r -= eta c a_r sum_i r_i 1{z_ri > 0} x_i, i.e. W^T -= ((X * eta c r)^T S) * a
        torch.bmm(Xt * (r * (c * eta_eff).unsqueeze(1)).unsqueeze(1), S, out=gWt)
        Wt.addcmul_(gWt, a.unsqueeze(1), value=-1)
        if model.train_output:
            a = a - eta_eff.unsqueeze(1) * ga
    if drift_dev is not None:
        drift_dev.sqrt_()
    diverged_at.copy_(div_at.cpu())
    out["loss"].copy_(loss_dev.cpu().to(torch.float64))
    for key, dev_t in (("residual", resid_dev), ("drift", drift_dev), ("flips", flips_dev), ("output_drift", adrift_dev)):
        if dev_t is not None:
            out[key].copy_(dev_t.cpu().to(torch.float64))
    return Params(Wt.transpose(1, 2).contiguous(), a)
