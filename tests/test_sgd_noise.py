"""harness.networks.toy_landscapes against autograd, quadrature and Monte Carlo; the batched simulator against
per-trial runs; the decision helpers of claims/test_kleinberg2018.py and claims/test_sgd_noise.py,
and their planted twins caught on small cases."""

from __future__ import annotations

import importlib

import itertools
import math

import numpy as np
import pytest
import torch
from hypothesis.errors import UnsatisfiedAssumption

from harness.contract.claim import _EVIDENCE, Evidence
from harness.runtime.profiles import PROFILES, current_profile, set_profile
from harness.networks.toy_landscapes import (
    Landscape,
    Well,
    convolved_grad_quadrature,
    simulate,
    smoothed_step_monte_carlo,
    spike_landscape,
    wide_well_landscape,
)
import contextlib




kb = importlib.import_module("harness.analysis.studies.kleinberg2018")
jz = importlib.import_module("harness.analysis.studies.sgd_noise")


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _landscape(dim: int, seed: int = 0) -> Landscape:
    g = _gen(seed)
    wells = tuple(
        Well(tuple(torch.randn(dim, generator=g, dtype=torch.float64).tolist()), 0.3 + float(torch.rand(1, generator=g)), 0.2 + 0.3 * float(torch.rand(1, generator=g)))
        for _ in range(3)
    )
    return Landscape(dim, 1.7, wells, tuple((0.1 * torch.randn(dim, generator=g, dtype=torch.float64)).tolist()), 0.25)


class _Ctx:
    """An evidence context, as the claim decorator sets one."""

    def __enter__(self) -> Evidence:
        self.ev = Evidence({})
        self.tok = _EVIDENCE.set(self.ev)
        return self.ev

    def __exit__(self, *exc) -> None:
        _EVIDENCE.reset(self.tok)


# ------------------------------------------------------------------------------------------ landscapes


