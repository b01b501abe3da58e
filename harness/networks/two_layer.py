"""The two-layer ReLU network of Du, Zhai, Poczos, Singh (arXiv 1810.02054), batched over trials.

    f(W, a, x) = c_m * sum_{r=1}^m a_r relu(w_r^T x),   w_r(0) ~ N(0, kappa^2 I),  a_r ~ Unif{-1,+1}

with c_m = 1/sqrt(m) (``scaling="ntk"``, the paper's), 1/m (``"mean_field"``, Chizat-Bach) or 1
(``"none"``, the un-normalized model). Only W is trained unless ``train_output=True`` (DZPS
Theorem 3.3, joint training). Loss: L = 1/2 sum_i (f(x_i) - y_i)^2 -- a sum, no mean, no bias,
no Kaiming init (catalogue section 1.3: torch.nn defaults change every rate).

Parameters of T trials are stacked: W [T, m, d], a [T, m]; each trial draws from its own
``torch.Generator`` so a trial is the same whether it runs alone or in a batch.
The activation pattern of :meth:`TwoLayerReLU.gradients` is ``z >= 0`` (DZPS's indicator); the
training engine (:mod:`harness.training.engine`) uses ``z > 0``, autograd's derivative of relu at 0,
in its gradient and pattern-flip counts. The two differ only where z = 0 exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch

__all__ = ["Params", "TwoLayerReLU"]

Scaling = Literal["ntk", "mean_field", "none"]


@dataclass
class Params:
    """Stacked parameters of T trials of one width."""

    W: torch.Tensor  # [T, m, d]
    a: torch.Tensor  # [T, m]

    def clone(self) -> Params:
        return Params(self.W.clone(), self.a.clone())

    def to(self, device: str | torch.device, dtype: torch.dtype) -> Params:
        return Params(self.W.to(device=device, dtype=dtype), self.a.to(device=device, dtype=dtype))

    def select(self, idx: slice | torch.Tensor) -> Params:
        return Params(self.W[idx], self.a[idx])


@dataclass(frozen=True)
class TwoLayerReLU:
    """Model family: width, output scaling, which layers train, init scale kappa."""

    width: int
    scaling: Scaling = "ntk"
    train_output: bool = False
    init_scale: float = 1.0

    def __post_init__(self) -> None:
        if self.width < 1:
            raise ValueError(f"width must be >= 1, got {self.width}")
        if self.scaling not in ("ntk", "mean_field", "none"):
            raise ValueError(f"scaling {self.scaling!r} is not one of ntk, mean_field, none")
        if not self.init_scale > 0:
            raise ValueError(f"init_scale must be > 0, got {self.init_scale}")

    @property
    def output_scale(self) -> float:
        """c_m: the factor in front of the sum over neurons."""
        m = self.width
        return {"ntk": 1 / math.sqrt(m), "mean_field": 1 / m, "none": 1.0}[self.scaling]

    def init(self, d: int, generators: list[torch.Generator]) -> Params:
        """Draw W (N(0, kappa^2)) and a (+-1) for each trial from its own generator, float64 on CPU."""
        m = self.width
        Ws, As = [], []
        for g in generators:
            Ws.append(torch.randn(m, d, generator=g, dtype=torch.float64) * self.init_scale)
            As.append(torch.randint(0, 2, (m,), generator=g).to(torch.float64) * 2 - 1)
        return Params(torch.stack(Ws), torch.stack(As))

    def preactivations(self, p: Params, X: torch.Tensor) -> torch.Tensor:
        """z_ir = w_r . x_i, as [T, n, m]. X is [T, n, d]."""
        return torch.bmm(X, p.W.transpose(1, 2))

    def forward(self, p: Params, X: torch.Tensor) -> torch.Tensor:
        """u_i = c_m sum_r a_r relu(z_ir), as [T, n]."""
        Z = self.preactivations(p, X)
        return torch.bmm(Z.clamp_min(0), p.a.unsqueeze(2)).squeeze(2) * self.output_scale

    def loss(self, p: Params, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """L = 1/2 sum_i (u_i - y_i)^2 per trial, [T]."""
        return 0.5 * ((self.forward(p, X) - y) ** 2).sum(dim=1)

    def gradients(
        self, p: Params, X: torch.Tensor, Z: torch.Tensor, r: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Closed-form gradients of L given preactivations Z [T,n,m] and residual r = u - y [T,n].

        dL/dw_r = c_m a_r sum_i r_i 1{z_ir >= 0} x_i ;  dL/da_r = c_m sum_i r_i relu(z_ir).
        """
        c = self.output_scale
        M = (Z >= 0).to(Z.dtype) * r.unsqueeze(2)  # [T, n, m]
        gW = torch.bmm(M.transpose(1, 2), X) * (p.a * c).unsqueeze(2)  # [T, m, d]
        ga = None
        if self.train_output:
            ga = torch.bmm(Z.clamp_min(0).transpose(1, 2), r.unsqueeze(2)).squeeze(2) * c
        return gW, ga


class NaiveTwoLayer(torch.nn.Module):
    """One trial as a plain ``nn.Module`` (autograd + optim.SGD): the oracle and the benchmark baseline."""

    def __init__(self, model: TwoLayerReLU, W0: torch.Tensor, a0: torch.Tensor) -> None:
        super().__init__()
        self.c = model.output_scale
        self.fc1 = torch.nn.Linear(W0.shape[1], W0.shape[0], bias=False, dtype=W0.dtype)
        self.fc2 = torch.nn.Linear(W0.shape[0], 1, bias=False, dtype=W0.dtype)
        with torch.no_grad():
            self.fc1.weight.copy_(W0)
            self.fc2.weight.copy_(a0.unsqueeze(0))
        self.fc2.weight.requires_grad_(model.train_output)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.fc2(torch.relu(self.fc1(X))).squeeze(1) * self.c
