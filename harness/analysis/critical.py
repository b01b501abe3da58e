"""Critical points of a loss and their Hessian index (Dauphin et al. 2014): find points where the
gradient vanishes, batched over many starts, and classify each by its exact Hessian spectrum.

* :class:`Objective` -- a loss on flat parameter vectors with batched gradient and dense Hessian:
  :func:`objective` wraps any scalar function (``torch.func`` ``vmap`` of ``grad`` / ``hessian``),
  :func:`mlp_objective` an :class:`~harness.mlp.MLP` loss plus an optional L2 term, with a closed-form
  Hessian for one hidden layer and the MSE loss (Gauss-Newton part J^T J / n plus the residual-weighted
  second derivatives; tested against ``harness.hessian.hessian``), ~20-50x faster than ``vmap(hessian)``.
* :func:`find_critical_points` -- from T starts at once: Levenberg-Marquardt on the residual
  grad L(theta) = 0 (the Jacobian of the residual is the Hessian; every accepted step lowers
  ||grad L||, so the iterates cannot run off), then undamped Newton steps theta <- theta - H^+ grad L
  (pseudo-inverse in the eigenbasis, step length capped), which converge quadratically to the
  nondegenerate critical point nearby whatever its index. Minimising ||grad L||^2 alone stalls in
  "gradient-flat" regions where H grad L = 0 but grad L != 0 (Frye et al. 2020, arXiv:2003.10397):
  such starts are not counted as critical points -- a point counts only if ||grad L|| <= gtol (float64).
  The Newton step ||H^+ grad L|| at the returned point estimates its distance to the exact critical point.
* :func:`hessian_index` -- the index alpha = fraction of eigenvalues < -tol, tol = rtol * max|lambda|
  (rtol = 1e-6, the catalogue's choice), and the number of eigenvalues within tol (degeneracy).
* :func:`distinct` -- merge copies of one critical point (the network's permutation and sign symmetries
  map a critical point to others with the same loss and the same Hessian spectrum).
* :func:`gd_snapshots` -- starts along gradient-descent trajectories (Dauphin et al. ran Newton from
  points of the training trajectory), so the starts span the losses GD passes through.
* :func:`spearman_bootstrap` -- Spearman's rho with a percentile bootstrap interval.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from scipy import stats as sps
from torch.func import grad, hessian, vmap

from .hessian import quiet_forward_ad
from ..networks.mlp import MLP, _ACTIVATIONS

__all__ = [
    "CriticalPoints",
    "Objective",
    "activation_derivatives",
    "distinct",
    "find_critical_points",
    "gd_snapshots",
    "hessian_index",
    "mlp_hessian",
    "mlp_objective",
    "objective",
    "spearman_bootstrap",
]

Batched = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class Objective:
    """A loss on flat parameter vectors: ``loss`` [T, P] -> [T], ``grad`` [T, P] -> [T, P] and
    ``hessian`` [T, P] -> [T, P, P] (symmetric), each batched over the T rows."""

    loss: Batched
    grad: Batched
    hessian: Batched
    n_params: int


def objective(f: Callable[[torch.Tensor], torch.Tensor], n_params: int) -> Objective:
    """Wrap a scalar function of theta [P] (``torch.func``-compatible) into a batched :class:`Objective`
    (``vmap`` of ``f``, ``grad(f)`` and ``hessian(f)``)."""
    quiet_forward_ad()  # torch.func.hessian is forward-over-reverse
    H = vmap(hessian(f))
    return Objective(loss=vmap(f), grad=vmap(grad(f)), hessian=lambda th: _sym(H(th)), n_params=n_params)


def _sym(H: torch.Tensor) -> torch.Tensor:
    return 0.5 * (H + H.transpose(-1, -2))


def activation_derivatives(name: str, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """sigma(z), sigma'(z), sigma''(z) elementwise, by autograd of the harness's activation (so every
    activation of :mod:`harness.mlp` is covered; relu gets sigma'' = 0, its almost-everywhere value)."""
    with torch.enable_grad():
        zz = z.detach().requires_grad_(True)
        s = _ACTIVATIONS[name](zz)
        (s1,) = torch.autograd.grad(s.sum(), zz, create_graph=True)
        if s1.requires_grad:
            (s2,) = torch.autograd.grad(s1.sum(), zz, allow_unused=True)
            s2 = torch.zeros_like(zz) if s2 is None else s2
        else:
            s2 = torch.zeros_like(zz)
    return s.detach(), s1.detach(), s2.detach()


def mlp_hessian(mlp: MLP, theta: torch.Tensor, X: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
    """The exact Hessian [T, P, P] of ``mlp.loss(theta, X, Y, "mse")`` for a one-hidden-layer MLP
    (sizes (d, h, c)), theta [T, P], in closed form:

        L = 1/(2n) sum_i ||f_i - y_i||^2,  f_i = A sigma(W x_i + b) + a0,
        H = (1/n) sum_i J_i^T J_i + (1/n) sum_i sum_o r_io grad^2 f_io,   r_i = f_i - y_i.

    With u_i = (x_i, 1), s_i = sigma(z_i), e_i = A^T r_i, the second term has the blocks
    (w_k, w_k): (1/n) sum_i e_ik sigma''(z_ik) u_i u_i^T and (A_ok, w_k): (1/n) sum_i r_io sigma'(z_ik) u_i,
    w_k = (W_k, b_k) the k-th hidden unit's incoming weights and bias; every other block is zero."""
    if len(mlp.sizes) != 3:
        raise ValueError(f"mlp_hessian covers one hidden layer, got sizes {mlp.sizes}")
    d, h, c = mlp.sizes
    th = theta.unsqueeze(0) if theta.dim() == 1 else theta
    T, P, n, dev = th.shape[0], mlp.n_params, X.shape[0], th.device
    (W, b), (A, a0) = mlp.unflatten(th)
    Yc = Y.to(th.dtype).reshape(n, c)
    z = X @ W.transpose(1, 2) + b.unsqueeze(1)  # [T, n, h]
    s, s1, s2 = activation_derivatives(mlp.activation, z)
    r = s @ A.transpose(1, 2) + a0.unsqueeze(1) - Yc  # [T, n, c] residuals
    U = torch.cat([X, torch.ones(n, 1, dtype=X.dtype, device=X.device)], dim=1).to(th.dtype)  # [n, d+1]
    # flat indices: W row-major [h*d], b [h], A row-major [c*h], a0 [c]
    ar = lambda k: torch.arange(k, device=dev)  # noqa: E731
    iu = torch.cat([ar(h * d).reshape(h, d), (h * d + ar(h)).unsqueeze(1)], dim=1)  # [h, d+1]
    iA = h * d + h + ar(c * h).reshape(c, h)
    ia0 = h * d + h + c * h + ar(c)
    # Jacobian of the outputs: J[t, i, o, p] = d f_io / d theta_p
    J = th.new_zeros(T, n, c, P)
    dfdw = (A.unsqueeze(1) * s1.unsqueeze(2)).unsqueeze(-1) * U.view(1, n, 1, 1, d + 1)  # [T, n, c, h, d+1]
    J[:, :, :, iu.reshape(-1)] = dfdw.reshape(T, n, c, h * (d + 1))
    eye_c = torch.eye(c, dtype=th.dtype, device=dev)
    J[:, :, :, iA.reshape(-1)] = (eye_c.view(1, 1, c, c, 1) * s.view(T, n, 1, 1, h)).reshape(T, n, c, c * h)
    J[:, :, :, ia0] = eye_c.expand(T, n, c, c)
    Jf = J.reshape(T, n * c, P)
    Hm = Jf.transpose(1, 2) @ Jf / n
    # residual-weighted second derivatives of f
    e = r @ A  # [T, n, h]
    Q = torch.einsum("tik,ia,ib->tkab", e * s2, U, U) / n  # [T, h, d+1, d+1]
    Hm[:, iu.unsqueeze(2), iu.unsqueeze(1)] += Q
    R = torch.einsum("tio,tik,ia->toka", r, s1, U) / n  # [T, c, h, d+1]
    rows, cols = iA.unsqueeze(2).expand(c, h, d + 1), iu.unsqueeze(0).expand(c, h, d + 1)
    Hm[:, rows, cols] += R
    Hm[:, cols, rows] += R
    return Hm[0] if theta.dim() == 1 else Hm


