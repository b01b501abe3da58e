"""harness.deep_kernels: quadrature, ReLU closed forms, and the deep NNGP / NTK recursions against
finite-width Monte Carlo of the actual DLLWZ networks and their empirical NTK (torch.func)."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate
from torch.func import jacrev, vmap

from harness.kernels import infinite_width as dk
from harness import kernels
from harness.networks.deep import DeepNet
from harness.data.problems import unit_rows
from harness.contract.stats import fit_exponent

F64 = torch.float64
WIDTHS = (256, 1024, 4096)
SEEDS = range(4)
N, D = 8, 5


def _unit(n: int, d: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return unit_rows(torch.randn(n, d, generator=g, dtype=F64))


def _triples(count: int, seed: int, rho_max: float = 0.95):
    """Random (k11, k12, k22) with variances in [0.2, 2] and |correlation| <= rho_max."""
    g = torch.Generator().manual_seed(seed)
    k11 = 0.2 + 1.8 * torch.rand(count, generator=g, dtype=F64)
    k22 = 0.2 + 1.8 * torch.rand(count, generator=g, dtype=F64)
    rho = rho_max * (2 * torch.rand(count, generator=g, dtype=F64) - 1)
    return k11, rho * (k11 * k22).sqrt(), k22


# ----------------------------------------------------------------------------- c_sigma


def test_c_sigma_values():
    assert dk.c_sigma("relu") == 2.0
    assert abs(dk.c_sigma("softplus") - 1.085487) < 1e-5
    assert abs(dk.c_sigma("tanh") - 2.536175) < 1e-5
    for name in ("softplus", "tanh", "gelu"):
        sigma, _ = dk.ACTIVATIONS[name]

        def sq(z, sigma=sigma):
            return float(sigma(torch.tensor(z, dtype=F64))) ** 2 * math.exp(-z * z / 2) / math.sqrt(2 * math.pi)

        ref = 1 / integrate.quad(sq, -40, 40, epsabs=1e-14, epsrel=1e-13, limit=200)[0]
        assert abs(dk.c_sigma(name) - ref) < 1e-11 * ref, f"{name}: {dk.c_sigma(name)!r} vs adaptive quadrature {ref!r}"
        # converged in the node count (400 nodes go through scipy's roots, numpy's overflow there)
        assert abs(dk.c_sigma(name, 400) - dk.c_sigma(name)) < 1e-12


def test_activation_derivatives_match_autograd():
    z = torch.linspace(-6, 6, 241, dtype=F64).requires_grad_(True)
    for name, (sigma, dsigma) in dk.ACTIVATIONS.items():
        (grad,) = torch.autograd.grad(sigma(z).sum(), z)
        keep = z.detach() != 0  # relu' at 0 is a convention
        torch.testing.assert_close(dsigma(z.detach())[keep], grad[keep], rtol=1e-12, atol=1e-12, msg=name)
    x = torch.linspace(-5, 5, 101, dtype=F64)
    torch.testing.assert_close(dk.ACTIVATIONS["gelu"][0](x), torch.nn.functional.gelu(x), rtol=1e-14, atol=1e-15)


# ----------------------------------------------------------------------------- quadrature


def test_pair_expectation_smooth_closed_forms():
    k11, k12, k22 = _triples(60, 0, rho_max=0.99)
    # Williams (1997): E[erf(a u) erf(b v)] = (2/pi) asin(2 a b k12 / sqrt((1 + 2 a^2 k11)(1 + 2 b^2 k22)))
    a, b = 0.8, 1.3
    ref = 2 / math.pi * torch.asin(2 * a * b * k12 / torch.sqrt((1 + 2 * a * a * k11) * (1 + 2 * b * b * k22)))
    q = dk.gaussian_pair_expectation(lambda u: torch.erf(a * u), lambda v: torch.erf(b * v), k11, k12, k22, 64)
    assert float((q - ref).abs().max()) < 1e-8
    q = dk.gaussian_pair_expectation(lambda u: torch.erf(a * u), lambda v: torch.erf(b * v), k11, k12, k22, 128)
    assert float((q - ref).abs().max()) < 1e-13
    # moment generating function: E[e^u e^v] = exp((k11 + 2 k12 + k22) / 2)
    q = dk.gaussian_pair_expectation(torch.exp, torch.exp, k11, k12, k22)
    torch.testing.assert_close(q, torch.exp((k11 + 2 * k12 + k22) / 2), rtol=1e-12, atol=0)


@settings(max_examples=30, deadline=None, database=None)
@given(
    k11=st.floats(0.0, 5.0), k22=st.floats(0.0, 5.0), rho=st.floats(-1.0, 1.0), nodes=st.integers(4, 80)
)
def test_pair_expectation_exact_on_low_degree_polynomials(k11, k22, rho, nodes):
    k12 = rho * math.sqrt(k11 * k22)
    t = lambda v: torch.tensor(v, dtype=F64)  # noqa: E731
    # Isserlis: E[u^2 v^2] = k11 k22 + 2 k12^2, E[u v] = k12, E[u^3 v] = 3 k11 k12
    cases = [
        (lambda u: u, lambda v: v, k12),
        (lambda u: u * u, lambda v: v * v, k11 * k22 + 2 * k12 * k12),
        (lambda u: u**3, lambda v: v, 3 * k11 * k12),
    ]
    for f, g, ref in cases:
        q = float(dk.gaussian_pair_expectation(f, g, t(k11), t(k12), t(k22), nodes))
        assert abs(q - ref) < 1e-12 * (1 + abs(ref) + k11 * k22), (nodes, q, ref)


def test_pair_expectation_relu_converges_to_closed_forms():
    """Tensor Gauss-Hermite cannot resolve the kink / jump (measured: relu x relu ~ 1/nodes,
    step x step ~ nodes^-1/2), which is why the recursions use the closed forms for relu."""
    k11, k12, k22 = _triples(40, 1, rho_max=0.9)
    e_act, e_der = dk.relu_pair_expectations(k11, k12, k22)
    err = {}
    for nodes in (64, 256):
        qa = dk.gaussian_pair_expectation(torch.relu, torch.relu, k11, k12, k22, nodes)
        qd = dk.gaussian_pair_expectation(dk.ACTIVATIONS["relu"][1], dk.ACTIVATIONS["relu"][1], k11, k12, k22, nodes)
        err[nodes] = (float((qa - e_act).abs().max()), float((qd - e_der).abs().max()))
    assert err[64][0] < 5e-3 and err[64][1] < 5e-2, err
    assert err[256][0] < err[64][0] / 2.5 and err[256][1] < err[64][1] / 1.5, err


def test_relu_closed_forms_match_monte_carlo_and_two_layer_kernels():
    k11, k12, k22 = _triples(6, 2, rho_max=1.0)
    e_act, e_der = dk.relu_pair_expectations(k11, k12, k22)
    g = torch.Generator().manual_seed(3)
    S = 400_000
    z1, z2 = torch.randn(2, S, 1, generator=g, dtype=F64)
    a = k11.sqrt()
    u = a * z1
    v = (k12 / a) * z1 + (k22 - k12**2 / k11).clamp_min(0).sqrt() * z2
    mc_act = (torch.relu(u) * torch.relu(v)).mean(0)
    mc_der = ((u > 0) & (v > 0)).to(F64).mean(0)
    se_act = (torch.relu(u) * torch.relu(v)).std(0) / math.sqrt(S)
    assert bool(((mc_act - e_act).abs() < 5 * se_act + 1e-12).all())
    assert float((mc_der - e_der).abs().max()) < 5 * 0.5 / math.sqrt(S)
    # and the two-layer closed forms of harness.kernels on a Gram matrix
    X = _unit(7, 4, 4) * torch.linspace(0.5, 2.0, 7, dtype=F64).unsqueeze(1)
    X[1] = -X[0]
    K = X @ X.T
    d = K.diagonal()
    ea, ed = dk.relu_pair_expectations(d[:, None], K, d[None, :])
    torch.testing.assert_close(ea, kernels.arccos1(X), rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(K * ed, kernels.hinf(X), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(("fname", "gname"), [("softplus", "softplus"), ("tanh", "tanh"), ("gelu", "gelu"), ("softplus", "tanh")])
def test_pair_expectation_matches_monte_carlo(fname, gname):
    k11, k12, k22 = _triples(6, 5, rho_max=1.0)
    g = torch.Generator().manual_seed(6)
    S = 400_000
    z1, z2 = torch.randn(2, S, 1, generator=g, dtype=F64)
    a = k11.sqrt()
    u = a * z1
    v = (k12 / a) * z1 + (k22 - k12**2 / k11).clamp_min(0).sqrt() * z2
    for which in (0, 1):  # (sigma, sigma) and (sigma', sigma')
        f, gg = dk.ACTIVATIONS[fname][which], dk.ACTIVATIONS[gname][which]
        samples = f(u) * gg(v)
        mc, se = samples.mean(0), samples.std(0) / math.sqrt(S)
        q = dk.gaussian_pair_expectation(f, gg, k11, k12, k22)
        gap = (q - mc).abs() / se
        assert float(gap.max()) < 5, f"{fname} x {gname} (derivative={which}): {gap.max():.2f} standard errors"


def test_pair_expectation_broadcast_degenerate_and_blocking(monkeypatch):
    sigma = dk.ACTIVATIONS["softplus"][0]
    k = torch.linspace(0.0, 3.0, 7, dtype=F64)
    # u = v: the 2-D rule collapses to the 1-D one; k11 = 0: u = 0 exactly
    torch.testing.assert_close(
        dk.gaussian_pair_expectation(sigma, sigma, k, k, k), dk.gaussian_expectation(lambda z: sigma(z) ** 2, k), rtol=1e-13, atol=0
    )
    zero = torch.zeros(3, dtype=F64)
    kk = torch.tensor([0.5, 1.0, 2.0], dtype=F64)
    torch.testing.assert_close(
        dk.gaussian_pair_expectation(sigma, sigma, zero, zero, kk), math.log(2) * dk.gaussian_expectation(sigma, kk), rtol=1e-13, atol=0
    )
    # broadcasting: scalar k11 against a matrix
    k11, k12, k22 = _triples(12, 7, rho_max=0.9)
    full = dk.gaussian_pair_expectation(sigma, torch.tanh, k11[0].expand(3, 4), (k12 * k11[0].sqrt() / k11.sqrt()).reshape(3, 4), k22.reshape(3, 4))
    assert full.shape == (3, 4)
    # tiny blocks (ragged chunks over entries and over outer nodes) give the same numbers
    X = _unit(30, 6, 8)
    K = X @ X.T
    d = K.diagonal()
    ref = dk.gaussian_pair_expectation(sigma, torch.tanh, d[:, None], K, d[None, :])
    monkeypatch.setattr(dk, "_BLOCK", 3000)
    small = dk.gaussian_pair_expectation(sigma, torch.tanh, d[:, None], K, d[None, :])
    torch.testing.assert_close(small, ref, rtol=1e-14, atol=1e-15)
    monkeypatch.setattr(dk, "_BLOCK", 10)
    tiny = dk.gaussian_pair_expectation(sigma, torch.tanh, d[:3, None], K[:3, :3], d[None, :3])
    torch.testing.assert_close(tiny, ref[:3, :3], rtol=1e-14, atol=1e-15)


# ----------------------------------------------------------------------------- recursions: exact checks


def test_fc_depth1_relu_is_the_two_layer_kernels():
    for X in (_unit(9, 4, 9), _unit(6, 3, 10) * torch.linspace(0.5, 2.0, 6, dtype=F64).unsqueeze(1)):
        X[1] = -X[0]
        k = dk.fc_kernels(X, 1, "relu")
        torch.testing.assert_close(k.nngp[0], X @ X.T, rtol=0, atol=1e-15)
        torch.testing.assert_close(k.nngp[1], 2 * kernels.arccos1(X), rtol=1e-13, atol=1e-15)
        torch.testing.assert_close(dk.last_layer_gram(k), 2 * kernels.hinf(X), rtol=1e-13, atol=1e-15)
        # depth-1 NTK: a-part K^(1) plus W-part K^(0) * Kdot^(1)
        torch.testing.assert_close(k.ntk, 2 * kernels.arccos1(X) + 2 * kernels.hinf(X), rtol=1e-13, atol=1e-15)


def _naive_relu_fc(X: torch.Tensor, depth: int):
    """The ReLU recursion written plainly with arccos (accurate away from t = 0, pi)."""
    K = X @ X.T
    nngp, dot = [K], []
    for _ in range(depth):
        d = K.diagonal().sqrt()
        nrm = d[:, None] * d[None, :]
        t = torch.arccos((K / nrm).clamp(-1, 1))
        dot.append((math.pi - t) / math.pi)
        K = nrm * (torch.sin(t) + (math.pi - t) * torch.cos(t)) / math.pi
        nngp.append(K)
    return nngp, dot


@pytest.mark.parametrize("depth", [1, 2, 4])
def test_relu_recursion_matches_plain_arccos_form(depth):
    X = _unit(10, 6, 11) * torch.linspace(0.6, 1.7, 10, dtype=F64).unsqueeze(1)
    k = dk.fc_kernels(X, depth, "relu")
    nngp, dot = _naive_relu_fc(X, depth)
    for h in range(depth + 1):
        torch.testing.assert_close(k.nngp[h], nngp[h], rtol=1e-10, atol=1e-12)
    for h in range(depth):
        torch.testing.assert_close(k.dot[h], dot[h], rtol=1e-7, atol=1e-8)  # arccos loses ~sqrt(eps) near t = 0
    P, ntk = torch.ones_like(nngp[0]), nngp[depth].clone()
    for h in range(depth, 0, -1):
        P = P * dot[h - 1]
        ntk = ntk + nngp[h - 1] * P
    torch.testing.assert_close(k.ntk, ntk, rtol=1e-7, atol=1e-8)


def test_relu_angles_are_stable_for_nearly_parallel_inputs():
    """Two unit inputs at angle t0 = 1e-7: the layer angles t_h (cos t_h = J(t_(h-1)) / pi) must come out
    with relative accuracy ~1e-9; arccos of the rounded cosine (1 - cos t ~ 5e-15 held to 1e-16) is off by
    1e-4..1e-2."""
    t0 = 1e-7
    X = torch.tensor([[1.0, 0.0, 0.0], [math.cos(t0), math.sin(t0), 0.0]], dtype=F64)
    depth = 4
    with mpmath.workdps(50):
        t = mpmath.mpf(t0)
        ref = []
        for _ in range(depth):
            ref.append(float(t))  # Kdot^(h) = (pi - t_(h-1)) / pi
            t = mpmath.acos((mpmath.sin(t) + (mpmath.pi - t) * mpmath.cos(t)) / mpmath.pi)
    for k in (dk.fc_kernels(X, depth, "relu"), dk.resnet_kernels(X, 1, "relu")):
        for h in range(k.depth):
            got = math.pi * (1 - float(k.dot[h][0, 1]))  # recovers t_(h-1), up to ~eps * pi absolute
            assert abs(got - float(ref[h])) < 1e-8 * float(ref[h]) + 4e-16, (h, got, float(ref[h]))
    naive = _naive_relu_fc(X, 2)[1][1][0, 1]
    assert abs(math.pi * (1 - float(naive)) - float(ref[1])) > 1e-6 * float(ref[1]), "the control should be inaccurate"


def _naive_relu_resnet(X: torch.Tensor, depth: int, c_res: float):
    """The ReLU ResNet recursion of resnet_kernels' docstring written plainly with arccos (torch)."""
    c = c_res / depth
    K = X @ X.T
    nngp, dot, b = [K], [], None
    for h in range(1, depth + 1):
        d = K.diagonal().sqrt()
        nrm = d[:, None] * d[None, :]
        t = torch.arccos((K / nrm).clamp(-1, 1))
        e_act = nrm * (torch.sin(t) + (math.pi - t) * torch.cos(t)) / (2 * math.pi)
        e_der = (math.pi - t) / (2 * math.pi)
        mu = d / math.sqrt(2 * math.pi)
        if h == 1:
            K, b = 2 * e_act, math.sqrt(2) * mu
            dot.append(2 * e_der)
        else:
            K = K + c * (b[:, None] * mu[None, :] + mu[:, None] * b[None, :]) + c * c * e_act
            dot.append(c * c * e_der)
            b = b + c * mu
        nngp.append(K)
    return nngp, dot


