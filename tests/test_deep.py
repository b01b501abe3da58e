"""Deep model families: forward and gradients against plain autograd references, batching, NTK."""

from __future__ import annotations

import math

import pytest
import torch

from harness import ProblemSpec, kernels, trial_generators
from harness.networks.deep import C_SIGMA, DeepNet, activation, analytic_ntk, empirical_ntk, he_forward_norms, he_signal_norms, layerwise_ntk
from harness.training.deep_engine import train_deep

F64 = torch.float64


@pytest.fixture(scope="module")
def problem():
    return ProblemSpec(n=6, d=5, seed=3).build()


def _reference_forward(net: DeepNet, p: dict, x: torch.Tensor) -> torch.Tensor:
    """One trial, one input, written out layer by layer from the papers' equations."""
    sigma = activation(net.activation)
    m, H = net.width, net.depth
    if net.family == "cnn_resnet":
        return _reference_cnn_resnet(net, p, x)
    if net.family == "he":
        h = torch.relu(p["A"] @ x)
        for layer in range(H):
            h = torch.relu(p["W"][layer] @ h)
        return p["B"] @ h
    c = math.sqrt(C_SIGMA[net.activation] / m)
    h = c * sigma(p["W1"] @ x)
    for layer in range(H - 1):
        z = sigma(p["W"][layer] @ h)
        h = h + net.c_res / (H * math.sqrt(m)) * z if net.family == "resnet" else c * z
    return p["a"] @ h


