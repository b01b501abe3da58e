"""Claims of Du, Zhai, Poczos, Singh (2018), "Gradient Descent Provably Optimizes
Over-parameterized Neural Networks", arXiv:1810.02054 (theorem numbers of arXiv v2 / ICLR 2019).

Model (catalogue section 1.1): f(W, a, x) = m^-1/2 sum_r a_r relu(w_r.x), w_r(0) ~ N(0, I),
a_r ~ Unif{-1, +1} fixed, L = 1/2 sum_i (f(x_i) - y_i)^2, ||x_i|| = 1, full-batch GD.

The theorem's constants cannot be run (m = Omega(n^6 / (lambda_0^4 delta^3)) is ~1e14 at n=20);
rate and drift claims are checked at practical widths (m = k n) and step sizes
(eta = c / lambda_max(H^inf)), the threshold claim reports the empirical width from which the
bound holds, and scaling claims check the exponents, which carry no hidden constants.
Negative controls (``expect="falsified"``) sit next to the claims they guard.
"""

from __future__ import annotations

import functools
import math
import numpy as np
import torch
from hypothesis import given, reject
from harness import Record, TwoLayerReLU, claim, device, dtype, evidence, kernels, profile, train, trial_generators, undecided
from harness.contract.checks import decide_all, decide_exponent, decide_probability, plot_rel_loss, plot_scaling, quantile_band
from harness.contract.papers import DZPS
from harness.data.strategies import multipliers, problems, step_factors
from harness.training.sweeps import width_sweep
from harness.analysis.studies.du2018 import (
    ALL_GEOMETRIES,
    DATA,
    DELTA,
    FLOW_WIDE,
    INIT_SEEDS,
    LABEL_KINDS,
    MC_SAMPLES,
    NOT_PARALLEL,
    POSITIVE,
    POS_GEOMETRIES,
    PRACTICAL,
    WIDE,
    ZERO,
    data_kw,
    drift_scaling,
    duplicate_run,
    hinf_formula_check,
    lambda0_check,
    output_moments,
    pairs,
    problem_kw,
    rate_check,
    step_size_check,
    _train,
    zero_or_positive,
)


@claim(
    id="du2018.asm3.1.hinf_closed_form",
    paper=DZPS,
    theorem="Assumption 3.1 (H^inf)",
    statement="H^inf_ij = E_{w~N(0,I)}[x_i.x_j 1{w.x_i >= 0, w.x_j >= 0}] = x_i.x_j (pi - arccos x_i.x_j) / (2 pi) "
    "for unit inputs; H^inf is PSD with diagonal 1/2.",
    quantifier="identity",
    statistical=True,  # checked by a Monte Carlo test: a falsification must recur on fresh samples
    predicate=f"max entry gap to a Monte-Carlo estimate (M={MC_SAMPLES}) <= 5 standard errors; eigenvalues >= -1e-12; diagonal 1/2",
    assumptions="unit inputs in any dimension d >= 2, no cap on n/d; every geometry of the harness (sphere, near-parallel, "
    "separated, circle, antipodal, antiparallel, duplicate)",
)
@given(spec=problems(geometries=ALL_GEOMETRIES, min_d=2, max_n_over_d=None))
def test_hinf_closed_form(spec):
    hinf_formula_check(spec, kernels.hinf, "H^inf")


@claim(
    id="du2018.control.hinf_is_degree1_kernel",
    paper=DZPS,
    theorem="Assumption 3.1 (planted error)",
    statement="(planted, false) H^inf equals the degree-1 arc-cosine kernel E[relu(w.x_i) relu(w.x_j)].",
    quantifier="identity",
    statistical=True,  # checked by a Monte Carlo test: a falsification must recur on fresh samples
    expect="falsified",
    control_of="du2018.asm3.1.hinf_closed_form",
    notes="A kernel-formula mix-up must be caught by the Monte-Carlo check.",
)
@given(spec=problems(geometries=("sphere",)))
def test_control_hinf_is_degree1_kernel(spec):
    hinf_formula_check(spec, kernels.arccos1, "arccos1")


@claim(
    id="du2018.thm3.1.lambda0_positive",
    paper=DZPS,
    theorem="Theorem 3.1",
    statement="If no two inputs are parallel (for unit inputs: x_i != +-x_j) then lambda_0 = lambda_min(H^inf) > 0; "
    "if two inputs coincide, lambda_0 = 0.",
    quantifier="for_all",
    predicate=f"parallel and coincident pairs counted from the data (|x_i.x_j| >= 1 - 1e-12): with neither, lambda_0 > {POSITIVE:g} "
    f"lambda_max (certified; between {ZERO:g} and {POSITIVE:g} lambda_max undecided, at most {ZERO:g} lambda_max a counterexample); "
    f"with a coincident pair |lambda_0| <= {ZERO:g} lambda_max; sets with an antiparallel but no coincident pair are outside both "
    "statements (rejected)",
    assumptions="unit inputs in any dimension d >= 2, any n in the profile's range, no cap on n/d; geometries: i.i.d. sphere, "
    "a near-parallel pair (angle 1e-3..0.5), delta-separated, equispaced circle (d = 2), a duplicate (antipodal sets are "
    "outside the theorem's hypothesis and drawn by its twin only)",
    notes="The 'iff' reading (lambda_0 > 0 whenever inputs are distinct) is false: see its planted twin "
    "du2018.control.distinct_iff_positive.",
    finding="The theorem's sufficient condition is not an 'iff': distinct unit inputs can have lambda_0 = 0. d + 1 antiparallel pairs whose x's are linearly dependent give H^inf a null vector; the search finds one by itself (an equispaced circle, n = 8, d = 2) and falsifies the over-reading, planted as du2018.control.distinct_iff_positive."
)
@given(spec=problems(geometries=NOT_PARALLEL, min_d=2, max_n_over_d=None))
def test_lambda0_positive(spec):
    p = spec.build()
    coincident, antiparallel = pairs(p.X)
    lam0, lmax = lambda0_check(spec, coincident == 0)
    evidence().figure("coincident / antiparallel pairs", [coincident, antiparallel])
    if coincident:
        assert abs(lam0) <= ZERO * lmax, f"lambda_0 = {lam0:.3e} with {coincident} coincident pair(s)"
    elif antiparallel:
        reject()  # parallel but distinct: Theorem 3.1 says nothing
    else:
        zero_or_positive(lam0, lmax, f"inputs with no parallel pair ({spec.geometry})")


