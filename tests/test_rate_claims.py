"""The Allen-Zhu-Li-Song rate claims' reading of a run: a seed short of its target is undecided, not failed."""

from __future__ import annotations

import importlib

import math
from types import SimpleNamespace

import torch


az = importlib.import_module("harness.analysis.studies.allen_zhu2019")


def _run(curves: list[list[float]], diverged: list[bool] | None = None):
    """A stand-in trajectory: rel_loss() rows are the curves (L(k)/L(0)), steps_to as DeepTrajectory's."""
    loss = torch.tensor(curves, dtype=torch.float64)
    tr = SimpleNamespace(loss=loss, diverged=torch.tensor(diverged or [False] * len(curves)))
    tr.rel_loss = lambda: loss / loss[:, :1]

    def steps_to(rel):
        hit = tr.rel_loss() <= rel
        return torch.where(hit.any(dim=1), hit.to(torch.int64).argmax(dim=1).to(torch.float64), torch.tensor(math.inf))

    tr.steps_to = steps_to
    return tr


def _decades(per_decade: int, K: int, slow_after: float | None = None) -> list[float]:
    """L(k)/L(0) falling a decade every ``per_decade`` steps (10x slower below ``slow_after``)."""
    out, v = [], 1.0
    for _ in range(K + 1):
        out.append(v)
        step = 10 ** (-1 / per_decade)
        v *= step if slow_after is None or v > slow_after else step ** 0.1
    return out


def _bounds(curve):
    lo, hi = az._decade_ratio_bounds(_run([curve]))
    return lo, hi


def test_decade_ratio_bounds_exact_open_and_unknown():
    runs = [_decades(10, 100), _decades(10, 65), _decades(10, 45), _decades(10, 200, slow_after=1e-6)]
    lo, hi = (torch.cat(t) for t in zip(*map(_bounds, runs), strict=True))
    assert lo[0] == hi[0] == 1.0  # reached 1e-8: exact (20 steps per two decades both times)
    assert hi[1] == math.inf and lo[1] == (65 - 60) / 20  # reached 1e-6 at 60, not 1e-8 by step 65
    assert lo[2] == 0 and hi[2] == math.inf  # not even 1e-6: nothing known
    assert lo[3] > 2  # 10x slower below 1e-6: the window proves ratio > 2 before 1e-8
    failed, unknown = az.at_most(2.0)(lo, hi)
    assert failed.tolist() == [False, False, False, True] and unknown.tolist() == [False, True, True, False]
    failed, unknown = az.at_least(10.0)(lo, hi)
    assert failed.tolist() == [True, False, False, False] and unknown.tolist() == [False, True, True, True]


def test_a_diverged_seed_reads_infinite_ratio():
    lo, hi = az._decade_ratio_bounds(_run([_decades(10, 100)], [True]))
    assert lo[0] == hi[0] == math.inf
    failed, unknown = az.at_most(2.0)(lo, hi)
    assert failed.item() and not unknown.item()