def mlp_objective(mlp: MLP, X: torch.Tensor, Y: torch.Tensor, *, weight_decay: float = 0.0, kind: str = "mse") -> Objective:
    """The MLP's mean training loss plus (weight_decay / 2) ||theta||^2, batched. One hidden layer with
    the MSE loss gets the closed-form :func:`mlp_hessian`; any other MLP ``vmap(torch.func.hessian)``."""
    wd = float(weight_decay)

    def loss(th: torch.Tensor) -> torch.Tensor:
        return mlp.loss(th, X, Y, kind) + 0.5 * wd * (th * th).sum(dim=-1)

    def grad_b(th: torch.Tensor) -> torch.Tensor:
        with torch.enable_grad():
            t = th.detach().requires_grad_(True)
            (g,) = torch.autograd.grad(loss(t).sum(), t)
        return g

    if len(mlp.sizes) == 3 and kind == "mse":

        def hess(th: torch.Tensor) -> torch.Tensor:
            H = mlp_hessian(mlp, th, X, Y)
            return H + wd * torch.eye(mlp.n_params, dtype=H.dtype, device=H.device) if wd else H

    else:
        generic = objective(lambda t: mlp.loss(t, X, Y, kind) + 0.5 * wd * (t * t).sum(), mlp.n_params)
        hess = generic.hessian
    return Objective(loss=loss, grad=grad_b, hessian=hess, n_params=mlp.n_params)


