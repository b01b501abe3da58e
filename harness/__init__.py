"""theorem-check: executable claims of deep-learning optimization theory.

The public facade. A claim module typically needs::

    from harness import claim, evidence, undecided, strategies, papers
    from harness import engine, kernels, stats, device, dtype, profile
"""

from __future__ import annotations

__version__ = "0.1.0"

from . import engine, kernels, papers, problems, stats, strategies
from .claim import REGISTRY, ClaimInfo, Evidence, Paper, claim, evidence, undecided
from .engine import Record, train
from .models import Params, TwoLayerReLU
from .problems import Problem, ProblemSpec
from .runtime import device, dtype, profile
from .seeding import derive_seed, trial_generators

__all__ = [
    "REGISTRY",
    "ClaimInfo",
    "Evidence",
    "Paper",
    "Params",
    "Problem",
    "ProblemSpec",
    "Record",
    "TwoLayerReLU",
    "__version__",
    "claim",
    "derive_seed",
    "device",
    "dtype",
    "engine",
    "evidence",
    "kernels",
    "papers",
    "problems",
    "profile",
    "stats",
    "strategies",
    "train",
    "trial_generators",
    "undecided",
]