def _reference_cnn_resnet(net: DeepNet, p: dict, x: torch.Tensor) -> torch.Tensor:
    """DLLWZ Section 7 with torch's conv1d: the row x is the signal x.view(d0, p); patch row k d0 + i of
    W^(h) is channel i at offset k - (q-1)/2, i.e. conv1d weight W.view(m, q, c).permute(0, 2, 1)."""
    sigma = activation(net.activation)
    m, H, q = net.width, net.depth, net.patch

    def conv(W: torch.Tensor, h: torch.Tensor) -> torch.Tensor:  # h: [c, p]
        w = W.view(m, q, h.shape[0]).permute(0, 2, 1)
        return torch.nn.functional.conv1d(h.unsqueeze(0), w, padding=q // 2)[0]

    h = math.sqrt(C_SIGMA[net.activation] / m) * sigma(conv(p["W1"], x.view(net.channels_in, -1)))
    for layer in range(H - 1):
        h = h + net.c_res / (H * math.sqrt(m)) * sigma(conv(p["W"][layer], h))
    return (p["a"] * h).sum() if net.outputs == 1 else torch.einsum("mp,mpc->c", h, p["a"])


FAMILIES = [("fc", "softplus", 3), ("fc", "relu", 2), ("fc", "tanh", 3), ("fc", "gelu", 2), ("resnet", "softplus", 4), ("resnet", "gelu", 3), ("he", "relu", 3), ("cnn_resnet", "softplus", 3), ("cnn_resnet", "relu", 2)]


@pytest.mark.parametrize(("family", "act", "depth"), FAMILIES)
def test_forward_matches_reference(problem, family, act, depth):
    net = DeepNet(family, 16, depth, act)
    par = net.init(problem.d, trial_generators("deep.fwd", 0, 3))
    u = net.forward(par, problem.X)
    for t in range(3):
        pt = {k: v[t] for k, v in par.items()}
        ref = torch.stack([_reference_forward(net, pt, x) for x in problem.X])
        torch.testing.assert_close(u[t], ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("family", "act", "depth"), FAMILIES)
def test_one_gd_step_matches_autograd_reference(problem, family, act, depth):
    net = DeepNet(family, 12, depth, act)
    par = net.init(problem.d, trial_generators("deep.grad", 0, 2))
    eta = 0.05
    tr = train_deep(net, par, problem.X, problem.y, steps=1, eta=eta, keep_params=True)
    for t in range(2):
        pt = {k: v[t].clone().requires_grad_(k in net.trainable) for k, v in par.items()}
        u = torch.stack([_reference_forward(net, pt, x) for x in problem.X])
        loss = 0.5 * ((u - problem.y) ** 2).sum()
        loss.backward()
        assert math.isclose(float(tr.loss[t, 0]), float(loss.detach()), rel_tol=1e-12)
        for k in par:
            expect = pt[k].detach() - eta * pt[k].grad if k in net.trainable else par[k][t]
            torch.testing.assert_close(tr.paramsK[k][t], expect, rtol=1e-11, atol=1e-12)


def test_batched_equals_single(problem):
    net = DeepNet("resnet", 24, 3, "softplus")
    gens = trial_generators("deep.batch", 0, 3)
    par = net.init(problem.d, gens)
    eta = torch.tensor([0.05, 0.1, 0.2], dtype=F64)
    tr = train_deep(net, par, problem.X, problem.y, steps=30, eta=eta)
    for t in range(3):
        alone = train_deep(net, {k: v[t : t + 1] for k, v in par.items()}, problem.X, problem.y, steps=30, eta=float(eta[t]))
        torch.testing.assert_close(tr.loss[t], alone.loss[0], rtol=1e-12, atol=1e-14)


def test_he_family_trains_only_middle_layers(problem):
    net = DeepNet("he", 16, 2, "relu")
    par = net.init(problem.d, trial_generators("deep.he", 0, 2))
    tr = train_deep(net, par, problem.X, problem.y, steps=5, eta=1e-3, keep_params=True)
    assert torch.equal(tr.paramsK["A"], par["A"]) and torch.equal(tr.paramsK["B"], par["B"])
    assert not torch.equal(tr.paramsK["W"], par["W"])
    assert set(tr.rel_change) == {"W"}


def test_divergence_is_an_outcome(problem):
    net = DeepNet("fc", 16, 2, "relu")
    par = net.init(problem.d, trial_generators("deep.div", 0, 2))
    tr = train_deep(net, par, problem.X, problem.y, steps=40, eta=torch.tensor([0.01, 1e4], dtype=F64))
    assert tr.diverged.tolist() == [False, True]
    assert torch.isinf(tr.loss[1, -1]) and torch.isfinite(tr.loss[0]).all()


@pytest.mark.parametrize(("family", "act"), [("fc", "relu"), ("resnet", "softplus"), ("he", "relu"), ("cnn_resnet", "softplus")])
def test_a_diverging_trial_leaves_its_neighbours_alone(problem, family, act):
    """The in-place layer updates (W -= (eta dL/dz)^T x_in) must not carry a dead trial's inf/nan
    into anything: the live trial trains as it does alone, the dead one freezes with finite loss
    history up to its divergence."""
    net = DeepNet(family, 12, 3, act)
    par = net.init(problem.d, trial_generators(f"deep.div2.{family}", 0, 2))
    eta = torch.tensor([0.01, 1e6], dtype=F64)
    tr = train_deep(net, par, problem.X, problem.y, steps=25, eta=eta, keep_params=True, track_movement=True)
    assert tr.diverged.tolist() == [False, True]
    alone = train_deep(net, {k: v[:1] for k, v in par.items()}, problem.X, problem.y, steps=25, eta=0.01, keep_params=True)
    torch.testing.assert_close(tr.loss[0], alone.loss[0], rtol=1e-12, atol=1e-14)
    for k in net.trainable:
        torch.testing.assert_close(tr.paramsK[k][0], alone.paramsK[k][0], rtol=1e-12, atol=1e-14)
    assert torch.isfinite(tr.movement[0]).all()


def test_empirical_ntk_two_layer_closed_form(problem):
    """Depth-1 fc with ReLU is the two-layer net (a ~ N(0,1), scale sqrt(2/m)): Theta = H + G exactly."""
    m = 40
    net = DeepNet("fc", m, 1, "relu")
    par = net.init(problem.d, trial_generators("deep.ntk", 0, 2))
    K = empirical_ntk(net, par, problem.X)
    c = math.sqrt(2 / m)
    ref = kernels.gram_first_layer(problem.X, par["W1"], par["a"], c) + kernels.gram_output_layer(problem.X, par["W1"], c)
    torch.testing.assert_close(K, ref, rtol=1e-12, atol=1e-13)


def test_empirical_ntk_subset_of_parameters(problem):
    net = DeepNet("fc", 20, 2, "softplus")
    par = net.init(problem.d, trial_generators("deep.ntk2", 0, 1))
    full = empirical_ntk(net, par, problem.X)
    parts = sum(empirical_ntk(net, par, problem.X, names=[n]) for n in net.trainable)
    torch.testing.assert_close(full, parts, rtol=1e-12, atol=1e-12)
    ev = torch.linalg.eigvalsh(full[0])
    assert float(ev[0]) > -1e-10, "an NTK must be PSD"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"family": "cnn", "width": 8, "depth": 2}, "family"),
        ({"family": "he", "width": 8, "depth": 2, "activation": "softplus"}, "ReLU"),
        ({"family": "fc", "width": 8, "depth": 0}, ">= 1"),
        ({"family": "fc", "width": 8, "depth": 2, "outputs": 0}, "outputs"),
        ({"family": "fc", "width": 8, "depth": 2, "output_scaling": "standard"}, "output_scaling"),
        ({"family": "fc", "width": 8, "depth": 2, "activation": "swish"}, "c_sigma"),
    ],
)
def test_bad_models_are_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DeepNet(**kwargs)


