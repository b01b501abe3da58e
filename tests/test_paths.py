"""harness.analysis.paths against closed forms (a quadratic loss along the segment, Bezier end points and
tangents, the arc length of a parabola), the bend fit and the string / NEB method on 2-D landscapes
with a known minimum-energy path (a double-well ring, the Muller-Brown potential), and the planted
controls of claims/test_mode_connectivity.py caught on a small case."""

from __future__ import annotations

import importlib

import math

import pytest
import torch

from harness import ProblemSpec, trial_generators
from harness.analysis import paths as pth
from harness.networks.mlp import MLP, train_mlp
from harness.runtime.seeding import generator




mc = importlib.import_module("harness.analysis.studies.mode_connectivity")
f64 = torch.float64


# ----------------------------------------------------------------------------- curves


def test_bases_are_partitions_of_unity_and_interpolate_their_ends():
    ts = torch.linspace(0, 1, 37, dtype=f64)
    for kind in ("bezier", "chain"):
        for K in (2, 3, 5):
            B = pth.basis(ts, K, kind)
            torch.testing.assert_close(B.sum(dim=-1), torch.ones_like(ts), rtol=0, atol=1e-14)
            assert (B >= -1e-15).all()
            torch.testing.assert_close(B[0], torch.eye(K, dtype=f64)[0])
            torch.testing.assert_close(B[-1], torch.eye(K, dtype=f64)[-1])
    # a chain passes through its nodes at t = k / (K - 1)
    K = 5
    torch.testing.assert_close(pth.basis(torch.linspace(0, 1, K, dtype=f64), K, "chain"), torch.eye(K, dtype=f64))
    with pytest.raises(ValueError, match="kind"):
        pth.basis(ts, 3, "spline")


def test_quadratic_bezier_formula_end_points_and_tangents():
    g = generator("test.paths.bezier")
    w1, th, w2 = (torch.randn(3, 7, generator=g, dtype=f64) for _ in range(3))
    nodes = torch.stack([w1, th, w2], dim=1)  # [3 trials, K=3, P=7]
    ts = torch.linspace(0, 1, 11, dtype=f64)
    t = ts.view(1, -1, 1)
    ref = (1 - t) ** 2 * w1[:, None] + 2 * t * (1 - t) * th[:, None] + t**2 * w2[:, None]
    torch.testing.assert_close(pth.curve_points(nodes, ts, "bezier"), ref, rtol=1e-14, atol=1e-14)
    v = pth.curve_velocity(nodes, torch.tensor([0.0, 1.0], dtype=f64), "bezier")
    torch.testing.assert_close(v[:, 0], 2 * (th - w1))
    torch.testing.assert_close(v[:, 1], 2 * (w2 - th))
    # the velocity is the t-derivative of the points (autograd), for a cubic Bezier and a chain too
    for kind, K in (("bezier", 3), ("bezier", 4), ("chain", 4)):
        nd = torch.randn(2, K, 5, generator=g, dtype=f64)
        tt = torch.tensor([0.13, 0.4, 0.77], dtype=f64, requires_grad=True)
        pts = pth.curve_points(nd, tt, kind)
        jac = torch.stack([torch.autograd.grad(pts[..., j].sum(), tt, retain_graph=True)[0] for j in range(5)], dim=-1)
        # each t only moves its own point, summed over the 2 curves: compare the sum
        torch.testing.assert_close(jac, pth.curve_velocity(nd, tt.detach(), kind).sum(dim=0), rtol=1e-12, atol=1e-12)


def test_midpoint_bend_and_segment_nodes_give_the_segment():
    g = generator("test.paths.segment")
    w1, w2 = torch.randn(2, 4, 6, generator=g, dtype=f64)
    ts = torch.rand(9, generator=g, dtype=f64)
    seg = (1 - ts.view(1, -1, 1)) * w1[:, None] + ts.view(1, -1, 1) * w2[:, None]
    for kind in ("bezier", "chain"):
        for bends in (0, 1, 3):
            nodes = pth.segment_nodes(w1, w2, bends, kind)
            assert nodes.shape == (4, bends + 2, 6)
            torch.testing.assert_close(pth.curve_points(nodes, ts, kind), seg, rtol=1e-13, atol=1e-13)
            torch.testing.assert_close(pth.length_ratio(nodes, kind), torch.ones(4, dtype=f64), rtol=1e-12, atol=0)
    # Garipov's falsifier: the quadratic Bezier with its bend at the midpoint is the segment
    mid = torch.stack([w1, (w1 + w2) / 2, w2], dim=1)
    torch.testing.assert_close(pth.curve_points(mid, ts, "bezier"), seg, rtol=1e-13, atol=1e-13)