@claim(
    id="du2018.control.distinct_iff_positive",
    paper=DZPS,
    theorem="Theorem 3.1 (planted over-reading)",
    statement="(planted, false) For unit inputs, lambda_0 > 0 iff no two inputs coincide: antiparallel pairs never make "
    "H^inf singular.",
    quantifier="for_all",
    expect="falsified",
    control_of="du2018.thm3.1.lambda0_positive",
    predicate=f"for distinct inputs (no coincident pair in the data) lambda_0 > {ZERO:g} lambda_max",
    notes="False: d + 1 antiparallel pairs (x_k, -x_k) with linearly dependent x_k give a null vector (c_k on x_k, -c_k on "
    "-x_k, with sum c_k x_k = 0), e.g. an equispaced circle with an even n >= 6. The harness finds such a set by itself.",
)
@given(spec=problems(geometries=ALL_GEOMETRIES, min_d=2, max_n_over_d=None))
def test_control_distinct_iff_positive(spec):
    p = spec.build()
    coincident, antiparallel = pairs(p.X)
    lam0, lmax = lambda0_check(spec, coincident == 0)
    if coincident:
        assert abs(lam0) <= ZERO * lmax, f"lambda_0 = {lam0:.3e} with {coincident} coincident pair(s)"
    else:
        zero_or_positive(lam0, lmax, f"distinct inputs with {antiparallel} antiparallel pair(s) ({spec.geometry})")


@claim(
    id="du2018.control.antiparallel_singular",
    paper=DZPS,
    theorem="Theorem 3.1 (planted misreading)",
    statement="(planted, false) An antiparallel pair (x, -x) -- 'parallel' in the paper's wording -- makes lambda_0 = 0.",
    quantifier="for_all",
    expect="falsified",
    control_of="du2018.thm3.1.lambda0_positive",
    notes="Theorem 3.1's condition is sufficient, not necessary: H^inf_ij = 0 for x_j = -x_i.",
)
@given(spec=problems(geometries=("antiparallel",)))
def test_control_antiparallel_singular(spec):
    lam0, lmax = lambda0_check(spec, False)
    assert abs(lam0) <= 1e-12 * lmax, f"lambda_0 = {lam0:.3e} > 0 with an antiparallel pair"


@claim(
    id="du2018.init.output_moments",
    paper=DZPS,
    theorem="Proof of Theorem 3.2 (initial outputs)",
    statement="With w_r ~ N(0, I), a_r ~ Unif{+-1} and unit inputs, E u_i(0) = 0 and E u_i(0)^2 = E[relu(z)^2] = 1/2, "
    "so E ||y - u(0)||^2 = ||y||^2 + n/2.",
    quantifier="identity",
    statistical=True,  # checked by a Monte Carlo test: a falsification must recur on fresh samples
    predicate=f"over {INIT_SEEDS} seeds, the mean of u_i(0)^2 is within 4 standard errors of 1/2 and the mean of u_i(0) within 4 of 0",
    assumptions="any unit inputs (every geometry of the harness, d >= 2), widths m = k n with k in {1, 4, 16, 64}",
)
@given(spec=problems(geometries=ALL_GEOMETRIES, min_d=2, max_n_over_d=None), k=multipliers((1, 4, 16, 64)))
def test_output_moments(spec, k):
    output_moments(spec, k * spec.n, "paper")


@claim(
    id="du2018.control.torch_default_init",
    paper=DZPS,
    theorem="Proof of Theorem 3.2 (planted misuse)",
    statement="(planted, false) E u_i(0)^2 = 1/2 also when W has torch.nn.Linear's default (Kaiming-uniform) init.",
    quantifier="identity",
    statistical=True,  # checked by a Monte Carlo test: a falsification must recur on fresh samples
    expect="falsified",
    control_of="du2018.init.output_moments",
    notes="nn.Linear draws U(-1/sqrt(d), 1/sqrt(d)), so E u^2 = 1/(6d): every rate of the paper changes with it.",
)
@given(spec=problems(), k=multipliers((4, 16, 64)))
def test_control_torch_default_init(spec, k):
    output_moments(spec, k * spec.n, "torch_default")


# ----------------------------------------------------------------------------------------------
# Gram matrices: Lemma 3.1 (H(0) ~ H^inf) and Lemma 3.4 (lambda_min(H(k)) >= lambda_0 / 2)
# ----------------------------------------------------------------------------------------------