def test_he_forward_norms_match_the_model(problem):
    """The streaming forward equals DeepNet('he').hidden on parameters drawn in the same order."""
    m, L = 24, 3
    norms = he_forward_norms(problem.X, m, L, trial_generators("deep.stream", 0, 2))
    gens = trial_generators("deep.stream", 0, 2)
    s = math.sqrt(2.0 / m)
    par = {"A": [], "W": [], "B": []}
    for g in gens:
        par["A"].append(torch.randn(m, problem.d, generator=g, dtype=F64) * s)
        par["W"].append(torch.stack([torch.randn(m, m, generator=g, dtype=F64) * s for _ in range(L)]))
        par["B"].append(torch.zeros(m, dtype=F64))
    par = {k: torch.stack(v) for k, v in par.items()}
    hs = DeepNet("he", m, L, "relu").hidden(par, problem.X)
    ref = torch.stack([h.norm(dim=2) for h in hs], dim=1)  # [T, L+1, n]
    torch.testing.assert_close(norms, ref, rtol=1e-12, atol=1e-12)


def test_c_sigma_normalizes_the_first_layer():
    """c_sigma = 1 / E[sigma(z)^2]: ||x^(1)||^2 is 1 on average at init, for every activation."""
    X = torch.nn.functional.normalize(torch.randn(4, 6, generator=torch.Generator().manual_seed(0), dtype=F64), dim=1)
    for act in C_SIGMA:
        net = DeepNet("fc", 4096, 1, act)
        par = net.init(6, trial_generators("deep.csigma", 0, 4))
        sq = (net.hidden(par, X)[0] ** 2).sum(dim=2)
        assert abs(float(sq.mean()) - 1) < 0.03, (act, float(sq.mean()))
    assert C_SIGMA["relu"] == 2.0 and abs(C_SIGMA["softplus"] - 1.0854870) < 1e-6


def _reference_vector_output(net: DeepNet, p: dict, x: torch.Tensor) -> torch.Tensor:
    sigma = activation(net.activation)
    if net.family == "he":
        h = torch.relu(p["A"] @ x)
        for layer in range(net.depth):
            h = torch.relu(p["W"][layer] @ h)
        out = p["B"] @ h
    else:
        c = math.sqrt(C_SIGMA[net.activation] / net.width)
        h = c * sigma(p["W1"] @ x)
        for layer in range(net.depth - 1):
            h = c * sigma(p["W"][layer] @ h)
        out = p["a"].T @ h
    return out / math.sqrt(net.width) if net.output_scaling == "mean_field" else out


@pytest.mark.parametrize(("family", "act", "scaling"), [("fc", "softplus", "ntk"), ("fc", "tanh", "mean_field"), ("he", "relu", "ntk")])
def test_vector_outputs_and_mean_field_scaling_match_reference(problem, family, act, scaling):
    net = DeepNet(family, 10, 2, act, outputs=3, output_scaling=scaling)
    par = net.init(problem.d, trial_generators("deep.vec", 0, 2))
    u = net.forward(par, problem.X)
    assert u.shape == (2, problem.n, 3)
    for t in range(2):
        pt = {k: v[t] for k, v in par.items()}
        ref = torch.stack([_reference_vector_output(net, pt, x) for x in problem.X])
        torch.testing.assert_close(u[t], ref, rtol=1e-12, atol=1e-12)
    if family == "he":
        assert par["B"].shape == (2, 3, 10)


