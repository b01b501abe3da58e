"""Hypothesis strategies over problems, widths, step sizes and seeds.

Sizes default to the active profile (read at draw time, so ``--claims-profile`` applies),
with floors (n >= profile.min_n, d >= profile.min_d) so shrinking stops at sizes where an
asymptotic statement still means something instead of collapsing to n=2, d=2.
Datasets are drawn as a :class:`~harness.problems.ProblemSpec` (a seed plus geometry
parameters), not element by element: a counterexample prints as a one-line recipe.
"""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import strategies as st

from .problems import ProblemSpec
from ..runtime.profiles import current_profile

__all__ = ["depths", "multipliers", "problems", "seeds", "step_factors"]


def seeds(max_value: int = 2**16) -> st.SearchStrategy[int]:
    """Example seeds (shrink towards 0)."""
    return st.integers(0, max_value)


@st.composite
def problems(
    draw: st.DrawFn,
    *,
    min_n: int | None = None,
    max_n: int | None = None,
    min_d: int | None = None,
    max_d: int | None = None,
    geometries: Sequence[str] = ("sphere",),
    labels: Sequence[str] = ("gaussian",),
    max_n_over_d: float | None = 4.0,
    min_angle: float = 1e-3,
) -> ProblemSpec:
    """A :class:`ProblemSpec`. ``max_n_over_d`` keeps lambda_0 at a testable size (it collapses as n/d grows;
    ``None``: no cap). ``circle`` draws d = 2; ``antipodal`` draws its number of pairs (1..n // 2);
    ``separated`` draws its distance from what n points on S^{d-1} can keep; ``near_parallel`` draws
    the pair's angle from [min_angle, 0.5]."""
    if not 0 < min_angle <= 0.5:
        raise ValueError(f"min_angle must be in (0, 0.5], got {min_angle}")
    P = current_profile()
    lo_n = P.min_n if min_n is None else min_n
    hi_n = max(lo_n, P.max_n if max_n is None else max_n)
    lo_d = P.min_d if min_d is None else min_d
    hi_d = max(lo_d, P.max_d if max_d is None else max_d)
    n = draw(st.integers(lo_n, hi_n), label="n")
    d_floor = lo_d if max_n_over_d is None else max(lo_d, int(-(-n // max_n_over_d)))
    d = draw(st.integers(min(d_floor, hi_d), hi_d), label="d")
    geometry = draw(st.sampled_from(list(geometries)), label="geometry")
    if geometry == "circle":
        d = 2
    label = draw(st.sampled_from(list(labels)), label="labels")
    angle = 0.1
    if geometry == "near_parallel":
        angle = draw(st.floats(min_angle, 0.5), label="angle")
    delta = 0.3
    if geometry == "separated":
        # n random points keep a distance delta easily only well below the packing limit; in
        # d <= 3 the larger distances are out of reach for n ~ 20
        delta = draw(st.sampled_from([0.2, 0.3, 0.5] if d > 3 else [0.2]), label="delta")
    pairs = 0
    if geometry == "antipodal":
        pairs = draw(st.integers(1, n // 2), label="pairs")
    seed = draw(seeds(), label="seed")
    return ProblemSpec(n=n, d=d, geometry=geometry, labels=label, seed=seed, angle=angle, delta=delta, pairs=pairs)


def step_factors(lo: float = 0.1, hi: float = 1.5) -> st.SearchStrategy[float]:
    """c in eta = c / lambda_max: below 2 the linearized dynamics are stable."""
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


def multipliers(choices: Sequence[int] | None = None) -> st.SearchStrategy[int]:
    """k in m = k * n (the profile's ``width_multipliers`` by default)."""
    return st.deferred(lambda: st.sampled_from(list(choices or current_profile().width_multipliers)))


@st.composite
def depths(draw: st.DrawFn, lo: int = 2, hi: int | None = None) -> int:
    """Depths H of deep training claims: lo..hi, hi defaulting to the profile's ``train_depth``
    (quick 4, standard 10, nightly 12), read at every draw."""
    return draw(st.integers(lo, max(lo, current_profile().train_depth if hi is None else hi)))
