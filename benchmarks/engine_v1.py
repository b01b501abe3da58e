"""The two-layer engine's step as it was before the [T, n, m] layout (kept to time it side by side).

``bench_engine.py`` swaps this in for ``harness.training.engine._train_chunk`` to time the
``engine@v1`` rows next to today's engine in one run. It is the old [T, m, n] (neuron-major)
step, cut down to what the benchmark records: the loss, and drift and flips every step (no
Gram records, residuals or trained output layer).
"""

from __future__ import annotations

import torch

from harness.networks.two_layer import Params
from harness.training.engine import DIVERGENCE_FACTOR


@torch.no_grad()
def train_chunk_v1(model, X, y, p, eta, steps, record, gram_steps, out, diverged_at) -> Params:
    if gram_steps or out["residual"] is not None or model.train_output:
        raise NotImplementedError("engine@v1 is kept for the benchmark's loss, drift and flips only")
    Tc, n, _ = X.shape
    m, c = model.width, model.output_scale
    Xt = X.transpose(1, 2).contiguous()
    W, W0, a = p.W.clone(), p.W, p.a
    Zt = torch.empty(Tc, m, n, dtype=X.dtype, device=X.device)
    A, Sf, S0 = torch.empty_like(Zt), torch.empty_like(Zt), None
    gW, dW = torch.empty_like(W), torch.empty_like(W)
    alive = torch.ones(Tc, dtype=torch.bool, device=X.device)
    div_at = torch.full((Tc,), -1, dtype=torch.int64, device=X.device)
    rec = {key: torch.empty(Tc, steps + 1, dtype=X.dtype, device=X.device) for key in ("loss", "drift", "flips") if out[key] is not None}
    L0 = None
    for k in range(steps + 1):
        torch.bmm(W, Xt, out=Zt)
        torch.clamp_min(Zt, 0, out=A)
        r = torch.bmm(a.unsqueeze(1), A).squeeze(1) * c - y
        loss = 0.5 * (r * r).sum(dim=1)
        L0 = loss.clamp_min(torch.finfo(X.dtype).tiny) if k == 0 else L0
        bad = alive & ~(torch.isfinite(loss) & (loss <= DIVERGENCE_FACTOR * L0))
        div_at = torch.where(bad, k, div_at)
        alive = alive & ~bad
        rec["loss"][:, k] = torch.where(alive, loss, float("inf"))
        if "drift" in rec:
            torch.sub(W, W0, out=dW)
            rec["drift"][:, k] = torch.linalg.vector_norm(dW, dim=2).amax(dim=1)
        torch.ge(Zt, 0, out=Sf)
        if "flips" in rec:
            S0 = Sf.clone() if k == 0 else S0
            rec["flips"][:, k] = torch.count_nonzero(torch.ne(Sf, S0), dim=(1, 2)).to(X.dtype) / (m * n)
        if k == steps:
            break
        eta_eff = torch.where(alive, eta, 0.0)
        Sf.mul_(r.unsqueeze(1))
        torch.bmm(Sf, X, out=gW)
        gW.mul_((a * (c * eta_eff).unsqueeze(1)).unsqueeze(2))
        W.sub_(gW)
    diverged_at.copy_(div_at.cpu())
    for key, dev_t in rec.items():
        out[key].copy_(dev_t.cpu().to(torch.float64))
    return Params(W, a)