def test_cross_entropy_gd_step_matches_autograd_reference(problem):
    net = DeepNet("fc", 12, 2, "softplus", outputs=3)
    par = net.init(problem.d, trial_generators("deep.ce", 0, 2))
    labels = torch.arange(problem.n) % 3
    eta = 0.1
    tr = train_deep(net, par, problem.X, labels, steps=1, eta=eta, loss="ce", keep_params=True)
    for t in range(2):
        pt = {k: v[t].clone().requires_grad_(True) for k, v in par.items()}
        logits = torch.stack([_reference_vector_output(net, pt, x) for x in problem.X])
        lo = torch.nn.functional.cross_entropy(logits, labels, reduction="sum")
        torch.testing.assert_close(tr.loss[t, 0], lo.detach(), rtol=1e-12, atol=1e-12)
        grads = torch.autograd.grad(lo, [pt[k] for k in net.trainable])
        for k, g in zip(net.trainable, grads, strict=True):
            torch.testing.assert_close(tr.paramsK[k][t], par[k][t] - eta * g, rtol=1e-11, atol=1e-12)
        assert float(tr.accuracy[t, 0]) == float((logits.argmax(1) == labels).to(F64).mean())


def test_cross_entropy_needs_vector_outputs(problem):
    net = DeepNet("fc", 8, 2, "softplus")
    with pytest.raises(ValueError, match="outputs >= 2"):
        train_deep(net, net.init(problem.d, trial_generators("x", 0, 1)), problem.X, problem.y, steps=1, eta=0.1, loss="ce")


def test_sgd_step_is_the_scaled_minibatch_gradient(problem):
    """One SGD step: the batch each trial draws from its own generator, gradient scaled by n/b."""
    net = DeepNet("fc", 10, 2, "softplus")
    par = net.init(problem.d, trial_generators("deep.sgd", 0, 2))
    b, eta = 2, 0.05
    tr = train_deep(net, par, problem.X, problem.y, steps=1, eta=eta, batch_size=b, batch_generators=trial_generators("deep.sgd.batch", 0, 2), keep_params=True)
    for t, g in enumerate(trial_generators("deep.sgd.batch", 0, 2)):
        idx = torch.randperm(problem.n, generator=g)[:b]
        pt = {k: v[t].clone().requires_grad_(True) for k, v in par.items()}
        u = torch.stack([_reference_forward(net, pt, x) for x in problem.X[idx]])
        lo = 0.5 * ((u - problem.y[idx]) ** 2).sum() * problem.n / b
        grads = torch.autograd.grad(lo, [pt[k] for k in net.trainable])
        for k, gr in zip(net.trainable, grads, strict=True):
            torch.testing.assert_close(tr.paramsK[k][t], par[k][t] - eta * gr, rtol=1e-11, atol=1e-12)


def test_sgd_is_reproducible_and_needs_generators(problem):
    net = DeepNet("resnet", 8, 3, "softplus")
    par = net.init(problem.d, trial_generators("deep.sgd2", 0, 3))
    run = [
        train_deep(net, par, problem.X, problem.y, steps=20, eta=0.05, batch_size=3, batch_generators=trial_generators("b", 1, 3)).loss
        for _ in range(2)
    ]
    torch.testing.assert_close(run[0], run[1], rtol=0, atol=0)
    with pytest.raises(ValueError, match="batch generator"):
        train_deep(net, par, problem.X, problem.y, steps=1, eta=0.05, batch_size=3)
    full = train_deep(net, par, problem.X, problem.y, steps=5, eta=0.05, batch_size=problem.n)
    plain = train_deep(net, par, problem.X, problem.y, steps=5, eta=0.05)
    torch.testing.assert_close(full.loss, plain.loss, rtol=0, atol=0)


