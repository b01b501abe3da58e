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

import math

import numpy as np
import torch
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats as sps

from harness import claim, device, dtype, evidence, profile, trial_generators, undecided
from harness.contract.checks import decide_exponent, decide_probability, plot_rel_loss, plot_scaling, quantile_band
from harness.networks.deep import DeepNet, empirical_ntk, he_forward_norms, he_signal_norms
from harness.training.deep_engine import train_deep
from harness.contract.papers import AZLS
from harness.runtime.shared_work import shared_work
from harness.data.strategies import depths, problems, step_factors

#: input geometries drawn by the training claims: every one is delta-separated once mapped to (x / sqrt 2, 1 / sqrt 2)
#: (an antiparallel pair x, -x lands at distance sqrt 2). Not drawn: "near_parallel" (angles down to 1e-3, so delta ->
#: 0 and the paper's T ~ 1/delta^2 runs past any fixed step budget) and "duplicate" (delta = 0, the planted control).
SEPARATED_GEOMETRIES = ("separated", "sphere", "antipodal", "circle")

MODEL_SLACK = 0.2  #: the variance 5L/m is first order in L/m; allow +-20% for the neglected terms


def _depths_and_widths():
    return st.deferred(
        lambda: st.tuples(st.sampled_from([128, 256, 512]), st.integers(2, profile().max_depth)).filter(lambda mw: mw[1] <= mw[0] // 8)
    )


def _forward_stability(spec, mL, init_variance, cid, direction="forward"):
    ev = evidence()
    m, L = mL
    p = spec.build()
    R = 2 * profile().replicates
    gens = trial_generators(cid, spec.seed * 7919 + m * 131 + L, R)
    if direction == "forward":
        norms = he_forward_norms(p.X[:1], m, L, gens, init_variance)[:, :, 0]  # [R, L+1]
    else:  # ||g_l|| from the output down: column j is ||df/dh_{L-j}||
        norms = he_signal_norms(p.X[:1], m, L, gens, init_variance)[1][:, :, 0].flip(1)
    sym, first, last = ("h", "0", "L") if direction == "forward" else ("g", "L", "0")
    z = torch.log(norms[:, -1] ** 2 / norms[:, 0] ** 2).numpy()  # one input per seed: independent samples
    v = 5 * L / m
    mean, var = float(z.mean()), float(z.var(ddof=1))
    lo = (R - 1) * var / sps.chi2.ppf(0.995, R - 1)
    hi = (R - 1) * var / sps.chi2.ppf(0.005, R - 1)
    within = float(((norms[:, 1:] / norms[:, :1] >= 0.5) & (norms[:, 1:] / norms[:, :1] <= 1.5)).to(torch.float64).mean())
    ratio = f"log(||{sym}_{last}||^2 / ||{sym}_{first}||^2)"
    ev.size(m=m, L=L, seeds=R)
    ev.figure(f"mean of {ratio}", mean, predicted=-v / 2, relation=f"|mean| <= sqrt(5L/m) = {math.sqrt(v):.3f}")
    ev.figure(f"variance of {ratio}", var, predicted=v, interval=(lo, hi), relation=f"99% chi-square CI meets 5L/m (1 +- {MODEL_SLACK})")
    ev.figure(f"fraction of (seed, layer) with ||{sym}_l|| / ||{sym}_{first}|| in [1/2, 3/2]", within)
    ev.margin(abs(mean) / math.sqrt(v), "|mean log-norm ratio| / sqrt(5L/m)")
    logr = torch.log(norms**2 / norms[:, :1] ** 2)
    med, qlo, qhi = quantile_band(logr)
    ls = np.arange(L + 1)
    ev.plot(
        "norms",
        [
            {"label": f"log(||{sym}||^2 / ||{sym}_{first}||^2), median of {R} seeds (10-90%)", "x": ls, "y": med, "y_low": qlo, "y_high": qhi, "style": "band"},
            {"label": "+-1.28 sqrt(5 l / m) (10-90% if Gaussian)", "x": ls, "y": 1.28 * np.sqrt(5 * ls / m), "style": "bound"},
            {"label": "", "x": ls, "y": -1.28 * np.sqrt(5 * ls / m), "style": "bound"},
        ],
        title=f"{direction} signal across layers (m={m}, L={L}, init variance {init_variance:g}/m)",
        xlabel="layers from the " + ("input" if direction == "forward" else "output"),
        ylabel=f"log ||{sym}||^2 / ||{sym}_{first}||^2",
    )
    assert abs(mean) <= math.sqrt(v), (
        f"the {direction} signal drifts: mean {ratio} = {mean:.3f} beyond sqrt(5L/m) = {math.sqrt(v):.3f} "
        f"({'vanishing' if mean < 0 else 'exploding'})"
    )
    assert hi >= (1 - MODEL_SLACK) * v and lo <= (1 + MODEL_SLACK) * v, (
        f"variance of {ratio} {var:.4f} (99% CI [{lo:.4f}, {hi:.4f}]) is not 5L/m = {v:.4f} within +-{MODEL_SLACK:.0%}"
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
@given(spec=problems(min_n=2, max_n=2), mL=_depths_and_widths())
def test_backward_stability(spec, mL):
    _forward_stability(spec, mL, 2.0, "azls2019.backward_stability", direction="backward")


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
@given(spec=problems(min_n=2, max_n=2), mL=_depths_and_widths())
def test_control_backward_init_variance_four(spec, mL):
    _forward_stability(spec, mL, 4.0, "azls2019.control.backward_init_variance_four", direction="backward")


# ----------------------------------------------------------------------------- training: SGD and classification

DELTA = 0.1
EPS = 1e-3  #: relative loss SGD must reach in the iteration-count claim


def _azls_inputs(X: torch.Tensor) -> torch.Tensor:
    """The paper's inputs: x -> (x / sqrt 2, 1 / sqrt 2), unit norm with last coordinate 1/sqrt(2) (a bias)."""
    return torch.cat([X / math.sqrt(2), torch.full((X.shape[0], 1), 1 / math.sqrt(2), dtype=X.dtype)], dim=1)


def _step(net: DeepNet, params: dict[str, torch.Tensor], X: torch.Tensor, c: float, batch: int) -> torch.Tensor:
    """eta = c (b / n) / lambda_max(Theta(0)) per seed: the paper's eta ~ b / m in its parameterization (Theta ~ m)."""
    one = DeepNet("he", net.width, net.depth, "relu")
    B = params["B"] if net.outputs == 1 else params["B"][:, 0]  # the NTK of one output
    theta = empirical_ntk(one, {"A": params["A"], "W": params["W"], "B": B}, X)
    return c * (batch / X.shape[0]) / torch.linalg.eigvalsh(theta)[:, -1]


def _sgd_widths() -> tuple[int, ...]:
    return {"quick": (32, 64, 128), "standard": (64, 128, 256, 512, 1024)}.get(profile().name, (128, 256, 512, 1024, 2048, 4096))


#: step budget of the SGD sweep, in profile steps (training stops early once every seed is below eps).
#: A seed that has not reached eps by then leaves the example undecided: on run seed 3 of the seed sweep
#: that left all three fresh-seed rounds of the planted twin undecided (the twin escaped), and a budget
#: of 4 did not cure it (run seed 0 then escaped the same way: slow seeds stay slow). Kept at 2; the
#: twin's power on other run seeds is an open problem (see the seed sweep).
SGD_BUDGET = 2


@shared_work(maxsize=8)
def _sgd_sweep(spec, depth: int, c: float, stretch: int = 1, more_seeds: int = 1) -> tuple[dict[int, torch.Tensor], dict]:
    """Steps to reach L <= EPS L(0) per seed at every width (shared by the claim and its planted twin),
    within ``stretch`` x SGD_BUDGET x the profile's steps, on ``more_seeds`` x scaling_seeds seeds (the
    first scaling_seeds are the true claim's)."""
    p = spec.build()
    X = _azls_inputs(p.X)
    b = max(1, p.n // 2)
    P = profile()
    steps = {m: None for m in _sgd_widths()}
    finals = {}
    for m in steps:
        net = DeepNet("he", m, depth, "relu")
        seed = spec.seed * 7919 + m * 31 + depth
        par = net.init(X.shape[1], trial_generators("azls2019.thm2.sgd", seed, more_seeds * P.scaling_seeds))
        eta = _step(net, par, X, c, b)
        tr = train_deep(
            net, par, X, p.y, steps=stretch * SGD_BUDGET * P.steps, eta=eta, batch_size=b, stop_below=EPS,
            batch_generators=trial_generators("azls2019.thm2.sgd.batches", seed, more_seeds * P.scaling_seeds), device=device(), dtype=dtype(),
        )
        steps[m] = tr.steps_to(EPS)
        finals[m] = tr
    return steps, {"n": p.n, "d": X.shape[1], "b": b, "delta": p.min_separation, "budget": stretch * SGD_BUDGET * P.steps, "trajectories": finals}


def _sgd_iterations(spec, depth, c, predicted, alternative, tolerance, against, more_seeds=1):
    ev = evidence()
    for stretch in (1, 4, 16):  # a slow seed is not a slow law: give every seed 4x, then 16x the steps
        T, info = _sgd_sweep(spec, depth, c, stretch, more_seeds)
        if not any(torch.isinf(t).any() for t in T.values()):
            break
    ev.size(n=info["n"], d=info["d"], batch=info["b"], depth=depth, m_max=max(T), seeds=len(next(iter(T.values()))))
    ev.figure("min separation delta of the data", info["delta"])
    missed = {m: int(torch.isinf(t).sum()) for m, t in T.items()}
    if any(missed.values()):
        undecided(f"SGD did not reach L <= {EPS:g} L(0) within {info['budget']} steps on {missed} seeds (width: count); a larger budget would decide")
    ms = [m for m, t in T.items() for _ in t]
    ts = [float(v) for t in T.values() for v in t]
    for m, t in T.items():
        ev.figure(f"median steps to L <= {EPS:g} L(0) at m={m}", float(t.median()))
    med = {m: info["trajectories"][m] for m in T}
    lines = []
    for m, tr in med.items():
        q = quantile_band(tr.rel_loss())[0]
        lines.append({"label": f"m={m}, median of {tr.trials} seeds", "x": np.arange(q.size), "y": q, "style": "line"})
    ev.plot("loss", lines, title=f"SGD (b={info['b']}) on the he family, depth {depth}", xlabel="step k", ylabel="L(k) / L(0)", yscale="log")
    if against == "log m":
        x = [math.log(m) for m in ms]
        plot_scaling(ev, x, ts, predicted=predicted, title="steps to reach eps against log m", xlabel="log m", ylabel="steps")
        decide_exponent(ev, x, ts, predicted, tolerance, "steps to eps against log m", alternative=alternative)
    else:
        plot_scaling(ev, ms, ts, predicted=predicted, title="steps to reach eps against m", xlabel="width m", ylabel="steps")
        decide_exponent(ev, ms, ts, predicted, tolerance, "steps to eps against m", alternative=alternative)


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
    _sgd_iterations(spec, depth, c, 2.0, "at_most", 0.5, "log m")


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
    _sgd_iterations(spec, depth, c, 0.5, "at_least", 0.15, "m", more_seeds=4)


def _classification(spec, conflicting: bool, cid: str, classes: int = 3, depth: int = 2):
    ev = evidence()
    p = spec.build()
    P = profile()
    X = _azls_inputs(p.X)
    labels = torch.randint(0, classes, (p.n,), generator=torch.Generator().manual_seed(spec.seed))
    if conflicting:  # geometry "duplicate": x_{n-1} = x_0; give it another class
        labels[-1] = (labels[0] + 1) % classes
    m = 2 * P.deep_width
    net = DeepNet("he", m, depth, "relu", outputs=classes)
    par = net.init(X.shape[1], trial_generators(cid, spec.seed, P.replicates))
    b = max(1, p.n // 2)
    tr = train_deep(
        net, par, X, labels, steps=P.steps, eta=_step(net, par, X, 1.0, b), loss="ce", batch_size=b,
        batch_generators=trial_generators(cid + ".batches", spec.seed, P.replicates), device=device(), dtype=dtype(),
    )
    final = tr.accuracy[:, -1]
    reached = (tr.accuracy == 1).any(dim=1)
    first = torch.where(reached, (tr.accuracy == 1).to(torch.int64).argmax(dim=1).to(torch.float64), torch.tensor(float("inf")))
    ev.size(n=p.n, d=X.shape[1], classes=classes, m=m, depth=depth, batch=b, steps=P.steps)
    ev.figure("min separation delta of the data", p.min_separation)
    ev.figure("final training accuracy (min over seeds)", float(final.min()), predicted=1.0)
    ev.figure("first step at 100% accuracy (median)", float(first.median()))
    med, lo, hi = quantile_band(tr.accuracy)
    ks = np.arange(med.size)
    ev.plot(
        "accuracy",
        [
            {"label": f"training accuracy, median of {tr.trials} seeds (10-90%)", "x": ks, "y": med, "y_low": lo, "y_high": hi, "style": "band"},
            {"label": "100%", "x": [0, ks[-1]], "y": [1, 1], "style": "bound"},
        ],
        title=f"SGD with cross-entropy, {classes} random classes, he family m={m}, depth {depth}",
        xlabel="step k",
        ylabel="training accuracy",
    )
    decide_probability(ev, final < 1, DELTA, f"100% training accuracy after {P.steps} SGD steps")


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
    _classification(spec, False, "azls2019.classification_100pct", classes, depth)


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
    _classification(spec, True, "azls2019.control.conflicting_duplicates")


# ----------------------------------------------------------------------------- GD: linear convergence (Theorem 1)

DECADE_RATIO = 2.0  #: a linear rate spends equal steps on every decade of loss; allow the rate to halve late in training


@shared_work(maxsize=8)
def _gd_run(spec, depth: int, c: float, stretch: int = 1):
    p = spec.build()
    P = profile()
    X = _azls_inputs(p.X)
    net = DeepNet("he", P.deep_width, depth, "relu")
    par = net.init(X.shape[1], trial_generators("azls2019.thm1.gd_linear", spec.seed * 7919 + depth, P.replicates))
    steps = 10 * P.steps * stretch
    tr = train_deep(net, par, X, p.y, steps=steps, eta=_step(net, par, X, c, p.n), stop_below=1e-9, device=device(), dtype=dtype())
    return p, X, tr


def _decade_ratio_bounds(tr) -> tuple[torch.Tensor, torch.Tensor]:
    """Per seed, bounds lo <= (T(1e-8) - T(1e-6)) / (T(1e-6) - T(1e-4)) <= hi from a run of K steps.

    A seed that reached 1e-8 has its ratio exactly; one that reached 1e-6 but not 1e-8 has ratio
    > (K - T(1e-6)) / (T(1e-6) - T(1e-4)) and no upper bound; one that did not reach 1e-6 is
    unbounded both ways (a slow run is not a slow rate). A diverged seed reads ratio = inf.
    """
    a, b, e = tr.steps_to(1e-4), tr.steps_to(1e-6), tr.steps_to(1e-8)
    K = float(tr.loss.shape[1] - 1)
    span = (b - a).clamp_min(1.0)
    inf = torch.full_like(a, float("inf"))
    exact = (e - b) / span
    lo = torch.where(e.isfinite(), exact, torch.where(b.isfinite(), (K - b) / span, torch.zeros_like(a)))
    hi = torch.where(e.isfinite(), exact, inf)
    lo = torch.where(tr.diverged, inf, lo)
    hi = torch.where(tr.diverged, inf, hi)
    return lo, hi


def _gd_decades(spec, depth, c, predicate, what):
    """``predicate(lo, hi)`` gives (failed, unknown) per seed from the ratio's bounds; a run whose
    seeds stay unknown is rerun once with 4x the steps before the decision."""
    ev = evidence()
    p, X, tr = _gd_run(spec, depth, c)
    failed, unknown = predicate(*_decade_ratio_bounds(tr))
    if unknown.any():
        p, X, tr = _gd_run(spec, depth, c, stretch=4)
        failed, unknown = predicate(*_decade_ratio_bounds(tr))
    a, b, e = tr.steps_to(1e-4), tr.steps_to(1e-6), tr.steps_to(1e-8)
    ratio = (e - b) / (b - a)
    ev.size(n=p.n, d=X.shape[1], m=tr.model.width, depth=depth, budget=tr.loss.shape[1] - 1)
    ev.figure("steps from 1e-4 to 1e-6 L(0) (median)", float((b - a).median()))
    ev.figure("(T(1e-8) - T(1e-6)) / (T(1e-6) - T(1e-4)), max over seeds that reached 1e-8", float(ratio[e.isfinite()].max()) if e.isfinite().any() else float("nan"),
              predicted="1 for a linear rate, 10 for L ~ 1/k")
    ev.figure("seeds the run could not decide", int(unknown.sum()))
    if e.isfinite().any():
        ev.margin(float(ratio[e.isfinite()].max()) / DECADE_RATIO, f"max decade ratio / {DECADE_RATIO}")
    plot_rel_loss(ev, tr, None, bound_label="", title=f"GD on the he family (m={tr.model.width}, depth {depth}, eta = {c:.2f}/lambda_max)")
    decide_probability(ev, failed, DELTA, what, unknown=unknown)


def _at_most(limit):
    return lambda lo, hi: (lo > limit, (lo <= limit) & (hi > limit))


def _at_least(limit):
    return lambda lo, hi: (hi < limit, (hi >= limit) & (lo < limit))


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
    _gd_decades(spec, depth, c, _at_most(DECADE_RATIO), "linear rate: decade ratio <= 2")


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
    _gd_decades(spec, depth, c, _at_least(10.0), "sublinear rate: decade ratio >= 10")