@mpmath.workdps(50)
def _mp_relu_resnet_angles(t0: float, depth: int, c_res: float) -> list[float]:
    """t_(h-1) of two unit inputs at angle t0 through the same recursion in 50-digit arithmetic."""
    mp = mpmath
    c = mp.mpf(c_res) / depth
    k_ii, k_ij = mp.mpf(1), mp.cos(mp.mpf(t0))
    b = None
    angles = []
    for h in range(1, depth + 1):
        t = mp.acos(k_ij / k_ii)
        angles.append(float(t))
        e_ii, e_ij = k_ii / 2, k_ii * (mp.sin(t) + (mp.pi - t) * mp.cos(t)) / (2 * mp.pi)
        mu = mp.sqrt(k_ii) / mp.sqrt(2 * mp.pi)
        if h == 1:
            k_ii, k_ij, b = 2 * e_ii, 2 * e_ij, mp.sqrt(2) * mu
        else:
            k_ii, k_ij = k_ii + 2 * c * b * mu + c * c * e_ii, k_ij + 2 * c * b * mu + c * c * e_ij
            b = b + c * mu
    return angles


def test_relu_resnet_matches_plain_form_and_is_stable():
    X = _unit(10, 6, 19) * torch.linspace(0.6, 1.7, 10, dtype=F64).unsqueeze(1)
    X[1] = -X[0]
    for c_res in (0.1, 2.0):
        k = dk.resnet_kernels(X, 4, "relu", c_res=c_res)
        nngp, dot = _naive_relu_resnet(X, 4, c_res)
        for h in range(5):
            torch.testing.assert_close(k.nngp[h], nngp[h], rtol=1e-10, atol=1e-12)
        for h in range(4):
            torch.testing.assert_close(k.dot[h], dot[h], rtol=1e-7, atol=1e-8)
    # two inputs at angle 1e-7: the tracked distance keeps every layer's angle to ~1e-8 relative
    t0 = 1e-7
    Y = torch.tensor([[1.0, 0.0, 0.0], [math.cos(t0), math.sin(t0), 0.0]], dtype=F64)
    for c_res in (0.1, 2.0):
        ref = _mp_relu_resnet_angles(t0, 4, c_res)
        k = dk.resnet_kernels(Y, 4, "relu", c_res=c_res)
        scale = [2.0] + [(c_res / 4) ** 2] * 3  # Kdot^(h) = scale (pi - t_(h-1)) / (2 pi)
        for h in range(4):
            got = math.pi - 2 * math.pi * float(k.dot[h][0, 1]) / scale[h]
            assert abs(got - float(ref[h])) < 1e-8 * float(ref[h]) + 1e-15, (c_res, h, got, float(ref[h]))