def test_lazy_objective_scales_movement_like_one_over_alpha(problem):
    """Chizat et al.: with centering, the objective R(alpha (f - f0)) / alpha^2 starts at R(0) and the
    weights move ~ 1/alpha for about the same function-space trajectory (GD with step eta on F_alpha); the output record is alpha (f - f0)."""
    net = DeepNet("fc", 32, 2, "softplus")
    par = net.init(problem.d, trial_generators("deep.lazy", 0, 2))
    runs = {
        a: train_deep(net, par, problem.X, problem.y, steps=30, eta=0.05, alpha=a, center=True, track_movement=True, keep_outputs=True)
        for a in (1.0, 10.0, 100.0)
    }
    for a, tr in runs.items():
        torch.testing.assert_close(tr.loss[:, 0] * a**2, 0.5 * (problem.y**2).sum().expand(2), rtol=1e-12, atol=1e-12)
        assert torch.all(tr.outputs[:, 0] == 0)
        assert tr.movement.shape == (2, 31) and torch.all(tr.movement[:, 0] == 0)
    ratio = runs[10.0].movement[:, -1] / runs[100.0].movement[:, -1]
    assert torch.all((ratio > 8) & (ratio < 12)), ratio
    # the function-space trajectories agree better as alpha grows (lazy limit)
    gap_10 = (runs[10.0].outputs - runs[100.0].outputs).norm()
    gap_1 = (runs[1.0].outputs - runs[100.0].outputs).norm()
    assert gap_10 < gap_1


def test_steps_to_reach_a_relative_loss(problem):
    net = DeepNet("fc", 16, 2, "softplus")
    tr = train_deep(net, net.init(problem.d, trial_generators("deep.st", 0, 2)), problem.X, problem.y, steps=50, eta=0.05)
    k = tr.steps_to(0.5)
    for t in range(2):
        if torch.isfinite(k[t]):
            kt = int(k[t])
            assert tr.rel_loss()[t, kt] <= 0.5 and torch.all(tr.rel_loss()[t, :kt] > 0.5)
    assert torch.all(torch.isinf(tr.steps_to(0.0)))


def test_he_signal_norms_match_autograd(problem):
    """Backward norms ||df/dh_l|| of the streaming pass equal autograd's on DeepNet('he') drawn the same way."""
    m, L = 20, 3
    fwd, bwd = he_signal_norms(problem.X, m, L, trial_generators("deep.sig", 0, 2))
    torch.testing.assert_close(fwd, he_forward_norms(problem.X, m, L, trial_generators("deep.sig", 0, 2)), rtol=0, atol=0)
    net = DeepNet("he", m, L, "relu")
    par = net.init(problem.d, trial_generators("deep.sig", 0, 2))
    for t in range(2):
        pt = {k: v[t : t + 1].clone() for k, v in par.items()}
        hs = [torch.relu(problem.X @ pt["A"][0].T).requires_grad_(True)]
        h = hs[0]
        outs = []
        for layer in range(L):
            h = torch.relu(h @ pt["W"][0, layer].T)
            outs.append(h)
        u = (h @ pt["B"][0]).sum()
        grads = torch.autograd.grad(u, [hs[0], *outs])
        for layer, gr in enumerate(grads):
            torch.testing.assert_close(bwd[t, layer], gr.norm(dim=1), rtol=1e-12, atol=1e-12)


def test_stop_below_truncates_at_the_first_step_all_trials_reach(problem):
    net = DeepNet("fc", 16, 2, "softplus")
    par = net.init(problem.d, trial_generators("deep.stop", 0, 3))
    full = train_deep(net, par, problem.X, problem.y, steps=200, eta=0.1)
    early = train_deep(net, par, problem.X, problem.y, steps=200, eta=0.1, stop_below=0.3)
    last = int(full.steps_to(0.3).max())
    assert early.steps == last
    torch.testing.assert_close(early.loss, full.loss[:, : last + 1], rtol=0, atol=0)
    torch.testing.assert_close(early.steps_to(0.3), full.steps_to(0.3), rtol=0, atol=0)


