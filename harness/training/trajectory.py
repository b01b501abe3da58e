"""What a batch of training runs leaves behind, and the checks that read it.

Every series is float64 on the CPU, indexed [trial, step] (step 0 is the initialization).
Numerical floors are explicit: a rate bound is only checked at steps where the bound itself
is above ``floor_rel`` (1e-24 relative in float64, 1e-10 in float32), so a loss sitting at
machine precision never reads as a falsification. Divergence (inf/nan, or a loss 1e20 x its
start) is recorded per trial in ``diverged`` / ``diverged_at``; later steps hold ``inf``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from ..networks.two_layer import Params, TwoLayerReLU

__all__ = ["FLOOR_REL", "BoundCheck", "Trajectory", "check_rate_bound"]

#: Relative loss below which float arithmetic, not the dynamics, decides the value.
FLOOR_REL = {torch.float64: 1e-24, torch.float32: 1e-10}


@dataclass
class BoundCheck:
    """Result of checking L(k) <= L(0) * bound_k at every checkable step, per trial."""

    worst_ratio: torch.Tensor  #: [T] max_k L(k) / (L(0) bound_k) over checked steps (<= 1 holds)
    worst_step: torch.Tensor  #: [T] step of that maximum
    first_violation: torch.Tensor  #: [T] first k with ratio > 1 + tol, or -1
    checked_steps: torch.Tensor  #: [T] number of steps checked (bound above the floor)
    worst_decay_ratio: torch.Tensor  #: [T] max_k log(bound_k) / log(L(k)/L(0)); <= 1: the loss fell at least as far (inf if L rose)

    @property
    def violated(self) -> torch.Tensor:
        return self.first_violation >= 0


@dataclass
class Trajectory:
    """Recorded evidence of T training runs of one model family and width."""

    model: TwoLayerReLU
    steps: int
    eta: torch.Tensor  #: [T]
    dtype: torch.dtype
    device: str
    loss: torch.Tensor  #: [T, K+1]
    diverged: torch.Tensor  #: [T] bool
    diverged_at: torch.Tensor  #: [T] int, -1 if not
    residual: torch.Tensor | None = None  #: [T, K+1, n], u(k) - y
    drift: torch.Tensor | None = None  #: [T, K+1], max_r ||w_r(k) - w_r(0)||
    flips: torch.Tensor | None = None  #: [T, K+1], fraction of (i, r) with changed pattern
    output_drift: torch.Tensor | None = None  #: [T, K+1], max_r |a_r(k) - a_r(0)|
    gram_steps: list[int] = field(default_factory=list)
    gram_lambda_min: torch.Tensor | None = None  #: [T, C], lambda_min(H(k)) at gram_steps (NaN once diverged)
    gram_change: torch.Tensor | None = None  #: [T, C], ||H(k) - H(0)||_2 (NaN once diverged)
    params0: Params | None = None
    paramsK: Params | None = None
    seconds: float = 0.0

    @property
    def trials(self) -> int:
        return int(self.loss.shape[0])

    @property
    def floor_rel(self) -> float:
        return FLOOR_REL[self.dtype]

    def rel_loss(self) -> torch.Tensor:
        """L(k) / L(0), [T, K+1]."""
        return self.loss / self.loss[:, :1]

    def check_rate_bound(self, per_step: torch.Tensor | float, tol: float = 1e-9) -> BoundCheck:
        """Check L(k) <= per_step^k L(0) (1 + tol) wherever per_step^k >= floor_rel (see :func:`check_rate_bound`)."""
        return check_rate_bound(self.loss, per_step, self.floor_rel, tol)

    def contraction(self, lo: float | None = None, hi: float = 1e-1) -> torch.Tensor:
        """Per-trial fitted per-step factor exp(slope of log L(k)) over steps with lo <= L/L0 <= hi.

        ``lo`` defaults to 1e6 x the floor. NaN where fewer than 3 steps qualify.
        """
        from ..contract.stats import log_linear_rate

        lo = self.floor_rel * 1e6 if lo is None else lo
        return torch.tensor([log_linear_rate(row, lo, hi) for row in self.rel_loss()], dtype=torch.float64)

    def summary(self) -> dict:
        rel = self.rel_loss()[:, -1]
        return {
            "trials": self.trials,
            "width": self.model.width,
            "steps": self.steps,
            "diverged": int(self.diverged.sum()),
            "final_rel_loss_median": float(rel.median()),
            "seconds": self.seconds,
        }


def check_rate_bound(loss: torch.Tensor, per_step: torch.Tensor | float, floor_rel: float, tol: float = 1e-9) -> BoundCheck:
    """Check L(k) <= per_step^k L(0) (1 + tol) for a [T, K+1] loss, wherever per_step^k >= floor_rel.

    ``per_step`` is a scalar or [T] (e.g. 1 - eta lambda_0 / 2). ||y - u||^2 = 2L, so the DZPS bound
    on the squared residual is the same bound on L. A non-finite loss (divergence) is a violation.
    """
    T, K1 = loss.shape
    rho = torch.as_tensor(per_step, dtype=torch.float64).expand(T).reshape(T, 1)
    k = torch.arange(K1, dtype=torch.float64).reshape(1, K1)
    log_bound = k * torch.log(rho.clamp_min(1e-300))
    checkable = (log_bound >= torch.log(torch.tensor(floor_rel, dtype=torch.float64))) & (k >= 1)
    rel = loss / loss[:, :1]
    with torch.no_grad():
        log_ratio = torch.log(rel.clamp_min(1e-300)) - log_bound
        log_ratio = torch.where(torch.isfinite(rel), log_ratio, torch.full_like(log_ratio, float("inf")))
    log_ratio = torch.where(checkable, log_ratio, torch.full_like(log_ratio, -float("inf")))
    worst, worst_k = log_ratio.max(dim=1)
    bad = log_ratio > torch.log1p(torch.tensor(tol, dtype=torch.float64))
    first = torch.where(bad.any(dim=1), bad.to(torch.int64).argmax(dim=1), torch.full((T,), -1))
    # scale-free closeness: the fraction of the loss's log-decay that the bound asks for
    log_rel = torch.log(rel.clamp_min(1e-300))
    decay = torch.where(log_rel < 0, log_bound / log_rel, torch.full_like(log_rel, float("inf")))
    decay = torch.where(torch.isfinite(rel) | ~checkable, decay, torch.full_like(decay, float("inf")))
    decay = torch.where(checkable & (log_bound < 0), decay, torch.full_like(decay, -float("inf")))
    return BoundCheck(worst.exp(), worst_k, first, checkable.sum(dim=1).expand(T), decay.max(dim=1).values)
