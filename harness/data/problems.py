"""Datasets by geometry, each built deterministically from a small, printable spec.

A :class:`ProblemSpec` is what Hypothesis draws and shrinks (n, d, geometry, labels, seed);
:meth:`ProblemSpec.build` turns it into a :class:`Problem` (X, y in float64 on the CPU).
A counterexample in a report is a spec, so it can be rebuilt anywhere with ``spec.build()``.

Geometries (inputs on the unit sphere, as DZPS assume ``||x_i|| = 1``):

* ``sphere``: i.i.d. uniform on S^{d-1}.
* ``near_parallel``: uniform, then x_1 is x_0 rotated by ``angle`` (lambda_0 ~ angle / (2 pi)).
* ``antiparallel``: uniform, then x_1 = -x_0 (parallel in the paper's wording, yet lambda_0 > 0).
* ``duplicate``: uniform, then x_{n-1} = x_0 (lambda_0 = 0).
* ``separated``: uniform, redrawn until min_{i != j} ||x_i - x_j|| >= ``delta``.
* ``circle``: d = 2, equispaced angles (the Basri et al. spectrum; an even n has antipodal pairs).
* ``antipodal``: uniform, then ``pairs`` antiparallel pairs x_{2i+1} = -x_{2i} (``pairs=0``: n // 2).
  Distinct inputs, yet lambda_0 = 0 once d + 1 pairs exist: for a pair with coefficients (c, -c),
  c x 1{w.x >= 0} - c (-x) 1{-w.x >= 0} = c x for almost every w, so d + 1 pairs whose x's are
  linearly dependent give a null vector of H^inf.

Labels: ``gaussian`` N(0,1); ``sign`` uniform +-1; ``teacher`` sign(v^T x) for a random unit v;
``teacher_linear`` v^T x * sqrt(d); ``conflicting`` like ``gaussian`` but with a duplicate whose
label has the opposite sign (requires geometry ``duplicate``; the loss floor is (y_0 - y_{n-1})^2 / 4).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from functools import cached_property

import torch

from ..runtime.seeding import generator

__all__ = ["GEOMETRIES", "LABELS", "Problem", "ProblemSpec", "unit_rows"]

GEOMETRIES = ("sphere", "near_parallel", "antiparallel", "duplicate", "separated", "circle", "antipodal")
LABELS = ("gaussian", "sign", "teacher", "teacher_linear", "conflicting")


def unit_rows(X: torch.Tensor) -> torch.Tensor:
    """Rows scaled to unit Euclidean norm."""
    return X / X.norm(dim=1, keepdim=True)


@dataclass(frozen=True)
class ProblemSpec:
    """A dataset recipe: small, printable, shrinkable. ``build()`` is deterministic."""

    n: int
    d: int
    geometry: str = "sphere"
    labels: str = "gaussian"
    seed: int = 0
    angle: float = 0.1  #: for ``near_parallel``: the angle between x_0 and x_1 (radians)
    delta: float = 0.3  #: for ``separated``: the minimum pairwise distance
    pairs: int = 0  #: for ``antipodal``: how many antiparallel pairs (0: n // 2)

    def __post_init__(self) -> None:
        # plain Python types: build() seeds from the values' repr, so 1 vs 1.0 or np.int64(0) vs 0
        # must not give different data for equal specs
        for name, kind in (("n", int), ("d", int), ("seed", int), ("pairs", int), ("angle", float), ("delta", float), ("geometry", str), ("labels", str)):
            object.__setattr__(self, name, kind(getattr(self, name)))
        if self.n < 2 or self.d < 1:
            raise ValueError(f"ProblemSpec needs n >= 2 and d >= 1, got n={self.n}, d={self.d}")
        if self.geometry not in GEOMETRIES:
            raise ValueError(f"geometry {self.geometry!r} is not one of {GEOMETRIES}")
        if self.labels not in LABELS:
            raise ValueError(f"labels {self.labels!r} is not one of {LABELS}")
        if self.labels == "conflicting" and self.geometry != "duplicate":
            raise ValueError("labels='conflicting' needs geometry='duplicate'")
        if self.geometry == "circle" and self.d != 2:
            raise ValueError("geometry='circle' needs d=2")
        if self.geometry in ("near_parallel", "antiparallel", "antipodal") and self.d < 2:
            raise ValueError(f"geometry={self.geometry!r} needs d >= 2")
        if not 0 <= self.pairs <= self.n // 2:
            raise ValueError(f"pairs={self.pairs} must be in [0, n // 2 = {self.n // 2}]")

    def to_dict(self) -> dict:
        return asdict(self)

    def build(self) -> Problem:
        g = generator("problem", self.to_dict_key())
        X = _inputs(self, g)
        y = _labels(self, X, g)
        return Problem(X=X, y=y, spec=self)

    def to_dict_key(self) -> tuple:
        d = self.to_dict()
        if d["pairs"] == 0:  # added later: left out at its default so that older specs keep their data
            del d["pairs"]
        return tuple(sorted(d.items()))


def _sphere(n: int, d: int, g: torch.Generator) -> torch.Tensor:
    return unit_rows(torch.randn(n, d, generator=g, dtype=torch.float64))


def _inputs(spec: ProblemSpec, g: torch.Generator) -> torch.Tensor:
    n, d = spec.n, spec.d
    if spec.geometry == "circle":
        t = torch.arange(n, dtype=torch.float64) * (2 * math.pi / n)
        return torch.stack([t.cos(), t.sin()], dim=1)
    X = _sphere(n, d, g)
    if spec.geometry == "near_parallel":
        # x_1 = cos(t) x_0 + sin(t) e, with e a unit vector orthogonal to x_0
        e = torch.randn(d, generator=g, dtype=torch.float64)
        e = e - (e @ X[0]) * X[0]
        e = e / e.norm()
        X[1] = math.cos(spec.angle) * X[0] + math.sin(spec.angle) * e
    elif spec.geometry == "antiparallel":
        X[1] = -X[0]
    elif spec.geometry == "antipodal":
        for i in range(spec.pairs or n // 2):
            X[2 * i + 1] = -X[2 * i]
    elif spec.geometry == "duplicate":
        X[n - 1] = X[0]
    elif spec.geometry == "separated":
        for _ in range(10_000):
            D = torch.cdist(X, X) + 4.0 * torch.eye(n, dtype=X.dtype)
            bad = (spec.delta > D).any(dim=1).nonzero().flatten()
            if bad.numel() == 0:
                break
            i = int(bad[-1])
            X[i] = _sphere(1, d, g)[0]
        else:
            raise ValueError(f"could not place n={n} points on S^{d - 1} with separation {spec.delta}")
    return X


def _labels(spec: ProblemSpec, X: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    n, d = X.shape
    if spec.labels in ("gaussian", "conflicting"):
        y = torch.randn(n, generator=g, dtype=torch.float64)
        if spec.labels == "conflicting":
            y[0] = y[0].abs() + 0.5  # keep the conflict clear of zero
            y[n - 1] = -y[0]
        return y
    if spec.labels == "sign":
        return torch.randint(0, 2, (n,), generator=g).to(torch.float64) * 2 - 1
    v = torch.randn(d, generator=g, dtype=torch.float64)
    v = v / v.norm()
    if spec.labels == "teacher":
        return torch.where(X @ v >= 0, 1.0, -1.0).to(torch.float64)
    return (X @ v) * math.sqrt(d)  # teacher_linear


@dataclass(frozen=True, eq=False)
class Problem:
    """A training set: inputs ``X`` (n x d, unit rows), targets ``y`` (n), and the spec that built it."""

    X: torch.Tensor
    y: torch.Tensor
    spec: ProblemSpec | None = None

    @property
    def n(self) -> int:
        return int(self.X.shape[0])

    @property
    def d(self) -> int:
        return int(self.X.shape[1])

    @cached_property
    def hinf(self) -> torch.Tensor:
        from ..kernels.closed_form import hinf

        return hinf(self.X)

    @cached_property
    def hinf_eigh(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Eigenvalues (ascending) and eigenvectors of H^inf."""
        return torch.linalg.eigh(self.hinf)

    @property
    def lambda0(self) -> float:
        """lambda_min(H^inf) (DZPS Assumption 3.1)."""
        return float(self.hinf_eigh[0][0])

    @property
    def lambda_max(self) -> float:
        return float(self.hinf_eigh[0][-1])

    def min_separation(self) -> float:
        D = torch.cdist(self.X, self.X) + 4.0 * torch.eye(self.n, dtype=self.X.dtype)
        return float(D.min())

    def summary(self) -> dict:
        """A small description for reports: sizes, lambda_0, label norm, separation."""
        out = dict(self.spec.to_dict()) if self.spec is not None else {"n": self.n, "d": self.d}
        out.update(
            lambda0=self.lambda0,
            lambda_max=self.lambda_max,
            y_norm=float(self.y.norm()),
            min_separation=self.min_separation(),
        )
        return out
