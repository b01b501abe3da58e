"""A GPU out of memory: every engine halves its chunk of trials and goes on, with the same numbers.

The OOM is faked (``torch.OutOfMemoryError`` raised by a wrapped chunk function whenever a chunk
is larger than a planted capacity), so these run on the CPU; the numbers of the chunked run are
compared with an unchunked reference.
"""

from __future__ import annotations

import pytest
import torch

from harness.training import deep_engine as deep
from harness.training import engine
from harness.runtime.chunks import run_in_chunks
from harness.networks.deep import DeepNet, empirical_ntk
from harness.training.deep_engine import train_deep
from harness.networks.two_layer import TwoLayerReLU
from harness.data.problems import ProblemSpec
from harness.runtime.seeding import trial_generators

F64 = torch.float64


def _fake_oom(real, capacity: int, sizes: list[int], trials_of):
    """``real`` that raises OOM (after doing part of the work) when its chunk exceeds ``capacity``."""

    def flaky(*args, **kwargs):
        t = trials_of(*args, **kwargs)
        sizes.append(t)
        if t > capacity:
            raise torch.OutOfMemoryError(f"CUDA out of memory. Tried to allocate 2.00 GiB (fake, chunk of {t})")
        return real(*args, **kwargs)

    return flaky


# ---------------------------------------------------------------------------------------------
# the loop itself
# ---------------------------------------------------------------------------------------------


def test_run_in_chunks_halves_and_covers_every_trial_once():
    seen = []

    def run(lo, hi):
        if hi - lo > 3:
            raise torch.OutOfMemoryError("fake")
        seen.append((lo, hi))
        return list(range(lo, hi))

    out = run_in_chunks(11, 11, run)
    assert [i for part in out for i in part] == list(range(11))
    assert seen == [(0, 2), (2, 4), (4, 6), (6, 8), (8, 10), (10, 11)]  # 11 -> 5 -> 2


def test_run_in_chunks_raises_when_one_trial_does_not_fit():
    tried = []

    def run(lo, hi):
        tried.append(hi - lo)
        raise torch.OutOfMemoryError("fake")

    with pytest.raises(torch.OutOfMemoryError):
        run_in_chunks(4, 4, run)
    assert tried == [4, 2, 1]


def test_run_in_chunks_passes_other_errors_through():
    def run(lo, hi):
        raise RuntimeError("not memory")

    with pytest.raises(RuntimeError, match="not memory"):
        run_in_chunks(4, 4, run)
    with pytest.raises(ValueError, match="per >= 1"):
        run_in_chunks(4, 0, run)


# ---------------------------------------------------------------------------------------------
# the two-layer engine
# ---------------------------------------------------------------------------------------------


def _train(T: int = 10):
    prob = ProblemSpec(n=8, d=4, seed=3).build()
    return engine.train(prob, TwoLayerReLU(16), steps=30, eta=0.5, generators=trial_generators("unit.oom", 0, T),
                        chunk_elements=1 << 20)


def test_engine_halves_the_chunk_and_gives_the_same_numbers(monkeypatch):
    reference = _train()
    sizes: list[int] = []
    monkeypatch.setattr(engine, "_train_chunk", _fake_oom(engine._train_chunk, 3, sizes, lambda model, X, *a: int(X.shape[0])))
    traj = _train()
    assert sizes == [10, 5, 2, 2, 2, 2, 2]  # 10 -> 5 -> 2, then the rest in chunks of 2
    torch.testing.assert_close(traj.loss, reference.loss, rtol=1e-12, atol=0)
    torch.testing.assert_close(traj.drift, reference.drift, rtol=1e-12, atol=0)
    assert torch.equal(traj.diverged_at, reference.diverged_at)


def test_engine_out_of_memory_on_a_single_trial_is_raised(monkeypatch):
    sizes: list[int] = []
    monkeypatch.setattr(engine, "_train_chunk", _fake_oom(engine._train_chunk, 0, sizes, lambda model, X, *a: int(X.shape[0])))
    with pytest.raises(torch.OutOfMemoryError):
        _train(T=4)
    assert sizes == [4, 2, 1]


# ---------------------------------------------------------------------------------------------
# the deep families (train_deep) and their empirical NTK
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def problem():
    return ProblemSpec(n=8, d=5, seed=11).build()


def _chunk_trials(model, params, *args, **kwargs):
    return int(next(iter(params.values())).shape[0])


def _same(a, b):
    torch.testing.assert_close(a.loss, b.loss, rtol=1e-12, atol=0)
    assert torch.equal(a.diverged, b.diverged)
    for k in a.rel_change:
        torch.testing.assert_close(a.rel_change[k], b.rel_change[k], rtol=1e-12, atol=0)
    for k in a.paramsK or {}:
        torch.testing.assert_close(a.paramsK[k], b.paramsK[k], rtol=1e-12, atol=0)
    for name in ("accuracy", "movement", "outputs"):
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None) == (y is None), name
        if x is not None:
            torch.testing.assert_close(x, y, rtol=1e-12, atol=0)


