"""Claims of Du, Lee, Li, Wang, Zhai (2019), "Gradient Descent Finds Global Minima of Deep Neural
Networks", arXiv:1811.03804 (ICML 2019).

Networks (catalogue section B): fully connected x^(h) = sqrt(c_sigma/m) sigma(W^(h) x^(h-1)) and
ResNet x^(h) = x^(h-1) + c_res/(H sqrt m) sigma(W^(h) x^(h-1)); f = a^T x^(H); all entries N(0, 1);
all layers trained; softplus, tanh, gelu (analytic, not polynomials: Condition 3.2); L = 1/2 sum (f - y)^2.
Convolutional ResNet (Section 7, ``DeepNet("cnn_resnet")``): 1-D signals, patches of q = 3 positions
(zero padding), x^(1) = sqrt(c_sigma/m) sigma(W^(1) phi(x)), x^(h) = x^(h-1) + c_res/(H sqrt m)
sigma(W^(h) phi(x^(h-1))), f = <a, x^(H)>; m channels; each input row is a 1-channel signal.

Theorems 5.1 / 6.1 / 7.1: with width large enough (2^O(H) for fully connected, poly(H) for ResNet) and a
small enough step, L(k) <= (1 - eta lambda / 2)^k L(0), lambda the least eigenvalue of the limiting
Gram. The widths and step sizes of the theorems cannot be run; the claim is checked at a practical
width with eta = c / lambda_max(Theta(0)) and lambda = lambda_min(Theta(0)) of the empirical NTK of
all layers at initialization (torch.func), per seed.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from harness import claim, profile
from harness.contract.papers import DLLWZ
from harness.data.strategies import depths, problems, step_factors
from harness.analysis.studies.dllwz2019 import (
    ACTIVATIONS,
    DELTA,
    LABELS,
    NOT_PARALLEL,
    deep_rate,
)


@claim(
    id="dllwz2019.thm5.1_6.1.linear_rate",
    paper=DLLWZ,
    theorem="Theorems 5.1 (fully connected) and 6.1 (ResNet)",
    statement="For deep fully-connected nets and ResNets with a smooth analytic activation, all layers trained, width large "
    "enough and a small step, with probability >= 1 - delta: L(k) <= (1 - eta lambda / 2)^k L(0).",
    quantifier="probability",
    predicate=f"per seed, L(k) <= (1 - eta lambda_min(Theta(0))/2)^k L(0) at every step above the float floor, Theta(0) the "
    f"empirical NTK of all layers at init, eta = c / lambda_max(Theta(0)); on all but a delta={DELTA} fraction of seeds",
    regime="The theorems' widths (m ~ n^4 2^O(H), n^4 H^2) and steps cannot be run; practical width = the profile's deep_width "
    "(64 in quick, 256 standard, 1024 nightly), depth 2..train_depth (4 quick, 10 standard, 12 nightly), softplus, tanh, gelu, "
    "c in [0.25, 1]; unit inputs with no parallel pair (sphere, near-parallel, separated), n <= 8, n/d <= 2; gaussian, sign, "
    "teacher and linear-teacher labels.",
)
@given(
    spec=problems(max_n=8, max_n_over_d=2.0, geometries=NOT_PARALLEL, labels=LABELS),
    family=st.sampled_from(["fc", "resnet"]),
    depth=depths(),
    c=step_factors(0.25, 1.0),
    act=st.sampled_from(ACTIVATIONS),
)
def test_deep_linear_rate(spec, family, depth, c, act):
    deep_rate(spec, family, depth, c, profile().deep_width, "dllwz2019.thm5.1_6.1.linear_rate", act=act)


@claim(
    id="dllwz2019.control.narrow_deep_net",
    paper=DLLWZ,
    theorem="Theorem 5.1 (outside its hypotheses)",
    statement="(planted, false) The linear-rate bound holds for a plain fully-connected net of width 8 at depth 6 to 8: "
    "a net too narrow for its depth.",
    quantifier="probability",
    expect="falsified",
    control_of="dllwz2019.thm5.1_6.1.linear_rate",
    notes="Theorem 5.1 needs a width exponential in the depth; at m = 8 the Gram moves during training and most seeds break the bound.",
)
@given(spec=problems(max_n=8, max_n_over_d=2.0), depth=st.integers(6, 8), c=step_factors(0.5, 1.0))
def test_control_narrow_deep_net(spec, depth, c):
    deep_rate(spec, "fc", depth, c, 8, "dllwz2019.control.narrow_deep_net")



@claim(
    id="dllwz2019.thm7.1.cnn_resnet_linear_rate",
    paper=DLLWZ,
    theorem="Theorem 7.1 (convolutional ResNet)",
    statement="For the convolutional ResNet with a smooth analytic activation, all layers trained, width (channels) polynomial "
    "in n, p and H and a small step, with probability >= 1 - delta: L(k) <= (1 - eta lambda / 2)^k L(0).",
    quantifier="probability",
    predicate=f"per seed, L(k) <= (1 - eta lambda_min(Theta(0))/2)^k L(0) at every step above the float floor, Theta(0) the "
    f"empirical NTK of all layers at init, eta = c / lambda_max(Theta(0)); on all but a delta={DELTA} fraction of seeds",
    regime="1-D signals of p = d <= 8 positions, patch 3, m = deep_width / 2 channels (32 in quick), depth 2..train_depth (4 in quick), "
    "softplus, tanh, gelu, c in [0.25, 1]; unit signals with no parallel pair (sphere, near-parallel, separated), n <= 8, n/d <= 2; "
    "gaussian, sign, teacher and linear-teacher labels; the theorem's width and step are not run.",
    examples={"quick": 2},
)
@given(
    spec=problems(max_n=8, max_d=8, max_n_over_d=2.0, geometries=NOT_PARALLEL, labels=LABELS),
    depth=depths(),
    c=step_factors(0.25, 1.0),
    act=st.sampled_from(ACTIVATIONS),
)
def test_cnn_resnet_linear_rate(spec, depth, c, act):
    deep_rate(spec, "cnn_resnet", depth, c, max(8, profile().deep_width // 2), "dllwz2019.thm7.1.cnn_resnet_linear_rate", act=act)


@claim(
    id="dllwz2019.control.cnn_rate_from_lambda_max",
    paper=DLLWZ,
    theorem="Theorem 7.1 (planted twin)",
    statement="(planted, false) The convolutional ResNet converges at the rate of the largest kernel eigenvalue: "
    "L(k) <= (1 - eta lambda_max(Theta(0)) / 2)^k L(0).",
    quantifier="probability",
    expect="falsified",
    control_of="dllwz2019.thm7.1.cnn_resnet_linear_rate",
    notes="The residual along the small eigenvectors of Theta decays at their own, slower rate; lambda_min, not lambda_max, "
    "sets the guaranteed rate.",
)
@given(spec=problems(min_n=6, max_n=6, max_d=6, max_n_over_d=2.0), depth=st.just(2), c=st.just(0.5))
def test_control_cnn_rate_from_lambda_max(spec, depth, c):
    deep_rate(spec, "cnn_resnet", depth, c, max(8, profile().deep_width // 2), "dllwz2019.control.cnn_rate_from_lambda_max", "max")
