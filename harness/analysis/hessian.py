"""Curvature of a loss over a flat parameter vector: Hessian-vector products, the full Hessian,
Lanczos and power iteration for the extreme eigenvalues.

Everything takes ``f``, a function of a flat parameter vector theta [P] returning a scalar (for an
:class:`~harness.mlp.MLP`: ``loss_fn(mlp, X, y)``), and uses ``torch.func``:

* :func:`hvp` -- H v by forward-over-reverse differentiation (``jvp`` of ``grad``): one gradient's
  cost, no P x P matrix.
* :func:`hessian` -- the dense Hessian (``torch.func.hessian``), for P up to a few thousand.
* :func:`lanczos` -- the k largest / smallest eigenvalues by scipy's ARPACK Lanczos
  (``scipy.sparse.linalg.eigsh``) on a ``LinearOperator`` whose matvec is :func:`hvp`.
* :func:`top_eigenvalue` -- power iteration on H, batched over T parameter vectors with ``vmap``
  (the sharpness of many trained networks at once).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import torch
from scipy.sparse.linalg import LinearOperator, eigsh
from torch.func import grad, jvp, vmap

__all__ = ["hessian", "hvp", "lanczos", "loss_fn", "quiet_forward_ad", "top_eigenvalue"]

_FORWARD_AD_READY = [False]


def quiet_forward_ad() -> None:
    """Load torch's forward-mode AD decompositions once, without their warning. On its first use,
    forward-mode AD (``jvp``, ``jacfwd``, ``torch.func.hessian``) scripts torch's own decompositions
    with ``torch.jit.script``, which warns "`torch.jit.script` is deprecated" (torch 2.13): a torch
    internal that no user of the harness can act on, printed in every run of the landscape claims."""
    if _FORWARD_AD_READY[0]:
        return
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"`torch.jit.script` is deprecated", category=DeprecationWarning)
        import torch._decomp.decompositions_for_jvp  # noqa: F401
    _FORWARD_AD_READY[0] = True

Scalar = Callable[[torch.Tensor], torch.Tensor]


def loss_fn(mlp, X: torch.Tensor, y: torch.Tensor, kind: str = "mse") -> Scalar:
    """theta [P] -> the MLP's mean training loss (a closure for the functions below)."""
    return lambda theta: mlp.loss(theta, X, y, kind)


def hvp(f: Scalar, theta: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """H(theta) v, H the Hessian of f at theta (forward-over-reverse)."""
    quiet_forward_ad()
    return jvp(grad(f), (theta,), (v,))[1]


def hessian(f: Scalar, theta: torch.Tensor) -> torch.Tensor:
    """The dense, symmetrized P x P Hessian of f at theta."""
    quiet_forward_ad()  # torch.func.hessian is forward-over-reverse
    H = torch.func.hessian(f)(theta)
    return 0.5 * (H + H.T)


def lanczos(f: Scalar, theta: torch.Tensor, k: int = 1, which: str = "LA", tol: float = 1e-10, seed: int = 0) -> np.ndarray:
    """The k eigenvalues of H(theta) at one end of its spectrum by Lanczos (ARPACK ``eigsh``):
    ``which="LA"`` largest algebraic, ``"SA"`` smallest algebraic, ``"LM"`` largest magnitude.
    Sorted ascending. The start vector is drawn from ``seed`` (reproducible)."""
    P = theta.numel()
    if not 1 <= k < P:
        raise ValueError(f"k must be in 1..{P - 1} for a {P}-parameter Hessian, got {k}")
    th = theta.detach()

    def matvec(v: np.ndarray) -> np.ndarray:
        return hvp(f, th, torch.as_tensor(np.ascontiguousarray(v).ravel(), dtype=th.dtype)).numpy()

    op = LinearOperator((P, P), matvec=matvec, dtype=np.float64)
    v0 = np.random.default_rng(seed).standard_normal(P)
    vals = eigsh(op, k=k, which=which, tol=tol, v0=v0, return_eigenvectors=False)
    return np.sort(vals)


def top_eigenvalue(
    f: Callable[[torch.Tensor], torch.Tensor],
    thetas: torch.Tensor,
    *,
    iters: int = 200,
    rtol: float = 1e-8,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """The eigenvalue of largest magnitude of each H(theta_t), theta_t the rows of ``thetas`` [T, P],
    by power iteration batched over the T rows (``vmap`` of :func:`hvp`); at a minimum of the loss it
    is the sharpness lambda_max. Stops when every Rayleigh quotient changed by < rtol relative.
    Returns [T]."""
    T, P = thetas.shape
    th = thetas.detach()
    v = torch.randn(T, P, generator=generator, dtype=th.dtype)
    v = v / v.norm(dim=1, keepdim=True)
    batched = vmap(lambda t, u: hvp(f, t, u))
    lam = torch.zeros(T, dtype=th.dtype)
    for _ in range(iters):
        Hv = batched(th, v)
        new = (v * Hv).sum(dim=1)
        v = Hv / Hv.norm(dim=1, keepdim=True).clamp_min(torch.finfo(th.dtype).tiny)
        done = bool(torch.all((new - lam).abs() <= rtol * new.abs()))
        lam = new
        if done:
            break
    return lam