@pytest.mark.parametrize("arch", ["fc", "resnet"])
@pytest.mark.parametrize("activation", ["relu", "softplus"])
def test_kernels_symmetric_psd_with_duplicated_and_near_parallel_inputs(arch, activation):
    X = _unit(8, 5, 12)
    X[7] = X[0]
    X[6] = math.cos(1e-9) * X[1] + math.sin(1e-9) * unit_rows(X[2:3] - (X[2] @ X[1]) * X[1])[0]
    k = dk.fc_kernels(X, 3, activation) if arch == "fc" else dk.resnet_kernels(X, 3, activation, c_res=1.0)
    for M in [*k.nngp[1:], *k.dot, k.ntk, dk.last_layer_gram(k)]:
        assert torch.equal(M, M.T)
        lam = float(torch.linalg.eigvalsh(M)[0])
        assert lam > -1e-13 * float(M.diagonal().max()), f"negative eigenvalue {lam:.3g}"
    if activation == "relu":  # the duplicated pair has exactly the diagonal's values
        for M in [*k.nngp[1:], *k.dot]:
            assert float(M[0, 7]) == float(M[0, 0])


def test_batched_inputs_match_single():
    X = torch.stack([_unit(5, 4, s) for s in range(3)])
    for fn, act in ((dk.fc_kernels, "relu"), (dk.fc_kernels, "tanh"), (dk.resnet_kernels, "softplus"), (dk.resnet_kernels, "relu")):
        kb = fn(X, 2, act)
        for t in range(3):
            ks = fn(X[t], 2, act)
            torch.testing.assert_close(kb.ntk[t], ks.ntk, rtol=1e-13, atol=1e-14)
            torch.testing.assert_close(kb.nngp[2][t], ks.nngp[2], rtol=1e-13, atol=1e-14)


