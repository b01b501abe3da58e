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

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import torch

__all__ = ["cpu_chunk_workers", "run_in_chunks"]

R = TypeVar("R")


def run_in_chunks(
    T: int, per: int, run: Callable[[int, int], R], *, device: str | torch.device = "cpu", spread: bool = False
) -> list[R]:
    """``[run(lo, hi) for each chunk]`` over trials ``0..T-1``, chunks of at most ``per`` trials.

    ``run`` must leave no trace when it raises ``torch.OutOfMemoryError`` (or undo it: restore the
    states of the generators it drew from), since the slice is redone in smaller pieces.
    ``spread=True`` (for a ``run`` that is thread-safe: it writes only its own rows) lets a CPU
    run its chunks side by side, one per torch thread (:func:`cpu_chunk_workers`).
    """
    if T < 0 or per < 1:
        raise ValueError(f"need T >= 0 and per >= 1, got T={T}, per={per}")
    workers = cpu_chunk_workers(T, per, device) if spread else 1
    if workers > 1:
        return _run_on_threads(T, per, run, workers)
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


#: one lock: only one call at a time may turn torch's thread count down and back up
_THREADS_LOCK = threading.Lock()


def cpu_chunk_workers(T: int, per: int, device: str | torch.device) -> int:
    """How many chunks run at once: on a CPU with torch set to several threads and at least two
    chunks, one chunk per thread (each op then runs on one thread), else 1.

    Trials are independent, and the products of a step are too small to keep several threads
    busy (a [50, 10] x [10, 10^4] GEMM): a chunk per thread was measured ~1.6x faster than
    sharing every op between two threads (benchmarks/bench_engine.py). Each chunk computes
    exactly what it computes on one thread alone, so the numbers do not depend on the workers.
    """
    if str(device) != "cpu" and not str(device).startswith("cpu:"):
        return 1
    chunks = -(-T // per)
    return max(1, min(torch.get_num_threads(), chunks))


def _run_on_threads(T: int, per: int, run: Callable[[int, int], R], workers: int) -> list[R]:
    # as many chunks as before, rounded up to a multiple of the workers, of even sizes
    chunks = -(-T // per)
    chunks = min(T, -(-chunks // workers) * workers)
    per = -(-T // chunks)
    bounds = [(lo, min(T, lo + per)) for lo in range(0, T, per)]
    if not _THREADS_LOCK.acquire(blocking=False):  # another call is already spreading its chunks
        return [run(lo, hi) for lo, hi in bounds]
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="harness-chunk") as pool:
            return list(pool.map(lambda b: run(*b), bounds))
    finally:
        torch.set_num_threads(before)
        _THREADS_LOCK.release()
