"""Run a batch of independent trials in chunks, halving the chunk when the GPU runs out of memory.

Every engine here batches trials along a leading axis, and trials never interact, so a batch can be
cut anywhere and the numbers stay the same. :func:`run_in_chunks` is the one loop that does it for
the two-layer engine (:func:`harness.engine.train`), the deep families (:func:`harness.deep.train_deep`)
and the empirical NTK (:func:`harness.deep.empirical_ntk`): it runs ``[lo, hi)`` slices of at most
``per`` trials, and when a slice raises ``torch.OutOfMemoryError`` (another worker holds part of the
GPU, fragmentation, a width the default chunk size did not foresee) it frees the cache, halves the
chunk and redoes that slice; a single trial that does not fit is a real error and is raised.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import torch

__all__ = ["run_in_chunks"]

R = TypeVar("R")


def run_in_chunks(T: int, per: int, run: Callable[[int, int], R], *, device: str | torch.device = "cpu") -> list[R]:
    """``[run(lo, hi) for each chunk]`` over trials ``0..T-1``, chunks of at most ``per`` trials.

    ``run`` must leave no trace when it raises ``torch.OutOfMemoryError`` (or undo it: restore the
    states of the generators it drew from), since the slice is redone in smaller pieces.
    """
    if T < 0 or per < 1:
        raise ValueError(f"need T >= 0 and per >= 1, got T={T}, per={per}")
    out: list[R] = []
    lo = 0
    while lo < T:
        hi = min(T, lo + per)
        try:
            out.append(run(lo, hi))
        except torch.OutOfMemoryError:
            if hi - lo <= 1:
                raise
            per = max(1, (hi - lo) // 2)
            if str(device).startswith("cuda"):
                torch.cuda.empty_cache()
            continue
        lo = hi
    return out
