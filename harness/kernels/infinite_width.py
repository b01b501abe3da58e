"""Infinite-width kernels of the deep DLLWZ networks: NNGP, derivative kernels and the NTK.

Du, Lee, Li, Wang, Zhai 2019, "Gradient Descent Finds Global Minima of Deep Neural Networks"
(arXiv:1811.03804), Definition 5.1 (fully connected) and its ResNet analogue (their Sec. 6 and
appendix), and the neural tangent kernel of Jacot, Gabriel, Hongler 2018 (arXiv:1806.07572).

Networks (all weights N(0, 1), no biases, width m -> infinity, c_sigma = 1 / E_{z~N(0,1)}[sigma(z)^2]):

* fully connected (``fc_kernels``): x^(0) = x, x^(h) = sqrt(c_sigma/m) sigma(W^(h) x^(h-1)), h = 1..H,
  f = a^T x^(H).
* ResNet (``resnet_kernels``): x^(1) = sqrt(c_sigma/m) sigma(W^(1) x),
  x^(h) = x^(h-1) + (c_res / (H sqrt m)) sigma(W^(h) x^(h-1)), h = 2..H, f = a^T x^(H).

In both, the pre-activations g^(h) = W^(h) x^(h-1) of one input pair are, coordinate by coordinate,
i.i.d. (u, v) ~ N(0, A^(h)) with A^(h) = [[K^(h-1)_ii, K^(h-1)_ij], [K^(h-1)_ij, K^(h-1)_jj]] and
K^(h)_ij = lim <x_i^(h), x_j^(h)>. Expectations E[f(u) g(v)] under A come from a 2-D Gauss-Hermite
rule (``gaussian_pair_expectation``) or, for ReLU, from the arc-cosine closed forms (Cho & Saul 2009):

    E[relu(u) relu(v)]   = sqrt(k11 k22) (sin t + (pi - t) cos t) / (2 pi),
    E[1{u>0} 1{v>0}]     = (pi - t) / (2 pi),           cos t = k12 / sqrt(k11 k22).

The ReLU angle t is computed stably: from the inputs with ``kernels._angles`` at layer 0, then
from a tracked squared distance D^(h)_ij = lim ||x_i^(h) - x_j^(h)||^2 (whose recursion has no
cancellation), never as arccos of a rounded cosine (an O(sqrt(eps)) error in t that makes the
derivative kernel of duplicated inputs indefinite; see ``kernels._angles``). Diagonal angles are 0.

The NTK (all layers and a trained) follows from backpropagation with P^(h)_ij =
lim <df/dx_i^(h), df/dx_j^(h)> / m, P^(H) = 1:

    Theta = K^(H) + sum_{h=1}^{H} K^(h-1) * Kdot^(h) * P^(h)          (elementwise products)

where Kdot^(h) is the factor the layer-h derivative brings into the gradient Gram:
fully connected Kdot^(h) = c_sigma E[sigma'(u) sigma'(v)] and P^(h-1) = P^(h) * Kdot^(h), so
Theta = K^(H) + sum_h K^(h-1) prod_{l=h}^{H} Kdot^(l); ResNet: Kdot^(1) as above, Kdot^(h) =
(c_res/H)^2 E[sigma'(u) sigma'(v)] for h >= 2 and P^(h-1) = P^(h) * (1 + Kdot^(h)). In both,
K^(h-1) * Kdot^(h) * P^(h) is the limit of the Gram of df/dW^(h), and ``last_layer_gram`` is the
h = H term K^(H-1) * Kdot^(H) (DLLWZ's G^(H) limit; for the ResNet with its (c_res/H)^2 factor).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from numpy.polynomial.hermite_e import hermegauss
from scipy.special import roots_hermitenorm

from .closed_form import _angles

__all__ = [
    "ACTIVATIONS",
    "DeepKernels",
    "FCKernels",
    "c_sigma",
    "fc_kernels",
    "gaussian_expectation",
    "gaussian_pair_expectation",
    "last_layer_gram",
    "relu_pair_expectations",
    "resnet_kernels",
]

F64 = torch.float64
_TWO_PI = 2 * math.pi
#: elements of the [outer nodes, entries, inner nodes] block evaluated at once (2 MiB of float64:
#: cache-sized blocks ran 3-4x faster than 32 MiB ones for gelu on the 2-core CPU)
_BLOCK = 1 << 18


def _relu_prime(z: torch.Tensor) -> torch.Tensor:
    return (z > 0).to(z.dtype)


def _gelu(z: torch.Tensor) -> torch.Tensor:
    """Exact GELU z Phi(z) = z (1 + erf(z / sqrt 2)) / 2."""
    return 0.5 * z * (1 + torch.erf(z / math.sqrt(2)))


def _gelu_prime(z: torch.Tensor) -> torch.Tensor:
    """d/dz z Phi(z) = Phi(z) + z phi(z)."""
    return 0.5 * (1 + torch.erf(z / math.sqrt(2))) + z * torch.exp(-0.5 * z * z) / math.sqrt(_TWO_PI)


def _tanh_prime(z: torch.Tensor) -> torch.Tensor:
    t = torch.tanh(z)
    return 1 - t * t


#: name -> (sigma, sigma'), torch callables; relu'(z) = 1{z > 0}, softplus' = logistic sigmoid.
ACTIVATIONS: dict[str, tuple[Callable[[torch.Tensor], torch.Tensor], Callable[[torch.Tensor], torch.Tensor]]] = {
    "relu": (torch.relu, _relu_prime),
    "softplus": (torch.nn.functional.softplus, torch.sigmoid),
    "tanh": (torch.tanh, _tanh_prime),
    "gelu": (_gelu, _gelu_prime),
}


def _activation(name: str):
    if name not in ACTIVATIONS:
        raise ValueError(f"activation {name!r} is not one of {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[name]


# ----------------------------------------------------------------------------- quadrature


@functools.lru_cache(maxsize=32)
def _hermite_rule(nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Probabilists' Gauss-Hermite nodes and weights normalised to sum 1 (a rule for E over N(0,1)).

    ``numpy.polynomial.hermite_e.hermegauss``; scipy's ``roots_hermitenorm`` where numpy's
    weights overflow (more than ~300 nodes). Nodes whose weight is below 1e-20 of the largest are dropped: their total contribution is far
    below float64 resolution for activations of at most polynomial growth, and it saves ~1/3 of
    the evaluations of the 2-D rule.
    """
    if nodes < 1:
        raise ValueError(f"nodes must be >= 1, got {nodes}")
    with np.errstate(all="ignore"):
        z, w = hermegauss(nodes)
    if not (np.isfinite(z).all() and np.isfinite(w).all()):  # numpy overflows beyond ~300 nodes
        z, w = roots_hermitenorm(nodes)
    w = w / math.sqrt(_TWO_PI)
    keep = w > 1e-20 * w.max()
    return z[keep], w[keep]


