"""Layer 2, kernels in closed form: pure functions of the inputs, no networks.

``closed_form``: the two-layer ReLU Gram matrix H^inf of Du et al. 2018 and the arc-cosine
kernels, with lambda_0 = lambda_min(H^inf) (re-exported here, so ``from harness.kernels import
hinf`` keeps working). ``infinite_width``: the infinite-width NNGP/NTK recursions of deep
fully-connected nets and ResNets (Du, Lee, Li, Wang, Zhai 2019; Jacot et al.), checked against
neural-tangents. Empirical NTKs need a network, so they live with the networks. May import
:mod:`harness.runtime` and :mod:`harness.contract`.
"""

from .closed_form import *  # noqa: F403
from .closed_form import __all__  # noqa: F401
