"""harness.kernels: closed forms against their defining expectations and finite-width Grams."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from harness import kernels
from harness.data.problems import ProblemSpec, unit_rows

F64 = torch.float64
MC_SAMPLES = 200_000
WIDE = 200_000


def _unit(n: int, d: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return unit_rows(torch.randn(n, d, generator=g, dtype=F64))


def _near_parallel(X: torch.Tensor, t: float, seed: int = 123) -> torch.Tensor:
    """A copy of X with row 1 replaced by row 0 rotated by angle t (fixed direction)."""
    g = torch.Generator().manual_seed(seed)
    e = torch.randn(X.shape[1], generator=g, dtype=F64)
    e = e - (e @ X[0]) * X[0]
    e = e / e.norm()
    Y = X.clone()
    Y[1] = math.cos(t) * X[0] + math.sin(t) * e
    return Y


# ----------------------------------------------------------------------------- closed form vs MC


@pytest.mark.parametrize(("n", "d", "seed"), [(6, 3, 0), (8, 5, 1)])
def test_hinf_matches_monte_carlo(n, d, seed):
    X = _unit(n, d, seed)
    # include an exactly antiparallel and a near-parallel pair: the extremes of the angle range
    X[1] = -X[0]
    X[2] = _near_parallel(X, 0.05)[1]  # x_2 at angle 0.05 from x_0
    H = kernels.hinf(X)
    g = torch.Generator().manual_seed(1000 + seed)
    H_mc = kernels.hinf_monte_carlo(X, MC_SAMPLES, generator=g, chunk=50_000)
    # 5 standard errors of a Bernoulli mean, times |x_i.x_j| <= 1
    bound = 5 * 0.5 / math.sqrt(MC_SAMPLES)
    err = float((H - H_mc).abs().max())
    assert err < bound, f"closed-form H^inf differs from Monte Carlo by {err:.3g} > {bound:.3g}"


@pytest.mark.parametrize(("n", "d", "seed"), [(6, 3, 2), (8, 5, 3)])
def test_arccos1_matches_monte_carlo(n, d, seed):
    X = _unit(n, d, seed)
    X[1] = -X[0]
    # non-unit norms: arccos1 is homogeneous of degree 1 in each argument
    scales = torch.linspace(0.5, 2.0, n, dtype=F64).unsqueeze(1)
    Xs = X * scales
    G = kernels.arccos1(Xs)
    g = torch.Generator().manual_seed(2000 + seed)
    G_mc = kernels.arccos1_monte_carlo(Xs, MC_SAMPLES, generator=g)
    # Var[relu(z_i) relu(z_j)] <= E[relu(z)^4] = 3/2 for unit rows; scale by |x_i||x_j| <= 4
    se = math.sqrt(1.5) * 4.0 / math.sqrt(MC_SAMPLES)
    err = float((G - G_mc).abs().max())
    assert err < 5 * se, f"closed-form arccos1 differs from Monte Carlo by {err:.3g} > {5 * se:.3g}"


def test_monte_carlo_is_reproducible_and_chunk_independent():
    X = _unit(5, 4, 7)
    a = kernels.hinf_monte_carlo(
        X, 30_000, generator=torch.Generator().manual_seed(5), chunk=30_000
    )
    b = kernels.hinf_monte_carlo(
        X, 30_000, generator=torch.Generator().manual_seed(5), chunk=30_000
    )
    assert torch.equal(a, b), "same generator seed must give the same Monte Carlo estimate"
    c = kernels.hinf_monte_carlo(X, 30_000, generator=torch.Generator().manual_seed(5), chunk=7_000)
    # a ragged last chunk (30000 = 4 * 7000 + 2000) must still average over exactly M draws
    bound = 5 * 0.5 / math.sqrt(30_000)
    err = float((c - kernels.hinf(X)).abs().max())
    assert err < bound, f"chunked Monte Carlo estimate off by {err:.3g} > {bound:.3g}"


def test_closed_forms_known_values():
    # two orthogonal unit vectors: theta = pi/2
    X = torch.eye(2, dtype=F64)
    H = kernels.hinf(X)
    torch.testing.assert_close(
        H, torch.diag(torch.tensor([0.5, 0.5], dtype=F64)), rtol=0, atol=1e-15
    )
    G = kernels.arccos1(X)
    expected_off = 1 / (2 * math.pi)  # (sin(pi/2) + (pi/2) cos(pi/2)) / (2 pi)
    torch.testing.assert_close(
        G, torch.tensor([[0.5, expected_off], [expected_off, 0.5]], dtype=F64), rtol=0, atol=1e-15
    )
    # antiparallel pair: H off-diagonal = -1 * 0 / (2 pi) = 0; arccos1 off-diagonal = 0
    Y = torch.tensor([[1.0, 0.0], [-1.0, 0.0]], dtype=F64)
    assert abs(float(kernels.hinf(Y)[0, 1])) < 1e-15
    assert abs(float(kernels.arccos1(Y)[0, 1])) < 1e-15


def test_hinf_batched_leading_dims():
    X = torch.stack([_unit(5, 3, s) for s in range(3)])
    Hb = kernels.hinf(X)
    for t in range(3):
        torch.testing.assert_close(Hb[t], kernels.hinf(X[t]), rtol=0, atol=1e-15)
    Gb = kernels.arccos1(X)
    for t in range(3):
        torch.testing.assert_close(Gb[t], kernels.arccos1(X[t]), rtol=0, atol=1e-15)


# ----------------------------------------------------------------------------- structure of H^inf


@settings(max_examples=25, deadline=None, database=None)
@given(n=st.integers(2, 10), d=st.integers(2, 6), seed=st.integers(0, 2**31 - 1), dup=st.booleans())
def test_hinf_symmetric_psd_half_diagonal(n, d, seed, dup):
    X = _unit(n, d, seed)
    if dup:
        X[n - 1] = X[0]
    H = kernels.hinf(X)
    # X @ X.T from BLAS is symmetric only to rounding (~1e-17), which eigvalsh ignores anyway
    torch.testing.assert_close(H, H.T, rtol=0, atol=1e-15, msg="H^inf must be symmetric")
    torch.testing.assert_close(
        torch.diagonal(H), torch.full((n,), 0.5, dtype=F64), rtol=0, atol=1e-15
    )
    lam = float(kernels.lambda_min(H))
    assert lam > -1e-13, f"H^inf has a negative eigenvalue {lam:.3g} (n={n}, d={d}, dup={dup})"
    G = kernels.arccos1(X)
    torch.testing.assert_close(G, G.T, rtol=0, atol=1e-15, msg="arccos1 Gram must be symmetric")
    assert float(kernels.lambda_min(G)) > -1e-13, "arccos1 Gram must be PSD"


@pytest.mark.parametrize("seed", range(4))
def test_duplicate_input_gives_zero_lambda_min(seed):
    X = ProblemSpec(n=7, d=4, geometry="duplicate", seed=seed).build().X
    assert torch.equal(X[6], X[0])
    lam = float(kernels.lambda_min(kernels.hinf(X)))
    assert abs(lam) < 1e-12, f"duplicated input must make H^inf singular, lambda_min={lam:.3g}"


@pytest.mark.parametrize("seed", range(4))
def test_antiparallel_pair_keeps_lambda_min_positive(seed):
    p = ProblemSpec(n=6, d=4, geometry="antiparallel", seed=seed).build()
    lam = float(kernels.lambda_min(kernels.hinf(p.X)))
    assert lam > 1e-2, f"antiparallel inputs must keep lambda_0 > 0 (got {lam:.3g})"
    # the two-point case exactly: H = diag(1/2), lambda_0 = 1/2
    x = p.X[:2]
    torch.testing.assert_close(kernels.hinf(x), 0.5 * torch.eye(2, dtype=F64), rtol=0, atol=1e-15)


def test_near_parallel_lambda_min_shrinks_like_angle():
    X = _unit(4, 6, 11)
    angles = [0.4, 0.2, 0.1, 0.05, 0.02, 0.01, 1e-3, 1e-4]
    lams = [float(kernels.lambda_min(kernels.hinf(_near_parallel(X, t)))) for t in angles]
    for i in range(1, len(angles)):
        assert lams[i] < lams[i - 1], (
            f"lambda_0 must shrink with the angle: {lams[i - 1]:.3g} at {angles[i - 1]} vs {lams[i]:.3g} at {angles[i]}"
        )
    for t, lam in zip(angles, lams, strict=True):
        ratio = lam / (t / (2 * math.pi))
        assert 1 / 3 < ratio < 3, (
            f"lambda_0={lam:.3g} at angle {t} is not ~ t/(2 pi) (ratio {ratio:.3g})"
        )
    # and the approximation becomes exact as t -> 0
    assert abs(lams[-1] / (angles[-1] / (2 * math.pi)) - 1) < 1e-2


def test_near_parallel_problems_follow_the_angle():
    lams = [
        ProblemSpec(n=4, d=6, geometry="near_parallel", angle=t, seed=0).build().lambda0
        for t in (0.2, 0.02, 0.002)
    ]
    assert lams[0] > lams[1] > lams[2] > 0
    for t, lam in zip((0.2, 0.02, 0.002), lams, strict=True):
        assert 1 / 3 < lam / (t / (2 * math.pi)) < 3


# ----------------------------------------------------------------------------- finite-width Grams


def _wide_params(d: int, m: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    W = torch.randn(1, m, d, generator=g, dtype=F64)
    a = torch.randint(0, 2, (1, m), generator=g).to(F64) * 2 - 1
    return W, a


def test_gram_first_layer_converges_to_hinf():
    X = _unit(6, 4, 21)
    X[1] = -X[0]
    W, a = _wide_params(4, WIDE, 22)
    H = kernels.gram_first_layer(X, W, a, scale=1 / math.sqrt(WIDE))
    assert H.shape == (1, 6, 6)
    err = float((H[0] - kernels.hinf(X)).abs().max())
    bound = 5 * 0.5 / math.sqrt(WIDE)
    assert err < bound, f"H(W) at m={WIDE} differs from H^inf by {err:.3g} > {bound:.3g}"
    # a_r^2 = 1, so the sign of a must not matter
    H_pos = kernels.gram_first_layer(X, W, a.abs(), scale=1 / math.sqrt(WIDE))
    torch.testing.assert_close(H, H_pos, rtol=0, atol=1e-15)


def test_gram_output_layer_converges_to_arccos1():
    X = _unit(6, 4, 31)
    W, _ = _wide_params(4, WIDE, 32)
    G = kernels.gram_output_layer(X, W, scale=1 / math.sqrt(WIDE))
    assert G.shape == (1, 6, 6)
    err = float((G[0] - kernels.arccos1(X)).abs().max())
    bound = 5 * math.sqrt(1.5) / math.sqrt(WIDE)
    assert err < bound, f"G(W) at m={WIDE} differs from arccos1 by {err:.3g} > {bound:.3g}"


def test_finite_grams_batched_match_explicit_sums():
    T, n, d, m = 3, 5, 3, 17
    g = torch.Generator().manual_seed(41)
    X = unit_rows(torch.randn(T, n, d, generator=g, dtype=F64).reshape(T * n, d)).reshape(T, n, d)
    W = torch.randn(T, m, d, generator=g, dtype=F64)
    a = torch.randn(T, m, generator=g, dtype=F64)
    c = 0.3
    H = kernels.gram_first_layer(X, W, a, c)
    G = kernels.gram_output_layer(X, W, c)
    for t in range(T):
        Z = X[t] @ W[t].T  # n x m
        S = (Z >= 0).to(F64)
        # H_ij = sum_r <du_i/dw_r, du_j/dw_r> with du_i/dw_r = c a_r 1{z_ir>=0} x_i
        J = c * (a[t].view(1, m, 1) * S.unsqueeze(2) * X[t].unsqueeze(1)).reshape(n, m * d)
        torch.testing.assert_close(H[t], J @ J.T, rtol=1e-13, atol=1e-14)
        Ja = c * Z.clamp_min(0)
        torch.testing.assert_close(G[t], Ja @ Ja.T, rtol=1e-13, atol=1e-14)
    # 2-D X broadcasts over the trial dimension
    H2 = kernels.gram_first_layer(X[0], W, a, c)
    for t in range(T):
        torch.testing.assert_close(
            H2[t], kernels.gram_first_layer(X[0:1], W[t : t + 1], a[t : t + 1], c)[0]
        )


def test_lambda_min_batched():
    K = torch.stack(
        [torch.diag(torch.tensor([3.0, 1.0, 2.0], dtype=F64)), torch.eye(3, dtype=F64) * 0.25]
    )
    torch.testing.assert_close(kernels.lambda_min(K), torch.tensor([1.0, 0.25], dtype=F64))
