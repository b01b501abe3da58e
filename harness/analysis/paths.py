"""Paths between two minima of a loss: the numerics of the mode-connectivity claims.

A *curve* is a set of nodes p_0 = w1, p_1, ..., p_(K-1) = w2 (flat parameter vectors, [..., K, P]) and a
basis: every point on it is a fixed linear combination of the nodes, phi(t) = sum_k b_k(t) p_k, t in [0, 1].

* ``"bezier"``: the Bernstein basis of degree K - 1. With one bend theta (K = 3) this is Garipov et al.'s
  quadratic Bezier curve phi(t) = (1-t)^2 w1 + 2t(1-t) theta + t^2 w2; with no bend (K = 2) the segment.
* ``"chain"``: the polygonal chain through the nodes, node k at t = k / (K - 1) and linear in between
  (Garipov's polychain for K = 3, the pivots of a nudged elastic band for larger K). K = 2 is the segment.

Functions take a loss as a callable ``loss(points [N, P]) -> [N]`` evaluated on the full training set
(for an :class:`~harness.mlp.MLP`: ``lambda th: mlp.loss(th, X, y)``); everything is batched over leading
dimensions of the nodes (one curve per trial, evaluated in one call, never a Python loop over trials).

* :func:`curve_points`, :func:`curve_velocity` -- phi(t) and phi'(t) on a grid of t or on per-trial t.
* :func:`path_losses`, :func:`barrier`, :func:`max_along` -- L along a curve, the barrier
  B = max_t L(phi(t)) - max(L(w1), L(w2)) (Draxler et al. Sec. 3), with a local grid refinement of the top.
* :func:`curve_length`, :func:`length_ratio` -- arc length (exact for chains, Gauss-Legendre for Bezier)
  and its ratio to ||w2 - w1||.
* :func:`fit_bends` -- Garipov et al.'s curve finding: the bend(s) minimise E_{t ~ U(0,1)} L(phi(t)) by SGD
  over t (a fresh t, or a small batch of t, per step and trial), with momentum.
* :func:`neb` -- nudged elastic band / string method on a chain (AutoNEB's refinement, Draxler et al.):
  every inner pivot follows the component of -grad L perpendicular to the path (or the full -grad L), an
  optional spring along the tangent keeps them apart, or (spring 0) the pivots are redistributed to equal
  arc length after every step (the string method of E, Ren and Vanden-Eijnden).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

__all__ = [
    "BendFit",
    "NEBResult",
    "barrier",
    "basis",
    "basis_derivative",
    "curve_length",
    "curve_points",
    "curve_velocity",
    "evaluate",
    "fit_bends",
    "grid",
    "length_ratio",
    "max_along",
    "neb",
    "path_losses",
    "redistribute",
    "segment_nodes",
]

Kind = Literal["bezier", "chain"]
LossFn = Callable[[torch.Tensor], torch.Tensor]

#: points of the flattened batch evaluated per loss call (bounds the memory of [N, n, width] activations)
CHUNK = 4096


# ----------------------------------------------------------------------------- bases and curves


def _check_kind(kind: str) -> None:
    if kind not in ("bezier", "chain"):
        raise ValueError(f"curve kind must be 'bezier' or 'chain', got {kind!r}")


def basis(ts: torch.Tensor, K: int, kind: Kind) -> torch.Tensor:
    """[*ts.shape, K]: the weight of each of the K nodes at every t (rows sum to 1)."""
    _check_kind(kind)
    if K < 2:
        raise ValueError(f"a curve needs at least its two end nodes, got K={K}")
    t = ts.unsqueeze(-1)
    k = torch.arange(K, dtype=ts.dtype, device=ts.device)
    if kind == "bezier":
        n = K - 1
        binom = torch.tensor([math.comb(n, j) for j in range(K)], dtype=ts.dtype, device=ts.device)
        return binom * t**k * (1 - t) ** (n - k)
    return (1 - (t * (K - 1) - k).abs()).clamp_min(0)


def basis_derivative(ts: torch.Tensor, K: int, kind: Kind) -> torch.Tensor:
    """[*ts.shape, K]: d/dt of :func:`basis` (for a chain: the slope on the segment holding t; at a node,
    the segment to its right, the last node's to its left)."""
    _check_kind(kind)
    if kind == "bezier":
        n = K - 1
        lower = basis(ts, K - 1, "bezier") if K > 2 else torch.ones(*ts.shape, 1, dtype=ts.dtype, device=ts.device)
        zero = torch.zeros(*ts.shape, 1, dtype=ts.dtype, device=ts.device)
        return n * (torch.cat([zero, lower], dim=-1) - torch.cat([lower, zero], dim=-1))
    seg = (ts * (K - 1)).floor().clamp(0, K - 2).to(torch.int64)
    out = torch.zeros(*ts.shape, K, dtype=ts.dtype, device=ts.device)
    out.scatter_(-1, seg.unsqueeze(-1), -(K - 1.0))
    out.scatter_(-1, (seg + 1).unsqueeze(-1), float(K - 1))
    return out


def curve_points(nodes: torch.Tensor, ts: torch.Tensor, kind: Kind) -> torch.Tensor:
    """Points phi(t) of the curve(s) through ``nodes`` [..., K, P].

    ``ts`` [G] (one grid for every curve) gives [..., G, P]; ``ts`` [..., G] with the nodes' leading
    shape (a t per curve) gives [..., G, P] too."""
    return basis(ts.to(device=nodes.device, dtype=nodes.dtype), nodes.shape[-2], kind) @ nodes


def curve_velocity(nodes: torch.Tensor, ts: torch.Tensor, kind: Kind) -> torch.Tensor:
    """phi'(t), shaped like :func:`curve_points`."""
    return basis_derivative(ts.to(device=nodes.device, dtype=nodes.dtype), nodes.shape[-2], kind) @ nodes


def segment_nodes(w1: torch.Tensor, w2: torch.Tensor, bends: int = 0, kind: Kind = "bezier") -> torch.Tensor:
    """[..., bends + 2, P]: nodes of a curve equal to the straight segment w1 -> w2 (Garipov's
    initialisation of the bends). For a chain they are equispaced on the segment; for a Bezier curve
    of degree bends + 1 they are too (the Bernstein basis reproduces linear functions: the Greville
    abscissae of Bernstein polynomials are k / n), so the curve is the segment, traversed at constant speed."""
    _check_kind(kind)
    s = torch.linspace(0, 1, bends + 2, dtype=w1.dtype, device=w1.device).unsqueeze(-1)
    return (1 - s) * w1.unsqueeze(-2) + s * w2.unsqueeze(-2)


# ----------------------------------------------------------------------------- losses along a curve


def evaluate(loss: LossFn, points: torch.Tensor, chunk: int = CHUNK) -> torch.Tensor:
    """loss at every point of ``points`` [..., P]: [...] (flattened, chunked, no autograd)."""
    flat = points.reshape(-1, points.shape[-1])
    with torch.no_grad():
        out = torch.cat([loss(flat[i : i + chunk]).reshape(-1) for i in range(0, flat.shape[0], chunk)])
    return out.reshape(points.shape[:-1])


def grid(K: int, kind: Kind, per_segment: int = 50, points: int = 101) -> torch.Tensor:
    """A t grid on [0, 1] for evaluating a curve: for a chain, ``per_segment`` steps per segment (every
    node lies on the grid); for a Bezier curve, ``points`` equispaced values."""
    _check_kind(kind)
    G = (K - 1) * per_segment + 1 if kind == "chain" else points
    return torch.linspace(0, 1, G, dtype=torch.float64)


def path_losses(loss: LossFn, nodes: torch.Tensor, kind: Kind, ts: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(ts, L(phi(t))): the loss along the curve(s) on a grid (default :func:`grid`); losses [..., G]."""
    ts = grid(nodes.shape[-2], kind) if ts is None else ts
    return ts, evaluate(loss, curve_points(nodes, ts.to(nodes.device), kind))


def barrier(losses: torch.Tensor, top: torch.Tensor | None = None) -> torch.Tensor:
    """B = max_t L(t) - max(L(0), L(1)) from losses [..., G] along a curve whose first and last entries are
    the endpoints; ``top`` (if given) replaces the grid maximum (e.g. a refined one from :func:`max_along`).
    B >= 0 always (the endpoints are on the curve)."""
    m = losses.max(dim=-1).values if top is None else torch.maximum(top, losses.max(dim=-1).values)
    return m - torch.maximum(losses[..., 0], losses[..., -1])


def max_along(loss: LossFn, nodes: torch.Tensor, kind: Kind, ts: torch.Tensor | None = None, refine: int = 41) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(ts, losses [..., G], top [...]): the loss on the grid and its maximum refined on ``refine`` extra
    points spanning the grid intervals on both sides of each curve's grid argmax (a grid maximum is a lower
    bound of the curve's maximum; the refinement tightens it where a narrow peak falls between grid points)."""
    ts, L = path_losses(loss, nodes, kind, ts)
    top = L.max(dim=-1)
    if refine <= 0:
        return ts, L, top.values
    G = ts.numel()
    i = top.indices
    lo = ts.to(nodes.dtype).to(nodes.device)[(i - 1).clamp(0, G - 1)]
    hi = ts.to(nodes.dtype).to(nodes.device)[(i + 1).clamp(0, G - 1)]
    u = torch.linspace(0, 1, refine, dtype=nodes.dtype, device=nodes.device)
    fine = lo.unsqueeze(-1) + (hi - lo).unsqueeze(-1) * u  # [..., refine]
    Lf = evaluate(loss, curve_points(nodes, fine, kind))
    return ts, L, torch.maximum(top.values, Lf.max(dim=-1).values)


def curve_length(nodes: torch.Tensor, kind: Kind, quadrature: int = 64) -> torch.Tensor:
    """Arc length [...]: exact (sum of segment norms) for a chain; Gauss-Legendre with ``quadrature``
    nodes on |phi'(t)| for a Bezier curve."""
    _check_kind(kind)
    if kind == "chain":
        return (nodes[..., 1:, :] - nodes[..., :-1, :]).norm(dim=-1).sum(dim=-1)
    x, w = np.polynomial.legendre.leggauss(quadrature)
    t = torch.as_tensor((x + 1) / 2, dtype=nodes.dtype, device=nodes.device)
    wt = torch.as_tensor(w / 2, dtype=nodes.dtype, device=nodes.device)
    return (curve_velocity(nodes, t, kind).norm(dim=-1) * wt).sum(dim=-1)


def length_ratio(nodes: torch.Tensor, kind: Kind) -> torch.Tensor:
    """Arc length / ||w2 - w1|| (1 for the segment; Draxler et al. report 1.5-2.5, Garipov et al. 1.3-2.1)."""
    return curve_length(nodes, kind) / (nodes[..., -1, :] - nodes[..., 0, :]).norm(dim=-1)


# ----------------------------------------------------------------------------- curve finding (Garipov et al.)


@dataclass
class BendFit:
    """What :func:`fit_bends` returns."""

    nodes: torch.Tensor  #: [..., K, P] the fitted curve (end nodes unchanged)
    objective: torch.Tensor  #: [..., steps] the sampled objective mean_t L(phi(t)) at every step


def fit_bends(
    loss: LossFn,
    w1: torch.Tensor,
    w2: torch.Tensor,
    *,
    kind: Kind = "bezier",
    bends: int = 1,
    init: torch.Tensor | None = None,
    steps: int,
    lr: float | torch.Tensor,
    momentum: float = 0.9,
    t_batch: int = 1,
    generators: Sequence[torch.Generator],
    clip: float | None = None,
) -> BendFit:
    """Fit the bend(s) of a curve from w1 to w2 [T, P] by SGD on E_{t ~ U(0,1)} L(phi_theta(t)).

    Every step each trial draws ``t_batch`` values of t from its own generator and steps its bends along
    -grad_theta mean_t L(phi(t)) (heavy-ball momentum; ``clip`` caps each trial's step gradient norm).
    ``init`` [T, K, P] gives the starting nodes (default: the segment, :func:`segment_nodes`, as in
    Garipov et al.). The ends never move."""
    T = w1.shape[0]
    if len(generators) != T:
        raise ValueError(f"fit_bends needs one generator per trial ({T}), got {len(generators)}")
    if bends < 1:
        raise ValueError("fit_bends needs at least one bend")
    nodes = (segment_nodes(w1, w2, bends, kind) if init is None else init).detach().clone()
    K = nodes.shape[-2]
    inner = nodes[:, 1:-1].clone()
    vel = torch.zeros_like(inner)
    hist = torch.empty(T, steps, dtype=nodes.dtype)
    for k in range(steps):
        ts = torch.stack([torch.rand(t_batch, generator=g, dtype=torch.float64) for g in generators]).to(nodes)
        B = basis(ts, K, kind)  # [T, b, K]
        inner.requires_grad_(True)
        full = torch.cat([nodes[:, :1], inner, nodes[:, -1:]], dim=1)
        pts = B @ full  # [T, b, P]
        L = loss(pts.reshape(-1, pts.shape[-1])).reshape(T, t_batch).mean(dim=1)
        (g,) = torch.autograd.grad(L.sum(), inner)
        hist[:, k] = L.detach().cpu()
        with torch.no_grad():
            g = torch.nan_to_num(g)
            if clip is not None:
                norm = g.flatten(1).norm(dim=1).clamp_min(1e-300)
                g = g * (clip / norm).clamp(max=1.0).view(T, 1, 1)
            vel = momentum * vel + g
            inner = inner.detach() - lr * vel
    nodes = torch.cat([nodes[:, :1], inner.detach(), nodes[:, -1:]], dim=1)
    return BendFit(nodes=nodes, objective=hist)


# ----------------------------------------------------------------------------- nudged elastic band / string


def redistribute(nodes: torch.Tensor) -> torch.Tensor:
    """The chain through ``nodes`` [..., K, P] with its K nodes moved to equal arc length along it (the
    string method's reparametrisation; the end nodes stay)."""
    K = nodes.shape[-2]
    lead = nodes.shape[:-2]
    flat = nodes.reshape(-1, K, nodes.shape[-1])
    seg = (flat[:, 1:] - flat[:, :-1]).norm(dim=-1)  # [N, K-1]
    s = torch.cat([torch.zeros_like(seg[:, :1]), seg.cumsum(dim=1)], dim=1)  # [N, K]
    total = s[:, -1:].clamp_min(torch.finfo(nodes.dtype).tiny)
    target = torch.linspace(0, 1, K, dtype=nodes.dtype, device=nodes.device) * total  # [N, K]
    j = torch.searchsorted(s.contiguous(), target.contiguous(), right=True).clamp(1, K - 1) - 1  # segment index
    s0 = torch.gather(s, 1, j)
    frac = ((target - s0) / torch.gather(seg, 1, j).clamp_min(torch.finfo(nodes.dtype).tiny)).clamp(0, 1)
    a = torch.gather(flat, 1, j.unsqueeze(-1).expand(-1, -1, flat.shape[-1]))
    b = torch.gather(flat, 1, (j + 1).unsqueeze(-1).expand(-1, -1, flat.shape[-1]))
    out = a + frac.unsqueeze(-1) * (b - a)
    out[:, 0], out[:, -1] = flat[:, 0], flat[:, -1]
    return out.reshape(*lead, K, nodes.shape[-1])


@dataclass
class NEBResult:
    """What :func:`neb` returns."""

    nodes: torch.Tensor  #: [..., K, P] the refined chain
    pivot_max: torch.Tensor  #: [..., steps + 1] the largest pivot loss before each step and at the end


def neb(
    loss: LossFn,
    nodes: torch.Tensor,
    *,
    steps: int,
    lr: float | torch.Tensor,
    spring: float = 0.0,
    momentum: float = 0.0,
    project: bool = True,
    reparametrize: bool | None = None,
    climb: bool = False,
) -> NEBResult:
    """Refine the chains ``nodes`` [T, K, P] (ends fixed) toward a minimum-energy path.

    Each step, for every inner pivot p_i with gradient g_i = grad L(p_i) (full training set) and unit
    tangent tau_i (Henkelman and Jonsson's upwind tangent: toward the higher neighbour, blended at
    extrema):

    * ``project``: the force is -(g_i - (g_i . tau_i) tau_i), the NEB's perpendicular component; else -g_i
      (the simplified string method, which relies on the reparametrisation alone);
    * ``spring`` > 0 adds k (|p_(i+1) - p_i| - |p_i - p_(i-1)|) tau_i (the elastic band);
    * ``climb``: the highest pivot of each chain gets -g + 2 (g . tau) tau instead (climbing image);
    * ``reparametrize`` (default: when spring == 0): after the step the pivots are moved to equal arc
      length (:func:`redistribute`), the string method of E, Ren and Vanden-Eijnden, which is what Draxler
      et al. ran (spring 0 plus redistribution).

    pivots <- pivots + lr * v with v <- momentum v + force."""
    if nodes.dim() != 3 or nodes.shape[1] < 3:
        raise ValueError(f"neb needs chains [T, K >= 3, P], got {tuple(nodes.shape)}")
    reparam = spring == 0.0 if reparametrize is None else reparametrize
    p = nodes.detach().clone()
    T, K, _ = p.shape
    vel = torch.zeros_like(p[:, 1:-1])
    pivot_max = torch.empty(T, steps + 1, dtype=p.dtype)
    with torch.no_grad():
        ends = loss(torch.cat([p[:, 0], p[:, -1]])).reshape(2, T).T  # [T, 2]
    for k in range(steps + 1):
        inner = p[:, 1:-1].clone().requires_grad_(True)
        L = loss(inner.reshape(-1, inner.shape[-1])).reshape(T, K - 2)
        pivot_max[:, k] = L.detach().max(dim=1).values.cpu()
        if k == steps:
            break
        (g,) = torch.autograd.grad(L.sum(), inner)
        with torch.no_grad():
            g = torch.nan_to_num(g)
            Lall = torch.cat([ends[:, :1], L.detach(), ends[:, 1:]], dim=1)
            tau = _upwind_tangent(p, Lall)
            gpar = (g * tau).sum(dim=-1, keepdim=True)
            force = -(g - gpar * tau) if project else -g
            if spring > 0:
                d_next = (p[:, 2:] - p[:, 1:-1]).norm(dim=-1, keepdim=True)
                d_prev = (p[:, 1:-1] - p[:, :-2]).norm(dim=-1, keepdim=True)
                force = force + spring * (d_next - d_prev) * tau
            if climb:
                top = L.detach().argmax(dim=1)
                rows = torch.arange(T, device=p.device)
                force[rows, top] = -g[rows, top] + 2 * gpar[rows, top] * tau[rows, top]
            vel = momentum * vel + force
            p[:, 1:-1] = p[:, 1:-1] + lr * vel
            if reparam:
                p = redistribute(p)
    return NEBResult(nodes=p.detach(), pivot_max=pivot_max)


def _upwind_tangent(p: torch.Tensor, L: torch.Tensor) -> torch.Tensor:
    """Henkelman & Jonsson (2000) tangent at the inner pivots of chains p [T, K, P] with losses L [T, K]."""
    fwd = p[:, 2:] - p[:, 1:-1]
    bwd = p[:, 1:-1] - p[:, :-2]
    Lp, Li, Lm = L[:, 2:], L[:, 1:-1], L[:, :-2]
    up = (Lp > Li) & (Li > Lm)
    down = (Lp < Li) & (Li < Lm)
    dmax = torch.maximum((Lp - Li).abs(), (Lm - Li).abs())
    dmin = torch.minimum((Lp - Li).abs(), (Lm - Li).abs())
    w_fwd = torch.where(Lp > Lm, dmax, dmin)
    w_bwd = torch.where(Lp > Lm, dmin, dmax)
    mixed = w_fwd.unsqueeze(-1) * fwd + w_bwd.unsqueeze(-1) * bwd
    central = fwd + bwd
    mixed = torch.where((w_fwd + w_bwd).unsqueeze(-1) > 0, mixed, central)
    tau = torch.where(up.unsqueeze(-1), fwd, torch.where(down.unsqueeze(-1), bwd, mixed))
    return tau / tau.norm(dim=-1, keepdim=True).clamp_min(torch.finfo(p.dtype).tiny)