def test_smooth_kernels_keep_unit_diagonal():
    """c_sigma normalises E[sigma(z)^2] = 1/c_sigma, so K^(h)_ii = 1 for unit inputs at every depth (fc),
    up to the quadrature error of the 64-node rule (tanh: 7e-9 per layer, its poles at +-i pi/2 are near the
    real axis; 128 nodes: 3e-13)."""
    X = _unit(6, 4, 13)
    for act, tol in (("softplus", 1e-13), ("tanh", 3e-8), ("gelu", 1e-13), ("relu", 1e-14)):
        k = dk.fc_kernels(X, 3, act)
        for K in k.nngp:
            torch.testing.assert_close(K.diagonal(), torch.ones(6, dtype=F64), rtol=0, atol=tol, msg=act)
    k = dk.fc_kernels(X, 3, "tanh", nodes=128)
    torch.testing.assert_close(k.nngp[3].diagonal(), torch.ones(6, dtype=F64), rtol=0, atol=1e-12)


def test_resnet_depth1_is_fc_and_argument_errors():
    X = _unit(5, 3, 14)
    for act in ("relu", "softplus"):
        a, b = dk.fc_kernels(X, 1, act), dk.resnet_kernels(X, 1, act)
        torch.testing.assert_close(a.ntk, b.ntk, rtol=1e-14, atol=1e-15)
    with pytest.raises(ValueError, match="activation"):
        dk.fc_kernels(X, 2, "sigmoid")
    with pytest.raises(ValueError, match="depth"):
        dk.resnet_kernels(X, 0, "relu")