def test_curve_length_of_a_parabola_and_of_a_chain():
    h = 0.8  # phi(t) = (t, 2 h t (1 - t)): the parabola y = 2 h x (1 - x) on [0, 1]
    nodes = torch.tensor([[[0.0, 0.0], [0.5, h], [1.0, 0.0]]], dtype=f64)
    u = 2 * h
    exact = (u * math.sqrt(1 + u * u) + math.asinh(u)) / 2 / u  # (1/(2h)) int_0^{2h} sqrt(1 + s^2) ds
    assert float(pth.curve_length(nodes, "bezier")) == pytest.approx(exact, rel=1e-12)
    chain = torch.tensor([[[0.0, 0.0], [3.0, 4.0], [3.0, 0.0]]], dtype=f64)
    assert float(pth.curve_length(chain, "chain")) == pytest.approx(9.0, rel=1e-15)
    assert float(pth.length_ratio(chain, "chain")) == pytest.approx(3.0, rel=1e-15)


# ----------------------------------------------------------------------------- losses and barriers


def test_segment_loss_of_a_quadratic_is_the_closed_form_parabola():
    """L(w) = 1/2 w^T A w - b^T w with A indefinite: along w1 + t d the loss is L(w1) + t g1.d + t^2/2 d^T A d,
    a concave parabola when d^T A d < 0, with its maximum at t* = -g1.d / (d^T A d)."""
    A = torch.diag(torch.tensor([2.0, 1.0, -3.0], dtype=f64))
    b = torch.tensor([0.3, -0.2, 0.1], dtype=f64)

    def loss(q):
        return 0.5 * ((q @ A) * q).sum(-1) - q @ b

    w1 = torch.tensor([[0.2, 0.1, -0.6], [1.0, -0.5, -0.4]], dtype=f64)
    w2 = torch.tensor([[-0.3, 0.4, 0.7], [0.2, 0.3, 0.5]], dtype=f64)
    d = w2 - w1
    g1 = w1 @ A - b
    c2 = ((d @ A) * d).sum(-1)
    c1 = (g1 * d).sum(-1)
    assert (c2 < 0).all()
    ts, L = pth.path_losses(loss, pth.segment_nodes(w1, w2, 0, "chain"), "chain")
    ref = loss(w1)[:, None] + ts[None] * c1[:, None] + 0.5 * ts[None] ** 2 * c2[:, None]
    torch.testing.assert_close(L, ref, rtol=1e-13, atol=1e-13)
    tstar = (-c1 / c2).clamp(0, 1)
    top_exact = loss(w1) + tstar * c1 + 0.5 * tstar**2 * c2
    _, _, top = pth.max_along(loss, pth.segment_nodes(w1, w2, 0, "chain"), "chain")
    torch.testing.assert_close(top, top_exact, rtol=1e-6, atol=1e-7)  # grid 1/50, refined to 1/1000
    B = pth.barrier(L, top)
    torch.testing.assert_close(B, top_exact - torch.maximum(loss(w1), loss(w2)), rtol=1e-6, atol=1e-7)
    assert (B >= 0).all() and float(B[0]) > 0.5  # trial 1 peaks inside (0, 1), trial 2 at its start (B = 0)
    assert float(tstar[0]) < 1 and float(tstar[1]) == 0.0
    # the same segment as a Bezier curve of degree 2 (bend at the midpoint) and as a 5-node chain
    for kind, bends in (("bezier", 1), ("chain", 3)):
        _, _, top_k = pth.max_along(loss, pth.segment_nodes(w1, w2, bends, kind), kind)
        torch.testing.assert_close(top_k, top_exact, rtol=1e-6, atol=1e-7)


