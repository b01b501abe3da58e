"""Linear convergence of deep nets (Du, Lee, Li, Wang, Zhai 2019): runs of the fc, ResNet and convolutional ResNet families and their rate checks.

The claims are in ``claims/test_dllwz2019.py``; this module holds what they run.
"""

from __future__ import annotations

import torch
from harness.runtime.session import device
from harness.runtime.session import dtype
from harness.contract.claim import evidence
from harness.runtime.session import profile
from harness.runtime.seeding import trial_generators
from harness.contract.checks import decide_probability, plot_rel_loss
from harness.networks.deep import DeepNet, empirical_ntk
from harness.training.deep_engine import train_deep

DELTA = 0.1


#: analytic, not polynomial, Lipschitz and smooth (Conditions 3.1 / 3.2): every such activation DeepNet supports
ACTIVATIONS = ("softplus", "tanh", "gelu")
#: unit inputs with no two parallel (the theorems' assumption); antiparallel pairs (antipodal, an even circle) are parallel
NOT_PARALLEL = ("sphere", "near_parallel", "separated")
LABELS = ("gaussian", "sign", "teacher", "teacher_linear")


def deep_rate(spec, family, depth, c, width, cid, rate_eigenvalue="min", act="softplus"):
    """``rate_eigenvalue="max"``: the planted bound (1 - eta lambda_max / 2)^k in place of lambda_min's."""
    ev = evidence()
    p = spec.build()
    P = profile()
    net = DeepNet(family, width, depth, act)
    params = net.init(p.d, trial_generators(cid, spec.seed * 7919 + depth, P.replicates))
    eig = torch.linalg.eigvalsh(empirical_ntk(net, params, p.X))
    lmin, lmax = eig[:, 0], eig[:, -1]
    eta = c / lmax
    tr = train_deep(net, params, p.X, p.y, steps=P.steps, eta=eta, device=device(), dtype=dtype())
    per_step = 1 - eta * (lmin if rate_eigenvalue == "min" else lmax) / 2
    chk = tr.check_rate_bound(per_step)
    ev.size(n=p.n, d=p.d, m=width, depth=depth)
    ev.figure("lambda_min / lambda_max of Theta(0) (median)", float((lmin / lmax).median()))
    ev.figure("final L/L0 (median)", float(tr.rel_loss()[:, -1].median()))
    ev.figure("relative change of the hidden layers ||W(K) - W(0)|| / ||W(0)|| (median)", float(tr.rel_change["W"].median()) if depth > 1 else None)
    ev.figure("worst max_k L(k) / bound(k)", float(chk.worst_ratio.max()), predicted="<= 1")
    ev.margin(float(chk.worst_decay_ratio.max()), "max over seeds and steps of log (1 - eta lambda_min(Theta(0))/2)^k / log(L(k)/L(0))")
    kk = torch.arange(tr.steps + 1, dtype=torch.float64)
    plot_rel_loss(
        ev,
        tr,
        float(per_step.median()) ** kk,
        bound_label=f"(1 - eta lambda_{rate_eigenvalue}(Theta(0))/2)^k, median seed",
        title=f"{family} depth {depth}, m={width}, {act}, eta={c:.2f}/lambda_max(Theta(0))",
    )
    decide_probability(ev, chk.violated | tr.diverged, DELTA, f"linear-rate bound ({family}, {act}, H={depth}, m={width})")