def _rule(nodes: int, device=None) -> tuple[torch.Tensor, torch.Tensor]:
    z, w = _hermite_rule(nodes)
    return torch.as_tensor(z, dtype=F64, device=device), torch.as_tensor(w, dtype=F64, device=device)


@functools.lru_cache(maxsize=64)
def _c_sigma_cached(name: str, nodes: int) -> float:
    sigma, _ = _activation(name)
    z, w = _rule(nodes)
    return float(1.0 / (w @ sigma(z) ** 2))


def c_sigma(name: str, nodes: int = 200) -> float:
    """c_sigma = 1 / E_{z~N(0,1)}[sigma(z)^2] (DLLWZ Sec. 5), by ``nodes``-point Gauss-Hermite.

    ReLU: E[relu(z)^2] = 1/2, so exactly 2. softplus 1.0854870..., tanh 2.5361755...
    """
    if name == "relu":
        return 2.0
    return _c_sigma_cached(name, nodes)


def gaussian_expectation(f: Callable[[torch.Tensor], torch.Tensor], k: torch.Tensor, nodes: int = 64) -> torch.Tensor:
    """E[f(u)] for u ~ N(0, k), elementwise over the tensor k: sum_p w_p f(sqrt(k) z_p)."""
    k = torch.as_tensor(k, dtype=F64)
    z, w = _rule(nodes, k.device)
    a = k.clamp_min(0).sqrt()
    return f(a.unsqueeze(-1) * z) @ w