@claim(
    id="du2018.lem3.1.h0_concentration",
    paper=DZPS,
    theorem="Lemma 3.1",
    statement="||H(0) - H^inf||_2 <= lambda_0 / 4 once m = Omega(n^2 log(n/delta) / lambda_0^2): H(0) concentrates around "
    "H^inf at rate m^-1/2 (Hoeffding per entry).",
    quantifier="scaling",
    predicate="slope of log ||H(0) - H^inf||_2 against log m is -1/2 +- 0.15 (95% CI inside), over the profile's width grid",
    assumptions="inputs with lambda_0 > 0: i.i.d. on the sphere, with a near-parallel or an antiparallel pair, or delta-separated",
)
@given(spec=problems(geometries=POS_GEOMETRIES))
def test_h0_concentration(spec):
    ev = evidence()
    p = spec.build()
    P = profile()
    xs, ys = [], []
    for m in P.width_grid:
        model = TwoLayerReLU(m)
        par = model.init(p.d, trial_generators("du2018.lem3.1.h0_concentration", spec.seed * 7919 + m, P.replicates // 2))
        H0 = kernels.gram_first_layer(p.X, par.W, par.a, model.output_scale)
        gap = torch.linalg.matrix_norm(H0 - p.hinf, ord=2)
        xs += [m] * len(gap)
        ys += gap.tolist()
    ev.size(n=p.n, d=p.d, m=max(P.width_grid))
    ev.figure("||H(0) - H^inf|| at largest m / (lambda_0/4)", float(np.median(ys[-(P.replicates // 2) :])) / (p.lambda0 / 4), predicted="<= 1 once m is large enough")
    plot_scaling(ev, xs, ys, predicted=-0.5, title="H(0) concentration", xlabel="width m", ylabel="||H(0) - H^inf||_2")
    decide_exponent(ev, xs, ys, -0.5, 0.15, "||H(0) - H^inf|| vs m")


@claim(
    id="du2018.lem3.4.lambda_min_stays",
    paper=DZPS,
    theorem="Lemmas 3.1-3.4",
    statement="With m = Omega(n^2 log(n/delta) / lambda_0^2) (and the drift bound R' < R), lambda_min(H(k)) >= lambda_0 / 2 "
    "along the whole GD trajectory, with probability >= 1 - delta.",
    quantifier="probability",
    predicate=f"m = ceil(n^2 log(n/delta) / (16 lambda_0^2)); min over checkpoints (every 10 steps) of lambda_min(H(k)) "
    f">= lambda_0 / 2 on all but a delta={DELTA} fraction of seeds (exact binomial bound)",
    regime="The lemma's constant is not given; C = 1/16 in front of n^2 log(n/delta) / lambda_0^2 is the practical width "
    "used (the card reports min_k lambda_min(H(k)) / lambda_0). n <= 12 and n/d <= 2 keep that width affordable on a CPU. "
    "eta = c / lambda_max(H^inf), c in [0.1, 1.5]; inputs i.i.d. on the sphere, with an antiparallel pair, or delta-separated; "
    "labels Gaussian, random signs, teacher sign(v.x) or linear teacher sqrt(d) v.x. Near-parallel pairs are not drawn: "
    "their lambda_0 ~ angle / (2 pi) makes this width unaffordable (~1e9 at angle 1e-3).",
)
@given(spec=problems(max_n=12, max_n_over_d=2.0, geometries=("sphere", "antiparallel", "separated"), labels=LABEL_KINDS), c=step_factors(0.1, 1.5))
def test_lambda_min_stays(spec, c):
    ev = evidence()
    p = spec.build()
    m = math.ceil(p.n**2 * math.log(p.n / DELTA) / (16 * p.lambda0**2))
    m = max(m, 8)
    steps = profile().steps // 2
    tr = _train(spec, p, m, c / p.lambda_max, "du2018.lem3.4.lambda_min_stays", steps, Record(gram_every=10, drift=False, flips=False))
    ratio = tr.gram_lambda_min / p.lambda0  # [T, C], NaN after a divergence
    worst = torch.nan_to_num(ratio, nan=-float("inf")).min(dim=1).values  # a diverged seed counts as a failure
    ev.size(n=p.n, d=p.d, m=m, steps=steps)
    ev.figure("min_k lambda_min(H(k)) / lambda_0 (median over seeds)", float(worst.median()), predicted=">= 0.5")
    ev.figure("min_k lambda_min(H(k)) / lambda_0 (worst seed)", float(worst.min()), predicted=">= 0.5")
    w_min = float(worst.min())
    ev.margin(0.5 / w_min if w_min > 0 else float("inf"), "(lambda_0/2) / min_k lambda_min(H(k)) (worst seed)")
    med, lo, hi = quantile_band(ratio)
    ev.plot(
        "lambda_min",
        [
            {"label": f"lambda_min(H(k))/lambda_0, median of {tr.trials} seeds (10-90%)", "x": tr.gram_steps, "y": med, "y_low": lo, "y_high": hi, "style": "band"},
            {"label": "Lemma 3.4: 1/2", "x": [0, steps], "y": [0.5, 0.5], "style": "bound"},
        ],
        title=f"lambda_min(H(k)) along GD (n={p.n}, m={m}, eta={c:.2f}/lambda_max)",
        xlabel="step k",
        ylabel="lambda_min(H(k)) / lambda_0",
    )
    decide_probability(ev, (worst < 0.5) | tr.diverged, DELTA, "min_k lambda_min(H(k)) >= lambda_0/2")


@claim(
    id="du2018.thm4.1.gd_linear_rate",
    paper=DZPS,
    theorem="Theorem 4.1",
    statement="With lambda_0 > 0, m = Omega(n^6 / (lambda_0^4 delta^3)) and eta = O(lambda_0 / n^2), with probability >= 1 - delta: "
    "||y - u(k)||^2 <= (1 - eta lambda_0 / 2)^k ||y - u(0)||^2 for all k.",
    quantifier="probability",
    predicate=f"L(k) <= (1 - eta lambda_0/2)^k L(0) (1 + 1e-9) at every step above the float floor, on all but a "
    f"delta={DELTA} fraction of seeds (exact one-sided binomial bound); diverged seeds count as failures",
    regime=PRACTICAL + ". The theorem's m (~1e14 at n=20) and eta (~1e4 x smaller) cannot be run; "
    "du2018.thm4.1.threshold_width reports the empirical threshold width. Near-parallel pairs are not drawn: the seed "
    "sweep (issue 11, run seed 1) found n=8, d=5, a pair at angle 0.25, sign labels, m = 8n, c = 1 failing on 15/32 seeds "
    "(20/32 and 13/32 on two fresh seed sets, worst L(k)/bound(k) = 3.8): with lambda_0 ~ angle / (2 pi) the width the "
    "theorem asks grows like angle^-4, past the practical 8n-16n. Inputs i.i.d. on the sphere, with an antiparallel pair, "
    "or delta-separated.",
)
@given(spec=problems(**data_kw(geometries=("sphere", "antiparallel", "separated"))), k=multipliers(WIDE), c=step_factors(0.1, 1.5))
def test_gd_linear_rate(spec, k, c):
    _, failed, _ = rate_check(spec, k, c, "du2018.thm4.1.gd_linear_rate", "(1 - eta lambda_0/2)^k", lambda eta, p: 1 - eta * p.lambda0 / 2)
    decide_probability(evidence(), failed, DELTA, "rate bound (1 - eta lambda_0/2)^k")


@claim(
    id="du2018.thm4.1.theory_step",
    paper=DZPS,
    theorem="Theorem 4.1 (theorem's step size)",
    statement="Theorem 4.1 with the theorem's own step-size form eta = lambda_0 / n^2 (constant 1): "
    "||y - u(k)||^2 <= (1 - eta lambda_0 / 2)^k ||y - u(0)||^2.",
    quantifier="probability",
    predicate=f"the rate bound at every step on all but a delta={DELTA} fraction of seeds, m = k n (k >= 8), eta = lambda_0/n^2",
    regime="The theorem's step size, practical widths. The run covers few time constants (eta is tiny), so this is the "
    "early-trajectory part of the claim. " + DATA + ".",
)
@given(spec=problems(**data_kw()), k=multipliers(WIDE))
def test_theory_step(spec, k):
    _, failed, _ = rate_check(
        spec, k, 0.0, "du2018.thm4.1.theory_step", "(1 - eta lambda_0/2)^k", lambda eta, p: 1 - eta * p.lambda0 / 2, theory_step=True
    )
    decide_probability(evidence(), failed, DELTA, "rate bound with eta = lambda_0/n^2")


@claim(
    id="du2018.control.rate_twice_eta_lambda0",
    paper=DZPS,
    theorem="Theorem 4.1 (planted false rate)",
    statement="(planted, false) ||y - u(k)||^2 <= (1 - 2 eta lambda_0)^k ||y - u(0)||^2: a rate 4x faster than the theorem's.",
    quantifier="probability",
    expect="falsified",
    control_of="du2018.thm4.1.gd_linear_rate",
    notes="At finite width the slowest mode decays at ~(1 - eta lambda_min(H))^2 with lambda_min(H) < lambda_0 for most seeds.",
)
@given(spec=problems(**problem_kw()), k=multipliers(WIDE), c=step_factors(0.1, 1.5))
def test_control_rate_twice(spec, k, c):
    _, failed, _ = rate_check(spec, k, c, "du2018.control.rate_twice_eta_lambda0", "(1 - 2 eta lambda_0)^k", lambda eta, p: 1 - 2 * eta * p.lambda0)
    decide_probability(evidence(), failed, DELTA, "planted rate (1 - 2 eta lambda_0)^k")


@claim(
    id="du2018.control.narrow_width",
    paper=DZPS,
    theorem="Theorem 4.1 (outside its hypotheses)",
    statement="(planted, false) The rate bound (1 - eta lambda_0/2)^k holds at widths far below n (m <= n/4).",
    quantifier="probability",
    expect="falsified",
    control_of="du2018.thm4.1.gd_linear_rate",
    notes="The theorem needs m >> n; a network with m << n cannot interpolate generic labels at all.",
)
@given(spec=problems(min_n=12, **problem_kw()), c=step_factors(0.3, 1.5))
def test_control_narrow_width(spec, c):
    ev = evidence()
    p = spec.build()
    m = max(2, p.n // 4)
    tr = _train(spec, p, m, c / p.lambda_max, "du2018.control.narrow_width", profile().steps, Record(drift=False, flips=False))
    chk = tr.check_rate_bound(1 - tr.eta * p.lambda0 / 2)
    ev.size(n=p.n, d=p.d, m=m)
    ev.figure("final L/L0 (median)", float(tr.rel_loss()[:, -1].median()))
    kk = torch.arange(tr.steps + 1, dtype=torch.float64)
    plot_rel_loss(ev, tr, (1 - c / p.lambda_max * p.lambda0 / 2) ** kk, bound_label="(1 - eta lambda_0/2)^k", title=f"narrow: n={p.n}, m={m}")
    decide_probability(ev, chk.violated | tr.diverged, DELTA, "rate bound at m <= n/4")


@claim(
    id="du2018.thm3.2.gradient_flow_rate",
    paper=DZPS,
    theorem="Theorem 3.2",
    statement="Under gradient flow, with m = Omega(n^6 / (lambda_0^4 delta^3)), with probability >= 1 - delta: "
    "||y - u(t)||^2 <= exp(-lambda_0 t) ||y - u(0)||^2 for all t >= 0.",
    quantifier="probability",
    predicate=f"gradient flow emulated by GD with eta = 0.1 / lambda_max(H^inf), t = k eta; L(t) <= exp(-lambda_0 t) L(0) at every step, "
    f"on all but a delta={DELTA} fraction of seeds",
    regime="practical widths m = k n, k in {16, 32}; 4x the profile's steps so that lambda_0 t reaches several units. "
    "Narrowed from k in {8, 16} after the longer search (issue 11) found n=14, d=5, seed 0 failing at m = 8n on 28-44% of "
    "seeds (over 4 seed sets), against 3-6% at 16n and 32n: the flow's bound exp(-lambda_0 t) has no slack (it needs "
    "lambda_min(H(t)) >= lambda_0/2 all along), unlike the GD bound (1 - eta lambda_0/2)^k, which held at 8n. "
    "Then narrowed from n/d <= 3 to n/d <= 2 when the wider strategy search (issue 11, item 5) found n=15, d=5, seed 0 "
    "failing at 16n on 14/32 seeds (17/32 on a fresh seed set), 4-7/32 at 32n and 0/32 only at 64n (~9 s an example); "
    "at n/d = 2 (n=10..20) 16n failed on 0-1 of 32 seeds. Near-parallel pairs are not drawn: the calibration run found "
    "n=14, d=9, a pair at angle 0.33, Gaussian labels, seed 0 failing at 16n on 8/32 seeds (10/32 on fresh seeds, worst "
    "L(t)/bound(t) = 3.5): with lambda_0 ~ angle / (2 pi) the theorem's width grows like angle^-4, far past 16n-32n. "
    "Inputs i.i.d. on the sphere, with an antiparallel pair, or delta-separated; labels Gaussian, random signs, teacher "
    "sign(v.x) or linear teacher sqrt(d) v.x; n/d <= 2.",
)
@given(spec=problems(**data_kw(geometries=("sphere", "antiparallel", "separated"), max_n_over_d=2.0)), k=multipliers(FLOW_WIDE))
def test_gradient_flow_rate(spec, k):
    ev = evidence()
    p = spec.build()
    eta = 0.1 / p.lambda_max
    steps = 4 * profile().steps
    tr = _train(spec, p, k * p.n, eta, "du2018.thm3.2.gradient_flow_rate", steps, Record(drift=False, flips=False))
    per_step = math.exp(-p.lambda0 * eta)
    chk = tr.check_rate_bound(per_step)
    t = np.arange(steps + 1) * eta
    ev.size(n=p.n, d=p.d, m=k * p.n, steps=steps)
    ev.figure("lambda_0 t at the end", p.lambda0 * t[-1])
    ev.figure("worst max_t L(t) / bound(t)", float(chk.worst_ratio.max()), predicted="<= 1")
    ev.margin(float(chk.worst_decay_ratio.max()), "max over seeds and t of (-lambda_0 t) / log(L(t)/L(0))")
    plot_rel_loss(ev, tr, torch.exp(-p.lambda0 * torch.as_tensor(t)), bound_label="exp(-lambda_0 t)", title=f"gradient flow (eta=0.1/lambda_max), n={p.n}, m={k * p.n}", x=t, xlabel="t = k eta")
    decide_probability(ev, chk.violated | tr.diverged, DELTA, "exp(-lambda_0 t) bound")


@claim(
    id="du2018.thm4.1.threshold_width",
    paper=DZPS,
    theorem="Theorem 4.1 (empirical threshold width)",
    statement="The rate bound of Theorem 4.1 holds on every seed from some width m* on, and m* is far below the width the "
    "theorem asks for, m = n^6 / (lambda_0^4 delta^3) (constant 1).",
    quantifier="threshold",
    predicate="over widths m = 2, 4, 8, ... up to 32 n: m* = the smallest width from which every larger width had no failing "
    "seed, and m* < n^6 / (lambda_0^4 delta^3); an example whose m* lies beyond 32 n is undecided (m* is then not bracketed)",
    regime="The theorem's own constants cannot be run (the card gives both numbers). eta = c / lambda_max(H^inf), c in [0.1, 1.5]; "
    + DATA + ".",
)
@given(spec=problems(**data_kw()), c=step_factors(0.1, 1.5))
def test_threshold_width(spec, c):
    ev = evidence()
    p = spec.build()
    P = profile()
    R = max(8, P.replicates // 2)
    widths = [2**j for j in range(1, 40) if 2**j <= 32 * p.n]
    frac = []
    for m in widths:
        tr = _train(spec, p, m, c / p.lambda_max, "du2018.thm4.1.threshold_width", P.steps, Record(drift=False, flips=False), replicates=R)
        bad = tr.check_rate_bound(1 - tr.eta * p.lambda0 / 2).violated | tr.diverged
        frac.append(float(bad.to(torch.float64).mean()))
    ok_from = None
    for i in range(len(widths) - 1, -1, -1):
        if frac[i] > 0:
            break
        ok_from = widths[i]
    m_theory = p.n**6 / (p.lambda0**4 * DELTA**3)
    ev.size(n=p.n, d=p.d, m=widths[-1], seeds=R)
    ev.figure("empirical threshold width m*", ok_from, predicted=f"<= {m_theory:.3g} (theorem, constant 1)")
    ev.figure("m* / n", ok_from / p.n if ok_from else None)
    ev.figure("theorem width / m*", m_theory / ok_from if ok_from else None)
    ev.margin(ok_from / widths[-1] if ok_from else float("inf"), "m* / largest width tried (32 n)")
    ev.plot(
        "threshold",
        [
            {"label": f"fraction of {R} seeds violating the bound", "x": [w / p.n for w in widths], "y": frac, "style": "line"},
            {"label": f"m* (bound holds from here on); theorem asks m ~ {m_theory:.1e}", "x": [ok_from / p.n] * 2 if ok_from else [1, 1], "y": [0, 1], "style": "bound"},
        ],
        title=f"threshold width (n={p.n}, d={p.d}, eta={c:.2f}/lambda_max)",
        xlabel="m / n",
        ylabel="fraction of seeds violating",
        xscale="log",
    )
    if ok_from is None:
        # m* exists (the theorem) but lies beyond the grid: not a counterexample to "m* < the theorem's width"
        # (run seed 2 of the seed sweep: n=9, d=5, c=1.5, 1 of 16 seeds still failing at 32n)
        undecided(f"the rate bound failed on some seed at every width up to 32n ({widths[-1]}): m* is beyond the grid; fractions {frac}")
    assert ok_from < m_theory, f"m* = {ok_from} is not below the theorem's width {m_theory:.3g}"


# ----------------------------------------------------------------------------------------------
# Drift and pattern flips: Corollary 4.1, Lemma 3.3, Lemma 4.1
# ----------------------------------------------------------------------------------------------


@claim(
    id="du2018.cor4.1.drift_bound",
    paper=DZPS,
    theorem="Corollary 4.1",
    statement="While the rate holds, every neuron stays within R' = 4 sqrt(n) ||y - u(0)||_2 / (sqrt(m) lambda_0) of its "
    "initialization: max_r ||w_r(k) - w_r(0)||_2 <= R' for all k.",
    quantifier="probability",
    predicate=f"max_k max_r ||w_r(k) - w_r(0)|| <= R' (each seed's own ||y - u(0)||) on all but a delta={DELTA} fraction of seeds",
    regime=PRACTICAL,
)
@given(spec=problems(**data_kw()), k=multipliers(WIDE), c=step_factors(0.1, 1.5))
def test_drift_bound(spec, k, c):
    ev = evidence()
    p = spec.build()
    m = k * p.n
    tr = _train(spec, p, m, c / p.lambda_max, "du2018.cor4.1.drift_bound", profile().steps, Record(residual=True, flips=False))
    r0 = tr.residual[:, 0].norm(dim=1)
    R_prime = 4 * math.sqrt(p.n) * r0 / (math.sqrt(m) * p.lambda0)
    D = tr.drift.max(dim=1).values
    ratio = D / R_prime
    ev.size(n=p.n, d=p.d, m=m)
    ev.figure("max_k D(k) / R' (worst seed)", float(ratio.max()), predicted="<= 1", relation="the bound is known to be loose (~100x)")
    ev.margin(float(ratio.max()), "max over seeds of max_k D(k) / R'")
    med, lo, hi = quantile_band(tr.drift / R_prime.unsqueeze(1))
    ev.plot(
        "drift",
        [
            {"label": "D(k)/R', median (10-90%)", "x": np.arange(med.size), "y": med, "y_low": lo, "y_high": hi, "style": "band"},
            {"label": "Corollary 4.1: 1", "x": [0, med.size - 1], "y": [1, 1], "style": "bound"},
        ],
        title=f"neuron drift vs R' (n={p.n}, m={m})",
        xlabel="step k",
        ylabel="max_r ||w_r(k) - w_r(0)|| / R'",
        yscale="log",
    )
    decide_probability(ev, (ratio > 1) | tr.diverged, DELTA, "drift <= R'")


@claim(
    id="du2018.lem3.3.drift_scaling",
    paper=DZPS,
    theorem="Lemma 3.3 / Corollary 4.1 (scaling form)",
    statement="The distance each neuron moves shrinks like m^-1/2: max_r ||w_r(K) - w_r(0)||_2 = O(sqrt(n) ||y - u(0)|| / (sqrt(m) lambda_0)).",
    quantifier="scaling",
    predicate="slope of log max_r ||w_r(K) - w_r(0)|| against log m is -1/2 +- 0.15 (95% CI inside); eta = c/lambda_max, K = profile steps",
    regime="eta = c / lambda_max(H^inf), c in [0.1, 1.5]; the profile's width grid; " + DATA + ".",
)
@given(spec=problems(**data_kw()), c=step_factors(0.1, 1.5))
def test_drift_scaling(spec, c):
    drift_scaling(spec, "du2018.lem3.3.drift_scaling", -0.5, 0.15, c=c)


@claim(
    id="du2018.control.drift_one_over_m",
    paper=DZPS,
    theorem="Lemma 3.3 (planted false exponent)",
    statement="(planted, false) The drift of each neuron is O(1/m).",
    quantifier="scaling",
    expect="falsified",
    control_of="du2018.lem3.3.drift_scaling",
)
@given(spec=problems(**problem_kw()))
def test_control_drift_one_over_m(spec):
    drift_scaling(spec, "du2018.control.drift_one_over_m", -1.0, 0.15)


@claim(
    id="du2018.lem4.1.pattern_flips",
    paper=DZPS,
    theorem="Lemma 4.1 (and Section 5)",
    statement="The fraction of activation patterns 1{w_r.x_i >= 0} that ever change is O(R) and shrinks like m^-1/2; "
    "a pattern can flip only if |w_r(0).x_i| <= ||w_r(k) - w_r(0)||.",
    quantifier="scaling",
    predicate="slope of log(flip fraction at K) against log m is -1/2 +- 0.15; and the exact invariant "
    "|w_r(0).x_i| <= ||w_r(K) - w_r(0)|| for every flipped (i, r) at every width and seed",
    regime="eta = c / lambda_max(H^inf), c in [0.1, 1.5], K = profile steps; the profile's width grid; " + DATA + ".",
)
@given(spec=problems(**data_kw()), c=step_factors(0.1, 1.5))
def test_pattern_flips(spec, c):
    ev = evidence()
    p = spec.build()
    runs = width_sweep(p, "du2018.lem4.1.pattern_flips", spec.seed, eta=c / p.lambda_max, record=Record(drift=False, keep_params=True))
    xs, ys = [], []
    violations = 0
    for m, tr in runs.items():
        fl = tr.flips[:, -1]
        xs += [m] * tr.trials
        ys += fl.clamp_min(1e-12).tolist()
        Z0 = torch.einsum("tmd,nd->tmn", tr.params0.W, p.X)
        ZK = torch.einsum("tmd,nd->tmn", tr.paramsK.W, p.X)
        flipped = (Z0 >= 0) != (ZK >= 0)
        move = (tr.paramsK.W - tr.params0.W).norm(dim=2, keepdim=True)
        violations += int((flipped & (Z0.abs() > move * (1 + 1e-9) + 1e-12)).sum())
    ev.size(n=p.n, d=p.d, m=max(runs))
    ev.figure("flip fraction at the largest width (median)", float(runs[max(runs)].flips[:, -1].median()))
    ev.figure("flipped pairs violating |w_r(0).x_i| <= ||w_r(K) - w_r(0)||", violations, predicted=0, relation="exact (Cauchy-Schwarz)")
    plot_scaling(ev, xs, ys, predicted=-0.5, title=f"activation-pattern flips vs m (n={p.n})", xlabel="width m", ylabel="fraction of (i, r) flipped at K")
    assert violations == 0, f"{violations} flipped patterns moved less than their margin: a bug in patterns or normalization"
    decide_exponent(ev, xs, ys, -0.5, 0.15, "flip fraction vs m")


@claim(
    id="du2018.sec4.step_size_independent_of_m",
    paper=DZPS,
    theorem="Section 4 (remark after Theorem 4.1)",
    statement="The step size need not shrink with the width: 'our choice of step size is independent of the number of hidden nodes m'.",
    quantifier="scaling",
    predicate="eta*(m) = the largest eta (bisection on log eta, per seed) with L(k) non-increasing over the run, for m in {n, 4n, 16n, 64n}; "
    "the slope of log eta* against log m over the upper three widths is >= -0.1 (its 95% CI lies above -0.1): the largest "
    "stable step does not fall as m grows",
    regime="n <= 16; " + DATA + ".",
)
@given(spec=problems(max_n=16, **data_kw()))
def test_step_size_independent_of_m(spec):
    step_size_check(spec, "du2018.sec4.step_size_independent_of_m", "ntk")


@claim(
    id="du2018.control.unnormalized_step_size",
    paper=DZPS,
    theorem="Section 4 (outside its parameterization)",
    statement="(planted, false) Without the 1/sqrt(m) output scaling, the largest stable step size is still independent of m.",
    quantifier="scaling",
    expect="falsified",
    control_of="du2018.sec4.step_size_independent_of_m",
    notes="With f = sum_r a_r relu(w_r.x) the Gram grows like m, so eta* ~ 1/m: the claim depends on the parameterization.",
)
@given(spec=problems(max_n=16, **problem_kw()))
def test_control_unnormalized_step_size(spec):
    step_size_check(spec, "du2018.control.unnormalized_step_size", "none")


# ----------------------------------------------------------------------------------------------
# Labels and data: random labels; conflicting duplicates
# ----------------------------------------------------------------------------------------------


@claim(
    id="du2018.intro.random_labels",
    paper=DZPS,
    theorem="Theorem 4.1 (|y_i| <= C only) / Introduction",
    statement="Reaching zero training loss does not depend on the labels: random labels are fit too, under the same "
    "label-independent rate bound, with probability >= 1 - delta over the initialization.",
    quantifier="probability",
    predicate=f"on the same inputs, for random labels (Gaussian or random signs) and for teacher labels sign(v.x) alike: a seed "
    f"fails if L/L0 is not below 1e-8 within the steps K at which the label-free bound (1 - eta lambda_0/2)^K reaches 1e-8, "
    f"or if the rate bound fails at some step; each label kind holds on all but a delta={DELTA} fraction of seeds (exact "
    "one-sided binomial bounds)",
    regime="m = 16 n, eta = 1 / lambda_max(H^inf); K = log(1e-8) / log(1 - eta lambda_0 / 2), at least 3x the profile's steps; "
    "the profile's seeds (quick 32). Until issue 11 K was fixed at 3x the profile's steps, which the longer search showed "
    "too few where lambda_0 is small (n=14, d=5: final L/L0 = 1.6e-6): a step budget the theorem does not promise. Inputs "
    "i.i.d. on the sphere, with an antiparallel pair, or delta-separated, n/d <= 2; near-parallel pairs are not drawn: their "
    "lambda_0 ~ angle / (2 pi) puts K in the millions of steps. It asked the bound of every one of 8 seeds until the "
    "search (issue 11) found seeds breaking it at 16n (n=16, d=6, seed 2: 2 of 8; n=9, d=5, antiparallel, seed 671: 2 of 8, "
    "worst final L/L0 = 3e-7): the theorem promises it with probability >= 1 - delta, which is what is decided now.",
)
@given(spec=problems(labels=("gaussian", "sign"), **problem_kw(geometries=("sphere", "antiparallel", "separated"), max_n_over_d=2.0)))
def test_random_labels(spec):
    ev = evidence()
    P = profile()
    base = spec.build()  # the labels do not enter lambda_0: one K for both label kinds
    steps = max(3 * P.steps, math.ceil(math.log(1e-8) / math.log1p(-base.lambda0 / base.lambda_max / 2)))
    lines, failed = [], {}
    for kind in (spec.labels, "teacher"):
        s = type(spec)(**{**spec.to_dict(), "labels": kind})
        p = s.build()
        tr = _train(s, p, 16 * p.n, 1 / p.lambda_max, "du2018.intro.random_labels", steps, Record(drift=False, flips=False))
        rel = tr.rel_loss()
        final = rel[:, -1]
        hit = (rel < 1e-2).to(torch.int64).argmax(dim=1).to(torch.float64)
        bound_ok = ~tr.check_rate_bound(1 - tr.eta * p.lambda0 / 2).violated
        failed[kind] = ~(final < 1e-8) | ~bound_ok | tr.diverged
        ev.figure(f"{kind}: final L/L0 (worst seed)", float(final.max()), predicted="< 1e-8")
        ev.figure(f"{kind}: steps to L/L0 < 1e-2 (median)", float(hit.median()))
        med, _, _ = quantile_band(rel)
        lines.append({"label": f"{kind} labels (median)", "x": np.arange(med.size), "y": med, "style": "line"})
    ev.size(n=spec.n, d=spec.d, m=16 * spec.n, steps=steps)
    ev.plot("loss", lines, title=f"random vs teacher labels on the same inputs (n={spec.n})", xlabel="step k", ylabel="L(k)/L(0)", yscale="log")
    decide_all(*(functools.partial(decide_probability, ev, f, DELTA, f"{kind} labels: L/L0 < 1e-8 by K and the rate bound") for kind, f in failed.items()))


@claim(
    id="du2018.asm3.1.conflicting_duplicates_floor",
    paper=DZPS,
    theorem="Assumption 3.1 (lambda_0 = 0 case)",
    statement="With a duplicated input x_j = x_i carrying labels y_i != y_j, lambda_0 = 0 and GD stops at the analytic floor "
    "L = (y_i - y_j)^2 / 4 (the best a function can do on two identical inputs), instead of zero.",
    quantifier="for_all",
    predicate="on every seed the loss reaches (y_i - y_j)^2 / 4 within 1e-6 (relative; max(1e-6, 1000 eps) in float32): its "
    "least value over the last tenth of the run; and it never goes below the floor by more than 1e-9 relative (max(1e-9, 100 eps) "
    "in float32)",
    regime="m = 16 n, eta = 1 / lambda_max(H^inf), 3x the profile's steps. A seed whose loss is above the floor but still "
    "falling over the last tenth of the run leaves the example undecided: the step budget, not the claim, ran out. At this step "
    "size the loss can leave the floor in one-step excursions after reaching it (run seed 7 of the seed sweep: n=15, one seed at "
    "0 then 9e-6 above the floor at the last step, another at 1e-8): the excursions are reported, and the loss is read at its "
    "least over the last tenth of the run, not at the last step.",
)
@given(spec=problems(geometries=("duplicate",), labels=("conflicting",), **problem_kw()))
def test_conflicting_duplicates_floor(spec):
    ev = evidence()
    p, tr, floor = duplicate_run(spec, "du2018.asm3.1.conflicting_duplicates_floor")
    tail = tr.loss[:, -1 - max(1, tr.steps // 10) :]
    final = tail.min(dim=1).values  # the floor reached; one-step excursions above it are reported below
    gap = ((final - floor) / floor).abs()
    eps = torch.finfo(dtype()).eps  # tolerances keyed to the dtype: rounding, not dynamics, sets them
    gap_tol, below_tol = max(1e-6, 1e3 * eps), max(1e-9, 1e2 * eps)
    ev.size(n=p.n, d=p.d, m=16 * p.n)
    ev.figure("final L (median)", float(final.median()), predicted=floor, relation="(y_i - y_j)^2 / 4")
    ev.figure("max relative gap to the floor", float(gap.max()), predicted=f"<= {gap_tol:.1e}")
    ev.figure("largest excursion above the floor over the last tenth of the run (relative)", float(((tail - floor) / floor).max()))
    ev.margin(float(gap.max()) / gap_tol, f"max relative gap to the floor / {gap_tol:.1e}")
    plot_rel_loss(ev, tr, None, bound_label="", title=f"conflicting duplicate (n={p.n})", extra=[{"label": "floor (y_i-y_j)^2/4 / L(0)", "x": [0, tr.steps], "y": [floor / float(tr.loss[:, 0].median())] * 2, "style": "bound"}])
    # still falling toward the floor over the last tenth of the run: the step budget, not the claim, ran out
    # (run seed 4 of the seed sweep: 1.5e-4 above it after 900 steps on a slow mode)
    late = tail[:, 0]
    falling = (late - final) / floor > gap_tol / 10
    off = gap > gap_tol
    if bool(off.any()) and not bool((off & ~falling).any()):
        undecided(f"the loss is {float(gap.max()):.2e} (relative) above the floor and still falling after {tr.steps} steps: more steps would decide")
    assert bool((gap <= gap_tol).all()), f"final loss off the floor {floor:.6f} by up to {float(gap.max()):.2e} (relative), no longer falling"
    assert bool((tr.loss >= floor * (1 - below_tol)).all()), (
        f"the loss went below the analytic floor {floor:.6f} by {float((floor - tr.loss.min()) / floor):.2e} (relative)"
    )


@claim(
    id="du2018.control.conflicting_duplicates_zero_loss",
    paper=DZPS,
    theorem="Theorem 4.1 (outside its hypotheses)",
    statement="(planted, false) GD reaches zero training loss even when one input is duplicated with a conflicting label.",
    quantifier="for_all",
    expect="falsified",
    control_of="du2018.thm4.1.gd_linear_rate",
    notes="Assumption 3.1 (lambda_0 > 0) fails; the loss cannot go below (y_i - y_j)^2 / 4.",
)
@given(spec=problems(geometries=("duplicate",), labels=("conflicting",), **problem_kw()))
def test_control_conflicting_duplicates_zero_loss(spec):
    ev = evidence()
    p, tr, floor = duplicate_run(spec, "du2018.control.conflicting_duplicates_zero_loss")
    rel = tr.rel_loss()[:, -1]
    ev.size(n=p.n, d=p.d, m=16 * p.n)
    ev.figure("final L/L0 (worst seed)", float(rel.max()), predicted="< 1e-8 (planted)")
    plot_rel_loss(ev, tr, None, bound_label="", title=f"conflicting duplicate (n={p.n})")
    assert bool((rel < 1e-8).all()), f"loss stuck at L/L0 = {float(rel.max()):.3e} (floor {floor:.4f})"


# ----------------------------------------------------------------------------------------------
# Joint training of both layers (Theorem 3.3)
# ----------------------------------------------------------------------------------------------


@claim(
    id="du2018.thm3.3.joint_training",
    paper=DZPS,
    theorem="Theorem 3.3",
    statement="Training both layers: du/dt = (H(t) + G(t))(y - u) with G(t) PSD, so the same rate "
    "||y - u(t)||^2 <= exp(-lambda_0 t) ||y - u(0)||^2 holds, and joint training is at least as fast as first-layer training.",
    quantifier="probability",
    predicate=f"with both layers trained (eta = c / lambda_max(H^inf + G^inf), c in [0.1, 1]), the GD rate bound (1 - eta lambda_0/2)^k holds "
    f"on all but a delta={DELTA} fraction of seeds, and the median over seeds of L_joint(k) <= the median of L_first(k) "
    "(same init, same eta) at every step after 10",
    regime="practical widths m = k n, k in {8, 16}; inputs i.i.d. on the sphere, with an antiparallel pair, or delta-separated; "
    "labels Gaussian, random signs, teacher sign(v.x) or linear teacher sqrt(d) v.x. Near-parallel pairs are not drawn: the "
    "wider search (issue 11, item 5) found n=8, d=5, a pair at angle 0.125 (seed 0, sign labels, 16n, c=1) where the median "
    "L_joint(k) exceeds the median L_first(k) at 182 of the 291 steps after step 10 (Gaussian labels: seeds 2 and 5 of 0..5 likewise, "
    "sphere/antiparallel/separated sets 0 of 6). 'At least as fast' is not implied by G(t) PSD alone "
    "(||exp(-(H+G)t) r|| <= ||exp(-Ht) r|| can fail for non-commuting H, G), so it is checked only on these geometries.",
)
@given(spec=problems(**data_kw(geometries=("sphere", "antiparallel", "separated"))), k=multipliers(WIDE), c=step_factors(0.1, 1.0))
def test_joint_training(spec, k, c):
    ev = evidence()
    p = spec.build()
    m = k * p.n
    lam_joint = float(torch.linalg.eigvalsh(p.hinf + kernels.arccos1(p.X))[-1])
    eta = c / lam_joint
    P = profile()
    params = TwoLayerReLU(m).init(p.d, trial_generators("du2018.thm3.3.joint_training", spec.seed, P.replicates))
    both = train(p, TwoLayerReLU(m, train_output=True), steps=P.steps, eta=eta, params=params, record=Record(drift=False, flips=False), device=device(), dtype=dtype())
    first = train(p, TwoLayerReLU(m), steps=P.steps, eta=eta, params=params, record=Record(drift=False, flips=False), device=device(), dtype=dtype())
    chk = both.check_rate_bound(1 - eta * p.lambda0 / 2)
    mb, mf = both.rel_loss().median(dim=0).values, first.rel_loss().median(dim=0).values
    live = mf > first.floor_rel * 1e3
    worse = (mb[10:] > mf[10:] * (1 + 1e-9)) & live[10:]
    ev.size(n=p.n, d=p.d, m=m)
    ev.figure("max_k median L_joint / median L_first (k >= 10)", float((mb[10:] / mf[10:].clamp_min(1e-300))[live[10:]].max()) if live[10:].any() else None, predicted="<= 1")
    ev.figure("max_r |a_r(K) - a_r(0)| (median)", float(both.output_drift[:, -1].median()) if both.output_drift is not None else None)
    ev.figure("worst max_k L_joint(k) / bound(k)", float(chk.worst_ratio.max()), predicted="<= 1")
    ev.margin(float(chk.worst_decay_ratio.max()), "max over seeds and steps of log (1 - eta lambda_0/2)^k / log(L_joint(k)/L(0))")
    kk = torch.arange(P.steps + 1, dtype=torch.float64)
    plot_rel_loss(ev, both, (1 - eta * p.lambda0 / 2) ** kk, bound_label="(1 - eta lambda_0/2)^k", title=f"joint training (n={p.n}, m={m})",
                  extra=[{"label": "first layer only (median)", "x": np.arange(P.steps + 1), "y": mf.numpy(), "style": "prediction"}])
    assert not bool(worse.any()), f"joint training was slower than first-layer training at {int(worse.sum())} steps (medians)"
    decide_probability(ev, chk.violated | both.diverged, DELTA, "joint-training rate bound")