# ----------------------------------------------------------------------------- finite-width networks


def _draw(seed: int, m: int, d: int, layers: int):
    g = torch.Generator().manual_seed(1000 * seed + m)
    W1 = torch.randn(m, d, generator=g, dtype=F64)
    Ws = [torch.randn(m, m, generator=g, dtype=F64) for _ in range(layers - 1)]
    a = torch.randn(m, generator=g, dtype=F64)
    return W1, Ws, a


def _forward(X, W1, Ws, activation, arch, c_res=0.1):
    """x^(0..H) and the pre-activations g^(1..H) of the finite DLLWZ network, written from the equations."""
    sigma, _ = dk.ACTIVATIONS[activation]
    cs, m, H = dk.c_sigma(activation), W1.shape[0], 1 + len(Ws)
    g = X @ W1.T
    x = math.sqrt(cs / m) * sigma(g)
    xs, gs = [X, x], [g]
    for W in Ws:
        g = x @ W.T
        x = x + c_res / (H * math.sqrt(m)) * sigma(g) if arch == "resnet" else math.sqrt(cs / m) * sigma(g)
        xs.append(x)
        gs.append(g)
    return xs, gs


def _finite_last_gram(xs, gs, a, activation, arch, c_res=0.1):
    """Gram of df/dW^(H): coef sum_r a_r^2 sigma'(g_ir) sigma'(g_jr) <x_i^(H-1), x_j^(H-1)>."""
    _, dsigma = dk.ACTIVATIONS[activation]
    H, m = len(gs), gs[-1].shape[1]
    coef = dk.c_sigma(activation) / m if (arch == "fc" or H == 1) else (c_res / H) ** 2 / m
    S = dsigma(gs[-1]) * a
    return coef * (S @ S.T) * (xs[-2] @ xs[-2].T)