def gaussian_pair_expectation(
    f: Callable[[torch.Tensor], torch.Tensor],
    g: Callable[[torch.Tensor], torch.Tensor],
    k11: torch.Tensor,
    k12: torch.Tensor,
    k22: torch.Tensor,
    nodes: int = 64,
) -> torch.Tensor:
    """E[f(u) g(v)] for (u, v) ~ N(0, [[k11, k12], [k12, k22]]), elementwise over broadcast tensors.

    Cholesky factor: u = sqrt(k11) z1, v = (k12 / sqrt(k11)) z1 + sqrt(max(k22 - k12^2/k11, 0)) z2
    with z1, z2 i.i.d. N(0, 1), then the tensor-product Gauss-Hermite rule
    E ~ sum_p w_p f(u_p) sum_q w_q g(v_pq). A rounding error delta in the conditional standard
    deviation s enters only at order s * delta (z2 is symmetric), so diagonal entries
    (k11 = k12 = k22) need no special care. Exact for polynomials of degree < 2 nodes; for smooth
    activations 64 nodes reach 1e-15 (softplus, gelu) to 3e-9 / 1e-7 (tanh x tanh / tanh' x tanh',
    poles at +-i pi/2; 128 nodes: 1e-13 / 1e-11). Kinks converge only algebraically -- measured max
    errors at 64 / 256 nodes: relu x relu 2e-3 / 5e-4 (~1/nodes), step x step 2.6e-2 / 1.2e-2
    (~nodes^-1/2) -- so the recursions use :func:`relu_pair_expectations` for relu. k11 = 0 is
    allowed (u = 0). Work is done in blocks of at most 2^18 evaluations of g.
    """
    k11, k12, k22 = torch.broadcast_tensors(*(torch.as_tensor(k, dtype=F64) for k in (k11, k12, k22)))
    shape = k11.shape
    k11, k12, k22 = (k.reshape(-1) for k in (k11, k12, k22))
    z, w = _rule(nodes, k11.device)
    Q, N = z.numel(), k11.numel()
    a = k11.clamp_min(0).sqrt()
    pos = a > 0
    b = torch.where(pos, k12 / torch.where(pos, a, torch.ones_like(a)), torch.zeros_like(a))
    s = (k22 - b * b).clamp_min(0).sqrt()
    out = torch.zeros(N, dtype=F64, device=k11.device)
    n_chunk = max(1, _BLOCK // (Q * Q))
    for e0 in range(0, N, n_chunk):
        sl = slice(e0, min(N, e0 + n_chunk))
        ac, bc, sc = a[sl], b[sl], s[sl]
        Fv = f(ac.unsqueeze(0) * z.unsqueeze(1))  # [Q, Nc]
        sz = sc.unsqueeze(-1) * z  # [Nc, Q]
        per = max(1, _BLOCK // (ac.numel() * Q))
        acc = torch.zeros_like(ac)
        for p0 in range(0, Q, per):
            zp = z[p0 : p0 + per]
            V = (bc.unsqueeze(0) * zp.unsqueeze(1)).unsqueeze(-1) + sz.unsqueeze(0)  # [P, Nc, Q]
            Gv = g(V) @ w  # [P, Nc]: inner expectation over z2
            acc += (w[p0 : p0 + per].unsqueeze(1) * Fv[p0 : p0 + per] * Gv).sum(0)
        out[sl] = acc
    return out.reshape(shape)


# ----------------------------------------------------------------------------- ReLU closed forms


def _sin_minus_t_cos(t: torch.Tensor) -> torch.Tensor:
    """sin t - t cos t without cancellation: series sum_{k>=1} (-1)^(k+1) 2k t^(2k+1) / (2k+1)! for t < 0.1."""
    t2 = t * t
    series = t * t2 * (1 / 3 + t2 * (-1 / 30 + t2 * (1 / 840 + t2 * (-1 / 45360 + t2 / 3991680))))
    return torch.where(t < 0.1, series, torch.sin(t) - t * torch.cos(t))


def _one_minus_j(t: torch.Tensor) -> torch.Tensor:
    """1 - J(t)/pi with J(t) = sin t + (pi - t) cos t, as (1 - cos t) - (sin t - t cos t)/pi: both terms
    >= 0 and the second is O(t^3) against O(t^2), so no cancellation at small t."""
    return 2 * torch.sin(t / 2) ** 2 - _sin_minus_t_cos(t) / math.pi


def _angle_from_cos(k11: torch.Tensor, k12: torch.Tensor, k22: torch.Tensor) -> torch.Tensor:
    """t = 2 atan2(sqrt(1 - c), sqrt(1 + c)), c = k12 / sqrt(k11 k22) clamped to [-1, 1] (as accurate as
    the rounded cosine allows: O(sqrt(eps)) absolute near t = 0 and pi)."""
    c = (k12 / (k11 * k22).sqrt()).clamp(-1.0, 1.0)
    return 2 * torch.atan2((1 - c).sqrt(), (1 + c).sqrt())


def _angle_from_dist(k11: torch.Tensor, k22: torch.Tensor, dist2: torch.Tensor) -> torch.Tensor:
    """The angle of two vectors of squared norms k11, k22 at squared distance dist2:
    q = ||u/|u| - v/|v|||^2 = (dist2 - (|u| - |v|)^2) / (|u| |v|) = 4 sin^2(t/2), t = 2 atan2(sqrt q, sqrt(4 - q)).
    Accurate for small t when |u| ~ |v| (equal norms: exact up to the error of dist2)."""
    na, nb = k11.sqrt(), k22.sqrt()
    q = ((dist2 - (na - nb) ** 2) / (na * nb)).clamp(0.0, 4.0)
    return 2 * torch.atan2(q.sqrt(), (4 - q).sqrt())


def _zero_diagonal(t: torch.Tensor) -> torch.Tensor:
    if t.dim() >= 2 and t.shape[-1] == t.shape[-2]:
        t = t.clone()
        t.diagonal(dim1=-2, dim2=-1).zero_()
    return t


def _relu_terms(k11: torch.Tensor, k22: torch.Tensor, t: torch.Tensor):
    """(E[relu u relu v], E[1{u>0} 1{v>0}], E[(relu u - relu v)^2]) at angle t.

    E[(relu u - relu v)^2] = k11/2 + k22/2 - sqrt(k11 k22) J(t)/pi = (|u| - |v|)^2 / 2 + |u||v| (1 - J(t)/pi).
    """
    na, nb = k11.sqrt(), k22.sqrt()
    ab = na * nb
    e_act = ab * (torch.sin(t) + (math.pi - t) * torch.cos(t)) / _TWO_PI
    e_der = (math.pi - t) / _TWO_PI
    e_sq = 0.5 * (na - nb) ** 2 + ab * _one_minus_j(t)
    return e_act, e_der, e_sq


def relu_pair_expectations(
    k11: torch.Tensor, k12: torch.Tensor, k22: torch.Tensor, dist2: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Closed forms (E[relu(u) relu(v)], E[1{u>0} 1{v>0}]) for (u, v) ~ N(0, [[k11, k12], [k12, k22]]):

    sqrt(k11 k22) (sin t + (pi - t) cos t) / (2 pi) and (pi - t) / (2 pi), cos t = k12 / sqrt(k11 k22).

    t comes from the cosine (2 atan2 form) or, where ``dist2`` = k11 + k22 - 2 k12 is given
    (computed without cancellation by the caller) and cos t >= 0, from the distance, which is
    accurate for nearly parallel pairs. Entries with k11 = k12 = k22 (a Gram diagonal) get t = 0
    exactly (sqrt(k*k) == k in IEEE arithmetic, so the cosine is exactly 1).
    """
    k11, k12, k22 = torch.broadcast_tensors(*(torch.as_tensor(k, dtype=F64) for k in (k11, k12, k22)))
    t = _angle_from_cos(k11, k12, k22)
    if dist2 is not None:
        t = torch.where(k12 >= 0, _angle_from_dist(k11, k22, torch.as_tensor(dist2, dtype=F64)), t)
    e_act, e_der, _ = _relu_terms(k11, k22, t)
    return e_act, e_der


# ----------------------------------------------------------------------------- recursions


@dataclass
class FCKernels:
    """Infinite-width kernels of a depth-H network (DLLWZ Def. 5.1 and the ResNet analogue).

    ``nngp[h]`` = K^(h) (h = 0..H; K^(0) = X X^T), ``dot[h-1]`` = Kdot^(h) (h = 1..H, the factor of
    layer h in the gradient Gram, see the module docstring), ``ntk`` = Theta (all layers and the
    output weights a trained). ``mean[h-1]`` (ResNet only) = b^(h)_i = lim <x_i^(h), 1/sqrt(m)>,
    the coordinate mean DLLWZ carry through the residual recursion.
    """

    nngp: list[torch.Tensor]
    dot: list[torch.Tensor]
    ntk: torch.Tensor | None
    mean: list[torch.Tensor] | None = None
    arch: str = "fc"
    activation: str = "relu"
    c_res: float | None = None

    @property
    def depth(self) -> int:
        return len(self.dot)


DeepKernels = FCKernels


def _pairs(K: torch.Tensor):
    """Upper-triangle index pairs and the (k11, k12, k22) entries there ([..., n(n+1)/2])."""
    n = K.shape[-1]
    i, j = torch.triu_indices(n, n, device=K.device)
    d = K.diagonal(dim1=-2, dim2=-1)
    return i, j, d[..., i], K[..., i, j], d[..., j]


def _unpair(vals: torch.Tensor, i: torch.Tensor, j: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(like)
    out[..., i, j] = vals
    out[..., j, i] = vals
    return out


def _smooth_layer(K: torch.Tensor, name: str, nodes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(E[sigma(u) sigma(v)], E[sigma'(u) sigma'(v)]) under K by quadrature, on the upper triangle."""
    sigma, dsigma = _activation(name)
    i, j, k11, k12, k22 = _pairs(K)
    e_act = gaussian_pair_expectation(sigma, sigma, k11, k12, k22, nodes)
    e_der = gaussian_pair_expectation(dsigma, dsigma, k11, k12, k22, nodes)
    return _unpair(e_act, i, j, K), _unpair(e_der, i, j, K)


def _prepare(X: torch.Tensor, depth: int) -> torch.Tensor:
    X = torch.as_tensor(X, dtype=F64)
    if X.dim() < 2:
        raise ValueError(f"X must be [..., n, d], got shape {tuple(X.shape)}")
    if depth < 1:
        raise ValueError(f"depth must be >= 1, got {depth}")
    return X


def _gram(X: torch.Tensor) -> torch.Tensor:
    """K^(0) = X X^T, symmetrised (BLAS leaves ~1 ulp asymmetry, which the recursions would carry on)."""
    K = X @ X.transpose(-1, -2)
    return 0.5 * (K + K.transpose(-1, -2))


def _outer_sqrt(K: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    d = K.diagonal(dim1=-2, dim2=-1)
    return d.unsqueeze(-1).expand_as(K), d.unsqueeze(-2).expand_as(K)


def fc_kernels(X: torch.Tensor, depth: int, activation: str, nodes: int = 64) -> FCKernels:
    """Kernels of DLLWZ's fully connected net x^(h) = sqrt(c_sigma/m) sigma(W^(h) x^(h-1)), f = a^T x^(H).

    K^(0) = X X^T; for h >= 1, with (u, v) ~ N(0, [[K^(h-1)_ii, K^(h-1)_ij], [K^(h-1)_ij, K^(h-1)_jj]]):
    K^(h)_ij = c_sigma E[sigma(u) sigma(v)], Kdot^(h)_ij = c_sigma E[sigma'(u) sigma'(v)];
    Theta = K^(H) + sum_{h=1}^{H} K^(h-1) * prod_{l=h}^{H} Kdot^(l) (Jacot et al. 2018, Thm 1 with
    DLLWZ's scaling and no bias). ReLU uses the closed forms with stably tracked angles; other
    activations the ``nodes``-point 2-D Gauss-Hermite rule (see :func:`gaussian_pair_expectation` for its
    accuracy; ~2 s for n = 200, depth 3 on one CPU core). X is [..., n, d] (leading batch dims allowed).
    """
    X = _prepare(X, depth)
    _activation(activation)
    cs = c_sigma(activation)
    K = _gram(X)
    nngp, dot = [K], []
    if activation == "relu":
        t = _angles(X)[2]
        for _ in range(depth):
            k11, k22 = _outer_sqrt(K)
            e_act, e_der, e_sq = _relu_terms(k11, k22, t)
            K, D = cs * e_act, cs * e_sq  # D^(h) = lim ||x_i^(h) - x_j^(h)||^2
            nngp.append(K)
            dot.append(cs * e_der)
            k11, k22 = _outer_sqrt(K)
            t = _zero_diagonal(_angle_from_dist(k11, k22, D))  # relu features are >= 0: t <= pi/2
    else:
        for _ in range(depth):
            e_act, e_der = _smooth_layer(K, activation, nodes)
            K = cs * e_act
            nngp.append(K)
            dot.append(cs * e_der)
    P = torch.ones_like(K)
    ntk = nngp[depth].clone()
    for h in range(depth, 0, -1):
        P = P * dot[h - 1]  # prod_{l=h}^{H} Kdot^(l)
        ntk = ntk + nngp[h - 1] * P
    return FCKernels(nngp=nngp, dot=dot, ntk=ntk, arch="fc", activation=activation)


def resnet_kernels(X: torch.Tensor, depth: int, activation: str, c_res: float = 0.1, nodes: int = 64) -> FCKernels:
    """Kernels of DLLWZ's ResNet x^(1) = sqrt(c_sigma/m) sigma(W^(1) x),
    x^(h) = x^(h-1) + (c_res / (H sqrt m)) sigma(W^(h) x^(h-1)) (h = 2..H), f = a^T x^(H).

    Write c = c_res / H and g^(h) = W^(h) x^(h-1): given x^(h-1), the coordinates of (g_i, g_j) are
    i.i.d. N(0, A^(h)), so (1/m) <sigma(g_i), sigma(g_j)> -> E[sigma(u) sigma(v)], while the cross term
    (c/sqrt m) <x_i^(h-1), sigma(g_j)> = c (sum_r x_ir / sqrt m) (1/m) sum_r sigma(g_jr) + O(m^-1/2)
    -> c b_i^(h-1) E[sigma(v)]: it does NOT vanish (sigma has a non-zero Gaussian mean) and needs the
    coordinate mean b^(h)_i = lim <x_i^(h), 1/sqrt(m)>. The limits (DLLWZ's ResNet kernel):

        K^(1) = c_sigma E[sigma(u) sigma(v)] under K^(0) = X X^T,    b^(1)_i = sqrt(c_sigma) E[sigma(u_i)],
        K^(h)_ij = K^(h-1)_ij + c (b_i^(h-1) mu_j^(h) + mu_i^(h) b_j^(h-1)) + c^2 E[sigma(u) sigma(v)],
        b^(h)_i = b^(h-1)_i + c mu_i^(h),       mu_i^(h) = E[sigma(u_i)], u_i ~ N(0, K^(h-1)_ii).

    Derivative kernels: Kdot^(1) = c_sigma E[sigma' sigma'] under K^(0), Kdot^(h) = c^2 E[sigma' sigma']
    under A^(h) (h >= 2). The backward vectors delta^(h) = df/dx^(h) satisfy
    delta^(h-1) = delta^(h) + (c/sqrt m) W^(h)T (sigma'(g^(h)) delta^(h)); their cross term has mean
    O(1/m) because a is zero-mean and independent (Stein's lemma), so P^(H) = 1,
    P^(h-1) = P^(h) * (1 + Kdot^(h)) and Theta = K^(H) + sum_h K^(h-1) * Kdot^(h) * P^(h).
    These formulas are checked against finite-width Monte Carlo and the empirical NTK in
    tests/test_deep_kernels.py.
    """
    X = _prepare(X, depth)
    sigma, _ = _activation(activation)
    cs = c_sigma(activation)
    c = c_res / depth
    K = _gram(X)
    nngp, dot, means = [K], [], []
    relu = activation == "relu"
    t = _angles(X)[2] if relu else None
    D = None
    for h in range(1, depth + 1):
        k11, k22 = _outer_sqrt(K)
        if relu:
            e_act, e_der, e_sq = _relu_terms(k11, k22, t)
            mu = K.diagonal(dim1=-2, dim2=-1).sqrt() / math.sqrt(_TWO_PI)  # E[relu(u)], u ~ N(0, k)
        else:
            e_act, e_der = _smooth_layer(K, activation, nodes)
            mu = gaussian_expectation(sigma, K.diagonal(dim1=-2, dim2=-1), nodes)
        if h == 1:
            K = cs * e_act
            dot.append(cs * e_der)
            b = math.sqrt(cs) * mu
            if relu:
                D = cs * e_sq
        else:
            cross = b.unsqueeze(-1) * mu.unsqueeze(-2)
            K = K + c * (cross + cross.transpose(-1, -2)) + c * c * e_act
            dot.append(c * c * e_der)
            if relu:
                # ||x_i - x_j||^2 grows by 2 c (b_i - b_j)(mu_i - mu_j) + c^2 E[(relu u - relu v)^2]
                db, dmu = b.unsqueeze(-1) - b.unsqueeze(-2), mu.unsqueeze(-1) - mu.unsqueeze(-2)
                D = D + 2 * c * db * dmu + c * c * e_sq
            b = b + c * mu
        nngp.append(K)
        means.append(b)
        if relu:
            k11, k22 = _outer_sqrt(K)
            t = _zero_diagonal(_angle_from_dist(k11, k22, D))  # features >= 0: t <= pi/2
    P = torch.ones_like(K)
    ntk = nngp[depth].clone()
    for h in range(depth, 0, -1):
        ntk = ntk + nngp[h - 1] * dot[h - 1] * P
        P = P * (1 + dot[h - 1])
    return FCKernels(nngp=nngp, dot=dot, ntk=ntk, mean=means, arch="resnet", activation=activation, c_res=c_res)


def last_layer_gram(k: FCKernels) -> torch.Tensor:
    """G^(H) = K^(H-1) * Kdot^(H): the infinite-width Gram of df/dW^(H) (DLLWZ's G^(H) limit).

    Fully connected: lim (c_sigma/m) sum_r a_r^2 sigma'(g_ir) sigma'(g_jr) <x_i^(H-1), x_j^(H-1)>; for
    H = 1 and ReLU on unit rows this is 2 H^inf. ResNet (H >= 2): the same with (c_res/H)^2 in place of c_sigma.
    """
    return k.nngp[-2] * k.dot[-1]
