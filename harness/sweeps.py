"""Width sweeps: the same example trained at every width of a grid (for scaling-law claims)."""

from __future__ import annotations

from collections.abc import Sequence

from .engine import Record, train
from .models import TwoLayerReLU
from .problems import Problem
from .runtime import device, dtype, profile
from .seeding import trial_generators
from .trajectory import Trajectory

__all__ = ["width_sweep"]


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
) -> dict[int, Trajectory]:
    """Train ``seeds`` seeds (default: the profile's ``scaling_seeds``) at each width (default: the
    profile's ``width_grid``) for ``steps`` (default: the profile's) steps; return {m: trajectory}.

    Seeds are derived from (claim id, example seed, width, replicate). With ``scaling="mean_field"``
    the step is multiplied by m (the Chizat-Bach rescaling that keeps the dynamics O(1)).
    """
    P = profile()
    out: dict[int, Trajectory] = {}
    for m in widths or P.width_grid:
        out[m] = train(
            problem,
            TwoLayerReLU(m, scaling=scaling),
            steps=P.steps if steps is None else steps,
            eta=eta * m if scaling == "mean_field" else eta,
            generators=trial_generators(claim_id, example_seed * 7919 + m, seeds or P.scaling_seeds),
            record=record,
            device=device(),
            dtype=dtype(),
        )
    return out