def test_cnn_resnet_multichannel_patches_match_conv1d():
    p = ProblemSpec(n=5, d=8, seed=4).build()  # 2 channels x 4 positions
    net = DeepNet("cnn_resnet", 6, 3, "tanh", channels_in=2, patch=5, outputs=3)
    par = net.init(p.d, trial_generators("deep.cnn", 0, 2))
    assert par["W1"].shape == (2, 6, 10) and par["W"].shape == (2, 2, 6, 30) and par["a"].shape == (2, 6, 4, 3)
    u = net.forward(par, p.X)
    assert u.shape == (2, 5, 3)
    for t in range(2):
        pt = {k: v[t] for k, v in par.items()}
        torch.testing.assert_close(u[t], torch.stack([_reference_cnn_resnet(net, pt, x) for x in p.X]), rtol=1e-12, atol=1e-12)
    hidden = net.hidden(par, p.X)
    assert len(hidden) == 3 and hidden[-1].shape == (2, 5, 6, 4)


def test_cnn_resnet_batched_equals_single_and_ntk(problem):
    net = DeepNet("cnn_resnet", 8, 2, "softplus")
    par = net.init(problem.d, trial_generators("deep.cnn.batch", 0, 3))
    tr = train_deep(net, par, problem.X, problem.y, steps=10, eta=0.02)
    for t in range(3):
        alone = train_deep(net, {k: v[t : t + 1] for k, v in par.items()}, problem.X, problem.y, steps=10, eta=0.02)
        torch.testing.assert_close(tr.loss[t], alone.loss[0], rtol=1e-12, atol=1e-14)
    theta = empirical_ntk(net, par, problem.X)
    for t in range(2):
        pt = {k: v[t].clone().requires_grad_(True) for k, v in par.items()}
        rows = []
        for x in problem.X:
            g = torch.autograd.grad(_reference_cnn_resnet(net, pt, x), [pt[k] for k in net.trainable])
            rows.append(torch.cat([gi.flatten() for gi in g]))
        J = torch.stack(rows)
        torch.testing.assert_close(theta[t], J @ J.T, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"patch": 2}, "odd"),
        ({"channels_in": 0}, "channels_in"),
    ],
)
def test_cnn_resnet_bad_options_are_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DeepNet("cnn_resnet", 8, 2, "softplus", **kwargs)


def test_cnn_resnet_input_shape_errors(problem):
    net = DeepNet("cnn_resnet", 4, 2, "softplus", channels_in=2)
    with pytest.raises(ValueError, match="channels_in"):
        net.init(problem.d, trial_generators("deep.cnn.bad", 0, 1))  # d = 5 is not 2 x positions
    par = DeepNet("cnn_resnet", 4, 2, "softplus").init(problem.d, trial_generators("deep.cnn.bad", 0, 1))
    with pytest.raises(ValueError, match="positions"):
        DeepNet("cnn_resnet", 4, 2, "softplus").forward(par, problem.X[:, :4])
    with pytest.raises(ValueError, match="only to the cnn_resnet"):
        DeepNet("fc", 4, 2, "softplus", patch=5)


# ---------------------------------------------------------------------------------------------
# the layer-wise empirical NTK against the torch.func one
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("family", "act"), [(f, a) for f in ("fc", "resnet") for a in ("relu", "softplus", "tanh", "gelu")] + [("he", "relu")])
@pytest.mark.parametrize("depth", [1, 2, 4])
def test_layerwise_ntk_is_the_torch_func_ntk(problem, family, act, depth):
    net = DeepNet(family, 24, depth, act, c_res=0.7)
    params = net.init(problem.d, trial_generators("test.layerwise_ntk", depth, 3))
    ref = empirical_ntk(net, params, problem.X)
    got = layerwise_ntk(net, params, problem.X)
    torch.testing.assert_close(got, ref, rtol=1e-12, atol=1e-12 * float(ref.abs().max()))


@pytest.mark.parametrize("family", ["fc", "he"])
def test_layerwise_ntk_mean_field_scaling(problem, family):
    net = DeepNet(family, 16, 2, "relu", output_scaling="mean_field")
    params = net.init(problem.d, trial_generators("test.layerwise_ntk.mf", 0, 2))
    torch.testing.assert_close(layerwise_ntk(net, params, problem.X), empirical_ntk(net, params, problem.X), rtol=1e-12, atol=1e-14)


