"""harness.networks.two_layer and harness.engine: gradients, the batched GD loop, records, divergence, errors."""

from __future__ import annotations

import math

import pytest
import torch

from harness import engine, kernels
from harness.training.engine import LOSS_ONLY, Record
from harness.networks.two_layer import NaiveTwoLayer, Params, TwoLayerReLU
from harness.data.problems import ProblemSpec
from harness.runtime.seeding import trial_generators
from harness.training.trajectory import FLOOR_REL, Trajectory

F64 = torch.float64
SCALINGS = ("ntk", "mean_field", "none")
FULL = Record(residual=True, drift=True, flips=True, keep_params=True)


@pytest.fixture(scope="module")
def problem():
    return ProblemSpec(n=8, d=4, seed=3).build()


def _gens(T: int, tag: str = "unit.engine", example: int = 0) -> list[torch.Generator]:
    return trial_generators(tag, example, T)


def _assert_traj_close(
    a: Trajectory, b: Trajectory, rows_a, rows_b, what=("loss", "drift", "flips", "residual")
):
    for key in what:
        va, vb = getattr(a, key), getattr(b, key)
        assert va is not None, f"{key} was not recorded"
        assert vb is not None, f"{key} was not recorded"
        torch.testing.assert_close(
            va[rows_a], vb[rows_b], rtol=1e-12, atol=1e-12, msg=lambda m, k=key: f"{k}: {m}"
        )


# ============================================================================ (1) gradients


@pytest.mark.parametrize("scaling", SCALINGS)
@pytest.mark.parametrize("train_output", [False, True])
def test_closed_form_gradients_match_autograd(scaling, train_output):
    T, n, d, m = 3, 7, 4, 19
    model = TwoLayerReLU(m, scaling=scaling, train_output=train_output, init_scale=0.7)
    p = model.init(d, _gens(T, "unit.grad"))
    g = torch.Generator().manual_seed(9)
    X = torch.randn(T, n, d, generator=g, dtype=F64)
    X = X / X.norm(dim=2, keepdim=True)
    y = torch.randn(T, n, generator=g, dtype=F64)

    Z = model.preactivations(p, X)
    assert Z.shape == (T, n, m)
    assert (Z != 0).all(), "test set-up: no preactivation may sit exactly at the ReLU kink"
    r = model.forward(p, X) - y
    gW, ga = model.gradients(p, X, Z, r)

    W = p.W.clone().requires_grad_(True)
    a = p.a.clone().requires_grad_(True)
    u = (
        torch.bmm(torch.bmm(X, W.transpose(1, 2)).clamp_min(0), a.unsqueeze(2)).squeeze(2)
        * model.output_scale
    )
    loss = 0.5 * ((u - y) ** 2).sum()
    loss.backward()
    torch.testing.assert_close(model.loss(p, X, y).sum(), loss.detach(), rtol=1e-14, atol=0)

    scale_W = float(W.grad.abs().max())
    torch.testing.assert_close(gW, W.grad, rtol=1e-12, atol=1e-12 * scale_W)
    if train_output:
        assert ga is not None
        assert ga.shape == (T, m)
        torch.testing.assert_close(ga, a.grad, rtol=1e-12, atol=1e-12 * float(a.grad.abs().max()))
    else:
        assert ga is None, "gradients must not return dL/da when the output layer is frozen"


def test_output_scale_and_init():
    assert TwoLayerReLU(16).output_scale == pytest.approx(0.25, rel=1e-15)
    assert TwoLayerReLU(16, scaling="mean_field").output_scale == pytest.approx(1 / 16, rel=1e-15)
    assert TwoLayerReLU(16, scaling="none").output_scale == 1.0
    model = TwoLayerReLU(50, init_scale=2.0)
    p = model.init(3, _gens(4, "unit.init"))
    assert p.W.shape == (4, 50, 3)
    assert p.a.shape == (4, 50)
    assert p.W.dtype == F64
    assert p.a.dtype == F64
    assert set(p.a.unique().tolist()) <= {-1.0, 1.0}
    # the same generator seed gives the same init; different trials differ
    q = model.init(3, _gens(4, "unit.init"))
    assert torch.equal(p.W, q.W)
    assert torch.equal(p.a, q.a)
    assert not torch.equal(p.W[0], p.W[1])
    # init_scale multiplies a standard normal draw
    p1 = TwoLayerReLU(50, init_scale=1.0).init(3, _gens(4, "unit.init"))
    torch.testing.assert_close(p.W, 2.0 * p1.W, rtol=0, atol=0)