def hessian_index(eigenvalues: torch.Tensor, rtol: float = 1e-6) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """From eigenvalues [..., P]: (index alpha = fraction < -tol, count of negatives, count within tol),
    tol = rtol * max_i |lambda_i| per row (the catalogue's pitfall: an absolute threshold would count
    rounding noise of zero modes as negative curvature)."""
    tol = rtol * eigenvalues.abs().amax(dim=-1, keepdim=True)
    neg = (eigenvalues < -tol).sum(dim=-1)
    zero = (eigenvalues.abs() <= tol).sum(dim=-1)
    return neg.to(eigenvalues.dtype) / eigenvalues.shape[-1], neg, zero


@dataclass
class CriticalPoints:
    """Critical points found from ``starts`` starting points (rows = converged points only)."""

    theta: torch.Tensor  #: [K, P]
    loss: torch.Tensor  #: [K]
    grad_norm: torch.Tensor  #: [K] ||grad L|| at the point (float64)
    newton_step: torch.Tensor  #: [K] ||H^+ grad L||: estimated distance to the exact critical point
    eigenvalues: torch.Tensor  #: [K, P] Hessian spectrum, ascending
    index: torch.Tensor  #: [K] fraction of eigenvalues < -rtol max|lambda|
    negatives: torch.Tensor  #: [K] number of negative eigenvalues
    zeros: torch.Tensor  #: [K] eigenvalues within rtol max|lambda| (degenerate directions)
    origin: torch.Tensor  #: [K] row of the start each point came from
    starts: int = 0  #: starting points tried
    final_grad_norm: torch.Tensor | None = None  #: [starts] best ||grad L|| reached by every start
    seconds: float = 0.0
    copies: torch.Tensor | None = field(default=None)  #: [K] starts that reached this point (after :func:`distinct`)

    def __len__(self) -> int:
        return int(self.loss.numel())

    @property
    def converged(self) -> int:
        """Starts that reached a critical point (before merging copies)."""
        return int(self.copies.sum()) if self.copies is not None else len(self)

    def subset(self, keep: torch.Tensor) -> CriticalPoints:
        f = {k: getattr(self, k)[keep] for k in ("theta", "loss", "grad_norm", "newton_step", "eigenvalues", "index", "negatives", "zeros", "origin")}
        copies = None if self.copies is None else self.copies[keep]
        return CriticalPoints(**f, starts=self.starts, final_grad_norm=self.final_grad_norm, seconds=self.seconds, copies=copies)


