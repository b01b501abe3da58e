"""harness.analysis.linearize and the helpers of claims/test_lee2019.py and claims/test_chizat2019.py: the linearized
GD recursion against a closed form and against GD on the linearization in parameter space (torch.func.jvp /
vjp), train_deep's alpha / center objective against a hand computation, the width grids, and the planted
false twins caught on small cases."""

from __future__ import annotations

import importlib

import itertools

import pytest
import torch
from torch.func import jvp, vjp

from harness import ProblemSpec, trial_generators
from harness.networks.deep import DeepNet, empirical_ntk
from harness.training.deep_engine import train_deep
from harness.analysis.linearize import linearization_gap, linearized_outputs
from harness.runtime.profiles import PROFILES, current_profile, set_profile




lee = importlib.import_module("harness.analysis.studies.lee2019")
chz = importlib.import_module("harness.analysis.studies.chizat2019")


@pytest.fixture(scope="module")
def problem():
    return ProblemSpec(n=6, d=5, seed=3).build()


def _single(params: dict[str, torch.Tensor], t: int) -> dict[str, torch.Tensor]:
    return {k: v[t] for k, v in params.items()}


def _f(net: DeepNet, X: torch.Tensor):
    """One trial's training outputs as a function of its (unbatched) parameters."""

    def f(p: dict[str, torch.Tensor]) -> torch.Tensor:
        return net.forward({k: v.unsqueeze(0) for k, v in p.items()}, X).squeeze(0)

    return f


# ----------------------------------------------------------------------------- the linearized recursion


def test_recursion_matches_the_closed_form():
    g = torch.Generator().manual_seed(0)
    T, n, K = 3, 5, 40
    A = torch.randn(T, n, n, generator=g, dtype=torch.float64)
    theta = A @ A.transpose(1, 2) + 0.1 * torch.eye(n, dtype=torch.float64)
    u0 = torch.randn(T, n, generator=g, dtype=torch.float64)
    y = torch.randn(n, generator=g, dtype=torch.float64)
    eta = 0.9 / torch.linalg.eigvalsh(theta)[:, -1]
    got = linearized_outputs(theta, u0, y, eta, K)
    assert got.shape == (T, K + 1, n)
    eye = torch.eye(n, dtype=torch.float64)
    for k in (0, 1, 7, K):
        P = torch.linalg.matrix_power(eye - eta.view(T, 1, 1) * theta, k)
        ref = y + (P @ (u0 - y).unsqueeze(2)).squeeze(2)
        torch.testing.assert_close(got[:, k], ref, rtol=1e-12, atol=1e-12)
    # eigenbasis: each mode decays by (1 - eta lambda_i)^k
    lam, V = torch.linalg.eigh(theta)
    modes = (V.transpose(1, 2) @ (got[:, K] - y).unsqueeze(2)).squeeze(2)
    modes0 = (V.transpose(1, 2) @ (u0 - y).unsqueeze(2)).squeeze(2)
    torch.testing.assert_close(modes, modes0 * (1 - eta.view(T, 1) * lam) ** K, rtol=1e-9, atol=1e-12)


def test_recursion_is_gd_on_the_linearized_network(problem):
    """Parameter-space GD on f_lin(theta) = f(theta_0) + J_0 (theta - theta_0), with J_0 applied by torch.func.jvp
    and J_0^T by torch.func.vjp (no kernel anywhere), gives the recursion's outputs at every step."""
    net = DeepNet("fc", 12, 2, "softplus")
    params = net.init(problem.d, trial_generators("test.lin.gd", 0, 2))
    theta0 = empirical_ntk(net, params, problem.X)
    eta = 0.8 / torch.linalg.eigvalsh(theta0)[:, -1]
    u0 = net.forward(params, problem.X)
    K = 25
    lin = linearized_outputs(theta0, u0, problem.y, eta, K)
    for t in range(2):
        f = _f(net, problem.X)
        p0 = _single(params, t)
        out0, pullback = vjp(f, p0)
        delta = {k: torch.zeros_like(v) for k, v in p0.items()}
        for k in range(K + 1):
            u = out0 + jvp(f, (p0,), (delta,))[1]
            torch.testing.assert_close(u, lin[t, k], rtol=1e-10, atol=1e-10)
            (g,) = pullback(u - problem.y)
            delta = {name: delta[name] - eta[t] * g[name] for name in delta}