def test_layerwise_ntk_after_training_and_in_float32(problem):
    """Trained (non-initial) weights, and the float32 path the claims take with --claims-dtype=float32."""
    net = DeepNet("fc", 16, 3, "softplus")
    params = net.init(problem.d, trial_generators("test.layerwise_ntk.trained", 0, 2))
    tr = train_deep(net, params, problem.X, problem.y, steps=20, eta=0.1, keep_params=True)
    ref = empirical_ntk(net, tr.paramsK, problem.X)
    torch.testing.assert_close(layerwise_ntk(net, tr.paramsK, problem.X), ref, rtol=1e-12, atol=1e-12)
    p32 = {k: v.to(torch.float32) for k, v in tr.paramsK.items()}
    got32 = layerwise_ntk(net, p32, problem.X)
    assert got32.dtype == torch.float32
    torch.testing.assert_close(got32.double(), ref, rtol=1e-4, atol=1e-4)


def test_layerwise_and_analytic_ntk_reject_other_families(problem):
    for net in (DeepNet("cnn_resnet", 8, 2, "relu"), DeepNet("fc", 8, 2, "relu", outputs=2)):
        params = net.init(problem.d, trial_generators("x", 0, 1))
        with pytest.raises(ValueError, match="use empirical_ntk"):
            layerwise_ntk(net, params, problem.X)
    with pytest.raises(ValueError, match="fc and resnet"):
        analytic_ntk(DeepNet("he", 8, 2, "relu"), problem.X)


def test_the_chunk_rule_is_by_size_and_says_so(problem):
    from harness.training.deep_engine import CPU_CHUNK_BYTES, default_chunk_trials

    small = {"W": torch.empty(8, 2, 16, 16, dtype=F64)}
    assert default_chunk_trials(small, 8, "cpu", F64)[0] == 8
    big = {"W": torch.empty(3, 1, 800, 800, dtype=F64)}  # 4.9 MiB a trial
    per, why, spread = default_chunk_trials(big, 3, "cpu", F64)
    assert (per, spread) == (1, False) and "4.88 MiB" in why and "CPU_CHUNK_BYTES" in why
    mid = {"W": torch.empty(6, 1, 300, 300, dtype=F64)}  # 0.69 MiB a trial: 5 fit
    per, why, spread = default_chunk_trials(mid, 6, "cpu", F64)
    assert per == CPU_CHUNK_BYTES // (300 * 300 * 8) and spread and "side by side" in why
    assert default_chunk_trials(big, 3, "cuda:0", F64)[:2] == (3, "all 3 trials at once on cuda:0")
    net = DeepNet("fc", 8, 2)
    par = net.init(problem.d, trial_generators("deep.chunkrule", 0, 3))
    tr = train_deep(net, par, problem.X, problem.y, steps=2, eta=0.1)
    assert tr.chunk_trials == 3 and "3 trial(s) at once on the CPU" in tr.chunking
    tr = train_deep(net, par, problem.X, problem.y, steps=2, eta=0.1, chunk_trials=2)
    assert tr.chunk_trials == 2 and tr.chunking == "chunk_trials=2 (given)"


def test_chunks_side_by_side_on_threads_match_one_batch(problem, monkeypatch):
    """Chunks that fit the budget run one per torch thread; the numbers are those of one batch."""
    import harness.training.deep_engine as de

    net = DeepNet("resnet", 16, 3, "softplus")
    par = net.init(problem.d, trial_generators("deep.spread", 0, 5))
    kw = dict(steps=12, eta=0.05, keep_params=True, track_movement=True)
    one_batch = train_deep(net, par, problem.X, problem.y, **kw)
    per_trial = sum(v[0].numel() for v in par.values()) * 8
    monkeypatch.setattr(de, "CPU_CHUNK_BYTES", 2 * per_trial)  # two trials a chunk: 3 chunks
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        spread = train_deep(net, par, problem.X, problem.y, **kw)
    finally:
        torch.set_num_threads(before)
    assert spread.chunk_trials == 2 and "side by side" in spread.chunking
    torch.testing.assert_close(spread.loss, one_batch.loss, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(spread.movement, one_batch.movement, rtol=1e-12, atol=1e-14)
    for k in par:
        torch.testing.assert_close(spread.paramsK[k], one_batch.paramsK[k], rtol=1e-12, atol=1e-14)