@pytest.mark.parametrize("family", ["fc", "resnet", "he", "cnn_resnet"])
def test_train_deep_halves_the_chunk_and_gives_the_same_numbers(monkeypatch, problem, family):
    net = DeepNet(family, 12, 3, activation="tanh" if family in ("fc", "resnet") else "relu")
    par = net.init(problem.d, trial_generators(f"oom.deep.{family}", 0, 7))
    eta = torch.linspace(0.005, 0.02, 7, dtype=F64)
    kw = dict(steps=15, eta=eta, keep_params=True, track_movement=True, keep_outputs=True)
    reference = train_deep(net, par, problem.X, problem.y, **kw)
    sizes: list[int] = []
    monkeypatch.setattr(deep, "_train_deep_chunk", _fake_oom(deep._train_deep_chunk, 2, sizes, _chunk_trials))
    traj = train_deep(net, par, problem.X, problem.y, **kw)
    assert sizes == [7, 3, 1, 1, 1, 1, 1, 1, 1]  # 7 -> 3 -> 1 (3 > 2 still fails), then one at a time
    _same(traj, reference)


def test_train_deep_sgd_redraws_the_same_minibatches_after_an_oom(monkeypatch, problem):
    net = DeepNet("fc", 10, 2, activation="tanh")
    par = net.init(problem.d, trial_generators("oom.sgd", 0, 6))
    kw = dict(steps=25, eta=0.02, batch_size=3)
    reference = train_deep(net, par, problem.X, problem.y, batch_generators=trial_generators("oom.sgd.b", 0, 6), **kw)
    real = deep._train_deep_chunk
    sizes: list[int] = []

    def flaky(model, params, X, y, **kwargs):
        t = _chunk_trials(model, params)
        sizes.append(t)
        if t > 2:
            # fail late, after the chunk has drawn minibatches from its generators
            for g in kwargs["batch_generators"]:
                torch.randperm(problem.n, generator=g)
            raise torch.OutOfMemoryError("CUDA out of memory (fake)")
        return real(model, params, X, y, **kwargs)

    monkeypatch.setattr(deep, "_train_deep_chunk", flaky)
    traj = train_deep(net, par, problem.X, problem.y, batch_generators=trial_generators("oom.sgd.b", 0, 6), **kw)
    assert sizes == [6, 3, 1, 1, 1, 1, 1, 1]
    _same(traj, reference)


def test_train_deep_cross_entropy_chunked_matches(problem):
    net = DeepNet("fc", 10, 2, activation="relu", outputs=3)
    labels = torch.arange(problem.n) % 3
    par = net.init(problem.d, trial_generators("oom.ce", 0, 5))
    reference = train_deep(net, par, problem.X, labels, steps=10, eta=0.05, loss="ce")
    _same(train_deep(net, par, problem.X, labels, steps=10, eta=0.05, loss="ce", chunk_trials=2), reference)


@pytest.mark.parametrize("sgd", [False, True])
def test_train_deep_chunked_early_stop_matches_one_batch(monkeypatch, problem, sgd):
    """Chunks would stop at their own steps; the result must be where one batch of all trials stops."""
    net = DeepNet("fc", 16, 2, activation="tanh")
    T = 6
    par = net.init(problem.d, trial_generators("oom.stop", 0, T))
    eta = torch.linspace(0.01, 0.06, T, dtype=F64)  # trials reach the threshold at different steps
    extra = dict(batch_size=4) if sgd else {}

    def run(**more):
        gens = trial_generators("oom.stop.b", 0, T) if sgd else None
        return train_deep(net, par, problem.X, problem.y, steps=400, eta=eta, stop_below=0.2, keep_params=True,
                          batch_generators=gens, **extra, **more)

    reference = run()
    assert reference.steps < 400  # it did stop early
    # the slowest trial sets the stop; a chunk without it would have stopped sooner
    first = reference.steps_to(0.2)
    assert float(first.min()) < float(first.max()) == reference.steps
    _same(run(chunk_trials=2), reference)
    sizes: list[int] = []
    monkeypatch.setattr(deep, "_train_deep_chunk", _fake_oom(deep._train_deep_chunk, 3, sizes, _chunk_trials))
    _same(run(), reference)
    assert sizes[:3] == [6, 3, 3]


def test_train_deep_rejects_bad_chunks(problem):
    net = DeepNet("fc", 8, 2)
    par = net.init(problem.d, trial_generators("oom.bad", 0, 2))
    with pytest.raises(ValueError, match="chunk_trials"):
        train_deep(net, par, problem.X, problem.y, steps=1, eta=0.1, chunk_trials=0)
    with pytest.raises(ValueError, match="eta has 3 entries for 2 trials"):
        train_deep(net, par, problem.X, problem.y, steps=1, eta=torch.ones(3))


def test_empirical_ntk_halves_its_chunk(monkeypatch, problem):
    net = DeepNet("resnet", 10, 3, activation="tanh")
    par = net.init(problem.d, trial_generators("oom.ntk", 0, 5))
    reference = empirical_ntk(net, par, problem.X)
    real = torch.Tensor.__matmul__
    sizes: list[int] = []

    def flaky_matmul(a, b):
        if a.dim() == 3 and a.shape[1] == problem.n and b.shape[-1] == problem.n:  # J @ J^T of one chunk
            sizes.append(int(a.shape[0]))
            if a.shape[0] > 2:
                raise torch.OutOfMemoryError("CUDA out of memory (fake)")
        return real(a, b)

    monkeypatch.setattr(torch.Tensor, "__matmul__", flaky_matmul)
    ntk = empirical_ntk(net, par, problem.X)
    monkeypatch.undo()
    assert sizes == [5, 2, 2, 1]
    torch.testing.assert_close(ntk, reference, rtol=1e-12, atol=0)