def test_gd_on_a_wide_net_tracks_the_recursion_and_the_gap_is_measured(problem):
    net = DeepNet("fc", 256, 2, "softplus")
    params = net.init(problem.d, trial_generators("test.lin.wide", 0, 2))
    theta0 = empirical_ntk(net, params, problem.X)
    eta = 0.5 / torch.linalg.eigvalsh(theta0)[:, -1]
    tr = train_deep(net, params, problem.X, problem.y, steps=30, eta=eta, keep_outputs=True)
    lin = linearized_outputs(theta0, tr.outputs[:, 0], problem.y, eta, 30)
    dev, sup = linearization_gap(tr.outputs, lin)
    assert dev.shape == (2, 31) and float(dev[:, 0].abs().max()) < 1e-14
    torch.testing.assert_close(sup, dev.max(dim=1).values)
    r0 = (tr.outputs[:, 0] - problem.y).norm(dim=1)
    assert bool((sup / r0 < 0.05).all()) and bool((sup > 0).all())
    # shorter records are compared over the common steps
    assert linearization_gap(tr.outputs[:, :5], lin)[0].shape == (2, 5)


def test_recursion_rejects_bad_shapes():
    th = torch.eye(3, dtype=torch.float64).expand(2, 3, 3)
    with pytest.raises(ValueError, match="u0"):
        linearized_outputs(th, torch.zeros(3), torch.zeros(3), 0.1, 2)
    with pytest.raises(ValueError, match="steps"):
        linearized_outputs(th, torch.zeros(2, 3), torch.zeros(3), 0.1, -1)


# ----------------------------------------------------------------------------- Chizat's objective


@pytest.mark.parametrize("center", [True, False])
def test_alpha_objective_matches_a_hand_computation(problem, center):
    """train_deep(alpha, center) minimises R(alpha (f - f_0)) / alpha^2 (or R(alpha f) / alpha^2): the recorded
    objective and outputs, and one GD step, against the formula evaluated and differentiated by hand."""
    net = DeepNet("fc", 10, 2, "tanh")
    params = net.init(problem.d, trial_generators("test.alpha", int(center), 2))
    alpha, eta, K = 7.0, 0.05, 3
    tr = train_deep(net, params, problem.X, problem.y, steps=K, eta=eta, alpha=alpha, center=center, keep_outputs=True, keep_params=True, track_movement=True)
    f0 = net.forward(params, problem.X)

    def F(p):
        u = alpha * (net.forward(p, problem.X) - (f0 if center else 0.0))
        return 0.5 * ((u - problem.y) ** 2).sum(dim=1) / alpha**2, u

    F0, u0 = F(params)
    torch.testing.assert_close(tr.loss[:, 0], F0, rtol=1e-13, atol=1e-15)
    torch.testing.assert_close(tr.outputs[:, 0], u0, rtol=1e-13, atol=1e-15)
    if center:
        torch.testing.assert_close(F0, torch.full_like(F0, 0.5 * float((problem.y**2).sum()) / alpha**2))
    p = {k: v.clone() for k, v in params.items()}
    for k in range(K):
        q = {name: v.clone().requires_grad_(name in net.trainable) for name, v in p.items()}
        obj, _ = F(q)
        grads = torch.autograd.grad(obj.sum(), [q[name] for name in net.trainable])
        p = {name: (p[name] - eta * g) for name, g in zip(net.trainable, grads, strict=True)}
        Fk, uk = F(p)
        torch.testing.assert_close(tr.loss[:, k + 1], Fk.detach(), rtol=1e-10, atol=1e-14)
        torch.testing.assert_close(tr.outputs[:, k + 1], uk.detach(), rtol=1e-10, atol=1e-12)
    moved = torch.sqrt(sum(((p[name] - params[name]).flatten(1) ** 2).sum(dim=1) for name in net.trainable))
    torch.testing.assert_close(tr.movement[:, -1], moved.detach(), rtol=1e-9, atol=1e-14)