def test_barrier_is_zero_on_a_monotone_path_and_evaluate_chunks():
    def loss(q):
        return q[..., 0] ** 2

    w1 = torch.tensor([[0.0, 0.0]], dtype=f64)
    w2 = torch.tensor([[1.0, 1.0]], dtype=f64)
    _, L, top = pth.max_along(loss, pth.segment_nodes(w1, w2, 0, "chain"), "chain")
    assert float(pth.barrier(L, top)) == 0.0
    pts = torch.randn(7, 5, 2, generator=generator("test.paths.chunks"), dtype=f64)
    torch.testing.assert_close(pth.evaluate(loss, pts, chunk=3), loss(pts))


# ----------------------------------------------------------------------------- 2-D landscapes with a known path

RING_A = 0.2


def ring(q):
    """(r^2 - 1)^2 + a y^2: minima (+-1, 0), straight-line maximum 1 at the origin, saddles (0, +-sqrt(1 - a/2))
    at height a - a^2/4 (the minimum-energy path follows the ring)."""
    x, y = q[..., 0], q[..., 1]
    return (x * x + y * y - 1) ** 2 + RING_A * y * y


_MB = {
    "A": torch.tensor([-200.0, -100.0, -170.0, 15.0], dtype=f64),
    "a": torch.tensor([-1.0, -1.0, -6.5, 0.7], dtype=f64),
    "b": torch.tensor([0.0, 0.0, 11.0, 0.6], dtype=f64),
    "c": torch.tensor([-10.0, -10.0, -6.5, 0.7], dtype=f64),
    "x0": torch.tensor([1.0, 0.0, -0.5, -1.0], dtype=f64),
    "y0": torch.tensor([0.0, 0.5, 1.5, 1.0], dtype=f64),
}
MB_MIN_A = torch.tensor([-0.558224, 1.441726], dtype=f64)
MB_MIN_B = torch.tensor([0.623499, 0.028038], dtype=f64)
MB_SADDLE = -40.665  #: the highest saddle on the minimum-energy path A -> B, at (-0.822, 0.624) (Muller & Brown 1979)


def muller_brown(q):
    x, y = q[..., 0:1], q[..., 1:2]
    dx, dy = x - _MB["x0"], y - _MB["y0"]
    return (_MB["A"] * torch.exp(_MB["a"] * dx * dx + _MB["b"] * dx * dy + _MB["c"] * dy * dy)).sum(-1)


def test_bend_fit_lowers_the_path_loss_on_a_double_well_ring():
    w1 = torch.tensor([[-1.0, 0.0]] * 3, dtype=f64)
    w2 = torch.tensor([[1.0, 0.0]] * 3, dtype=f64)
    init = torch.stack([w1, torch.tensor([[0.0, 0.1], [0.0, -0.2], [0.05, 0.3]], dtype=f64), w2], dim=1)  # off the symmetric saddle
    _, L0, top0 = pth.max_along(ring, init, "bezier")
    fit = pth.fit_bends(ring, w1, w2, init=init, steps=400, lr=0.02, momentum=0.9, t_batch=2, generators=trial_generators("test.paths.ring", 0, 3))
    _, L, top = pth.max_along(ring, fit.nodes, "bezier")
    assert (pth.barrier(L0, top0) > 0.9).all()
    assert (pth.barrier(L, top) < 0.5).all()
    assert (L.mean(dim=1) < 0.35 * L0.mean(dim=1)).all()
    assert (fit.objective[:, -100:].mean(dim=1) < 0.5 * fit.objective[:, :20].mean(dim=1)).all()  # the sampled objective falls
    torch.testing.assert_close(fit.nodes[:, 0], w1)
    torch.testing.assert_close(fit.nodes[:, -1], w2)
    assert (fit.nodes[:, 1, 1].abs() > 1.0).all()  # the bend moved off the line, to either side of the ring
    # the polygonal chain through one bend (Garipov's polychain) works too
    fitc = pth.fit_bends(ring, w1, w2, kind="chain", init=init, steps=400, lr=0.02, t_batch=2, generators=trial_generators("test.paths.ring.c", 0, 3))
    _, Lc, topc = pth.max_along(ring, fitc.nodes, "chain")
    assert (pth.barrier(Lc, topc) < 0.9).all()


