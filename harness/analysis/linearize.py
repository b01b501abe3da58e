"""The linearized model of a network and how far GD on the network strays from it.

For the MSE objective R(u) = 1/2 sum_i (u_i - y_i)^2, GD with step eta on the linearization
f^lin(theta) = f(theta_0) + J_0 (theta - theta_0) (J_0 the Jacobian of the outputs on the training
inputs at init) moves the training outputs by

    u_lin(k+1) = u_lin(k) - eta Theta_0 (u_lin(k) - y),   u_lin(0) = u(0),   Theta_0 = J_0 J_0^T,

exactly (no step-size or width assumption), i.e. u_lin(k) = y + (I - eta Theta_0)^k (u(0) - y).
The same holds for Chizat et al.'s objective R(alpha (f(theta) - f(theta_0))) / alpha^2 with the
outputs u = alpha (f - f(theta_0)): the two factors alpha cancel, so the recursion is the same
with u_lin(0) = 0 (centered model). Lee et al. 2019 (arXiv:1902.06720) write the gradient-flow
form; Chizat, Oyallon, Bach 2019 (arXiv:1812.07956) call it the linearized model h-bar.

:func:`linearized_outputs` runs the recursion for T trials at once; :func:`linearization_gap`
compares it with the recorded outputs of ``harness.deep.train_deep(keep_outputs=True)``.
"""

from __future__ import annotations


import torch


__all__ = ["linearization_gap", "linearized_outputs"]


def linearized_outputs(theta0: torch.Tensor, u0: torch.Tensor, y: torch.Tensor, eta: torch.Tensor | float, steps: int) -> torch.Tensor:
    """Outputs of GD on the linearized model: [T, steps+1, n], float64 on the CPU.

    ``theta0`` [T, n, n] is the empirical NTK at init, ``u0`` [T, n] the outputs at init (zeros for a
    centered model), ``y`` [n] the targets, ``eta`` a step per trial ([T]) or one for all.
    """
    th = theta0.detach().to("cpu", torch.float64)
    T, n, _ = th.shape
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    if u0.shape != (T, n):
        raise ValueError(f"u0 must be [T, n] = [{T}, {n}], got {tuple(u0.shape)}")
    eta_t = torch.as_tensor(eta, dtype=torch.float64).flatten().expand(T)
    yv = y.detach().to("cpu", torch.float64).reshape(1, n)
    A = torch.eye(n, dtype=torch.float64) - eta_t.view(T, 1, 1) * th  # [T, n, n]
    r = u0.detach().to("cpu", torch.float64) - yv  # residual u_lin(k) - y
    out = torch.empty(T, steps + 1, n, dtype=torch.float64)
    for k in range(steps + 1):
        out[:, k] = yv + r
        if k < steps:
            r = (A @ r.unsqueeze(2)).squeeze(2)
    return out


def linearization_gap(outputs: torch.Tensor, lin: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """||u(k) - u_lin(k)||_2 over the steps ([T, K+1]) and its sup over k ([T]).

    ``outputs`` and ``lin`` are [T, K+1, n]; trajectories of different length (a run that stopped early)
    are compared over the common steps.
    """
    K = min(outputs.shape[1], lin.shape[1])
    dev = (outputs[:, :K].to(torch.float64) - lin[:, :K].to(torch.float64)).flatten(2).norm(dim=2)
    return dev, dev.max(dim=1).values