@pytest.mark.parametrize("dim", [1, 2, 10])
def test_gradient_and_hessian_match_autograd(dim):
    f = _landscape(dim, dim)
    x = torch.randn(7, dim, generator=_gen(1), dtype=torch.float64)
    xr = x.clone().requires_grad_(True)
    (auto,) = torch.autograd.grad(f.value(xr).sum(), xr)
    torch.testing.assert_close(f.grad(x), auto, rtol=1e-12, atol=1e-12)
    for xi in x[:3]:
        H = torch.func.hessian(lambda v: f.value(v))(xi)
        torch.testing.assert_close(f.hessian(xi), H, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(f.hessian(x)[3], torch.func.hessian(lambda v: f.value(v))(x[3]), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("dim", [1, 2])
def test_closed_form_convolution_matches_quadrature(dim):
    f = _landscape(dim, 10 + dim)
    sigma = 0.35
    x = torch.randn(5, dim, generator=_gen(2), dtype=torch.float64)
    quad = convolved_grad_quadrature(f.grad, x, sigma, spacing=0.02)
    torch.testing.assert_close(f.convolve(sigma).grad(x), quad, rtol=1e-10, atol=1e-12)
    qv = convolved_grad_quadrature(lambda u: f.value(u).unsqueeze(-1), x, sigma, spacing=0.02).squeeze(-1)
    torch.testing.assert_close(f.convolve(sigma).value(x), qv, rtol=1e-10, atol=1e-12)


def test_closed_form_convolution_matches_monte_carlo_in_10d():
    f = _landscape(10, 3)
    sigma, M = 0.3, 200_000
    x = torch.randn(3, 10, generator=_gen(4), dtype=torch.float64)
    u = sigma * torch.randn(M, 1, 10, generator=_gen(5), dtype=torch.float64)
    vals = f.grad(x.unsqueeze(0) - u)  # [M, 3, 10]
    mc, se = vals.mean(0), vals.std(0) / math.sqrt(M)
    z = ((mc - f.convolve(sigma).grad(x)) / se).abs()
    assert float(z.max()) < 5.0


def test_smoothed_step_monte_carlo_is_gd_on_the_convolved_loss():
    """Kleinberg et al.'s identity E[y' - y] = -eta grad (f * N(0, (eta s)^2))(y) near narrow wells, and a clear
    miss of the unsmoothed gradient (the planted twin)."""
    f = spike_landscape(1, 0.01, [1.0, 1.3], steepness=2.5)
    eta, s = 0.002, 15.0  # eta s = 3 w
    y = torch.linspace(0.95, 1.05, 9, dtype=torch.float64).unsqueeze(1)
    mc, se = smoothed_step_monte_carlo(f, y, eta=eta, noise=s, samples=200_000, generator=_gen(6))
    ref = convolved_grad_quadrature(f.grad, y, eta * s, spacing=0.001)
    torch.testing.assert_close(ref, f.convolve(eta * s).grad(y), rtol=1e-9, atol=1e-12)
    assert float(((mc + eta * ref) / se).abs().max()) < 5.0
    assert float(((mc + eta * f.grad(y)) / se).abs().max()) > 20.0


def test_quadrature_rejects_three_dimensions():
    with pytest.raises(ValueError, match="D = 1 or 2"):
        convolved_grad_quadrature(lambda u: u, torch.zeros(1, 3, dtype=torch.float64), 0.1, spacing=0.05)


def test_well_minima_are_minima_and_shallow_wells_are_rejected():
    for dim in (1, 2, 10):
        f = spike_landscape(dim, 0.01, [1.0, 1.5], generator=_gen(dim))
        m = f.well_minima()
        assert float(f.grad(m).norm(dim=1).max()) < 1e-9
        assert bool((torch.linalg.eigvalsh(f.hessian(m))[:, 0] > 0).all())
        c = torch.tensor([w.center for w in f.wells], dtype=torch.float64)
        assert float(((m - c).norm(dim=1) / 0.01).max()) < 1.0
    with pytest.raises(ValueError, match="local minimum"):
        spike_landscape(1, 0.01, [1.0], steepness=1.0).well_minima()  # below sqrt(e): no minimum
    fw = wide_well_landscape(1, 0.2, 2.0, 1.8)
    (mw,) = fw.well_minima()
    assert 0.15 < float(fw.value(mw.unsqueeze(0))) < 0.17  # a bad minimum, above f(x*) = 0
    assert kb.barrier(fw, mw) == pytest.approx(0.902, abs=2e-3)


# ------------------------------------------------------------------------------------------ the simulator


def test_batched_simulation_equals_per_trial_runs():
    f = spike_landscape(2, 0.05, [1.0, 1.4], generator=_gen(7))
    T, steps = 5, 60
    x0 = torch.randn(T, 2, generator=_gen(8), dtype=torch.float64)
    om = torch.randn(steps, T, 2, generator=_gen(9), dtype=torch.float64)
    noise = torch.tensor([0.0, 0.5, 1.0, 2.0, 3.0], dtype=torch.float64)
    eta = 0.01
    batched = simulate(f, x0, eta=eta, noise=noise, steps=steps, omegas=om, quench=7, record_every=20, chunk=16)
    for t in range(T):
        x = x0[t].clone()
        for k in range(steps):
            g = f.grad(x) + noise[t] * om[k, t]
            x = x - eta * g
        torch.testing.assert_close(batched.final[t], x, rtol=1e-13, atol=1e-14)
        q = x.clone()
        for _ in range(7):
            q = q - eta * f.grad(q)
        torch.testing.assert_close(batched.quenched[t], q, rtol=1e-13, atol=1e-14)
    assert batched.snapshots.shape == (4, T, 2)
    torch.testing.assert_close(batched.snapshots[-1], batched.final)
    one = simulate(f, x0[2:3], eta=eta, noise=1.0, steps=steps, omegas=om[:, 2:3])
    torch.testing.assert_close(one.final[0], batched.final[2], rtol=1e-13, atol=1e-14)


def test_simulation_is_reproducible_and_plain_gd_ignores_the_generator():
    f = spike_landscape(1, 0.05, [1.0], generator=None)
    x0 = torch.full((4, 1), 1.2, dtype=torch.float64)
    a = simulate(f, x0, eta=0.01, noise=2.0, steps=50, generator=_gen(1), chunk=7)
    b = simulate(f, x0, eta=0.01, noise=2.0, steps=50, generator=_gen(1), chunk=7)
    torch.testing.assert_close(a.final, b.final, rtol=0, atol=0)
    gd = simulate(f, x0, eta=0.01, noise=0.0, steps=50)
    torch.testing.assert_close(gd.final, f.descend(x0, 0.01, 50))
    with pytest.raises(ValueError, match="omegas"):
        simulate(f, x0, eta=0.01, noise=1.0, steps=5, omegas=torch.zeros(4, 4, 1))


# ------------------------------------------------------------------------------------------ Kleinberg claims

SMALL = {"width": 0.004, "trials": 48, "sweep": 32, "samples": 1 << 13}


def test_escape_claim_and_its_planted_twin_on_a_small_case():
    spec = kb.ToySpec(dim=1, ratio=2.0, seed=0)
    with _Ctx() as ev:
        kb.escape(spec, control=False, S=SMALL)
    assert any(k.startswith("P(fail): noisy GD ends near x*") for k in ev.figures)
    assert {p["name"] for p in ev.plots} >= {"escape_fraction", "landscape", "wide_well", "spike_zoom"}
    with _Ctx(), pytest.raises(AssertionError, match="stays in the narrow basin"):
        kb.escape(spec, control=True, S=SMALL)


def test_smoothed_step_claim_and_its_planted_twin_on_a_small_case():
    spec = kb.ToySpec(dim=2, ratio=2.0, seed=1)
    with _Ctx() as ev:
        kb._smoothed(spec, "test.smoothed", smoothed=True, S=SMALL)
    assert ev.figures["quadrature vs closed form (max relative error)"]["measured"] < 1e-8
    with _Ctx(), pytest.raises(AssertionError, match="plain GD"):
        kb._smoothed(spec, "test.smoothed", smoothed=False, S=SMALL)


def test_kleinberg_sizes_of_every_profile():
    before = current_profile().name
    try:
        for name in PROFILES:
            set_profile(name)
            S = kb.sizes()
            assert S["trials"] >= 256 and S["sweep"] >= 64 and S["width"] <= 0.002
    finally:
        set_profile(before)


# ------------------------------------------------------------------------------------------ Jastrzebski claims


def test_equivalence_decisions():
    rng = np.random.default_rng(0)
    base = torch.as_tensor(np.exp(rng.normal(0, 0.3, 20)))
    tiny = base * torch.as_tensor(np.exp(rng.normal(0.01, 0.01, 20)))
    big = base * torch.as_tensor(np.exp(rng.normal(0.2, 0.01, 20)))
    wild = base * torch.as_tensor(np.exp(rng.normal(0.0, 0.3, 20)))
    assert jz.equivalence(tiny, base, 0.05).decision == "holds"
    assert jz.equivalence(big, base, 0.05).decision == "violated"
    assert jz.equivalence(wild, base, 0.05).decision == "undecided"
    assert jz.equivalence(tiny[:2], base[:2], 0.05).decision == "undecided"  # too few seeds
    eq = jz.equivalence(big, base, 0.05)
    x = (torch.log(big) - torch.log(base)).numpy()
    assert eq.mean == pytest.approx(float(x.mean()))
    assert eq.low < eq.mean < eq.high


def test_grid_pairs_and_per_seed_slopes():
    g = jz.Grid(n=64, d=5, etas=(0.025, 0.05, 0.1), batches=(8, 16, 32), time=1.0, seeds=3)
    pairs = jz.equal_ratio_pairs(g)
    assert ((0.025, 8), (0.1, 32)) in pairs and ((0.05, 8), (0.1, 16)) in pairs and len(pairs) == 5
    assert all(math.isclose(a[0] / a[1], b[0] / b[1]) for a, b in pairs)
    assert jz.same_lr_pairs(g) == [((e, 8), (e, 32)) for e in g.etas]
    keys = sorted(itertools.product(g.etas, g.batches))
    sharp = {k: torch.tensor([2.0, 3.0, 5.0], dtype=torch.float64) * (k[0] / k[1]) ** -0.3 for k in keys}
    np.testing.assert_allclose(jz.per_seed_slopes(sharp, keys), [-0.3, -0.3, -0.3], rtol=1e-12)


def test_only_lr_matters_twin_is_caught_on_a_small_case():
    g = jz.Grid(n=32, d=5, etas=(0.05, 0.1), batches=(4, 8, 16), time=20.0, seeds=6)
    spec = jz.JSpec(seed=0, hidden=8)
    with _Ctx(), pytest.raises(AssertionError, match="sharpness at equal eta"):
        jz.lr_over_batch(spec, control=True, g=g)
    # the true claim on the same sweep: not falsified (holds or undecided at 6 seeds)
    with _Ctx() as ev, contextlib.suppress(UnsatisfiedAssumption):
        jz.lr_over_batch(spec, control=False, g=g)
    assert "slope of log lambda_max vs log(eta/B) (per seed, mean)" in ev.figures
    assert ev.figures["slope of log lambda_max vs log(eta/B) (per seed, mean)"]["measured"] < 0
    names = {p["name"] for p in ev.plots}
    assert {"sharpness_vs_lr_over_B", "relative_sharpness_vs_lr_over_B", "loss_vs_sde_time"} <= names


def test_sweep_rejects_full_batches():
    g = jz.Grid(n=8, d=3, etas=(0.1,), batches=(8,), time=1.0, seeds=2)
    with pytest.raises(ValueError, match="not below n"):
        jz.sgd_sweep(jz.JSpec(seed=0, hidden=4), g)
