"""Claims of Allen-Zhu, Li, Song (2019), "A Convergence Theory for Deep Learning via
Over-Parameterization", arXiv:1811.03962 (ICML 2019).

Network (catalogue section C, azls.setup): h_0 = relu(A x), h_l = relu(W_l h_{l-1}) for l = 1..L,
output B h_L; A, W_l ~ N(0, 2/m) entrywise (He init); unit inputs.

The paper's forward-stability lemma (norms stay within 1 +- eps once m >= Omega~(L / eps^2)) is
checked in its derived scaling form, verified numerically in the catalogue (B.4): each layer
multiplies ||h||^2 by a factor of mean 1 and variance 5/m, so log(||h_L||^2 / ||h_0||^2) has variance
~ 5L/m and mean ~ -(5L/m)/2. The exact constants of the paper's lemma are not encoded (they are
version-dependent and unverified in the catalogue).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats as sps

from harness import claim, evidence, profile, trial_generators
from harness.checks import quantile_band
from harness.deep import he_forward_norms
from harness.papers import AZLS
from harness.strategies import problems

MODEL_SLACK = 0.2  #: the variance 5L/m is first order in L/m; allow +-20% for the neglected terms


def _depths_and_widths():
    return st.deferred(
        lambda: st.tuples(st.sampled_from([128, 256, 512]), st.integers(2, profile().max_depth)).filter(lambda mw: mw[1] <= mw[0] // 8)
    )


def _forward_stability(spec, mL, init_variance, cid):
    ev = evidence()
    m, L = mL
    p = spec.build()
    R = 2 * profile().replicates
    norms = he_forward_norms(p.X[:1], m, L, trial_generators(cid, spec.seed * 7919 + m * 131 + L, R), init_variance)[:, :, 0]  # [R, L+1]
    z = torch.log(norms[:, -1] ** 2 / norms[:, 0] ** 2).numpy()  # one input per seed: independent samples
    v = 5 * L / m
    mean, var = float(z.mean()), float(z.var(ddof=1))
    lo = (R - 1) * var / sps.chi2.ppf(0.995, R - 1)
    hi = (R - 1) * var / sps.chi2.ppf(0.005, R - 1)
    within = float(((norms[:, 1:] / norms[:, :1] >= 0.5) & (norms[:, 1:] / norms[:, :1] <= 1.5)).to(torch.float64).mean())
    ev.size(m=m, L=L, seeds=R)
    ev.figure("mean of log(||h_L||^2 / ||h_0||^2)", mean, predicted=-v / 2, relation=f"|mean| <= sqrt(5L/m) = {math.sqrt(v):.3f}")
    ev.figure("variance of log(||h_L||^2 / ||h_0||^2)", var, predicted=v, interval=(lo, hi), relation=f"99% chi-square CI meets 5L/m (1 +- {MODEL_SLACK})")
    ev.figure("fraction of (seed, layer) with ||h_l|| / ||h_0|| in [1/2, 3/2]", within)
    ev.margin(abs(mean) / math.sqrt(v), "|mean log-norm ratio| / sqrt(5L/m)")
    logr = torch.log(norms**2 / norms[:, :1] ** 2)
    med, qlo, qhi = quantile_band(logr)
    ls = np.arange(L + 1)
    ev.plot(
        "norms",
        [
            {"label": f"log(||h_l||^2/||h_0||^2), median of {R} seeds (10-90%)", "x": ls, "y": med, "y_low": qlo, "y_high": qhi, "style": "band"},
            {"label": "+-1.28 sqrt(5 l / m) (10-90% if Gaussian)", "x": ls, "y": 1.28 * np.sqrt(5 * ls / m), "style": "bound"},
            {"label": "", "x": ls, "y": -1.28 * np.sqrt(5 * ls / m), "style": "bound"},
        ],
        title=f"forward signal across layers (m={m}, L={L}, init variance {init_variance:g}/m)",
        xlabel="layer l",
        ylabel="log ||h_l||^2 / ||h_0||^2",
    )
    assert abs(mean) <= math.sqrt(v), (
        f"the signal drifts: mean log(||h_L||^2/||h_0||^2) = {mean:.3f} beyond sqrt(5L/m) = {math.sqrt(v):.3f} "
        f"({'vanishing' if mean < 0 else 'exploding'})"
    )
    assert hi >= (1 - MODEL_SLACK) * v and lo <= (1 + MODEL_SLACK) * v, (
        f"variance {var:.4f} (99% CI [{lo:.4f}, {hi:.4f}]) is not 5L/m = {v:.4f} within +-{MODEL_SLACK:.0%}"
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
@given(spec=problems(min_n=2, max_n=2), mL=_depths_and_widths())
def test_forward_stability(spec, mL):
    _forward_stability(spec, mL, 2.0, "azls2019.forward_stability")


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
@given(spec=problems(min_n=2, max_n=2), mL=_depths_and_widths())
def test_control_init_variance_one(spec, mL):
    _forward_stability(spec, mL, 1.0, "azls2019.control.init_variance_one")
