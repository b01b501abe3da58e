"""harness.hessian: HVPs, the dense Hessian, Lanczos and batched power iteration against closed forms
and against each other."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from harness import ProblemSpec, trial_generators
from harness.analysis.hessian import hessian, hvp, lanczos, loss_fn, top_eigenvalue
from harness.networks.mlp import MLP


def _quadratic(A: torch.Tensor):
    return lambda th: 0.5 * th @ A @ th


def test_quadratic_closed_form():
    g = torch.Generator().manual_seed(0)
    M = torch.randn(6, 6, generator=g, dtype=torch.float64)
    A = M @ M.T - 2 * torch.eye(6, dtype=torch.float64)  # indefinite
    f = _quadratic(A)
    th, v = torch.randn(6, generator=g, dtype=torch.float64), torch.randn(6, generator=g, dtype=torch.float64)
    torch.testing.assert_close(hvp(f, th, v), A @ v)
    torch.testing.assert_close(hessian(f, th), A)
    ev = torch.linalg.eigvalsh(A).numpy()
    np.testing.assert_allclose(lanczos(f, th, k=2, which="LA"), ev[-2:], rtol=1e-9)
    np.testing.assert_allclose(lanczos(f, th, k=1, which="SA"), ev[:1], rtol=1e-9)


@pytest.fixture(scope="module")
def mlp_case():
    p = ProblemSpec(n=12, d=3, seed=5).build()
    mlp = MLP((3, 6, 1), "tanh")
    theta = mlp.init(trial_generators("hess", 0, 3))
    return mlp, p, theta


def test_mlp_hvp_matches_dense_hessian_and_finite_differences(mlp_case):
    mlp, p, theta = mlp_case
    f = loss_fn(mlp, p.X, p.y)
    th = theta[0]
    H = hessian(f, th)
    v = torch.randn(th.numel(), generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    torch.testing.assert_close(hvp(f, th, v), H @ v, rtol=1e-10, atol=1e-12)
    eps = 1e-5
    g = torch.func.grad(f)
    fd = (g(th + eps * v) - g(th - eps * v)) / (2 * eps)
    torch.testing.assert_close(fd, H @ v, rtol=1e-6, atol=1e-8)


def test_lanczos_and_power_iteration_match_eigvalsh(mlp_case):
    mlp, p, theta = mlp_case
    f = loss_fn(mlp, p.X, p.y)
    dense = [torch.linalg.eigvalsh(hessian(f, t)) for t in theta]
    for t, ev in zip(theta, dense, strict=True):
        np.testing.assert_allclose(lanczos(f, t, k=3, which="LA"), ev[-3:].numpy(), rtol=1e-8, atol=1e-12)
        np.testing.assert_allclose(lanczos(f, t, k=1, which="SA"), ev[:1].numpy(), rtol=1e-8, atol=1e-12)
    top = top_eigenvalue(f, theta, iters=2000, rtol=1e-12, generator=torch.Generator().manual_seed(0))
    largest_magnitude = torch.stack([ev[ev.abs().argmax()] for ev in dense])
    torch.testing.assert_close(top, largest_magnitude, rtol=1e-6, atol=1e-10)


def test_lanczos_rejects_bad_k():
    f = _quadratic(torch.eye(3, dtype=torch.float64))
    with pytest.raises(ValueError, match="k must be"):
        lanczos(f, torch.zeros(3, dtype=torch.float64), k=3)


def test_forward_mode_ad_does_not_print_torchs_jit_deprecation():
    """torch scripts its jvp decompositions with torch.jit.script on first use, which warns; the
    harness loads them quietly (a fresh interpreter, every DeprecationWarning an error)."""
    import subprocess
    import sys

    code = (
        "import torch\n"
        "from harness.analysis.hessian import hvp\n"
        "from harness.analysis.critical import objective\n"
        "f = lambda t: (t ** 4).sum()\n"
        "print(hvp(f, torch.ones(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)).tolist())\n"
        "print(objective(f, 3).hessian(torch.ones(2, 3, dtype=torch.float64)).shape)\n"
    )
    out = subprocess.run([sys.executable, "-W", "error::DeprecationWarning", "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "[12.0, 12.0, 12.0]" in out.stdout