def test_finite_network_is_harness_deep_net():
    """The network simulated here is the one harness.deep trains (DeepNet; its C_SIGMA is rounded to 7 digits)."""
    X = _unit(4, 3, 15)
    for family, act in (("fc", "relu"), ("fc", "softplus"), ("resnet", "softplus"), ("resnet", "relu")):
        net = DeepNet(family, 16, 3, act, c_res=0.7)
        p = net.init(3, [torch.Generator().manual_seed(16)])
        xs, _ = _forward(X, p["W1"][0], list(p["W"][0]), act, family, c_res=0.7)
        for mine, theirs in zip(xs[1:], net.hidden(p, X), strict=True):
            torch.testing.assert_close(mine, theirs[0], rtol=1e-6, atol=1e-12)


#: (arch, activation, depth, c_res) whose K^(h) and last-layer Gram are Monte-Carlo checked
CONFIGS = [
    ("fc", "relu", 2, None),
    ("fc", "relu", 3, None),
    ("fc", "softplus", 2, None),
    ("fc", "softplus", 3, None),
    ("resnet", "relu", 2, 0.1),
    ("resnet", "relu", 3, 0.1),
    ("resnet", "softplus", 2, 0.1),
    ("resnet", "softplus", 3, 0.1),
    ("resnet", "relu", 3, 2.0),
    ("resnet", "softplus", 3, 2.0),
]


def _analytic(X, arch, act, depth, c_res):
    return dk.fc_kernels(X, depth, act) if arch == "fc" else dk.resnet_kernels(X, depth, act, c_res=c_res)


@pytest.fixture(scope="module")
def monte_carlo():
    """Per config: lists over (m, seed) of max-abs gaps of K^(1..H), of the last-layer Gram, and of the
    ResNet increment K^(H) - K^(1)."""
    X = _unit(N, D, 17)
    X[1] = 0.9 * X[0] + 0.1 * X[1]  # one fairly close pair
    X = unit_rows(X)
    analytic = {cfg: _analytic(X, *cfg[:3], cfg[3]) for cfg in CONFIGS}
    out = {cfg: {"m": [], "nngp": [], "gram": [], "incr": []} for cfg in CONFIGS}
    for m in WIDTHS:
        for seed in SEEDS:
            W1, Ws, a = _draw(seed, m, D, 3)
            for cfg in CONFIGS:
                arch, act, depth, c_res = cfg
                xs, gs = _forward(X, W1, Ws[: depth - 1], act, arch, c_res or 0.1)
                k = analytic[cfg]
                grams = [x @ x.T for x in xs]
                rec = out[cfg]
                rec["m"].append(m)
                rec["nngp"].append(max(float((grams[h] - k.nngp[h]).abs().max()) for h in range(1, depth + 1)))
                gram = _finite_last_gram(xs, gs, a, act, arch, c_res or 0.1)
                rec["gram"].append(float((gram - dk.last_layer_gram(k)).abs().max()))
                incr = grams[depth] - grams[1]
                rec["incr"].append(float((incr - (k.nngp[depth] - k.nngp[1])).abs().max()))
    return X, analytic, out