def test_string_method_finds_the_ring_saddle():
    w1 = torch.tensor([[-1.0, 0.0], [-1.0, 0.0]], dtype=f64)
    w2 = torch.tensor([[1.0, 0.0], [1.0, 0.0]], dtype=f64)
    start = pth.segment_nodes(w1, w2, 9, "chain")
    start[0, 1:-1, 1] += 0.05  # break the symmetry (on y = 0 the perpendicular force vanishes)
    start[1, 1:-1, 1] -= 0.05
    res = pth.neb(ring, start, steps=400, lr=0.02)
    _, _, top = pth.max_along(ring, res.nodes, "chain")
    saddle = RING_A - RING_A**2 / 4
    assert (top >= saddle - 1e-9).all()  # any path from one minimum to the other climbs at least to the saddle
    assert (top <= saddle + 0.02).all()  # the chord between pivots cuts inside the ring: a little above
    assert (res.nodes[0, 1:-1, 1] > 0).all() and (res.nodes[1, 1:-1, 1] < 0).all()
    assert (res.pivot_max[:, -1] <= res.pivot_max[:, 0]).all()


def test_redistribute_spaces_the_pivots_equally_along_the_same_polyline():
    # an L-shaped polyline of length 3 (1 along x, then 2 up), pivots crowded near the start
    nodes = torch.tensor([[[0.0, 0.0], [0.1, 0.0], [0.2, 0.0], [1.0, 0.0], [1.0, 2.0]]], dtype=f64)
    out = pth.redistribute(nodes)
    # arc length 0.75, 1.5, 2.25 along the old polyline
    ref = torch.tensor([[0.0, 0.0], [0.75, 0.0], [1.0, 0.5], [1.0, 1.25], [1.0, 2.0]], dtype=f64)
    torch.testing.assert_close(out[0], ref, rtol=0, atol=1e-14)
    # an equispaced straight chain is a fixed point; batches of chains are handled one by one
    straight = pth.segment_nodes(torch.zeros(2, 3, dtype=f64), torch.ones(2, 3, dtype=f64), 4, "chain")
    torch.testing.assert_close(pth.redistribute(straight), straight, rtol=0, atol=1e-14)
    both = pth.redistribute(torch.cat([nodes, nodes.flip(1)]))
    torch.testing.assert_close(both[0], ref, rtol=0, atol=1e-14)
    torch.testing.assert_close(both[1], ref.flip(0), rtol=0, atol=1e-14)


@pytest.mark.parametrize(("spring", "climb", "steps", "lr", "tol"), [(0.0, False, 300, 2e-4, 1.0), (100.0, True, 500, 1e-4, 0.01)])
def test_neb_on_muller_brown_finds_the_low_path(spring, climb, steps, lr, tol):
    """The straight line A -> B climbs to ~ +12.7; the minimum-energy path crosses the saddle at -40.665.
    The string method (spring 0, redistribution) finds it up to the chords between pivots; the climbing-image
    NEB with a spring puts its top pivot on the saddle."""
    w1, w2 = MB_MIN_A[None], MB_MIN_B[None]
    _, _, top_line = pth.max_along(muller_brown, pth.segment_nodes(w1, w2, 0, "chain"), "chain")
    assert float(top_line) > 10
    res = pth.neb(muller_brown, pth.segment_nodes(w1, w2, 11, "chain"), steps=steps, lr=lr, spring=spring, climb=climb)
    _, _, top = pth.max_along(muller_brown, res.nodes, "chain")
    assert MB_SADDLE - 0.01 <= float(top) <= MB_SADDLE + tol


def test_neb_rejects_a_chain_without_pivots():
    with pytest.raises(ValueError, match="K >= 3"):
        pth.neb(ring, torch.zeros(1, 2, 2, dtype=f64), steps=1, lr=0.1)


# ----------------------------------------------------------------------------- the claim module's helpers


