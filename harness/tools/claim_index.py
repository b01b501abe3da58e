"""Import the claim modules of a directory as pytest would, and say which claims each defines.

Used by ``python -m harness list`` and ``docs``: an import error is reported with its type, message
and the line of the claim file it passed through, never as a traceback.
"""

from __future__ import annotations

import importlib.util
import sys
import traceback
from pathlib import Path

__all__ = ["import_claims"]


def _module_name(path: Path) -> str:
    """The name pytest would give a module of a directory without __init__.py (its stem),
    made unique if another file of that name is already imported."""
    name = path.stem
    mod = sys.modules.get(name)
    if mod is None or Path(getattr(mod, "__file__", "") or "").resolve() == path:
        return name
    i = 1
    while f"{name}__{i}" in sys.modules and Path(getattr(sys.modules[f"{name}__{i}"], "__file__", "") or "").resolve() != path:
        i += 1
    return f"{name}__{i}"


def _import_claim_module(path: Path) -> tuple[list[str], str | None]:
    """Import one claim module by path; return the claim ids it defines and an error, if any."""
    from ..contract.claim import REGISTRY, ClaimInfo

    name = _module_name(path)
    mod = sys.modules.get(name)
    before = set(REGISTRY)
    if mod is None:
        try:
            spec = importlib.util.spec_from_file_location(name, path)
            if spec is None or spec.loader is None:
                return [], "not a Python module"
            mod = importlib.util.module_from_spec(spec)
            sys.modules[name] = mod
            spec.loader.exec_module(mod)
        except KeyboardInterrupt:
            raise
        except BaseException as e:  # pytest.skip at module level, SystemExit, ... are errors here too
            sys.modules.pop(name, None)
            return [], _import_error(e, path)
    infos = (getattr(v, "claim_info", None) for v in list(vars(mod).values()))
    ids = {i.id for i in infos if isinstance(i, ClaimInfo)}
    ids |= set(REGISTRY) - before  # claims registered by other means (factories, classes)
    return sorted(ids), None


def _import_error(e: BaseException, path: Path) -> str:
    """``Type: message`` and the innermost line of the claim file the exception passed through."""
    where = ""
    for frame in reversed(traceback.extract_tb(e.__traceback__)):
        if frame.filename and Path(frame.filename).resolve() == path:
            where = f" (line {frame.lineno}: {(frame.line or '').strip()})"
            break
    msg = "".join(traceback.format_exception_only(type(e), e)).strip()
    return f"{msg}{where}"


def import_claims(claims_dir: Path) -> tuple[dict[Path, list[str]], list[dict]]:
    """Import every test_*.py of ``claims_dir``: ({file: claim ids}, [{"file", "error"}])."""
    files = sorted(claims_dir.glob("test_*.py"))
    # As pytest imports them: the claims directory and the project root (its parent and the
    # working directory) importable, so claim modules may import helpers next to them.
    added = [p for p in (str(claims_dir), str(claims_dir.parent), str(Path.cwd())) if p not in sys.path]
    sys.path[:0] = added
    errors, by_file = [], {}
    try:
        for f in files:
            ids, error = _import_claim_module(f.resolve())
            if error:
                errors.append({"file": str(f), "error": error})
            by_file[f] = ids
    finally:
        for p in added:
            if p in sys.path:
                sys.path.remove(p)
    return by_file, errors