def _entry_sd(X: torch.Tensor, act: str) -> float:
    """max_ij c_sigma sd(sigma(u) sigma(v)) under K^(0) = X X^T: sqrt(m) times the standard deviation of one
    layer-1 entry (c_sigma/m) sum_r sigma(g_ir) sigma(g_jr) (relu, unit rows: sqrt(5) on the diagonal)."""
    sigma, _ = dk.ACTIVATIONS[act]
    K0 = X @ X.T
    d = K0.diagonal()
    sq = lambda z: sigma(z) ** 2  # noqa: E731
    second = dk.gaussian_pair_expectation(sq, sq, d[:, None], K0, d[None, :], 128)
    first = dk.gaussian_pair_expectation(sigma, sigma, d[:, None], K0, d[None, :], 128)
    return dk.c_sigma(act) * float((second - first**2).clamp_min(0).sqrt().max())


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: "-".join(str(v) for v in c))
def test_kernels_match_finite_width_monte_carlo(monte_carlo, cfg):
    X, analytic, out = monte_carlo
    _, act, depth, _ = cfg
    rec = out[cfg]
    m = np.asarray(rec["m"])
    # (a) at m = 4096 every entry of every layer is within a few standard deviations. One layer's entry
    # (c_sigma/m) sum_r sigma_ir sigma_jr has sd <= SD / sqrt(m) with SD = c_sigma max sd(sigma(u) sigma(v))
    # (relu: sqrt(5) ~ 2.24 on the diagonal); each layer adds such noise and passes the earlier noise on with
    # a gain <= ~1, so the sd of K^(H) is <= sqrt(H) SD / sqrt(m); 5 of those covers the max of
    # 36 entries x H layers x 4 seeds with room to spare (measured: <= 5.5 SD / sqrt(m)). Residual layers
    # with a large c_res grow the features, and the noise with them: scale by max_i K^(H)_ii (2.4 and 4.7
    # for c_res = 2; measured there <= 10.3 SD / sqrt(m)). The last-layer Gram carries a_r^2 (E a^4 = 3).
    sd = _entry_sd(X, act) * max(1.0, float(analytic[cfg].nngp[depth].diagonal().max()))
    tol = 5 * math.sqrt(depth) * sd / math.sqrt(WIDTHS[-1])
    big = m == WIDTHS[-1]
    worst = max(np.asarray(rec["nngp"])[big])
    assert worst < tol, f"K^(h) at m={WIDTHS[-1]}: max gap {worst:.3g} > {tol:.3g}"
    worst_gram = max(np.asarray(rec["gram"])[big])
    assert worst_gram < math.sqrt(3) * tol, f"last-layer Gram at m={WIDTHS[-1]}: max gap {worst_gram:.3g} > {math.sqrt(3) * tol:.3g}"
    # (b) the gaps shrink with m (CLT slope -1/2), fitted over every seed
    for key in ("nngp", "gram"):
        fit = fit_exponent(m, rec[key])
        assert fit.slope < -0.3, f"{key}: gap ~ m^{fit.slope:.2f} does not shrink (ci {fit.ci_low:.2f}..{fit.ci_high:.2f})"


RESNETS = [c for c in CONFIGS if c[0] == "resnet"]


@pytest.fixture(scope="module")
def resnet_increments():
    """K^(H) - K^(1) of 24 independent ResNets at m = 1024 per config (the same weights for every config)."""
    X = _unit(N, D, 17)
    X[1] = 0.9 * X[0] + 0.1 * X[1]
    X = unit_rows(X)
    incr = {cfg: [] for cfg in RESNETS}
    for seed in range(24):
        W1, Ws, _ = _draw(500 + seed, 1024, D, 3)
        for cfg in RESNETS:
            _, act, depth, c_res = cfg
            xs, _ = _forward(X, W1, Ws[: depth - 1], act, "resnet", c_res)
            incr[cfg].append(xs[depth] @ xs[depth].T - xs[1] @ xs[1].T)
    return X, {cfg: torch.stack(v) for cfg, v in incr.items()}


@pytest.mark.parametrize("cfg", RESNETS, ids=lambda c: "-".join(str(v) for v in c))
def test_resnet_residual_increment_matches_monte_carlo(monte_carlo, resnet_increments, cfg):
    """K^(H) - K^(1) isolates the residual recursion. It is dominated by the mean cross term
    c (b_i mu_j + mu_i b_j) (c = c_res / H); a recursion with only c^2 E[sigma sigma] must be rejected.

    Every entry's seed mean is compared in standard errors across the 24 seeds (t with 23 dof; the
    finite-width bias is O(1/m)). Measured: max |z| 0.7..1.7 for the recursion, >= 31 for the control."""
    X, incr = resnet_increments
    _, act, depth, c_res = cfg
    k = dk.resnet_kernels(X, depth, act, c_res=c_res)
    exact = k.nngp[depth] - k.nngp[1]
    mean, se = incr[cfg].mean(0), incr[cfg].std(0) / math.sqrt(incr[cfg].shape[0])
    z = float(((mean - exact) / se).abs().max())
    assert z < 5, f"increment off by {z:.2f} standard errors (relative {float((mean - exact).abs().max() / exact.abs().max()):.3g})"
    # negative control: the recursion without the mean cross terms
    c = c_res / depth
    sigma, _ = dk.ACTIVATIONS[act]
    K = k.nngp[1]
    for _ in range(2, depth + 1):
        d = K.diagonal()
        K = K + c * c * dk.gaussian_pair_expectation(sigma, sigma, d[:, None], K, d[None, :])
    z_wrong = float(((mean - (K - k.nngp[1])) / se).abs().max())
    assert z_wrong > 10, f"the control recursion is not rejected ({z_wrong:.2f} standard errors)"
    # and the gap of single networks shrinks with the width (measured slopes -0.34..-0.49)
    _, _, out = monte_carlo
    fit = fit_exponent(out[cfg]["m"], out[cfg]["incr"])
    assert fit.slope < -0.25, f"increment gap ~ m^{fit.slope:.2f}"


