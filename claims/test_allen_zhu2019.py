"""Claims of Allen-Zhu, Li, Song (2019), "A Convergence Theory for Deep Learning via
Over-Parameterization", arXiv:1811.03962 (ICML 2019).

Network (catalogue section C, azls.setup): h_0 = relu(A x), h_l = relu(W_l h_{l-1}) for l = 1..L,
output B h_L; A, W_l ~ N(0, 2/m) entrywise (He init); unit inputs.

The paper's forward-stability lemma (norms stay within 1 +- eps once m >= Omega~(L / eps^2)) is
checked in its derived scaling form, verified numerically in the catalogue (B.4): each layer
multiplies ||h||^2 by a factor of mean 1 and variance 5/m, so log(||h_L||^2 / ||h_0||^2) has variance
~ 5L/m and mean ~ -(5L/m)/2. The exact constants of the paper's lemma are not encoded (they are
version-dependent and unverified in the catalogue).

Backward stability has the same form: g_{l-1} = W_l^T D_l g_l (g_l = df/dh_l, g_L = B^T) multiplies
||g||^2 by 2 ||D g||^2 / ||g||^2 times a chi^2_m / m factor: mean 1, relative variance 2/m (the
Gaussian W^T) + 3/m (the Bernoulli(1/2) mask D on a Gaussian-like g) = 5/m, so
log(||g_0||^2 / ||g_L||^2) ~ N(-(5L/m)/2, 5L/m) to first order. Measured (3000 seeds): variance
0.329 / 0.662 / 1.315 against 5L/m = 0.3125 / 0.625 / 1.25 at (m, L) = (128, 8), (128, 16), (64, 16),
i.e. about 5% above the first-order value, inside the same +-20% model slack.

Training claims use the paper's inputs (azls.setup): a unit vector with last coordinate 1/sqrt(2)
(x -> (x / sqrt 2, 1 / sqrt 2)), A and B fixed, only W_1..W_L trained, He init.

GD (Theorem 1) reaches F <= eps in T = O(poly(n, L) log(1/eps)) iterations: a linear rate, which spends
the same number of steps on every decade of loss. Checked by the decade ratio
(T(1e-8) - T(1e-6)) / (T(1e-6) - T(1e-4)) per seed: 1 for a linear rate, 10 for L ~ 1/k (the planted
sublinear twin). Measured at m = 64, depth 2..4, eta = c / lambda_max(Theta(0)): 1.00 to 1.18 (the rate
slows a little once the kernel has moved), so the predicate allows 2.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from harness import claim
from harness.contract.papers import AZLS
from harness.data.strategies import depths, problems, step_factors
from harness.analysis.studies.allen_zhu2019 import (
    DECADE_RATIO,
    DELTA,
    EPS,
    MODEL_SLACK,
    SEPARATED_GEOMETRIES,
    at_least,
    at_most,
    classification,
    depths_and_widths,
    forward_stability,
    gd_decades,
    sgd_iterations,
)


@claim(
    id="azls2019.forward_stability",
    paper=AZLS,
    theorem="Forward stability at initialization (Section 4 / Appendix; scaling form)",
    statement="At He initialization (entries N(0, 2/m)) the forward signal neither explodes nor vanishes across L layers: "
    "||h_l|| / ||h_0|| stays within 1 +- eps for m >= Omega~(L / eps^2); log-norm spread ~ sqrt(L/m).",
    quantifier="scaling",
    predicate="over 2 x profile seeds (one input each): |mean of log(||h_L||^2/||h_0||^2)| <= sqrt(5L/m), and the 99% chi-square "
    f"interval of its variance meets 5L/m within +-{MODEL_SLACK:.0%} (first-order model); m in {{128, 256, 512}}, L <= m/8",
    regime="The paper's constants are version-dependent and unverified; the derived and numerically verified scaling form "
    "Var log(||h_L||^2/||h_0||^2) = 5L/m is checked instead.",
)
@given(spec=problems(min_n=2, max_n=2), mL=depths_and_widths())
def test_forward_stability(spec, mL):
    forward_stability(spec, mL, 2.0, "azls2019.forward_stability")


@claim(
    id="azls2019.control.init_variance_one",
    paper=AZLS,
    theorem="Forward stability (outside its hypotheses)",
    statement="(planted, false) With init variance 1/m instead of 2/m the forward signal is still stable across L layers.",
    quantifier="scaling",
    expect="falsified",
    control_of="azls2019.forward_stability",
    notes="Without the factor 2 each ReLU layer halves ||h||^2 on average: the signal vanishes like 2^(-L/2).",
)
@given(spec=problems(min_n=2, max_n=2), mL=depths_and_widths())
def test_control_init_variance_one(spec, mL):
    forward_stability(spec, mL, 1.0, "azls2019.control.init_variance_one")


@claim(
    id="azls2019.backward_stability",
    paper=AZLS,
    theorem="Backward stability at initialization (Section 4 / Appendix; scaling form)",
    statement="At He initialization the backward signal neither explodes nor vanishes across L layers: "
    "||v^T B D_L W_L ... D_a W_a|| stays within constant factors of ||v^T B|| for every a; log-norm spread ~ sqrt(L/m).",
    quantifier="scaling",
    predicate="with g_l = df/dh_l (g_L = B^T, g_{l-1} = W_l^T D_l g_l), over 2 x profile seeds (one input each): "
    "|mean of log(||g_0||^2/||g_L||^2)| <= sqrt(5L/m), and the 99% chi-square interval of its variance meets 5L/m within "
    f"+-{MODEL_SLACK:.0%}; m in {{128, 256, 512}}, L <= m/8",
    regime="The paper bounds the backward products by O(sqrt(m/d)) with unverified constants; the first-order variance "
    "5L/m is derived in this file's docstring and checked numerically (about 5% above it at 3000 seeds).",
)
@given(spec=problems(min_n=2, max_n=2), mL=depths_and_widths())
def test_backward_stability(spec, mL):
    forward_stability(spec, mL, 2.0, "azls2019.backward_stability", direction="backward")


@claim(
    id="azls2019.control.backward_init_variance_four",
    paper=AZLS,
    theorem="Backward stability (outside its hypotheses)",
    statement="(planted, false) With init variance 4/m instead of 2/m the backward signal is still stable across L layers.",
    quantifier="scaling",
    expect="falsified",
    control_of="azls2019.backward_stability",
    notes="With 4/m each backward step doubles ||g||^2 on average: gradients explode like 2^(L/2) towards the input.",
)
@given(spec=problems(min_n=2, max_n=2), mL=depths_and_widths())
def test_control_backward_init_variance_four(spec, mL):
    forward_stability(spec, mL, 4.0, "azls2019.control.backward_init_variance_four", direction="backward")


@claim(
    id="azls2019.thm2.sgd_iterations",
    paper=AZLS,
    theorem="Theorem 2 (SGD)",
    statement="SGD with batch size b and eta = Theta(b delta d / (poly(n, L) m log^2 m)) reaches F <= eps in "
    "T = Theta(poly(n, L) log^2 m / (delta^2 b) log(1/eps)) iterations: the iteration count grows at most like log^2 m.",
    quantifier="scaling",
    predicate=f"steps to L <= {EPS:g} L(0) per seed, fitted against log m over the widths: exponent's 95% CI below 2 + 0.5",
    regime="He-init ReLU net, A and B fixed, inputs (x/sqrt2, 1/sqrt2); eta = c (b/n) / lambda_max(Theta(0)) per seed, which "
    "carries the paper's 1/m (Theta ~ m in its parameterization), c in [0.5, 1]; b = n/2 only (the statement's any b is not drawn); "
    "depth 2..3; widths 32..128 (quick), 64..1024 (standard), 128..4096 (nightly). Inputs: separated, i.i.d. sphere, antipodal "
    "pairs, circle (delta-separated after the map to (x/sqrt2, 1/sqrt2)); near-parallel pairs (delta -> 0) are not drawn.",
    examples={"quick": 2, "standard": 6, "nightly": 12},
)
@given(spec=problems(max_n=10, geometries=SEPARATED_GEOMETRIES), depth=st.integers(2, 3), c=step_factors(0.5, 1.0))
def test_sgd_iterations(spec, depth, c):
    sgd_iterations(spec, depth, c, 2.0, "at_most", 0.5, "log m")


@claim(
    id="azls2019.control.sgd_iterations_grow_polynomially",
    paper=AZLS,
    theorem="Theorem 2 (planted twin)",
    statement="(planted, false) SGD's iteration count grows polynomially in the width, at least like m^(1/2).",
    quantifier="scaling",
    expect="falsified",
    control_of="azls2019.thm2.sgd_iterations",
    notes="Runs the true claim's sweep on 4x its seeds (the first quarter are the true claim's) and fits the steps against m: "
    "the exponent is near 0. On scaling_seeds seeds alone the fit's interval (width ~1) left it undecided on run seeds 3 and 4. "
    "Its strategy is narrow (n = 8, d = 5, depth 2, c = 0.75) so that shrinking its counterexample costs few sweeps.",
    examples={"quick": 2, "standard": 6, "nightly": 12},
)
@given(spec=problems(min_n=8, max_n=8, max_d=5, geometries=("separated",)), depth=st.just(2), c=st.just(0.75))
def test_control_sgd_iterations_grow_polynomially(spec, depth, c):
    sgd_iterations(spec, depth, c, 0.5, "at_least", 0.15, "m", more_seeds=4)


@claim(
    id="azls2019.classification_100pct",
    paper=AZLS,
    theorem="Abstract / Section 1 (classification)",
    statement="SGD on an over-parameterized deep ReLU network attains 100% training accuracy in classification tasks "
    "(cross-entropy), on delta-separated data, in polynomial time.",
    quantifier="probability",
    predicate=f"final training accuracy 1.0 on all but a delta={DELTA} fraction of seeds (exact one-sided binomial bounds); "
    "2..5 random classes, b = n/2, eta = (b/n) / lambda_max(Theta(0))",
    regime="Width 2 x the profile's deep_width (128 in quick), depth 2..train_depth (4 quick, 10 standard, 12 nightly), the "
    "profile's steps; the paper's widths are poly(n, L, 1/delta). Inputs: separated, i.i.d. sphere, antipodal pairs "
    "(delta-separated after the map to (x/sqrt2, 1/sqrt2)); near-parallel pairs (delta -> 0, time ~ poly(1/delta)) are not "
    "drawn: a fixed step budget cannot follow delta to 0. Nor is the equispaced circle (d = 2): run seed 3 of the seed "
    "sweep found n=10 points on it with 3 classes short of 100% after 300 SGD steps on 9/32 seeds (11/32 and 8/32 on fresh "
    "seeds): in d = 2 the step budget, not the theorem, runs out.",
)
@given(spec=problems(max_n=12, geometries=("separated", "sphere", "antipodal")), classes=st.integers(2, 5), depth=depths())
def test_classification_100pct(spec, classes, depth):
    classification(spec, False, "azls2019.classification_100pct", classes, depth)


@claim(
    id="azls2019.control.conflicting_duplicates",
    paper=AZLS,
    theorem="Classification (outside its hypotheses: delta = 0)",
    statement="(planted, false) SGD reaches 100% training accuracy even when one input appears twice with two different labels.",
    quantifier="probability",
    expect="falsified",
    control_of="azls2019.classification_100pct",
    notes="delta-separation fails (delta = 0): no function labels x_0 twice differently, so accuracy is at most (n-1)/n.",
)
@given(spec=problems(max_n=12, geometries=("duplicate",)))
def test_control_conflicting_duplicates(spec):
    classification(spec, True, "azls2019.control.conflicting_duplicates")


@claim(
    id="azls2019.thm1.gd_linear",
    paper=AZLS,
    theorem="Theorem 1 (GD)",
    statement="GD on an over-parameterized deep ReLU network (He init, only the middle layers trained) finds F(W) <= eps in "
    "T = Theta(poly(n, L) / delta^2 log(1/eps)) iterations: linear convergence, equal steps for every decade of loss.",
    quantifier="probability",
    predicate=f"per seed, (T(1e-8) - T(1e-6)) / (T(1e-6) - T(1e-4)) <= {DECADE_RATIO} (T(eps) the first step with L <= eps L(0); "
    f"a seed that reaches 1e-6 and then runs past the step where the ratio would exceed {DECADE_RATIO} fails; a seed that stops "
    f"short of that is undecided: the run is redone once with 4x the steps, and seeds still short are counted both ways); "
    f"on all but a delta={DELTA} fraction of seeds",
    regime="Width = the profile's deep_width (64 in quick), depth 2..train_depth (4 quick, 10 standard, 12 nightly), eta = c / lambda_max(Theta(0)), "
    "c in [0.5, 1] (smaller steps need more than the 10 x steps budget to reach 1e-8); the paper's "
    "poly(n, L, 1/delta) width and its eta ~ 1/m are not run (Theta(0) carries the 1/m). Inputs: separated, i.i.d. sphere, "
    "antipodal pairs, circle (delta-separated after the map to (x/sqrt2, 1/sqrt2)); near-parallel pairs (delta -> 0) are not drawn. "
    "The seed sweep (issue 11, run seed 6) read a circle, n=10, depth 2, c=1 as failing on 9/32 seeds when a seed short of 1e-8 "
    "counted as a failure: every seed that got there had ratio 0.97-1.26, the others had run out of steps; they are now undecided "
    "(and rerun longer) instead.",
    examples={"quick": 3},
)
@given(spec=problems(max_n=10, geometries=SEPARATED_GEOMETRIES), depth=depths(), c=step_factors(0.5, 1.0))
def test_gd_linear(spec, depth, c):
    gd_decades(spec, depth, c, at_most(DECADE_RATIO), "linear rate: decade ratio <= 2")


@claim(
    id="azls2019.control.gd_sublinear",
    paper=AZLS,
    theorem="Theorem 1 (planted twin)",
    statement="(planted, false) GD converges only sublinearly, L(k) ~ 1/k: each decade of loss takes at least 10x the steps "
    "of the one before.",
    quantifier="probability",
    expect="falsified",
    control_of="azls2019.thm1.gd_linear",
    notes="Same runs as the true claim (same seeds); narrow strategy so that shrinking is cheap.",
)
@given(spec=problems(min_n=8, max_n=8, max_d=5, geometries=("separated",)), depth=st.just(2), c=st.just(0.75))
def test_control_gd_sublinear(spec, depth, c):
    gd_decades(spec, depth, c, at_least(10.0), "sublinear rate: decade ratio >= 10")