def test_train_gd_with_one_step_is_train_mlp_and_layer_lr():
    p = ProblemSpec(n=10, d=4, labels="teacher", seed=2).build()
    mlp = MLP((4, 6, 1), "tanh")
    th = mlp.init(trial_generators("test.paths.gd", 0, 3))
    w, L = mc.train_gd(mlp, th, p.X, p.y, 25, torch.full((mlp.n_params,), 0.3, dtype=f64))
    ref = train_mlp(mlp, th, p.X, p.y, steps=25, lr=0.3)
    torch.testing.assert_close(w, ref.theta, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(L, ref.loss[:, -1], rtol=1e-12, atol=1e-14)
    lr = mc.layer_lr(mlp, 4.0)
    assert lr.shape == (mlp.n_params,)
    torch.testing.assert_close(lr[: 6 * 4 + 6], torch.full((30,), 1.0, dtype=f64))  # hidden layer: 4 / fan_in 4
    torch.testing.assert_close(lr[30:], torch.full((7,), 4.0 / 6, dtype=f64))  # output layer: 4 / 6


@pytest.fixture
def small(monkeypatch):
    """A small version of the curve claims: 32 pairs (up to 1 failure decides delta = 0.15), width 12, half the quick budget."""
    monkeypatch.setattr(mc, "curve_pairs", lambda: 32)
    monkeypatch.setattr(mc, "curve_width", lambda: 12)
    monkeypatch.setattr(mc, "_budget", lambda: {"train": 600, "bezier": 300, "neb": 200})
    return ProblemSpec(n=12, d=4, labels="teacher", seed=1)


def test_planted_straight_line_control_is_caught(small):
    with pytest.raises(AssertionError, match="failed on"):
        mc.curve(small, "segment", control=True)
    with pytest.raises(AssertionError, match="failed on"):
        mc.curve(small, "midpoint", control=True)


def test_curve_claims_hold_on_the_same_small_case(small):
    mc.curve(small, "bezier", control=False)
    mc.curve(small, "string", control=False)


def test_width_grids_of_every_profile():
    from harness.runtime.profiles import PROFILES, current_profile, set_profile

    before = current_profile().name
    try:
        got = {}
        for name in PROFILES:
            set_profile(name)
            got[name] = (mc.width_grid(), mc.curve_width(), mc.curve_pairs(), mc.width_pairs())
        assert got["quick"] == ((8, 16, 32, 64, 128), 16, 32, 8)
        assert got["standard"][0][-1] == 512
        assert got["nightly"][0][-1] == 2048
    finally:
        set_profile(before)


def _fake_sweep(exponent: float, seed: int):
    """A width sweep whose segment barriers / scale fall like m^exponent (log-normal noise), for the decision wiring."""
    g = generator("test.paths.fake_sweep", seed)
    mlp = MLP((2, 2, 1))
    out = {}
    for m in mc.width_grid():
        S = mc.width_pairs()
        pairs = mc.Pairs(mlp, None, None, None, None, torch.ones(S, dtype=f64), torch.zeros(S, 2, dtype=f64), torch.ones(S, dtype=torch.bool), None)
        ts = torch.linspace(0, 1, 5, dtype=f64).numpy()
        b = 0.3 * (m / 8) ** exponent * torch.exp(0.2 * torch.randn(S, generator=g, dtype=f64))
        prof = torch.zeros(S, 5, dtype=f64) + b[:, None]
        seg = mc.PathResult(ts, prof, b, torch.ones(S, dtype=f64))
        bez = mc.PathResult(ts, prof / 100, b / 100, torch.ones(S, dtype=f64))
        out[m] = (pairs, seg, bez)
    return out


@pytest.mark.parametrize(("exponent", "claim_holds"), [(0.0, True), (-0.5, False)])
def test_width_claim_and_its_twin_decide_from_the_fitted_exponent(monkeypatch, exponent, claim_holds):
    monkeypatch.setattr(mc, "_width_sweep", lambda spec, key: _fake_sweep(exponent, 0))
    spec = mc.SHARED["spec"]
    if claim_holds:
        mc.segment_width(spec, control=False)
        with pytest.raises(AssertionError, match="contradicts"):
            mc.segment_width(spec, control=True)
    else:
        with pytest.raises(AssertionError, match="contradicts"):
            mc.segment_width(spec, control=False)
        mc.segment_width(spec, control=True)
