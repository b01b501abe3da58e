"""harness.mlp: the flat-parameter MLP against torch.nn, GD/SGD steps against autograd on nn.Module."""

from __future__ import annotations

import pytest
import torch

from harness import ProblemSpec, trial_generators
from harness.networks.mlp import MLP, train_mlp


@pytest.fixture(scope="module")
def problem():
    return ProblemSpec(n=10, d=4, seed=2).build()


def _module(mlp: MLP, theta: torch.Tensor) -> torch.nn.Sequential:
    act = {"tanh": torch.nn.Tanh, "relu": torch.nn.ReLU, "softplus": torch.nn.Softplus, "gelu": torch.nn.GELU, "sigmoid": torch.nn.Sigmoid}
    layers = []
    for li, (W, b) in enumerate(mlp.unflatten(theta)):
        lin = torch.nn.Linear(W.shape[1], W.shape[0], dtype=torch.float64)
        with torch.no_grad():
            lin.weight.copy_(W)
            lin.bias.copy_(b)
        layers.append(lin)
        if li < len(mlp.shapes) - 1:
            layers.append(act[mlp.activation]())
    return torch.nn.Sequential(*layers)


@pytest.mark.parametrize("act", ["tanh", "relu", "softplus", "gelu", "sigmoid"])
def test_forward_matches_torch_nn(problem, act):
    mlp = MLP((4, 7, 5, 3), act)
    theta = mlp.init(trial_generators("mlp.fwd", 0, 3))
    theta = theta + 0.1 * torch.randn(theta.shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64)  # non-zero biases
    assert theta.shape == (3, mlp.n_params) and mlp.n_params == 4 * 7 + 7 + 7 * 5 + 5 + 5 * 3 + 3
    u = mlp.forward(theta, problem.X)
    for t in range(3):
        torch.testing.assert_close(u[t], _module(mlp, theta[t])(problem.X), rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(mlp.forward(theta[t], problem.X), u[t])


def test_init_is_lecun_normal_with_zero_biases():
    mlp = MLP((50, 400, 1))
    theta = mlp.init(trial_generators("mlp.init", 0, 4))
    (W1, b1), (W2, b2) = mlp.unflatten(theta)
    assert torch.all(b1 == 0) and torch.all(b2 == 0)
    assert abs(float(W1.var()) * 50 - 1) < 0.05 and abs(float(W2.var()) * 400 - 1) < 0.2


@pytest.mark.parametrize("kind", ["mse", "ce"])
def test_gd_step_and_loss_match_nn_module(problem, kind):
    mlp = MLP((4, 6, 3 if kind == "ce" else 1), "tanh")
    theta = mlp.init(trial_generators("mlp.gd", 0, 2))
    y = (torch.arange(10) % 3) if kind == "ce" else problem.y
    tr = train_mlp(mlp, theta, problem.X, y, steps=1, lr=0.3, loss=kind)
    for t in range(2):
        net = _module(mlp, theta[t])
        out = net(problem.X)
        ref = torch.nn.functional.cross_entropy(out, y) if kind == "ce" else 0.5 * ((out.squeeze(1) - y) ** 2).mean()
        assert float(tr.loss[t, 0]) == pytest.approx(float(ref.detach()), rel=1e-12)
        ref.backward()
        expect = torch.cat([torch.cat([lin.weight.detach().flatten() - 0.3 * lin.weight.grad.flatten(), lin.bias.detach() - 0.3 * lin.bias.grad]) for lin in net if isinstance(lin, torch.nn.Linear)])
        torch.testing.assert_close(tr.theta[t], expect, rtol=1e-12, atol=1e-13)


def test_batched_equals_single_and_sgd_is_reproducible(problem):
    mlp = MLP((4, 8, 1), "softplus")
    theta = mlp.init(trial_generators("mlp.batch", 0, 3))
    lr = torch.tensor([0.1, 0.2, 0.4], dtype=torch.float64)
    tr = train_mlp(mlp, theta, problem.X, problem.y, steps=20, lr=lr, batch_size=4, generators=trial_generators("mlp.sgd", 0, 3))
    again = train_mlp(mlp, theta, problem.X, problem.y, steps=20, lr=lr, batch_size=4, generators=trial_generators("mlp.sgd", 0, 3))
    torch.testing.assert_close(tr.loss, again.loss, rtol=0, atol=0)
    for t in range(3):
        alone = train_mlp(mlp, theta[t : t + 1], problem.X, problem.y, steps=20, lr=float(lr[t]), batch_size=4, generators=trial_generators("mlp.sgd", 0, 3)[t : t + 1])
        torch.testing.assert_close(tr.loss[t], alone.loss[0], rtol=1e-12, atol=1e-14)
    assert tr.grad_norm.shape == (3,)


def test_sgd_step_is_the_minibatch_mean_gradient(problem):
    mlp = MLP((4, 5, 1), "tanh")
    theta = mlp.init(trial_generators("mlp.sgd1", 0, 1))
    g = torch.Generator().manual_seed(7)
    idx = torch.randperm(10, generator=torch.Generator().manual_seed(7))[:3]
    tr = train_mlp(mlp, theta, problem.X, problem.y, steps=1, lr=0.5, batch_size=3, generators=[g])
    th = theta[0].clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(mlp.loss(th, problem.X[idx], problem.y[idx]), th)
    torch.testing.assert_close(tr.theta[0], theta[0] - 0.5 * grad, rtol=1e-12, atol=1e-14)


def test_divergence_is_recorded_and_bad_input_is_a_clear_error(problem):
    mlp = MLP((4, 8, 1), "relu")
    theta = mlp.init(trial_generators("mlp.div", 0, 2))
    tr = train_mlp(mlp, theta, problem.X, problem.y * 100, steps=30, lr=torch.tensor([0.01, 50.0], dtype=torch.float64))
    assert tr.diverged.tolist() == [False, True] and torch.isinf(tr.loss[1, -1])
    with pytest.raises(ValueError, match="generator"):
        train_mlp(mlp, theta, problem.X, problem.y, steps=1, lr=0.1, batch_size=2)
    with pytest.raises(ValueError, match="parameters"):
        mlp.forward(theta[:, :-1], problem.X)
    with pytest.raises(ValueError, match="activation"):
        MLP((2, 1), "swish")
    with pytest.raises(ValueError, match="cross-entropy"):
        mlp.loss(theta, problem.X, problem.y, "ce")
