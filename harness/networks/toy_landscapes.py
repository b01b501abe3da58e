"""Constructed low-dimensional landscapes and a batched noisy-gradient-descent simulator: the toy
model of Kleinberg, Li, Yuan (2018), "An Alternative View: When Does SGD Escape Local Minima?".

A landscape is a quadratic bowl minus Gaussian wells, in any dimension D:

    f(x) = kappa/2 ||x - x*||^2 - sum_k A_k exp(-||x - c_k||^2 / (2 w_k^2)) + offset,

so each well (depth A_k, width w_k, centre c_k) makes a local minimum near c_k when it is steep
enough (its largest slope A_k / (w_k sqrt(e)) beats the bowl's kappa ||c_k - x*||). Everything is
closed form, batched over any leading axes of x [..., D]: :meth:`Landscape.value`,
:meth:`Landscape.grad`, :meth:`Landscape.hessian`, and the Gaussian convolution
:meth:`Landscape.convolve` -- f * N(0, sigma^2 I) is again a landscape of the same family:

    E_u f(x - u) = kappa/2 (||x - x*||^2 + D sigma^2)
                   - sum_k A_k (w_k^2 / (w_k^2 + sigma^2))^(D/2) exp(-||x - c_k||^2 / (2 (w_k^2 + sigma^2))).

Noisy GD (:func:`simulate`) runs x <- x - eta (grad f(x) + omega), omega ~ N(0, s^2 I), for T
trials at once. Kleinberg et al.'s auxiliary sequence y_t = x_t - eta grad f(x_t) obeys
y_(t+1) = y_t - eta omega_t - eta grad f(y_t - eta omega_t), so E[y_(t+1) | y_t] = y_t - eta grad (f * law(eta omega))(y_t):
gradient descent on f convolved with the law of eta omega. :func:`smoothed_step_monte_carlo`
estimates that expected step by sampling and :func:`convolved_grad_quadrature` integrates
grad f(y - u) against the Gaussian density on a grid (D <= 2), both independent of the closed form.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

__all__ = [
    "Landscape",
    "SimResult",
    "Well",
    "convolved_grad_quadrature",
    "simulate",
    "smoothed_step_monte_carlo",
    "spike_landscape",
    "wide_well_landscape",
]


@dataclass(frozen=True)
class Well:
    """A Gaussian well -A exp(-||x - c||^2 / (2 w^2)): centre c (a tuple of D floats), depth A, width w."""

    center: tuple[float, ...]
    depth: float
    width: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "center", tuple(float(v) for v in self.center))
        object.__setattr__(self, "depth", float(self.depth))
        object.__setattr__(self, "width", float(self.width))
        if self.width <= 0:
            raise ValueError(f"well width must be > 0, got {self.width}")


@dataclass(frozen=True)
class Landscape:
    """kappa/2 ||x - x*||^2 - sum of Gaussian wells + offset, on R^dim (hashable: usable as a cache key)."""

    dim: int
    curvature: float = 1.0
    wells: tuple[Well, ...] = ()
    x_star: tuple[float, ...] | None = None  #: centre of the bowl (zeros by default)
    offset: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "dim", int(self.dim))
        object.__setattr__(self, "wells", tuple(self.wells))
        xs = (0.0,) * self.dim if self.x_star is None else tuple(float(v) for v in self.x_star)
        object.__setattr__(self, "x_star", xs)
        if self.dim < 1 or len(xs) != self.dim:
            raise ValueError(f"dim must be >= 1 and x_star of length dim, got dim={self.dim}, x_star={xs}")
        for w in self.wells:
            if len(w.center) != self.dim:
                raise ValueError(f"well centre {w.center} is not in R^{self.dim}")

    # -- tensors of the parameters ----------------------------------------------------------
    def _params(self, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        kw = {"dtype": like.dtype, "device": like.device}
        xs = torch.tensor(self.x_star, **kw)
        if not self.wells:
            return xs, torch.zeros(0, self.dim, **kw), torch.zeros(0, **kw), torch.ones(0, **kw)
        C = torch.tensor([w.center for w in self.wells], **kw)
        A = torch.tensor([w.depth for w in self.wells], **kw)
        W = torch.tensor([w.width for w in self.wells], **kw)
        return xs, C, A, W

    def _check(self, x: torch.Tensor) -> None:
        if x.shape[-1] != self.dim:
            raise ValueError(f"x has last dimension {x.shape[-1]}, the landscape lives in R^{self.dim}")

    # -- the function and its derivatives (closed form) ---------------------------------------
    def value(self, x: torch.Tensor) -> torch.Tensor:
        """f(x) for x [..., D]: [...]."""
        self._check(x)
        xs, C, A, W = self._params(x)
        bowl = 0.5 * self.curvature * ((x - xs) ** 2).sum(-1)
        r2 = ((x.unsqueeze(-2) - C) ** 2).sum(-1)  # [..., K]
        return bowl - (A * torch.exp(-r2 / (2 * W**2))).sum(-1) + self.offset

    def grad(self, x: torch.Tensor) -> torch.Tensor:
        """grad f(x) for x [..., D]: [..., D]."""
        self._check(x)
        return self.grad_fn(x)(x)

    def grad_fn(self, like: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
        """grad f as a function with the parameters already turned into tensors of ``like``'s dtype and
        device (what the simulator calls every step)."""
        xs, C, A, W = self._params(like)
        a, inv2w2, kappa = A / W**2, 1.0 / (2 * W**2), self.curvature
        if C.shape[0] == 0:
            return lambda x: kappa * (x - xs)

        def g(x: torch.Tensor) -> torch.Tensor:
            diff = x.unsqueeze(-2) - C  # [..., K, D]
            e = a * torch.exp(-(diff * diff).sum(-1) * inv2w2)  # [..., K]
            return kappa * (x - xs) + (e.unsqueeze(-1) * diff).sum(-2)

        return g

    def hessian(self, x: torch.Tensor) -> torch.Tensor:
        """The Hessian of f at x [..., D]: [..., D, D]."""
        self._check(x)
        _, C, A, W = self._params(x)
        diff = x.unsqueeze(-2) - C
        e = A * torch.exp(-(diff**2).sum(-1) / (2 * W**2)) / W**2  # [..., K]
        eye = torch.eye(self.dim, dtype=x.dtype, device=x.device)
        outer = diff.unsqueeze(-1) * diff.unsqueeze(-2) / (W**2).unsqueeze(-1).unsqueeze(-1)  # [..., K, D, D]
        wells = (e.unsqueeze(-1).unsqueeze(-1) * (eye - outer)).sum(-3)
        return self.curvature * eye + wells

    def convolve(self, sigma: float) -> Landscape:
        """f * N(0, sigma^2 I): E_u f(x - u), u ~ N(0, sigma^2 I) -- closed form, the same family."""
        s2 = float(sigma) ** 2
        wells = tuple(
            Well(w.center, w.depth * (w.width**2 / (w.width**2 + s2)) ** (self.dim / 2), math.sqrt(w.width**2 + s2)) for w in self.wells
        )
        return Landscape(self.dim, self.curvature, wells, self.x_star, self.offset + 0.5 * self.curvature * self.dim * s2)

    # -- geometry ------------------------------------------------------------------------------
    def descend(self, x0: torch.Tensor, eta: float, steps: int) -> torch.Tensor:
        """Plain GD from x0 [..., D] (a quench): the local minimum whose basin x0 lies in, once converged."""
        self._check(x0)
        x = x0.clone()
        g = self.grad_fn(x)
        for _ in range(steps):
            x = x - eta * g(x)
        return x

    def well_minima(self, gd_steps: int = 200, newton_steps: int = 50) -> torch.Tensor:
        """The local minimum next to every well centre [K, D]: ``gd_steps`` of GD from the centre at a step
        of 0.5 / (A / w^2 + kappa), then Newton's method (the Hessian is closed form). Raises if a point
        is not a minimum at the end (gradient not ~0 or Hessian not positive definite), e.g. a well too
        shallow to make one: then Newton lands elsewhere, and a minimum next to a Gaussian well lies within
        one width of its centre, where the well is convex)."""
        if not self.wells:
            return torch.zeros(0, self.dim, dtype=torch.float64)
        C = torch.tensor([w.center for w in self.wells], dtype=torch.float64)
        top = max(w.depth / w.width**2 for w in self.wells) + self.curvature
        x = self.descend(C, 0.5 / top, gd_steps)
        for _ in range(newton_steps):
            x = x - torch.linalg.solve(self.hessian(x), self.grad(x).unsqueeze(-1)).squeeze(-1)
        g = self.grad(x).norm(dim=-1)
        lam = torch.linalg.eigvalsh(self.hessian(x))[:, 0]
        W = torch.tensor([w.width for w in self.wells], dtype=torch.float64)
        scale = max(self.curvature, top) * float(W.max())
        near = (x - C).norm(dim=-1) < W
        if not (bool((g <= 1e-9 * scale).all()) and bool((lam > 0).all()) and bool(near.all())):
            raise ValueError(
                f"not every well makes a local minimum: |grad| {g.tolist()}, lambda_min {lam.tolist()}, "
                f"distance from the centre / width {((x - C).norm(dim=-1) / W).tolist()}"
            )
        return x

    def one_point_convexity(self, points: torch.Tensor) -> torch.Tensor:
        """<grad f(x), x - x*> / ||x - x*||^2 at each point [N, D]: > 0 everywhere means f is one-point
        (strongly) convex toward x* on those points (Kleinberg et al.'s assumption, for the smoothed f)."""
        xs = torch.tensor(self.x_star, dtype=points.dtype)
        d = points - xs
        return (self.grad(points) * d).sum(-1) / (d**2).sum(-1)


# ------------------------------------------------------------------------------------------ factories


def spike_landscape(
    dim: int,
    width: float,
    distances: Sequence[float],
    *,
    steepness: float = 3.0,
    curvature: float = 1.0,
    generator: torch.Generator | None = None,
) -> Landscape:
    """A bowl with narrow wells ("spikes") of width ``width`` at the given distances from x* = 0.

    Each well's depth is ``steepness`` x kappa r w, r its distance, so its largest slope is
    steepness / sqrt(e) times the bowl's slope kappa r at its centre: a local minimum whenever
    steepness > sqrt(e) ~ 1.65. In 1-D the wells sit at +r; in D > 1 along random unit directions
    drawn from ``generator``."""
    dirs = []
    for _ in distances:
        if dim == 1:
            dirs.append(torch.ones(1, dtype=torch.float64))
        else:
            u = torch.randn(dim, generator=generator, dtype=torch.float64)
            dirs.append(u / u.norm())
    wells = tuple(Well(tuple((r * u).tolist()), steepness * curvature * r * width, width) for r, u in zip(distances, dirs, strict=True))
    return Landscape(dim, curvature, wells)


def wide_well_landscape(
    dim: int,
    width: float,
    distance: float,
    depth: float,
    *,
    curvature: float = 1.0,
    generator: torch.Generator | None = None,
) -> Landscape:
    """A bowl with one wide Gaussian well (a wide bad minimum) at ``distance`` from x* = 0 (along +1 in
    1-D, a random direction otherwise)."""
    if dim == 1:
        u = torch.ones(1, dtype=torch.float64)
    else:
        u = torch.randn(dim, generator=generator, dtype=torch.float64)
        u = u / u.norm()
    return Landscape(dim, curvature, (Well(tuple((distance * u).tolist()), depth, width),))


# ------------------------------------------------------------------------------------------ simulation


@dataclass
class SimResult:
    """What :func:`simulate` returns for T trials."""

    final: torch.Tensor  #: [T, D] position after the noisy steps
    quenched: torch.Tensor | None = None  #: [T, D] after ``quench`` further noise-free GD steps
    snapshots: torch.Tensor | None = field(default=None)  #: [S, T, D] positions every ``record_every`` steps
    diverged: torch.Tensor | None = None  #: [T] a non-finite position


def simulate(
    f: Landscape,
    x0: torch.Tensor,
    *,
    eta: float,
    noise: float | torch.Tensor,
    steps: int,
    generator: torch.Generator | None = None,
    omegas: torch.Tensor | None = None,
    quench: int = 0,
    record_every: int = 0,
    chunk: int = 256,
) -> SimResult:
    """Noisy GD x <- x - eta (grad f(x) + omega), omega ~ N(0, noise^2 I), for the T rows of x0 [T, D]
    at once, then ``quench`` plain GD steps (noise 0) from where each trial ended. ``noise`` is one
    scale or one per trial ([T]; 0 gives plain GD on that row).

    The noise is drawn from ``generator`` in blocks of ``chunk`` steps ([chunk, T, D] standard
    normals); ``omegas`` [steps, T, D] (standard normals, scaled by ``noise``) replaces the draws, so
    a batched run and per-trial runs can be compared on the same noise."""
    if x0.dim() != 2 or x0.shape[1] != f.dim:
        raise ValueError(f"x0 must be [T, {f.dim}], got {tuple(x0.shape)}")
    if omegas is not None and tuple(omegas.shape) != (steps, *x0.shape):
        raise ValueError(f"omegas must be [steps, T, D] = {(steps, *x0.shape)}, got {tuple(omegas.shape)}")
    x = x0.to(torch.float64).clone()
    grad = f.grad_fn(x)
    scale = (eta * torch.as_tensor(noise, dtype=x.dtype)).reshape(-1, 1).expand(x.shape[0], 1)
    noisy = bool((scale != 0).any())
    snaps = [x.clone()] if record_every else []
    k = 0
    while k < steps:
        m = min(chunk, steps - k)
        if not noisy:
            block = None
        elif omegas is not None:
            block = omegas[k : k + m].to(x.dtype)
        else:
            block = torch.randn(m, *x.shape, generator=generator, dtype=x.dtype)
        if block is not None:
            block = scale * block
        for j in range(m):
            x = x - eta * grad(x)
            if block is not None:
                x = x - block[j]
            if record_every and (k + j + 1) % record_every == 0:
                snaps.append(x.clone())
        k += m
    out = SimResult(final=x, diverged=~torch.isfinite(x).all(dim=1))
    if quench:
        out.quenched = f.descend(x, eta, quench)
    if record_every:
        out.snapshots = torch.stack(snaps)
    return out


# ------------------------------------------------------------------------------------------ the smoothed view


def smoothed_step_monte_carlo(
    f: Landscape,
    y: torch.Tensor,
    *,
    eta: float,
    noise: float,
    samples: int,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and standard error of the one-step change of Kleinberg et al.'s auxiliary sequence,
    y' - y = -eta omega - eta grad f(y - eta omega), omega ~ N(0, noise^2 I), at each point y [N, D],
    estimated from ``samples`` draws each (the step x' = y - eta omega of :func:`simulate`, followed by
    y' = x' - eta grad f(x')). Returns ([N, D], [N, D])."""
    om = noise * torch.randn(samples, *y.shape, generator=generator, dtype=torch.float64)
    x_next = y.unsqueeze(0) - eta * om
    y_next = x_next - eta * f.grad(x_next)
    delta = y_next - y.unsqueeze(0)
    return delta.mean(0), delta.std(0, unbiased=True) / math.sqrt(samples)


def convolved_grad_quadrature(
    grad: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    sigma: float,
    *,
    spacing: float,
    half_width: float = 9.0,
) -> torch.Tensor:
    """E_u grad(x - u), u ~ N(0, sigma^2 I), by the trapezoidal rule on a uniform grid of step
    ``spacing`` over [-half_width sigma, half_width sigma]^D (D = 1 or 2; the Gaussian weights are
    renormalised to sum to 1). x [N, D] -> [N, D]. For a smooth integrand the rule converges
    exponentially in 1 / spacing, so a grid a few times finer than the narrowest feature of
    ``grad`` is exact to rounding."""
    D = x.shape[-1]
    if D not in (1, 2):
        raise ValueError(f"quadrature is tensor-product: D = 1 or 2, got {D}")
    m = math.ceil(half_width * sigma / spacing)
    u1 = torch.arange(-m, m + 1, dtype=torch.float64) * spacing
    if D == 1:
        U = u1.unsqueeze(1)
    else:
        a, b = torch.meshgrid(u1, u1, indexing="ij")
        U = torch.stack([a.flatten(), b.flatten()], dim=1)
    w = torch.exp(-(U**2).sum(1) / (2 * sigma**2))
    w = w / w.sum()
    out = []
    for xi in x.to(torch.float64):
        out.append((w.unsqueeze(1) * grad(xi.unsqueeze(0) - U)).sum(0))
    return torch.stack(out)
