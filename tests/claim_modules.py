"""Import a claim module (claims/test_*.py, not a package) from the harness's unit tests, once per process."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

CLAIMS = Path(__file__).resolve().parents[1] / "claims"


def load_claim_module(name: str, file: str) -> ModuleType:
    """claims/<file> as module ``name`` (cached in sys.modules, so helpers and lru caches are shared)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, CLAIMS / file)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod
