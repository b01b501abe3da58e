"""theorem-check: executable claims of deep-learning optimization theory.

The public facade. A claim module typically needs::

    from harness import claim, evidence, undecided, strategies, papers
    from harness import engine, kernels, stats, device, dtype, profile

The package is layered; data flows one way, and a layer imports only from layers below it
(``tests/test_layers.py`` checks this from the imports):

0. ``runtime``   profiles, run seeds and generators, devices, budgets, shared work, chunking
1. ``contract``  the claim contract: ``@claim``, evidence, verdicts, decisions, statistics, papers
2. ``kernels``   closed-form and infinite-width kernels (pure functions of the inputs)
3. ``data``      problems and the Hypothesis strategies that draw them
4. ``networks``  the model families (two-layer, deep, MLP, mean-field ResNet, toy landscapes)
5. ``training``  the engines and their trajectories, width sweeps
6. ``analysis``  Hessians, paths and barriers, critical points, linearization
7. ``report``    report.json / .md / .html and plots
8. ``tools``     compare, history, merge, plans, seed sweeps, the CLI
9. ``plugin``    the pytest plugin (``pytest claims``)

Modules that lived at the top level before the layers keep their old import paths
(``harness.claim``, ``harness.engine``, ``harness.deep``, ...): :data:`MOVED` maps each old name to
its module, and importing the old name gives that very module object.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import types

from .runtime.version import __version__

#: old top-level module -> its module now (under ``harness.``)
MOVED: dict[str, str] = {
    "profiles": "runtime.profiles",
    "seeding": "runtime.seeding",
    "devices": "runtime.devices",
    "budget": "runtime.budget",
    "shared_work": "runtime.shared_work",
    "chunks": "runtime.chunks",
    "claim": "contract.claim",
    "checks": "contract.checks",
    "stats": "contract.stats",
    "papers": "contract.papers",
    "deep_kernels": "kernels.infinite_width",
    "problems": "data.problems",
    "strategies": "data.strategies",
    "models": "networks.two_layer",
    "mlp": "networks.mlp",
    "mf_resnet": "networks.mf_resnet",
    "toy_landscapes": "networks.toy_landscapes",
    "engine": "training.engine",
    "trajectory": "training.trajectory",
    "sweeps": "training.sweeps",
    "hessian": "analysis.hessian",
    "paths": "analysis.paths",
    "critical": "analysis.critical",
    "linearize": "analysis.linearize",
    "compare": "tools.compare",
    "history": "tools.history",
    "merge": "tools.merge",
    "plan": "tools.plan",
    "seed_sweep": "tools.seed_sweep",
    "cli": "tools.cli",
}
#: old modules whose contents were split: the old name reads every public name of the new ones
SPLIT: dict[str, tuple[str, ...]] = {"deep": ("networks.deep", "training.deep_engine")}


class _MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Resolves ``harness.<old>`` to the module it moved to (the same object, not a copy)."""

    def find_spec(self, fullname, path=None, target=None):
        head, _, old = fullname.partition(".")
        if head == __name__ and (old in MOVED or old in SPLIT):
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        old = module.__name__.partition(".")[2]
        if old in MOVED:
            target = importlib.import_module(f"{__name__}.{MOVED[old]}")
        else:
            parts = [importlib.import_module(f"{__name__}.{p}") for p in SPLIT[old]]
            target = types.ModuleType(module.__name__, f"Old path of {', '.join(p.__name__ for p in parts)}.")
            for p in parts:
                target.__dict__.update({k: v for k, v in vars(p).items() if not k.startswith("__")})
            target.__all__ = [n for p in parts for n in getattr(p, "__all__", ())]
        # the import system returns what sys.modules holds after exec_module
        sys.modules[module.__name__] = target


if not any(isinstance(f, _MovedModules) for f in sys.meta_path):
    sys.meta_path.insert(0, _MovedModules())

from . import kernels  # noqa: E402
from .contract import papers, stats  # noqa: E402
from .contract.claim import REGISTRY, ClaimInfo, Evidence, Paper, claim, evidence, undecided  # noqa: E402
from .data import problems, strategies  # noqa: E402
from .data.problems import Problem, ProblemSpec  # noqa: E402
from .networks.two_layer import Params, TwoLayerReLU  # noqa: E402
from .runtime.seeding import derive_seed, trial_generators  # noqa: E402
from .runtime.session import device, dtype, profile  # noqa: E402
from .training import engine  # noqa: E402
from .training.engine import Record, train  # noqa: E402

# Old names of modules the facade has already imported are registered now: importing one later
# must not rebind the package attribute of the same name (``harness.claim`` is the decorator).
for _old, _new in MOVED.items():
    if f"{__name__}.{_new}" in sys.modules:
        sys.modules.setdefault(f"{__name__}.{_old}", sys.modules[f"{__name__}.{_new}"])
del _old, _new

__all__ = [
    "MOVED",
    "REGISTRY",
    "SPLIT",
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