# ----------------------------------------------------------------------------- empirical NTK


def _empirical_ntk_blocks(X, W1, Ws, a, activation, arch, c_res=0.1) -> dict[str, torch.Tensor]:
    """Per parameter tensor theta (W1, W2, .., a): <df(x_i)/dtheta, df(x_j)/dtheta>, from per-example
    Jacobians by torch.func (jacrev over the parameters, vmap over the inputs). Their sum is the NTK."""
    H = 1 + len(Ws)
    params = {"W1": W1, **{f"W{h + 2}": W for h, W in enumerate(Ws)}, "a": a}

    def f(p, x):
        xs, _ = _forward(x.unsqueeze(0), p["W1"], [p[f"W{h}"] for h in range(2, H + 1)], activation, arch, c_res)
        return (xs[-1] @ p["a"]).squeeze(0)

    jac = vmap(jacrev(f), in_dims=(None, 0))(params, X)
    return {name: (J := j.reshape(X.shape[0], -1)) @ J.T for name, j in jac.items()}


def _analytic_blocks(k: dk.FCKernels) -> dict[str, torch.Tensor]:
    """The same blocks in the limit: W^(h) -> K^(h-1) * Kdot^(h) * P^(h), a -> K^(H) (module docstring)."""
    H = k.depth
    blocks, P = {"a": k.nngp[H]}, torch.ones_like(k.nngp[0])
    for h in range(H, 0, -1):
        blocks[f"W{h}"] = k.nngp[h - 1] * k.dot[h - 1] * P
        P = P * (1 + k.dot[h - 1]) if (k.arch == "resnet" and h >= 2) else P * k.dot[h - 1]
    return blocks


@pytest.mark.parametrize(
    ("arch", "act", "c_res"), [("fc", "relu", None), ("fc", "softplus", None), ("resnet", "relu", 2.0), ("resnet", "softplus", 2.0)]
)
def test_ntk_matches_empirical_ntk(arch, act, c_res):
    """Relative Frobenius gaps (mean of 2 seeds) of the NTK and of each parameter block, m = 256 vs 2048.
    Measured at 2048: NTK 0.012..0.05, blocks <= ~0.1. For the ResNet, c_res = 2 makes the residual
    backward factor P^(1) = 1 + Kdot^(2) ~ 1.3..1.5, so dropping it (P = 1) must miss the W1 block."""
    X = _unit(6, 4, 18)
    depth = 2
    k = _analytic(X, arch, act, depth, c_res)
    exact = _analytic_blocks(k)
    torch.testing.assert_close(sum(exact.values()), k.ntk, rtol=1e-14, atol=1e-14)
    rel = {m: {} for m in (256, 2048)}
    emp_w1 = []
    for m in (256, 2048):
        gaps: dict[str, list[float]] = {}
        for seed in range(2):
            W1, Ws, a = _draw(100 + seed, m, X.shape[1], depth)
            emp = _empirical_ntk_blocks(X, W1, Ws, a, act, arch, c_res or 0.1)
            emp["ntk"], exact["ntk"] = sum(emp.values()), k.ntk
            for name in emp:
                gaps.setdefault(name, []).append(float(torch.linalg.norm(emp[name] - exact[name]) / torch.linalg.norm(exact[name])))
            if m == 2048:
                emp_w1.append(emp["W1"])
        rel[m] = {name: float(np.mean(v)) for name, v in gaps.items()}
    assert rel[2048]["ntk"] < 0.15, f"relative Frobenius gap {rel[2048]['ntk']:.3g} at m=2048"
    assert rel[2048]["ntk"] < rel[256]["ntk"], f"gap does not shrink: {rel}"
    for name, gap in rel[2048].items():
        assert gap < 0.15, f"block {name}: relative gap {gap:.3g} at m=2048 ({rel})"
    if arch == "resnet":
        no_residual = k.nngp[0] * k.dot[0]  # W1 block with P^(1) = 1
        wrong = float(np.mean([float(torch.linalg.norm(e - no_residual) / torch.linalg.norm(exact["W1"])) for e in emp_w1]))
        assert wrong > 2 * rel[2048]["W1"] and wrong > 0.1, f"the P = 1 control is not rejected: {wrong:.3g} vs {rel[2048]['W1']:.3g}"