def find_critical_points(
    obj: Objective,
    starts: torch.Tensor,
    *,
    lm_iters: int = 40,
    newton_iters: int = 25,
    gtol: float = 1e-10,
    max_step: float = 0.5,
    rtol: float = 1e-6,
    mu0: float = 1e-2,
) -> CriticalPoints:
    """Critical points of ``obj`` from the rows of ``starts`` [S, P] (float64), batched over the starts.

    Phase 1 (``lm_iters``): Levenberg-Marquardt on the residual g(theta) = grad L(theta), whose Jacobian
    is H: in the eigenbasis of H the step is -lambda_i g_i / (lambda_i^2 + mu max|lambda|^2); a step is
    accepted iff it lowers ||g||, then mu /= 5, else mu *= 4. Phase 2 (``newton_iters``): Newton steps
    -H^+ g (eigenvalues below 1e-12 max|lambda| dropped), step length capped at ``max_step``, accepted
    unconditionally (a descent method on ||g||^2 can stall where H g = 0, g != 0). A start that reaches
    ||g|| <= ``gtol`` is frozen; each start keeps its best iterate. Returns the starts that converged,
    with their exact Hessian spectra and index (:func:`hessian_index` with ``rtol``)."""
    t0 = time.perf_counter()
    x = starts.detach().to(torch.float64).clone()
    S = x.shape[0]
    g = obj.grad(x)
    gn = g.norm(dim=1)
    best, best_gn = x.clone(), gn.clone()
    mu = torch.full((S,), float(mu0), dtype=torch.float64, device=x.device)
    for it in range(lm_iters + newton_iters):
        active = (best_gn > gtol) & torch.isfinite(gn)
        if not bool(active.any()):
            break
        ia = active.nonzero().flatten()
        xa, ga = x[ia], g[ia]
        lam, V = torch.linalg.eigh(obj.hessian(xa))
        ge = (V.transpose(1, 2) @ ga.unsqueeze(2)).squeeze(2)
        scale = lam.abs().amax(dim=1, keepdim=True).clamp_min(torch.finfo(lam.dtype).tiny)
        if it < lm_iters:
            de = -ge * lam / (lam * lam + mu[ia].unsqueeze(1) * scale * scale)
            xn = xa + (V @ de.unsqueeze(2)).squeeze(2)
            gnew = obj.grad(xn)
            gnn = gnew.norm(dim=1)
            acc = torch.isfinite(gnn) & (gnn < gn[ia])
            x[ia] = torch.where(acc.unsqueeze(1), xn, xa)
            g[ia] = torch.where(acc.unsqueeze(1), gnew, ga)
            gn[ia] = torch.where(acc, gnn, gn[ia])
            mu[ia] = torch.where(acc, (mu[ia] / 5).clamp_min(1e-20), (mu[ia] * 4).clamp_max(1e20))
        else:
            inv = torch.where(lam.abs() > 1e-12 * scale, 1.0 / lam, torch.zeros_like(lam))
            step = -(V @ (ge * inv).unsqueeze(2)).squeeze(2)
            sn = step.norm(dim=1, keepdim=True).clamp_min(torch.finfo(step.dtype).tiny)
            x[ia] = xa + step * (max_step / sn).clamp(max=1.0)
            g[ia] = obj.grad(x[ia])
            gn[ia] = g[ia].norm(dim=1)
        better = torch.isfinite(gn) & (gn < best_gn)
        best[better], best_gn[better] = x[better], gn[better]
    ok = (best_gn <= gtol).nonzero().flatten()
    pts = best[ok]
    gk = obj.grad(pts) if ok.numel() else pts
    H = obj.hessian(pts) if ok.numel() else pts.new_zeros(0, obj.n_params, obj.n_params)
    lam, V = torch.linalg.eigh(H)
    ge = (V.transpose(1, 2) @ gk.unsqueeze(2)).squeeze(2)
    scale = lam.abs().amax(dim=1, keepdim=True) if ok.numel() else lam
    inv = torch.where(lam.abs() > 1e-12 * scale, 1.0 / lam, torch.zeros_like(lam))
    alpha, neg, zero = hessian_index(lam, rtol)
    cpu = lambda t: t.detach().cpu()  # noqa: E731
    return CriticalPoints(
        theta=cpu(pts),
        loss=cpu(obj.loss(pts)) if ok.numel() else torch.zeros(0, dtype=torch.float64),
        grad_norm=cpu(gk.norm(dim=1)),
        newton_step=cpu((ge * inv).norm(dim=1)),
        eigenvalues=cpu(lam),
        index=cpu(alpha),
        negatives=cpu(neg),
        zeros=cpu(zero),
        origin=cpu(ok),
        starts=S,
        final_grad_norm=cpu(best_gn),
        seconds=time.perf_counter() - t0,
    )


