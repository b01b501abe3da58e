"""Small multilayer perceptrons on flat parameter vectors, batched over trials: the model of the
landscape claims (mode connectivity, critical points and Hessian spectra, SGD noise).

A network with layer sizes (d, h_1, ..., h_k, c) and activation sigma is

    z_0 = x,  z_l = sigma(W_l z_(l-1) + b_l) for l = 1..k,  f(x) = W_(k+1) z_k + b_(k+1),

in the standard parameterization: W_l ~ N(0, 1 / fan_in) entrywise (LeCun normal), b_l = 0 at init.
Its parameters live in one flat vector theta of length :attr:`MLP.n_params` (W_1, b_1, W_2, b_2, ...,
each weight row-major), so a path between two networks, a Hessian or a Lanczos iteration is plain
linear algebra on vectors. Every function takes theta as [P] (one network) or [T, P] (T networks,
evaluated by batched matrix products, never a Python loop over trials).

Losses use the mean over examples (the landscape literature's convention): ``"mse"`` is
1/(2n) sum_i ||f(x_i) - y_i||^2, ``"ce"`` the mean softmax cross-entropy with integer labels.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import torch

__all__ = ["MLP", "MLPTrajectory", "train_mlp"]

Loss = Literal["mse", "ce"]

_ACTIVATIONS = {
    "tanh": torch.tanh,
    "relu": torch.relu,
    "softplus": torch.nn.functional.softplus,
    "gelu": torch.nn.functional.gelu,
    "sigmoid": torch.sigmoid,
}


@dataclass(frozen=True)
class MLP:
    """Layer sizes (d, h_1, ..., c) and an activation (tanh, relu, softplus, gelu, sigmoid)."""

    sizes: tuple[int, ...]
    activation: str = "tanh"

    def __post_init__(self) -> None:
        object.__setattr__(self, "sizes", tuple(int(s) for s in self.sizes))
        if len(self.sizes) < 2 or min(self.sizes) < 1:
            raise ValueError(f"sizes must be at least (inputs, outputs), all >= 1, got {self.sizes}")
        if self.activation not in _ACTIVATIONS:
            raise ValueError(f"activation {self.activation!r} is not one of {', '.join(_ACTIVATIONS)}")

    @property
    def shapes(self) -> list[tuple[tuple[int, int], tuple[int]]]:
        """(weight shape, bias shape) per layer."""
        return [((o, i), (o,)) for i, o in zip(self.sizes[:-1], self.sizes[1:], strict=True)]

    @property
    def n_params(self) -> int:
        return sum(o * i + o for (o, i), _ in self.shapes)

    @property
    def outputs(self) -> int:
        return self.sizes[-1]

    def unflatten(self, theta: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Views (W_l [..., out, in], b_l [..., out]) of theta [..., P]."""
        if theta.shape[-1] != self.n_params:
            raise ValueError(f"theta has {theta.shape[-1]} parameters, the MLP {self.sizes} has {self.n_params}")
        out, k = [], 0
        lead = theta.shape[:-1]
        for (o, i), _ in self.shapes:
            W = theta[..., k : k + o * i].reshape(*lead, o, i)
            k += o * i
            b = theta[..., k : k + o]
            k += o
            out.append((W, b))
        return out

    def init(self, generators: Sequence[torch.Generator], dtype: torch.dtype = torch.float64) -> torch.Tensor:
        """[T, P]: one LeCun-normal draw per generator (weights N(0, 1/fan_in), biases 0)."""
        rows = []
        for g in generators:
            parts = []
            for (o, i), _ in self.shapes:
                parts.append(torch.randn(o * i, generator=g, dtype=torch.float64) / math.sqrt(i))
                parts.append(torch.zeros(o, dtype=torch.float64))
            rows.append(torch.cat(parts))
        return torch.stack(rows).to(dtype)

    def forward(self, theta: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
        """Outputs [n, c] for theta [P], [T, n, c] for theta [T, P]; X is [n, d] (or [T, n, d])."""
        single = theta.dim() == 1
        th = theta.unsqueeze(0) if single else theta
        z = X.unsqueeze(0) if X.dim() == 2 else X
        sigma = _ACTIVATIONS[self.activation]
        layers = self.unflatten(th)
        for li, (W, b) in enumerate(layers):
            z = z @ W.transpose(-1, -2) + b.unsqueeze(-2)
            if li < len(layers) - 1:
                z = sigma(z)
        return z[0] if single else z

    def loss(self, theta: torch.Tensor, X: torch.Tensor, y: torch.Tensor, kind: Loss = "mse") -> torch.Tensor:
        """Mean loss over the n examples: a scalar for theta [P], [T] for theta [T, P].

        ``mse``: y is [n] (one output) or [n, c]; ``ce``: y holds integer labels [n]."""
        u = self.forward(theta, X)
        if kind == "mse":
            if self.outputs == 1:  # y is [n] (or [T, n] per trial)
                return 0.5 * ((u.squeeze(-1) - y.to(u.dtype)) ** 2).mean(dim=-1)
            return 0.5 * ((u - y.to(u.dtype)) ** 2).sum(dim=-1).mean(dim=-1)
        if kind == "ce":
            if self.outputs < 2:
                raise ValueError("cross-entropy needs an MLP with >= 2 outputs")
            logp = torch.log_softmax(u, dim=-1)
            return -torch.gather(logp, -1, y.to(torch.int64).expand(*u.shape[:-1]).unsqueeze(-1)).squeeze(-1).mean(dim=-1)
        raise ValueError(f"loss {kind!r} is not one of mse, ce")

    def accuracy(self, theta: torch.Tensor, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Training accuracy (classification): a scalar for theta [P], [T] for [T, P]."""
        return (self.forward(theta, X).argmax(dim=-1) == y).to(theta.dtype).mean(dim=-1)


@dataclass
class MLPTrajectory:
    """What :func:`train_mlp` records for T trials."""

    theta: torch.Tensor  #: [T, P] final parameters
    loss: torch.Tensor  #: [T, K+1] full-batch loss at every step (inf after divergence)
    diverged: torch.Tensor  #: [T]
    seconds: float = 0.0
    grad_norm: torch.Tensor | None = field(default=None)  #: [T] full-batch gradient norm at the end


def train_mlp(
    mlp: MLP,
    theta: torch.Tensor,
    X: torch.Tensor,
    y: torch.Tensor,
    *,
    steps: int,
    lr: float | torch.Tensor,
    loss: Loss = "mse",
    batch_size: int | None = None,
    generators: Sequence[torch.Generator] | None = None,
    device: str = "cpu",
    dtype: torch.dtype = torch.float64,
) -> MLPTrajectory:
    """Plain GD (``batch_size`` None or >= n) or SGD (each step every trial draws ``batch_size``
    distinct examples from its own generator and steps along the minibatch mean gradient), with
    ``lr`` one float or one per trial. No momentum, no weight decay: the step is exactly
    theta <- theta - lr grad. The full-batch loss is recorded at every step; a trial whose loss turns
    non-finite or exceeds 1e20 x L(0) is marked diverged and frozen."""
    T, n = theta.shape[0], X.shape[0]
    sgd = batch_size is not None and batch_size < n
    if batch_size is not None and batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if sgd and (generators is None or len(generators) != T):
        raise ValueError(f"SGD (batch_size={batch_size} < n={n}) needs one generator per trial ({T})")
    th = theta.to(device=device, dtype=dtype).clone()
    Xd = X.to(device=device, dtype=dtype)
    yd = y.to(device=device, dtype=torch.int64 if loss == "ce" else dtype)
    lr_t = torch.as_tensor(lr, dtype=dtype, device=device).flatten().expand(T).clone().unsqueeze(1)
    losses = torch.empty(T, steps + 1, dtype=dtype, device=device)
    alive = torch.ones(T, dtype=torch.bool, device=device)
    L0 = None
    t0 = time.perf_counter()
    for k in range(steps + 1):
        th.requires_grad_(True)
        full = mlp.loss(th, Xd, yd, loss)
        if k == 0:
            L0 = full.detach().clamp_min(torch.finfo(dtype).tiny)
        alive = alive & torch.isfinite(full.detach()) & (full.detach() <= 1e20 * L0)
        losses[:, k] = torch.where(alive, full.detach(), torch.full_like(L0, float("inf")))
        if k == steps:
            g_end = torch.autograd.grad(full.sum(), th)[0]
            break
        if sgd:
            idx = torch.stack([torch.randperm(n, generator=g)[:batch_size] for g in generators]).to(device)
            yb = torch.gather(yd.expand(T, n), 1, idx) if yd.dim() == 1 else yd[idx]
            obj = mlp.loss(th, Xd[idx], yb, loss)
        else:
            obj = full
        (g,) = torch.autograd.grad(obj.sum(), th)
        with torch.no_grad():
            th = th.detach() - torch.where(alive.unsqueeze(1), lr_t, torch.zeros_like(lr_t)) * torch.nan_to_num(g)
    return MLPTrajectory(
        theta=th.detach().cpu().to(torch.float64),
        loss=losses.cpu().to(torch.float64),
        diverged=~alive.cpu(),
        seconds=time.perf_counter() - t0,
        grad_norm=g_end.detach().norm(dim=1).cpu().to(torch.float64),
    )