def test_naive_module_matches_batched_forward(problem):
    model = TwoLayerReLU(24, scaling="ntk")
    p = model.init(problem.d, _gens(1, "unit.naive"))
    net = NaiveTwoLayer(model, p.W[0], p.a[0])
    u_naive = net(problem.X)
    u = model.forward(p, problem.X.unsqueeze(0))[0]
    torch.testing.assert_close(u_naive, u, rtol=1e-13, atol=1e-14)
    assert net.fc1.weight.requires_grad
    assert not net.fc2.weight.requires_grad


# ============================================================================ (2) engine vs naive loop


def _naive_run(problem, model: TwoLayerReLU, W0, a0, eta: float, steps: int):
    net = NaiveTwoLayer(model, W0, a0)
    opt = torch.optim.SGD([q for q in net.parameters() if q.requires_grad], lr=eta)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = 0.5 * ((net(problem.X) - problem.y) ** 2).sum()
        losses.append(float(loss.detach()))
        loss.backward()
        opt.step()
    with torch.no_grad():
        losses.append(float(0.5 * ((net(problem.X) - problem.y) ** 2).sum()))
    return torch.tensor(losses, dtype=F64), net.fc1.weight.detach(), net.fc2.weight.detach()[0]


@pytest.mark.parametrize(
    ("scaling", "train_output"),
    [("ntk", False), ("ntk", True), ("mean_field", False), ("none", True)],
)
def test_engine_matches_naive_sgd_loop(problem, scaling, train_output):
    steps, m = 50, 32
    model = TwoLayerReLU(m, scaling=scaling, train_output=train_output)
    p0 = model.init(problem.d, _gens(1, "unit.naive.loop"))
    # a stable step for every scaling: eta ~ 0.5 / lambda_max of the initial Gram
    H0 = kernels.gram_first_layer(problem.X, p0.W, p0.a, model.output_scale)[0]
    if train_output:
        H0 = H0 + kernels.gram_output_layer(problem.X, p0.W, model.output_scale)[0]
    eta = 0.5 / float(torch.linalg.eigvalsh(H0)[-1])
    traj = engine.train(
        problem, model, steps=steps, eta=eta, params=p0, record=Record(keep_params=True)
    )
    assert not bool(traj.diverged.any())
    loss_ref, W_ref, a_ref = _naive_run(problem, model, p0.W[0], p0.a[0], eta, steps)
    assert float(loss_ref[-1]) < float(loss_ref[0]), "test set-up: the loss should fall"
    torch.testing.assert_close(traj.loss[0], loss_ref, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(traj.paramsK.W[0], W_ref, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(traj.paramsK.a[0], a_ref, rtol=1e-10, atol=1e-12)
    if not train_output:
        assert torch.equal(traj.paramsK.a, p0.a), "a must not move when train_output=False"
    # the engine must not have modified the caller's params
    torch.testing.assert_close(traj.params0.W, p0.W, rtol=0, atol=0)


# ============================================================================ (3) batching


def test_batched_equals_one_trial_at_a_time(problem):
    T, m, steps = 6, 32, 20
    model = TwoLayerReLU(m)
    eta = 0.5 / problem.lambda_max
    batched = engine.train(problem, model, steps=steps, eta=eta, generators=_gens(T), record=FULL)
    chunked = engine.train(
        problem,
        model,
        steps=steps,
        eta=eta,
        generators=_gens(T),
        record=FULL,
        chunk_elements=2 * problem.n * m,
    )  # 2 trials per chunk -> 3 chunks
    for t, g in enumerate(_gens(T)):
        alone = engine.train(problem, model, steps=steps, eta=eta, generators=[g], record=FULL)
        _assert_traj_close(batched, alone, t, 0)
        _assert_traj_close(chunked, alone, t, 0)
        torch.testing.assert_close(batched.paramsK.W[t], alone.paramsK.W[0], rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(chunked.paramsK.W[t], alone.paramsK.W[0], rtol=1e-12, atol=1e-12)
    assert batched.params0.W.shape == (T, m, problem.d)
    assert chunked.paramsK.W.shape == (T, m, problem.d)
    # the trials are genuinely different (distinct inits)
    assert not torch.allclose(batched.loss[0], batched.loss[1])


def test_per_trial_eta(problem):
    T, m, steps = 6, 32, 15
    model = TwoLayerReLU(m)
    etas = torch.linspace(0.1, 0.9, T, dtype=F64) / problem.lambda_max
    tr = engine.train(problem, model, steps=steps, eta=etas, generators=_gens(T), record=FULL)
    torch.testing.assert_close(tr.eta, etas, rtol=0, atol=0)
    tr_list = engine.train(
        problem, model, steps=steps, eta=etas.tolist(), generators=_gens(T), record=FULL
    )
    _assert_traj_close(tr, tr_list, slice(None), slice(None))
    for t, g in enumerate(_gens(T)):
        alone = engine.train(
            problem, model, steps=steps, eta=float(etas[t]), generators=[g], record=FULL
        )
        _assert_traj_close(tr, alone, t, 0)
    # eta = 0 leaves the trial where it started
    tr0 = engine.train(problem, model, steps=5, eta=0.0, generators=_gens(2), record=FULL)
    assert torch.equal(tr0.loss, tr0.loss[:, :1].expand(-1, 6))
    assert (tr0.drift == 0).all()
    assert (tr0.flips == 0).all()


def test_distinct_problems_per_trial():
    T, m, steps = 5, 24, 15
    probs = [ProblemSpec(n=6, d=3, seed=s, labels="sign").build() for s in range(T)]
    model = TwoLayerReLU(m)
    eta = 0.4 / max(p.lambda_max for p in probs)
    tr = engine.train(
        probs, model, steps=steps, eta=eta, generators=_gens(T, "unit.multi"), record=FULL
    )
    for t, g in enumerate(_gens(T, "unit.multi")):
        alone = engine.train(probs[t], model, steps=steps, eta=eta, generators=[g], record=FULL)
        _assert_traj_close(tr, alone, t, 0)
        # the residual refers to this trial's own targets
        u0 = model.forward(tr.params0.select(slice(t, t + 1)), probs[t].X.unsqueeze(0))[0]
        torch.testing.assert_close(tr.residual[t, 0], u0 - probs[t].y, rtol=1e-12, atol=1e-12)


def test_steps_zero_records_initial_state(problem):
    model = TwoLayerReLU(16)
    tr = engine.train(
        problem,
        model,
        steps=0,
        eta=0.1,
        generators=_gens(3),
        record=Record(gram_every=1, keep_params=True),
    )
    assert tr.loss.shape == (3, 1)
    assert tr.gram_steps == [0]
    torch.testing.assert_close(tr.paramsK.W, tr.params0.W, rtol=0, atol=0)
    expected = model.loss(tr.params0, problem.X.expand(3, -1, -1), problem.y.expand(3, -1))
    torch.testing.assert_close(tr.loss[:, 0], expected, rtol=1e-13, atol=0)


# ============================================================================ (4) divergence


def test_divergence_is_recorded_and_isolated(problem):
    T, m, steps = 4, 32, 25
    model = TwoLayerReLU(m)
    good, huge = 0.5 / problem.lambda_max, 100 / problem.lambda_max
    etas = torch.tensor([good, huge, good, huge], dtype=F64)
    tr = engine.train(
        problem, model, steps=steps, eta=etas, generators=_gens(T, "unit.div"), record=FULL
    )
    assert tr.diverged.tolist() == [False, True, False, True], f"diverged={tr.diverged.tolist()}"
    for t in (1, 3):
        k = int(tr.diverged_at[t])
        assert 0 <= k <= steps
        assert torch.isfinite(tr.loss[t, :k]).all(), "losses before divergence must be finite"
        assert torch.equal(tr.loss[t, k:], torch.full_like(tr.loss[t, k:], math.inf)), (
            "losses from divergence on must be +inf"
        )
        assert float(tr.loss[t, k - 1]) > float(tr.loss[t, 0]), (
            "the loss should grow before it is declared diverged"
        )
    assert tr.diverged_at[0] == -1
    assert tr.diverged_at[2] == -1
    for t in (0, 2):
        alone = engine.train(
            problem, model, steps=steps, eta=good, generators=[_gens(T, "unit.div")[t]], record=FULL
        )
        _assert_traj_close(tr, alone, t, 0)
        assert torch.isfinite(tr.loss[t]).all()
    summ = tr.summary()
    assert summ["diverged"] == 2
    assert summ["trials"] == T
    # a diverged trial reads as a violation of any rate bound, never as a pass
    check = tr.check_rate_bound(0.999)
    assert bool(check.violated[1])
    assert bool(check.violated[3])


def test_divergence_with_gram_records_does_not_raise(problem):
    model = TwoLayerReLU(32)
    etas = torch.tensor([0.5, 200.0], dtype=F64) / problem.lambda_max
    tr = engine.train(
        problem,
        model,
        steps=20,
        eta=etas,
        generators=_gens(2, "unit.divgram"),
        record=Record(gram_every=5),
    )
    assert tr.diverged.tolist() == [False, True]
    # the stable trial is unaffected; the diverged one reads NaN from its divergence on, never a
    # stale finite value (which would hide a drop of lambda_min before the blow-up)
    assert torch.isfinite(tr.gram_lambda_min[0]).all()
    assert torch.isfinite(tr.gram_change[0]).all()
    steps = torch.tensor(tr.gram_steps)
    after = steps >= int(tr.diverged_at[1])
    assert after.any() and torch.isnan(tr.gram_lambda_min[1, after]).all()
    assert torch.isnan(tr.gram_change[1, after]).all()
    assert torch.isfinite(tr.gram_lambda_min[1, ~after]).all()


# ============================================================================ (5) records


def test_gram_records(problem):
    T, m, steps = 3, 48, 12
    model = TwoLayerReLU(m)
    tr = engine.train(
        problem,
        model,
        steps=steps,
        eta=0.5 / problem.lambda_max,
        generators=_gens(T, "unit.gram"),
        record=Record(gram_every=5, keep_params=True),
    )
    assert tr.gram_steps == [0, 5, 10, 12], f"gram_steps={tr.gram_steps}"
    assert tr.gram_lambda_min.shape == (T, 4)
    assert tr.gram_change.shape == (T, 4)
    c = model.output_scale
    H0 = kernels.gram_first_layer(problem.X, tr.params0.W, tr.params0.a, c)
    HK = kernels.gram_first_layer(problem.X, tr.paramsK.W, tr.paramsK.a, c)
    torch.testing.assert_close(
        tr.gram_lambda_min[:, 0], torch.linalg.eigvalsh(H0)[:, 0], rtol=1e-12, atol=1e-12
    )
    torch.testing.assert_close(
        tr.gram_lambda_min[:, -1], torch.linalg.eigvalsh(HK)[:, 0], rtol=1e-12, atol=1e-12
    )
    assert (tr.gram_change[:, 0] == 0).all(), "||H(0) - H(0)|| must be 0"
    spec = torch.linalg.matrix_norm(HK - H0, ord=2)
    torch.testing.assert_close(tr.gram_change[:, -1], spec, rtol=1e-10, atol=1e-12)
    # gram_every larger than steps: only 0 and the last step
    tr2 = engine.train(
        problem,
        model,
        steps=3,
        eta=0.1,
        generators=_gens(T, "unit.gram"),
        record=Record(gram_every=10),
    )
    assert tr2.gram_steps == [0, 3]
    # not asked for: nothing recorded
    tr3 = engine.train(
        problem, model, steps=3, eta=0.1, generators=_gens(T, "unit.gram"), record=LOSS_ONLY
    )
    assert tr3.gram_steps == []
    assert tr3.gram_lambda_min is None
    assert tr3.gram_change is None
    assert tr3.drift is None
    assert tr3.flips is None
    assert tr3.residual is None
    assert tr3.params0 is None
    assert tr3.paramsK is None
    assert tr3.output_drift is None


def test_drift_flips_residual_records(problem):
    T, m, steps = 2, 40, 15
    model = TwoLayerReLU(m)
    tr = engine.train(
        problem,
        model,
        steps=steps,
        eta=0.5 / problem.lambda_max,
        generators=_gens(T, "unit.rec"),
        record=FULL,
    )
    assert tr.loss.shape == tr.drift.shape == tr.flips.shape == (T, steps + 1)
    assert tr.residual.shape == (T, steps + 1, problem.n)
    assert (tr.drift[:, 0] == 0).all()
    assert (tr.flips[:, 0] == 0).all()
    drift_K = (tr.paramsK.W - tr.params0.W).norm(dim=2).amax(dim=1)
    torch.testing.assert_close(tr.drift[:, -1], drift_K, rtol=1e-12, atol=1e-14)
    Z0 = problem.X @ tr.params0.W.transpose(1, 2)
    ZK = problem.X @ tr.paramsK.W.transpose(1, 2)
    flips_K = ((Z0 >= 0) != (ZK >= 0)).to(F64).mean(dim=(1, 2))
    torch.testing.assert_close(tr.flips[:, -1], flips_K, rtol=0, atol=1e-15)
    torch.testing.assert_close(tr.loss, 0.5 * (tr.residual**2).sum(dim=2), rtol=1e-13, atol=1e-300)
    assert ((tr.flips >= 0) & (tr.flips <= 1)).all()


def test_flips_and_drift_records_match_a_direct_count_at_every_step(problem):
    """flips(k) is counted as sum(S(k) * (1 - 2 S(0))) + sum S(0) and drift(k) from squared norms:
    both must equal the direct count at every step, in chunks of one trial (a BLAS dot) and of many."""
    T, m, steps = 3, 40, 12
    model = TwoLayerReLU(m)
    eta = 2.0 / problem.lambda_max  # large steps: patterns flip
    full = engine.train(problem, model, steps=steps, eta=eta, generators=_gens(T, "unit.flip"), record=FULL)
    ones = engine.train(problem, model, steps=steps, eta=eta, generators=_gens(T, "unit.flip"), record=FULL,
                        chunk_elements=problem.n * m)  # one trial per chunk
    _assert_traj_close(full, ones, slice(None), slice(None))
    assert (full.flips[:, -1] > 0).all()
    Z0 = problem.X @ full.params0.W.transpose(1, 2)
    for k in (1, 4, steps):
        tk = engine.train(problem, model, steps=k, eta=eta, params=full.params0, record=FULL)
        Zk = problem.X @ tk.paramsK.W.transpose(1, 2)
        assert torch.equal(full.flips[:, k], ((Z0 >= 0) != (Zk >= 0)).to(F64).mean(dim=(1, 2)))
        drift = (tk.paramsK.W - full.params0.W).norm(dim=2).amax(dim=1)
        torch.testing.assert_close(full.drift[:, k], drift, rtol=1e-12, atol=1e-15)


def test_chunks_side_by_side_on_threads_give_the_same_numbers(problem, monkeypatch):
    """With several torch threads a CPU runs one chunk per thread; the numbers are those of the
    chunks run one after another, and torch's thread count is restored."""
    from harness.runtime import chunks

    T, m, steps = 5, 64, 15
    model = TwoLayerReLU(m)
    kw = dict(steps=steps, eta=0.5 / problem.lambda_max, record=FULL, chunk_elements=2 * problem.n * m)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        assert chunks.cpu_chunk_workers(T, 2, "cpu") == 2
        assert chunks.cpu_chunk_workers(T, T, "cpu") == 1  # one chunk
        side_by_side = engine.train(problem, model, generators=_gens(T, "unit.threads"), **kw)
        assert torch.get_num_threads() == 2
        monkeypatch.setattr(chunks, "cpu_chunk_workers", lambda *a: 1)
        torch.set_num_threads(1)
        one_after_another = engine.train(problem, model, generators=_gens(T, "unit.threads"), **kw)
    finally:
        torch.set_num_threads(before)
    _assert_traj_close(side_by_side, one_after_another, slice(None), slice(None))
    torch.testing.assert_close(side_by_side.paramsK.W, one_after_another.paramsK.W, rtol=1e-13, atol=1e-14)


def test_run_in_chunks_spread_covers_every_trial_once_in_order():
    from harness.runtime.chunks import run_in_chunks

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        for T, per in ((7, 3), (8, 5), (2, 1), (1, 1), (5, 10)):
            got = run_in_chunks(T, per, lambda lo, hi: list(range(lo, hi)), spread=True)
            assert [t for chunk in got for t in chunk] == list(range(T))
            assert max(len(c) for c in got) <= per
            assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


# ============================================================================ (6) joint training


def test_joint_training_records_output_drift_and_descends_faster(problem):
    T, m = 4, 32
    joint = TwoLayerReLU(m, train_output=True)
    first = TwoLayerReLU(m, train_output=False)
    p0 = joint.init(problem.d, _gens(T, "unit.joint"))
    eta = 0.05 / problem.lambda_max
    tj = engine.train(problem, joint, steps=10, eta=eta, params=p0, record=Record(keep_params=True))
    tf = engine.train(problem, first, steps=10, eta=eta, params=p0, record=Record(keep_params=True))
    assert tf.output_drift is None
    assert tj.output_drift is not None
    assert tj.output_drift.shape == (T, 11)
    assert (tj.output_drift[:, 0] == 0).all()
    assert (tj.output_drift[:, 1] > 0).all()
    torch.testing.assert_close(
        tj.output_drift[:, -1], (tj.paramsK.a - p0.a).abs().amax(dim=1), rtol=1e-12, atol=0
    )
    torch.testing.assert_close(tj.loss[:, 0], tf.loss[:, 0], rtol=0, atol=0)
    assert (tj.loss[:, 1] <= tf.loss[:, 1]).all(), (
        f"joint {tj.loss[:, 1]} vs first-layer-only {tf.loss[:, 1]}"
    )
    assert (tj.loss[:, 1] < tj.loss[:, 0]).all()


# ============================================================================ (7) rate-bound floor guard


def _traj(loss: torch.Tensor, dtype=F64) -> Trajectory:
    T = loss.shape[0]
    return Trajectory(
        model=TwoLayerReLU(4),
        steps=loss.shape[1] - 1,
        eta=torch.full((T,), 0.1, dtype=F64),
        dtype=dtype,
        device="cpu",
        loss=loss,
        diverged=torch.zeros(T, dtype=torch.bool),
        diverged_at=torch.full((T,), -1),
    )


def test_floor_guard_ignores_loss_at_machine_precision():
    K = 30
    k = torch.arange(K + 1, dtype=F64)
    rate = 0.01  # bound 0.01^k falls below FLOOR_REL = 1e-24 after k = 12
    L0 = 2.0
    fast = L0 * 0.005**k  # beats the bound at every step until it hits a floor
    rows = torch.stack(
        [
            # sits just below FLOOR_REL (the bound passes it at k = 13)
            torch.clamp_min(fast, L0 * 1e-25),
            torch.clamp_min(fast, 1e-30),  # sits at 1e-30
            torch.where(k <= 8, fast, torch.zeros_like(k)),  # reaches exactly 0
        ]
    )
    tr = _traj(rows)
    check = tr.check_rate_bound(rate)
    assert not bool(check.violated.any()), (
        f"floor must not read as a violation: first={check.first_violation}"
    )
    # the steps k >= 1 with rate^k >= floor
    n_checkable = math.floor(math.log(FLOOR_REL[F64]) / math.log(rate))
    assert n_checkable == 12
    assert check.checked_steps.tolist() == [n_checkable] * 3
    assert (check.worst_ratio <= 1).all()
    assert (check.worst_step <= n_checkable).all()
    # without the guard the first two rows would read as violated: the loss sits above the bound
    bound_K = rate**K
    assert float(tr.rel_loss()[0, -1]) > bound_K
    assert float(tr.rel_loss()[1, -1]) > bound_K
    assert float(tr.rel_loss()[0, 13]) > rate**13


def test_floor_guard_on_a_trained_run():
    problem = ProblemSpec(n=4, d=3, seed=5).build()
    model = TwoLayerReLU(64)
    steps = 200
    tr = engine.train(
        problem,
        model,
        steps=steps,
        eta=1.0 / problem.lambda_max,
        generators=_gens(2, "unit.floor"),
        record=LOSS_ONLY,
    )
    rel = tr.rel_loss()
    assert float(rel[:, -1].max()) < 1e-30, (
        f"test set-up: should train to the float64 floor, got {rel[:, -1]}"
    )
    # a rate the run beats, whose bound 0.7^k drops below FLOOR_REL at k = 154 < steps: the steps
    # after that (loss at 0 or ~1e-33) are not checked, the ones before hold
    rate = 0.7
    check = tr.check_rate_bound(rate)
    n_checkable = math.floor(math.log(FLOOR_REL[F64]) / math.log(rate))
    assert n_checkable < steps
    assert check.checked_steps.tolist() == [n_checkable] * 2
    assert not bool(check.violated.any()), f"a run at the floor read as violated: {check}"
    genuine = tr.check_rate_bound(0.5)
    assert bool(genuine.violated.all()), (
        "a rate of 0.5 per step is far too fast and must be reported"
    )
    assert (genuine.first_violation >= 1).all()
    assert (genuine.worst_ratio > 1).all()


def test_genuine_violation_is_reported():
    k = torch.arange(21, dtype=F64)
    tr = _traj(torch.stack([3.0 * 0.9**k, 3.0 * 0.4**k]))
    check = tr.check_rate_bound(0.5)
    assert check.violated.tolist() == [True, False]
    assert int(check.first_violation[0]) == 1
    assert int(check.first_violation[1]) == -1
    assert float(check.worst_ratio[0]) > 1
    assert float(check.worst_ratio[1]) <= 1
    assert int(check.worst_step[0]) == 20  # (0.9/0.5)^k is largest at the last step
    # per-trial rates
    check2 = tr.check_rate_bound(torch.tensor([0.95, 0.5], dtype=F64))
    assert check2.violated.tolist() == [False, False]
    # worst_decay_ratio <= 1 iff the loss fell at least as far as the bound asks
    assert float(check2.worst_decay_ratio[0]) <= 1
    assert float(check.worst_decay_ratio[0]) > 1


# ============================================================================ (8) bad inputs


def test_bad_inputs_raise_clear_errors(problem):
    model = TwoLayerReLU(8)
    p0 = model.init(problem.d, _gens(2, "unit.bad"))
    with pytest.raises(ValueError, match="exactly one of generators= or params="):
        engine.train(problem, model, steps=1, eta=0.1, generators=_gens(2), params=p0)
    with pytest.raises(ValueError, match="exactly one of generators= or params="):
        engine.train(problem, model, steps=1, eta=0.1)
    with pytest.raises(ValueError, match="steps must be >= 0"):
        engine.train(problem, model, steps=-1, eta=0.1, generators=_gens(2))
    with pytest.raises(ValueError, match="eta has 3 entries for 2 trials"):
        engine.train(problem, model, steps=1, eta=[0.1, 0.2, 0.3], generators=_gens(2))
    with pytest.raises(ValueError, match="eta must be finite and >= 0"):
        engine.train(problem, model, steps=1, eta=[0.1, -0.2], generators=_gens(2))
    with pytest.raises(ValueError, match="eta must be finite and >= 0"):
        engine.train(problem, model, steps=1, eta=float("nan"), generators=_gens(2))
    other = ProblemSpec(n=problem.n + 1, d=problem.d, seed=1).build()
    with pytest.raises(ValueError, match="must share"):
        engine.train([problem, other], model, steps=1, eta=0.1, generators=_gens(2))
    with pytest.raises(ValueError, match="got 1 problems for 2 trials"):
        engine.train([problem], model, steps=1, eta=0.1, generators=_gens(2))
    with pytest.raises(ValueError, match="no trials"):
        engine.train(problem, model, steps=1, eta=0.1, generators=[])
    with pytest.raises(ValueError, match="model wants"):
        engine.train(problem, TwoLayerReLU(9), steps=1, eta=0.1, params=p0)
    with pytest.raises(ValueError, match="width must be >= 1"):
        TwoLayerReLU(width=0)
    with pytest.raises(ValueError, match="scaling 'xavier' is not one of"):
        TwoLayerReLU(8, scaling="xavier")
    with pytest.raises(ValueError, match="init_scale must be > 0"):
        TwoLayerReLU(8, init_scale=0.0)


def test_params_helpers():
    p = Params(torch.arange(24, dtype=F64).reshape(2, 3, 4), torch.ones(2, 3, dtype=F64))
    q = p.clone()
    q.W += 1
    assert not torch.equal(p.W, q.W), "clone must copy"
    s = p.select(slice(1, 2))
    assert s.W.shape == (1, 3, 4)
    assert torch.equal(s.W[0], p.W[1])
    f = p.to("cpu", torch.float32)
    assert f.W.dtype == torch.float32
    assert f.a.dtype == torch.float32