def distinct(cp: CriticalPoints, *, loss_rtol: float = 1e-9, spectrum_rtol: float = 1e-6) -> CriticalPoints:
    """One representative per critical point up to the symmetries of the loss: two points are copies
    when their losses agree to ``loss_rtol`` and their sorted Hessian spectra to ``spectrum_rtol``
    (relative to max|lambda|), as hidden-unit permutations and sign flips leave both unchanged.
    ``copies`` counts the starts that reached each representative."""
    if len(cp) == 0:
        return _with_copies(cp, torch.zeros(0, dtype=torch.long), torch.zeros(0, dtype=torch.long))
    order = torch.argsort(cp.loss).tolist()
    reps: list[int] = []
    counts: list[int] = []
    for i in order:
        for j, r in enumerate(reps):
            li, lr = float(cp.loss[i]), float(cp.loss[r])
            if abs(li - lr) > loss_rtol * max(1.0, abs(lr)):
                continue
            scale = float(cp.eigenvalues[r].abs().max())
            if float((cp.eigenvalues[i] - cp.eigenvalues[r]).abs().max()) <= spectrum_rtol * scale:
                counts[j] += 1
                break
        else:
            reps.append(i)
            counts.append(1)
    return _with_copies(cp, torch.tensor(reps, dtype=torch.long), torch.tensor(counts, dtype=torch.long))


def _with_copies(cp: CriticalPoints, keep: torch.Tensor, counts: torch.Tensor) -> CriticalPoints:
    out = cp.subset(keep)
    out.copies = counts
    return out


def gd_snapshots(obj: Objective, theta0: torch.Tensor, lr: float, steps: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Run plain GD on ``obj`` from the rows of ``theta0`` [T, P] and return the iterates at ``steps``
    stacked ([len(steps) * T, P], step by step) with the step of each row."""
    want = sorted({int(k) for k in steps})
    th = theta0.detach().to(torch.float64).clone()
    out, tags = [], []
    for k in range(want[-1] + 1):
        if k in want:
            out.append(th.clone())
            tags += [k] * th.shape[0]
        if k < want[-1]:
            th = th - lr * obj.grad(th)
    return torch.cat(out), torch.tensor(tags, dtype=torch.long)


def spearman_bootstrap(x: Sequence[float], y: Sequence[float], *, resamples: int = 2000, confidence: float = 0.95, seed: int = 0) -> tuple[float, float, float]:
    """Spearman's rho of (x, y) (ties get average ranks) with a percentile bootstrap interval over
    the pairs (resamples whose y is constant are dropped). Returns (rho, low, high)."""
    xa, ya = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if xa.size != ya.size or xa.size < 3:
        raise ValueError(f"spearman_bootstrap needs >= 3 pairs, got {xa.size} and {ya.size}")
    rho = float(sps.spearmanr(xa, ya).statistic)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, xa.size, size=(resamples, xa.size))
    rx = sps.rankdata(xa[idx], axis=1)
    ry = sps.rankdata(ya[idx], axis=1)
    rx -= rx.mean(axis=1, keepdims=True)
    ry -= ry.mean(axis=1, keepdims=True)
    den = np.sqrt((rx * rx).sum(axis=1) * (ry * ry).sum(axis=1))
    ok = den > 0
    boot = (rx * ry).sum(axis=1)[ok] / den[ok]
    a = (1 - confidence) / 2
    lo, hi = np.quantile(boot, [a, 1 - a]) if boot.size else (float("nan"), float("nan"))
    return rho, float(lo), float(hi)
