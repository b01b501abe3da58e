"""Kernels of the two-layer ReLU network: closed forms, Monte Carlo, and finite-width Grams.

* ``hinf``: H^inf_ij = E_{w~N(0,I)}[x_i.x_j 1{w.x_i >= 0, w.x_j >= 0}]
  = <x_i,x_j> (pi - theta_ij) / (2 pi)   (DZPS Assumption 3.1; arc-cosine kernel of degree 0
  times the linear kernel; for unit inputs the diagonal is 1/2).
* ``arccos1``: G^inf_ij = E[relu(w.x_i) relu(w.x_j)] = |x_i||x_j| (sin t + (pi - t) cos t) / (2 pi),
  the output-layer Gram of joint training (DZPS Theorem 3.3).
* ``hinf_monte_carlo``: the defining expectation, estimated with M Gaussian draws.
* ``gram_first_layer`` / ``gram_output_layer``: H(W) and G(W) of a finite network, batched.
"""

from __future__ import annotations

import math

import torch

__all__ = [
    "arccos1",
    "arccos1_monte_carlo",
    "gram_first_layer",
    "gram_output_layer",
    "hinf",
    "hinf_monte_carlo",
    "lambda_min",
]


def _angles(X: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Gram matrix, row norms and pairwise angles theta_ij in [0, pi].

    The angle is 2 atan2(||u - v||, ||u + v||) for the unit rows u, v, computed from exact
    differences: arccos of a rounded cosine is off by ~sqrt(eps) ~ 1e-8 near 0 and pi, which made
    H^inf of a duplicated input indefinite (lambda_min ~ -2e-9; found by the hinf claim).
    """
    nrm = X.norm(dim=-1, keepdim=True)
    K = X @ X.transpose(-1, -2)
    U = X / nrm
    diff = torch.cdist(U, U, compute_mode="donot_use_mm_for_euclid_dist")
    summ = torch.cdist(U, -U, compute_mode="donot_use_mm_for_euclid_dist")
    return K, nrm, 2 * torch.atan2(diff, summ)


def hinf(X: torch.Tensor) -> torch.Tensor:
    """Closed-form H^inf for the rows of ``X`` (any norms, any leading batch dims)."""
    K, _, theta = _angles(X)
    return K * (math.pi - theta) / (2 * math.pi)


def arccos1(X: torch.Tensor) -> torch.Tensor:
    """Closed-form degree-1 arc-cosine kernel E[relu(w.x_i) relu(w.x_j)], w ~ N(0, I)."""
    _, nrm, theta = _angles(X)
    return (nrm * nrm.transpose(-1, -2)) * (torch.sin(theta) + (math.pi - theta) * torch.cos(theta)) / (2 * math.pi)


def _mc_draws(X: torch.Tensor, samples: int, generator: torch.Generator | None, chunk: int):
    d = X.shape[1]
    done = 0
    while done < samples:
        s = min(chunk, samples - done)
        w = torch.randn(s, d, generator=generator, dtype=X.dtype)
        yield X @ w.T  # n x s
        done += s


def hinf_monte_carlo(
    X: torch.Tensor, samples: int, generator: torch.Generator | None = None, chunk: int = 100_000
) -> torch.Tensor:
    """Monte Carlo estimate of H^inf from its definition (standard error <= 1 / (2 sqrt(M)) per entry)."""
    acc = torch.zeros(X.shape[0], X.shape[0], dtype=X.dtype)
    for Z in _mc_draws(X, samples, generator, chunk):
        S = (Z >= 0).to(X.dtype)
        acc += S @ S.T
    return (X @ X.T) * acc / samples


def arccos1_monte_carlo(
    X: torch.Tensor, samples: int, generator: torch.Generator | None = None, chunk: int = 100_000
) -> torch.Tensor:
    acc = torch.zeros(X.shape[0], X.shape[0], dtype=X.dtype)
    for Z in _mc_draws(X, samples, generator, chunk):
        A = Z.clamp_min(0)
        acc += A @ A.T
    return acc / samples


def gram_first_layer(X: torch.Tensor, W: torch.Tensor, a: torch.Tensor, scale: float) -> torch.Tensor:
    """H(W)_ij = sum_r <du_i/dw_r, du_j/dw_r> = scale^2 x_i.x_j sum_r a_r^2 1{w_r.x_i>=0} 1{w_r.x_j>=0}.

    Batched: X [T,n,d] (or [n,d]), W [T,m,d], a [T,m] -> [T,n,n]. With scale = 1/sqrt(m) and
    a_r = +-1 this is DZPS's H(k).
    """
    if X.dim() == 2:
        X = X.expand(W.shape[0], *X.shape)
    S = (X @ W.transpose(1, 2) >= 0).to(X.dtype)  # [T,n,m]
    return (X @ X.transpose(1, 2)) * ((S * (a * a).unsqueeze(1)) @ S.transpose(1, 2)) * scale**2


def gram_output_layer(X: torch.Tensor, W: torch.Tensor, scale: float) -> torch.Tensor:
    """G(W)_ij = scale^2 sum_r relu(w_r.x_i) relu(w_r.x_j), the Gram of the output weights a."""
    if X.dim() == 2:
        X = X.expand(W.shape[0], *X.shape)
    A = (X @ W.transpose(1, 2)).clamp_min(0)
    return (A @ A.transpose(1, 2)) * scale**2


def lambda_min(K: torch.Tensor) -> torch.Tensor:
    """Smallest eigenvalue of symmetric matrices (batched)."""
    return torch.linalg.eigvalsh(K)[..., 0]
