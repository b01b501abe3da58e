"""harness.critical: the closed-form MLP Hessian against torch.func, the critical-point finder on a
function with known critical points, the index against eigvalsh, merging of symmetric copies, the
Spearman bootstrap; and the decisions of claims/test_dauphin2014.py (the planted twins are caught)."""

from __future__ import annotations

import importlib

import itertools
import math

import numpy as np
import pytest
import torch
from hypothesis.errors import UnsatisfiedAssumption
from scipy import stats as sps

from harness import ProblemSpec, trial_generators
from harness.contract.claim import Evidence
from harness.analysis.critical import (
    Objective,
    activation_derivatives,
    distinct,
    find_critical_points,
    gd_snapshots,
    hessian_index,
    mlp_hessian,
    mlp_objective,
    objective,
    spearman_bootstrap,
)
from harness.analysis.hessian import hessian
from harness.networks.mlp import MLP




dm = importlib.import_module("harness.analysis.studies.dauphin2014")


# ----------------------------------------------------------------------------- Hessians


@pytest.mark.parametrize("act", ["tanh", "gelu", "softplus", "sigmoid", "relu"])
@pytest.mark.parametrize("c", [1, 3])
def test_mlp_hessian_is_the_torch_func_hessian(act, c):
    p = ProblemSpec(n=9, d=3, seed=1).build()
    Y = p.y if c == 1 else torch.randn(9, c, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    mlp = MLP((3, 4, c), act)
    th = mlp.init(trial_generators("test.mlp_hessian", c, 3))
    th = th + 0.2 * torch.randn(th.shape, generator=torch.Generator().manual_seed(3), dtype=torch.float64)  # nonzero biases
    got = mlp_hessian(mlp, th, p.X, Y)
    ref = torch.stack([hessian(lambda t: mlp.loss(t, p.X, Y), t) for t in th])
    torch.testing.assert_close(got, ref, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(mlp_hessian(mlp, th[0], p.X, Y), ref[0], rtol=1e-12, atol=1e-12)


def test_mlp_objective_with_weight_decay_and_the_generic_path():
    p = ProblemSpec(n=8, d=3, seed=4).build()
    Y = torch.randn(8, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    th = MLP((3, 5, 2), "tanh").init(trial_generators("test.obj", 0, 2))
    wd = 0.01
    fast = mlp_objective(MLP((3, 5, 2), "tanh"), p.X, Y, weight_decay=wd)
    f = lambda t: MLP((3, 5, 2), "tanh").loss(t, p.X, Y) + 0.5 * wd * (t * t).sum()  # noqa: E731
    slow = objective(f, fast.n_params)
    torch.testing.assert_close(fast.hessian(th), slow.hessian(th), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(fast.grad(th), slow.grad(th), rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(fast.loss(th), slow.loss(th))
    deep = MLP((3, 4, 3, 1), "tanh")  # two hidden layers: vmap(torch.func.hessian)
    thd = deep.init(trial_generators("test.obj.deep", 0, 2))
    obj = mlp_objective(deep, p.X, p.y, weight_decay=wd)
    ref = torch.stack([hessian(lambda t: deep.loss(t, p.X, p.y) + 0.5 * wd * (t * t).sum(), t) for t in thd])
    torch.testing.assert_close(obj.hessian(thd), ref, rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="one hidden layer"):
        mlp_hessian(deep, thd, p.X, p.y)


def test_activation_derivatives_closed_forms():
    z = torch.linspace(-3, 3, 13, dtype=torch.float64)
    _, s1, s2 = activation_derivatives("tanh", z)
    t = torch.tanh(z)
    torch.testing.assert_close(s1, 1 - t * t)
    torch.testing.assert_close(s2, -2 * t * (1 - t * t))
    _, r1, r2 = activation_derivatives("relu", z)
    assert torch.equal(r2, torch.zeros_like(z)) and torch.equal(r1, (z > 0).to(z.dtype))


# ----------------------------------------------------------------------------- index and finder


def test_hessian_index_against_eigvalsh():
    g = torch.Generator().manual_seed(0)
    Q, _ = torch.linalg.qr(torch.randn(6, 6, generator=g, dtype=torch.float64))
    lam = torch.tensor([-2.0, -0.5, -1e-8, 0.0, 1e-9, 3.0], dtype=torch.float64)  # tol = 3e-6
    H = Q @ torch.diag(lam) @ Q.T
    ev = torch.linalg.eigvalsh(0.5 * (H + H.T))
    alpha, neg, zero = hessian_index(ev)
    assert int(neg) == 2 and int(zero) == 3 and float(alpha) == pytest.approx(2 / 6)
    # batched rows, each with its own tolerance; a plain count of eigvalsh < -tol agrees
    E = torch.randn(5, 7, generator=g, dtype=torch.float64)
    Hs = E.unsqueeze(2) * torch.eye(7, dtype=torch.float64)
    ev = torch.linalg.eigvalsh(Hs)
    a, n, _ = hessian_index(ev, rtol=0.1)
    want = [(e < -0.1 * e.abs().max()).sum().item() for e in E]
    assert n.tolist() == want
    torch.testing.assert_close(a, torch.tensor(want, dtype=torch.float64) / 7)


def _double_well() -> Objective:
    """f(x, y) = x^4/4 - x^2/2 + y^2/2: minima (+-1, 0) with f = -1/4 (Hessian diag(2, 1)),
    a saddle (0, 0) with f = 0 (Hessian diag(-1, 1))."""

    def f(t):
        return t[0] ** 4 / 4 - t[0] ** 2 / 2 + t[1] ** 2 / 2

    return objective(f, 2)


def test_finder_on_a_function_with_known_critical_points():
    xs = torch.linspace(-1.7, 1.7, 9, dtype=torch.float64)
    starts = torch.cartesian_prod(xs, torch.tensor([-0.8, 0.3], dtype=torch.float64))
    cp = find_critical_points(_double_well(), starts, lm_iters=5, newton_iters=30, gtol=1e-13, max_step=0.3)
    assert cp.starts == starts.shape[0]
    assert len(cp) >= 0.8 * cp.starts
    assert float(cp.grad_norm.max()) <= 1e-13
    known = torch.tensor([[-1.0, 0.0], [0.0, 0.0], [1.0, 0.0]], dtype=torch.float64)
    nearest = torch.cdist(cp.theta, known).argmin(dim=1)
    assert set(nearest.tolist()) == {0, 1, 2}
    torch.testing.assert_close(cp.theta, known[nearest], atol=1e-12, rtol=0)
    torch.testing.assert_close(cp.loss, torch.tensor([-0.25, 0.0, -0.25], dtype=torch.float64)[nearest], atol=1e-14, rtol=0)
    assert cp.index.tolist() == [[0.0, 0.5, 0.0][k] for k in nearest.tolist()]
    assert float(cp.newton_step.max()) < 1e-12
    # the two minima are copies under x -> -x (same loss, same spectrum diag(1, 2)): merged
    u = distinct(cp)
    assert len(u) == 2 and int(u.copies.sum()) == len(cp)
    torch.testing.assert_close(u.eigenvalues, torch.tensor([[1.0, 2.0], [-1.0, 1.0]], dtype=torch.float64), atol=1e-12, rtol=0)
    assert u.index.tolist() == [0.0, 0.5] and u.negatives.tolist() == [0, 1]


def test_finder_counts_only_converged_starts():
    """A start that never reaches gtol (here: no iterations) is not a critical point."""
    obj = _double_well()
    starts = torch.tensor([[0.5, 0.5], [1.0, 0.0]], dtype=torch.float64)
    cp = find_critical_points(obj, starts, lm_iters=0, newton_iters=0, gtol=1e-12)
    assert len(cp) == 1 and cp.origin.tolist() == [1]
    assert cp.final_grad_norm.shape == (2,) and float(cp.final_grad_norm[0]) > 0.1


def test_mlp_critical_points_and_symmetric_copies_are_merged():
    p = ProblemSpec(n=12, d=3, seed=2).build()
    mlp = MLP((3, 3, 1), "tanh")
    obj = mlp_objective(mlp, p.X, p.y, weight_decay=1e-3)
    th0 = mlp.init(trial_generators("test.crit.mlp", 0, 6))
    starts, tags = gd_snapshots(obj, th0, 0.5, (0, 300))
    cp = find_critical_points(obj, starts, lm_iters=30, newton_iters=60)
    assert len(cp) >= 3
    # genuine: the autograd gradient vanishes, the eigenvalues are eigvalsh of the torch.func Hessian
    assert float(obj.grad(cp.theta).norm(dim=1).max()) <= 1e-10
    best = int(torch.argmin(cp.loss))  # a trained network (not the all-zero-weights critical point)
    f = lambda t: mlp.loss(t, p.X, p.y) + 0.5e-3 * (t * t).sum()  # noqa: E731
    ref = torch.linalg.eigvalsh(hessian(f, cp.theta[best]))
    torch.testing.assert_close(cp.eigenvalues[best], ref, rtol=1e-9, atol=1e-12)
    # a permutation of the hidden units and a sign flip of one unit give a copy with the same loss and spectrum
    (W, b), (A, a0) = mlp.unflatten(cp.theta[best : best + 1])
    perm = torch.tensor([2, 0, 1])
    W2, b2, A2 = W[:, perm].clone(), b[:, perm].clone(), A[:, :, perm].clone()
    W2[:, 0], b2[:, 0], A2[:, :, 0] = -W2[:, 0], -b2[:, 0], -A2[:, :, 0]
    twin = torch.cat([W2.flatten(1), b2, A2.flatten(1), a0], dim=1)
    assert (twin - cp.theta[best]).abs().max() > 0.1
    both = find_critical_points(obj, torch.cat([cp.theta[best : best + 1], twin]), lm_iters=0, newton_iters=2)
    assert len(both) == 2
    u = distinct(both)
    assert len(u) == 1 and u.copies.tolist() == [2]
    # gd_snapshots is plain GD
    th = th0.clone()
    for _ in range(300):
        th = th - 0.5 * obj.grad(th)
    torch.testing.assert_close(starts[tags == 300], th)
    torch.testing.assert_close(starts[tags == 0], th0)


def test_spearman_bootstrap():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(40)
    y = np.round(2 * x + 0.5 * rng.standard_normal(40))  # ties, like integer indices
    rho, lo, hi = spearman_bootstrap(x, y, resamples=500)
    assert rho == pytest.approx(sps.spearmanr(x, y).statistic)
    assert lo < rho < hi and lo > 0.7
    rho, lo, hi = spearman_bootstrap(x, np.exp(x))
    assert rho == pytest.approx(1.0) and lo == pytest.approx(1.0)
    _, lo, hi = spearman_bootstrap(x, rng.standard_normal(40), resamples=500)
    assert lo < 0 < hi
    with pytest.raises(ValueError, match="pairs"):
        spearman_bootstrap([1.0, 2.0], [1.0, 2.0])


# ----------------------------------------------------------------------------- the claim module


def test_random_1d_derivatives_and_its_critical_points():
    obj = dm.random_1d(3)
    x = torch.linspace(-4, 4, 17, dtype=torch.float64).unsqueeze(1)
    ref = objective(lambda t: obj.loss(t.unsqueeze(0))[0], 1)
    torch.testing.assert_close(obj.grad(x), ref.grad(x))
    torch.testing.assert_close(obj.hessian(x), ref.hessian(x))
    pts = dm.one_dimensional_points(3)
    assert len(pts) >= dm.MIN_POINTS
    # in 1-D, minima and maxima alternate along x
    kinds = pts.negatives[torch.argsort(pts.theta[:, 0])].tolist()
    assert all(a != b for a, b in itertools.pairwise(kinds))


def test_rho_decisions_and_the_planted_independence_twin():
    x = np.linspace(0.1, 1.0, 30)
    idx = np.floor(10 * x) / 20
    dm.check_rho(Evidence({}), x, idx, control=False, what="monotone")
    with pytest.raises(AssertionError, match="lies above 0"):
        dm.check_rho(Evidence({}), x, idx, control=True, what="planted")
    with pytest.raises(AssertionError, match="below"):
        dm.check_rho(Evidence({}), x, -idx, control=False, what="decreasing")
    with pytest.raises(UnsatisfiedAssumption):
        dm.check_rho(Evidence({}), x[:5], idx[:5], control=False, what="too few")


def test_saddle_decisions_and_the_planted_minima_twin():
    loss = np.linspace(0.0, 1.0, 60)
    neg = np.where(loss > 0.05, 3, 0)  # only the points near L_min are minima
    dm.check_saddles(Evidence({}), loss, neg, 0.0, 1.0, control=False, what="saddles")
    with pytest.raises(AssertionError):
        dm.check_saddles(Evidence({}), loss, neg, 0.0, 1.0, control=True, what="planted minima")
    with pytest.raises(AssertionError):  # half the high points are minima: the 1-D picture
        dm.check_saddles(Evidence({}), loss, np.arange(60) % 2, 0.0, 1.0, control=False, what="1-D")


def test_planted_twins_caught_on_a_small_mlp():
    """End to end on a small landscape: the true predicates hold and both planted twins raise."""
    case = dm.Case(seed=0, activation="tanh", d=3, h=5, c=2, n=24, inits=8)
    sw = dm.sweep(case)
    pts = sw.points
    assert sw.converged >= 12 and len(pts) >= dm.MIN_POINTS
    assert float(pts.grad_norm.max()) <= dm.GTOL and int(pts.zeros.max()) == 0
    dm.check_rho(Evidence({}), pts.loss.numpy(), pts.index.numpy(), control=False, what="small MLP")
    with pytest.raises(AssertionError):
        dm.check_rho(Evidence({}), pts.loss.numpy(), pts.index.numpy(), control=True, what="small MLP, planted")
    with pytest.raises(AssertionError):
        dm.check_saddles(Evidence({}), pts.loss.numpy(), pts.negatives.numpy(), sw.L_min, sw.L_zero, control=True, what="small MLP, planted")
    assert math.isfinite(sw.L_min) and sw.L_min < sw.L_zero
