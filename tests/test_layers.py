"""The package's shape: layers as folders, imports that flow one way, old import paths kept.

Read from the source (every ``import`` and ``from ... import`` of every module, those inside
functions included; imports under ``if TYPE_CHECKING:`` are types only and do not count).
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import harness

ROOT = Path(harness.__file__).parent
#: bottom to top; a module may import from its own layer or one below
LAYERS = ("runtime", "contract", "kernels", "data", "networks", "training", "analysis", "report", "tools", "plugin")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING")


def _imports(path: Path) -> set[str]:
    """The harness modules ``path`` imports (a ``from pkg import name`` counts name when it is a module)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "harness")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod.split(".")[0] == "harness":
                found.add(mod)
                for a in node.names:
                    if (ROOT.parent / (mod + "." + a.name).replace(".", "/")).with_suffix(".py").exists() or (
                        ROOT.parent / (mod + "." + a.name).replace(".", "/") / "__init__.py"
                    ).exists():
                        found.add(f"{mod}.{a.name}")
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text()))
    found.discard(name)
    return found


def _graph() -> dict[str, set[str]]:
    return {_module_name(p): _imports(p) for p in sorted(ROOT.rglob("*.py"))}


def _layer(module: str) -> int | None:
    parts = module.split(".")
    if len(parts) < 2:
        return None  # the facade itself
    return LAYERS.index(parts[1]) if parts[1] in LAYERS else None


def test_the_top_level_is_a_few_layers():
    entries = sorted(p.name for p in ROOT.iterdir() if p.name != "__pycache__")
    assert len(entries) <= 12, entries
    folders = {p.name for p in ROOT.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert folders == set(LAYERS) - {"plugin"}, folders
    for folder in folders:  # each layer says what lives there and what it may import
        doc = ast.get_docstring(ast.parse((ROOT / folder / "__init__.py").read_text()))
        assert doc and len(doc) > 80, f"harness/{folder}/__init__.py needs its one-paragraph docstring"


def test_every_module_belongs_to_a_layer():
    loose = [m for m in _graph() if m not in ("harness", "harness.__main__") and _layer(m) is None]
    assert not loose, loose


def test_no_module_imports_from_a_layer_above_it():
    upward = []
    for mod, deps in _graph().items():
        lm = _layer(mod)
        if lm is None:
            continue
        for dep in deps:
            ld = _layer(dep)
            if dep == "harness" or (dep.startswith("harness.") and ld is None):
                upward.append(f"{mod} -> {dep} (the facade: import the module itself)")
            elif ld is not None and ld > lm:
                upward.append(f"{mod} ({LAYERS[lm]}) -> {dep} ({LAYERS[ld]})")
    assert not upward, "\n".join(upward)


def test_no_import_cycles():
    graph = _graph()
    state: dict[str, int] = {}
    cycles = []

    def dfs(node: str, stack: list[str]) -> None:
        state[node] = 1
        for dep in sorted(graph.get(node, ())):
            if dep not in graph:
                continue
            if state.get(dep) == 1:
                cycles.append(" -> ".join([*stack[stack.index(dep):], dep]))
            elif dep not in state:
                dfs(dep, [*stack, dep])
        state[node] = 2

    for node in sorted(graph):
        if node not in state and node != "harness":  # the facade imports everything by design
            dfs(node, [node])
    # the package __init__ of a layer importing its own modules is not a cycle of modules
    real = [c for c in cycles if not any(part.count(".") == 1 and part + "." in c for part in c.split(" -> "))]
    assert not real, "\n".join(real)


@pytest.mark.parametrize("old", sorted(harness.MOVED))
def test_old_import_paths_give_the_moved_module(old):
    assert importlib.import_module(f"harness.{old}") is importlib.import_module(f"harness.{harness.MOVED[old]}")


def test_a_split_module_keeps_every_name_at_its_old_path():
    from harness.deep import DeepNet, DeepTrajectory, empirical_ntk, layerwise_ntk, train_deep  # noqa: F401

    old = importlib.import_module("harness.deep")
    for new in harness.SPLIT["deep"]:
        mod = importlib.import_module(f"harness.{new}")
        for name in mod.__all__:
            assert getattr(old, name) is getattr(mod, name)


def test_old_names_through_the_package_attribute():
    from harness import claim as claim_decorator
    from harness import deep_kernels, seeding

    assert callable(claim_decorator)  # the facade's ``claim`` is the decorator, as before
    assert seeding.trial_generators is harness.trial_generators
    assert deep_kernels.__name__ == "harness.kernels.infinite_width"
