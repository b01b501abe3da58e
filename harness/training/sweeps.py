"""Width sweeps: the same example trained at every width of a grid (for scaling-law claims)."""

from __future__ import annotations

from collections.abc import Sequence

from .engine import Record, train
from ..networks.two_layer import TwoLayerReLU
from ..data.problems import Problem
from ..runtime.session import device, dtype, profile
from ..runtime.seeding import trial_generators
from .trajectory import Trajectory

__all__ = ["threshold_bracket", "width_sweep"]


def width_sweep(
    problem: Problem,
    claim_id: str,
    example_seed: int,
    *,
    eta: float,
    record: Record,
    seeds: int | None = None,
    widths: Sequence[int] | None = None,
    steps: int | None = None,
    scaling: str = "ntk",
    init_scale=1.0,
) -> dict[int, Trajectory]:
    """Train ``seeds`` seeds (default: the profile's ``scaling_seeds``) at each width (default: the
    profile's ``width_grid``) for ``steps`` (default: the profile's) steps; return {m: trajectory}.

    Seeds are derived from (claim id, example seed, width, replicate). With ``scaling="mean_field"``
    the step is multiplied by m (the Chizat-Bach rescaling that keeps the dynamics O(1)).
    ``init_scale``: kappa of w_r(0) ~ N(0, kappa^2 I), a number or a function of the width (to couple
    kappa to m, as Arora et al.'s Theorem 4.1 does).
    """
    P = profile()
    out: dict[int, Trajectory] = {}
    for m in widths or P.width_grid:
        out[m] = train(
            problem,
            TwoLayerReLU(m, scaling=scaling, init_scale=float(init_scale(m) if callable(init_scale) else init_scale)),
            steps=P.steps if steps is None else steps,
            eta=eta * m if scaling == "mean_field" else eta,
            generators=trial_generators(claim_id, example_seed * 7919 + m, seeds or P.scaling_seeds),
            record=record,
            device=device(),
            dtype=dtype(),
        )
    return out


def threshold_bracket(
    problem: Problem,
    claim_id: str,
    example_seed: int,
    *,
    eta: float,
    fails,
    seeds: int,
    max_width: int,
    groups: int = 1,
    steps: int | None = None,
) -> dict:
    """The empirical threshold width of a property, bracketed by a doubling grid, for ``groups``
    disjoint groups of the ``seeds`` seeds (independent estimates of one threshold: their spread is
    the threshold's seed-to-seed noise).

    Widths max_width, max_width/2, ... are trained (all seeds at once) from the top down until every
    group has a failing seed (``fails(trajectory) -> bool tensor [seeds]``). A group's threshold m*
    (the smallest width from which every larger width tried had no failing seed in the group) lies in
    (m_fail, m_hold] with m_hold = 2 m_fail; ``m_hold`` is None if the group failed at ``max_width``,
    ``m_fail`` None if it held down to width 1.

    Returns ``{"groups": [{"m_fail", "m_hold"}], "m_fail", "m_hold" (all seeds as one group),
    "fractions": {m: failing fraction over all seeds}}``.
    """
    if seeds % groups:
        raise ValueError(f"seeds={seeds} must split evenly into groups={groups}")
    P = profile()
    per = seeds // groups
    fractions: dict[int, float] = {}
    m_fail: list[int | None] = [None] * groups
    m = int(max_width)
    while m >= 1 and any(f is None for f in m_fail):
        tr = train(
            problem,
            TwoLayerReLU(m),
            steps=P.steps if steps is None else steps,
            eta=eta,
            generators=trial_generators(claim_id, example_seed * 7919 + m, seeds),
            record=Record(drift=False, flips=False),
            device=device(),
            dtype=dtype(),
        )
        failed = fails(tr)  # [seeds] bool, computed once
        bad = failed.reshape(groups, per).any(dim=1).tolist()
        fractions[m] = float(failed.to(dtype=tr.loss.dtype).mean())
        for g in range(groups):
            if m_fail[g] is None and bad[g]:
                m_fail[g] = m
        m //= 2

    def hold(f: int | None) -> int | None:
        return None if f is not None and f >= max_width else (1 if f is None else 2 * f)

    union = max((f for f in m_fail if f is not None), default=None)
    return {
        "groups": [{"m_fail": f, "m_hold": hold(f)} for f in m_fail],
        "m_fail": union,
        "m_hold": hold(union),
        "fractions": dict(sorted(fractions.items())),
    }