def test_large_alpha_is_lazy(problem):
    """Centered, eta = c / lambda_max(Theta_0) for every alpha: alpha x movement settles and the outputs approach
    the linearized ones like 1/alpha."""
    net = DeepNet("fc", 16, 2, "softplus")
    params = net.init(problem.d, trial_generators("test.lazy", 0, 2))
    theta0 = empirical_ntk(net, params, problem.X)
    eta = 0.5 / torch.linalg.eigvalsh(theta0)[:, -1]
    res = {}
    for a in (10.0, 100.0):
        tr = train_deep(net, params, problem.X, problem.y, steps=40, eta=eta, alpha=a, center=True, keep_outputs=True, track_movement=True)
        lin = linearized_outputs(theta0, torch.zeros(2, problem.n, dtype=torch.float64), problem.y, eta, 40)
        res[a] = (a * tr.movement.max(dim=1).values, linearization_gap(tr.outputs, lin)[1])
    torch.testing.assert_close(res[10.0][0], res[100.0][0], rtol=0.05, atol=0)
    ratio = res[10.0][1] / res[100.0][1]
    assert bool(((ratio > 7) & (ratio < 14)).all()), ratio


# ----------------------------------------------------------------------------- claim helpers


def test_width_grids_of_every_profile():
    before = current_profile().name
    try:
        got = {}
        for name in PROFILES:
            set_profile(name)
            got[name] = (lee.lin_widths(), lee.lin_seeds(), chz.lazy_width(), chz.lazy_seeds())
            ws = got[name][0]
            assert max(ws) <= lee.MAX_WIDTH and all(b == 2 * a for a, b in itertools.pairwise(ws))
        assert got["quick"] == ((16, 32, 64, 128, 256), 12, 64, 8)
        assert got["standard"][0] == (64, 128, 256, 512, 1024)
        assert got["nightly"][0] == (256, 512, 1024, 2048, 4096)
    finally:
        set_profile(before)


@pytest.fixture
def small_lee(monkeypatch):
    monkeypatch.setattr(lee, "lin_widths", lambda: (16, 32, 64, 128))
    monkeypatch.setattr(lee, "lin_seeds", lambda: 6)
    monkeypatch.setattr(lee, "lin_steps", lambda: 40)
    lee._sweep.cache_clear()
    yield lee
    lee._sweep.cache_clear()


def test_lee_claim_holds_and_mean_field_twin_is_caught(small_lee):
    spec = ProblemSpec(n=8, d=6, seed=1)
    small_lee.linearization(spec, "softplus", 2, 0.5, "ntk", "test.lee", control=False)
    r = small_lee._sweep(spec, "softplus", 2, 0.5, "ntk", "test.lee")
    assert r.diverged == 0 and r.move.shape == (24,) and len(r.curves) == 4
    with pytest.raises(AssertionError, match="contradicts"):
        small_lee.linearization(spec, "softplus", 2, 0.5, "mean_field", "test.lee.mf", control=True)


@pytest.fixture
def small_chizat(monkeypatch):
    monkeypatch.setattr(chz, "lazy_width", lambda: 16)
    monkeypatch.setattr(chz, "lazy_seeds", lambda: 4)
    monkeypatch.setattr(chz, "lazy_steps", lambda: 40)
    chz._alpha_sweep.cache_clear()
    yield chz
    chz._alpha_sweep.cache_clear()


def test_chizat_claim_holds_and_uncentered_twin_is_caught(small_chizat):
    spec = ProblemSpec(n=8, d=6, seed=2)
    small_chizat.lazy(spec, "tanh", 2, 0.5, True, "test.chizat", control=False)
    with pytest.raises(AssertionError, match="contradicts"):
        small_chizat.lazy(spec, "tanh", 2, 0.5, False, "test.chizat.unc", control=True)
