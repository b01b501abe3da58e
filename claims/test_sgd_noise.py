"""Claims of Jastrzebski, Kenton, Arpit, Ballas, Fischer, Bengio, Storkey (2017), "Three Factors
Influencing Minima in SGD", arXiv:1711.04623 (ICANN 2018): the learning rate eta and the batch size B
act on SGD through their ratio eta / B.

Theory (catalogue entry jastrzebski2017.lr_over_batch_ratio): the minibatch gradient is
g + Delta g / sqrt(B), so SGD is the Euler-Maruyama discretisation, with time step eta, of
d theta = -g dt + sqrt(eta / B) C^(1/2) dW (time t = eta x steps). Theorem 1: for isotropic noise
C = sigma^2 I the stationary law is exp(-L / n) with temperature n = sigma^2 eta / (2 B); only eta / B
appears ("the equilibrium distribution is invariant under a simultaneous rescaling of learning rate
and batch size"), and higher eta / B favours wider minima (Theorem 2: the weight of a minimum grows
with n and falls with det H).

Setting (harness.networks.mlp): a one-hidden-layer tanh MLP (d, h, 1), standard parameterisation (LeCun init),
mean-square loss on a fixed dataset of n unit-norm inputs with Gaussian labels (a memorisation task
whose loss stays well above 0, so the gradient noise does not vanish); plain SGD without momentum or
weight decay (minibatches of B distinct examples per step, each trial from its own generator). Every
seed starts every (eta, B) from the same initialisation (paired comparisons). Each run lasts the same
SDE time t = eta x steps (steps = t / eta): runs with equal eta / B therefore also see equal epochs
(steps x B / n = t / (n eta / B)), and across the grid only the noise temperature eta / B differs. The
sharpness is the top Hessian eigenvalue of the full-batch loss at the last iterate (batched power
iteration, harness.analysis.hessian, checked against Lanczos on two runs); the loss reached is the full-batch
loss averaged over the last 10% of the SDE time.

Measured (quick: n = 64, d = 5, h in {12, 16, 24}, t = 50, eta in {0.025, 0.05, 0.1}, B in {8, 16, 32},
12 seeds; 7 datasets/widths): equal-ratio pairs differ in sharpness by 0-3% (worst 95% interval end 4.2%,
eta lambda_max <= 0.39), and in loss by <= 1%; pairs 4x apart in eta / B at the same eta differ by 3-6%
(eta = 0.025), 7-12% (0.05) and 14-22% (0.1); the per-seed slope of log lambda_max against log(eta / B) is
-0.06 .. -0.09, the Spearman correlation of the grid means -0.97. There is a small systematic eta effect at
equal ratio (the larger eta slightly flatter, about 1-3% at 4x), inside the 5% margin. Sharpness here grows
with training time (progressive sharpening) and is not at equilibrium at t = 50: comparing at equal epochs
across different ratios would confound the ratio with the training time, which is why equal SDE time is used.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from harness import claim
from harness.contract.papers import JASTRZEBSKI2017
from harness.analysis.studies.sgd_noise import (
    CLAIM_ID,
    CONFIDENCE,
    JSpec,
    LOSS_MARGIN,
    SDE_REGIME,
    SHARP_MARGIN,
    SPEARMAN_MAX,
    lr_over_batch,
    specs,
)


@claim(
    id=CLAIM_ID,
    paper=JASTRZEBSKI2017,
    theorem="Theorems 1-2 (stationary law exp(-L/n), n = sigma^2 eta / (2B); only eta/B enters) and the experiments",
    statement="SGD's endpoint depends on the learning rate and the batch size only through eta / B: at equal eta / B the "
    "final sharpness and loss agree, and higher eta / B gives flatter minima (smaller lambda_max of the Hessian).",
    quantifier="for_all",
    predicate=f"on an eta x B grid (quick 3 x 3), every run lasting SDE time t = eta x steps, paired over seeds: (a) for every "
    f"pair with equal eta/B (2x and 4x rescalings), the {CONFIDENCE:.0%} t-interval of mean log(lambda_max ratio) lies within "
    f"+-{SHARP_MARGIN} and that of the time-averaged final loss within +-{LOSS_MARGIN}; (b) the per-seed slope of log "
    f"lambda_max against log(eta/B) has its interval below 0; (c) Spearman rho(eta/B, mean log lambda_max) < {SPEARMAN_MAX}. "
    f"Undecided if eta lambda_max > {SDE_REGIME} or an interval straddles a bound.",
    assumptions="one-hidden-layer tanh MLP, standard parameterisation, MSE on n unit inputs with Gaussian labels, plain SGD "
    "(no momentum, no weight decay, no BatchNorm), constant eta",
    regime="quick: n=64, d=5, eta in {0.025,0.05,0.1}, B in {8,16,32}, t=50, 12 seeds; standard: n=128, d=10, eta in "
    "{0.0125,..,0.1} x B in {4,..,32} (4 x 4), t=60, 24 seeds; nightly: n=256, d=10, 4 x 5 grid up to B=64, t=100, 32 seeds. "
    "Drawn: the dataset seed and the hidden width h in 12..24 (every profile); the grid, n, d, t and the seeds are the "
    "profile's (one example is a full grid sweep, ~25 s CPU in quick). Widened from h in {12, 16, 24} (issue 11); "
    "h = 13 and 21 measured to hold. The paper's nets (20-layer MLPs, ResNet-56, VGG-11 on FashionMNIST/CIFAR-10) are not run.",
    notes="Compared at equal SDE time, which is equal epochs within an equal-ratio pair. The sharpness is still growing at "
    "t = 50 (not the stationary law of Theorem 1), so the check is the SDE's finite-time invariance plus the ordering by "
    "eta / B. The equal-ratio pairs show a small systematic eta effect (up to ~3% at 4x), inside the 5% margin; a 4x change "
    "of eta / B at fixed eta moves the sharpness by 3-22% (the 'yardstick' figure).",
    examples={"quick": 2, "standard": 4, "nightly": 6},
)
@given(spec=specs())
def test_lr_over_batch(spec):
    lr_over_batch(spec, control=False)


@claim(
    id="jastrzebski2017.control.only_lr_matters",
    paper=JASTRZEBSKI2017,
    theorem="Theorems 1-2 (planted, false)",
    statement="(planted, false) Only the learning rate matters, not the batch size: (eta, B) and (eta, 4B) reach the same "
    "sharpness (checked on the dataset seed 0, h = 16).",
    regime="One fixed example, JSpec(seed=0, hidden=16), the simplest example of the claim's strategy (its sweep is shared "
    "when the claim draws it); the profile's grid as jastrzebski2017.lr_over_batch.",
    quantifier="for_all",
    expect="falsified",
    control_of=CLAIM_ID,
    predicate=f"for every eta of the grid and every B with 4B in it, the {CONFIDENCE:.0%} t-interval of mean log(lambda_max(eta, B) / "
    f"lambda_max(eta, 4B)) over seeds lies within +-{SHARP_MARGIN} (runs of equal SDE time, i.e. equal steps)",
    notes="Shares the sweep of the claim's first example (harness.runtime.shared_work). Four times the batch at the same eta is a quarter of the "
    "noise temperature: the minima are sharper.",
    examples={"quick": 1},
)
@given(spec=st.just(JSpec(seed=0, hidden=16)))
def test_control_only_lr_matters(spec):
    lr_over_batch(spec, control=True)
