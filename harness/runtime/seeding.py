"""Seeds derived from names and the run seed, never from the worker, the order, or the wall clock.

Every random draw of a trial comes from its own :class:`torch.Generator`, seeded by
``trial_seed(claim_id, example_seed, replicate)``. A run split over 1, 2 or 8 workers, or
replayed a month later with the same ``--claims-seed``, trains exactly the same trials.

Two things enter a trial seed besides its name:

* the **run seed** (``--claims-seed=N``, default 0): another seed gives other trials (and, through
  Hypothesis, other examples); seed 0 keeps the historical seeds ``derive_seed(*parts)``;
* the **replication round** (:func:`replication`): the claim runtime re-runs a falsified example of
  a probability or scaling claim with fresh seeds, not used in the search, before it reports it.

Data are not trial randomness: a :class:`~harness.problems.ProblemSpec` builds its inputs from its
own fields with :func:`generator`, so a replication re-trains on the same data with new
initialisations. Randomness that belongs to a trial (initialisations, minibatches, Monte-Carlo noise
of a statistic) must come from :func:`trial_generator` / :func:`trial_generators`, or a replication
would re-draw the very same numbers.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
from collections.abc import Iterator

import torch

__all__ = [
    "derive_seed",
    "generator",
    "replication",
    "replication_round",
    "run_seed",
    "salt",
    "set_run_seed",
    "trial_generator",
    "trial_generators",
    "trial_seed",
]

_RUN_SEED = [0]
_ROUND: contextvars.ContextVar[int] = contextvars.ContextVar("theorem_check_replication_round", default=0)


def derive_seed(*parts: object) -> int:
    """A 63-bit seed from the ``repr`` of ``parts`` (stable across processes and Python runs)."""
    h = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(h, "little") & ((1 << 63) - 1)


def generator(*parts: object) -> torch.Generator:
    """A CPU generator seeded by :func:`derive_seed` of ``parts`` (for data: no run seed, no round)."""
    g = torch.Generator(device="cpu")
    g.manual_seed(derive_seed(*parts))
    return g


def set_run_seed(seed: int) -> None:
    """Set the run seed (the plugin does, from ``--claims-seed``)."""
    seed = int(seed)
    if seed < 0:
        raise ValueError(f"the run seed must be >= 0, got {seed}")
    _RUN_SEED[0] = seed


def run_seed() -> int:
    """The run seed of this session (0 unless ``--claims-seed`` said otherwise)."""
    return _RUN_SEED[0]


def replication_round() -> int:
    """0 in the search; k >= 1 while the runtime replicates a falsification on fresh seeds."""
    return _ROUND.get()


@contextlib.contextmanager
def replication(round_: int) -> Iterator[None]:
    """Within the block, trial seeds are those of replication round ``round_`` (0: the search's)."""
    token = _ROUND.set(int(round_))
    try:
        yield
    finally:
        _ROUND.reset(token)


def salt() -> tuple[int, int]:
    """(run seed, replication round): what besides a trial's name its seed depends on. Caches of
    trial results (:func:`harness.shared_work.shared_work`) key on it."""
    return (_RUN_SEED[0], _ROUND.get())


def trial_seed(*parts: object) -> int:
    """The seed of one trial named by ``parts``, under the run seed and the replication round."""
    s = salt()
    return derive_seed(*parts) if s == (0, 0) else derive_seed(*parts, ("run", *s))


def trial_generator(*parts: object) -> torch.Generator:
    """A CPU generator seeded by :func:`trial_seed` of ``parts``."""
    g = torch.Generator(device="cpu")
    g.manual_seed(trial_seed(*parts))
    return g


def trial_generators(claim_id: str, example_seed: int, replicates: int) -> list[torch.Generator]:
    """One generator per replicate of one example of one claim."""
    return [trial_generator(claim_id, int(example_seed), r) for r in range(replicates)]
