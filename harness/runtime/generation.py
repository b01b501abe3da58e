"""Hypothesis's generation, made independent of what else is imported.

Hypothesis (6.131 on) mixes into its draws a pool of constants read from the source of every
"local" module it finds in ``sys.modules`` (literals of the harness, of a user's helpers). The pool
grows whenever a new module is imported, so the same ``--claims-seed`` could draw other examples in a
run that happened to import another module first (an xdist worker that ran other tests, an
in-process pytester run, a merge in between), and every new literal in the harness moved examples.
The harness pins that pool to empty: a claim's examples depend on its strategy, the claim id and the
run seed only. Hypothesis's global constants (0, 1, -1, inf, nan, 2**k...) still come.
"""

from __future__ import annotations

__all__ = ["local_constants_pinned", "pin_local_constants"]

_pinned = False


def pin_local_constants() -> bool:
    """Replace Hypothesis's local constant pool by an empty one; True when it is pinned.

    Uses a Hypothesis internal (``providers._get_local_constants``); where a Hypothesis release
    moves it, this returns False and ``tests/test_seeding.py`` fails, rather than runs silently
    drawing by import order.
    """
    global _pinned
    if _pinned:
        return True
    try:
        from hypothesis.internal.conjecture import providers
        from hypothesis.internal.constants_ast import Constants
    except ImportError:  # pragma: no cover - a Hypothesis without the pool draws no local constants
        return False
    if not callable(getattr(providers, "_get_local_constants", None)) or not hasattr(providers, "CONSTANTS_CACHE"):
        return False  # pragma: no cover
    empty = Constants()
    providers._get_local_constants = lambda: empty
    providers.CONSTANTS_CACHE.cache.clear()
    _pinned = True
    return True


def local_constants_pinned() -> bool:
    return _pinned
