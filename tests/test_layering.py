"""The architecture, enforced: layers import downwards only, and the CLI uses the public API."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "workflow"

# The layer of each module (by path relative to src/workflow); a module may import only
# modules of its own layer or below.
LAYERS = {
    "errors": 0, "clock": 0, "records": 0, "limits": 0,
    "definition": 1,
    "registry": 2,
    "store": 3, "audit": 3,
    "_machine": 4, "_effects": 4, "_schedule": 4, "_apply": 4, "catalog": 4, "engine": 4,
    "__init__": 6,
}
DEFAULT_FEATURE_LAYER = 5  # timers, directives, reports, versions, events, ...


def layer_of(module: str) -> int:
    parts = module.split(".")
    if parts[0] != "workflow":
        raise ValueError(module)
    if len(parts) == 1:
        return LAYERS["__init__"]
    return LAYERS.get(parts[1], DEFAULT_FEATURE_LAYER)


def module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
    return found


SOURCES = sorted(p for p in SRC.rglob("*.py") if "migrations" not in p.parts)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(SRC)))
def test_library_modules_import_only_from_their_layer_or_below(path):
    name = module_name(path)
    own = layer_of(name)
    upward = [m for m in imports_of(path)
              if m.startswith("workflow") and layer_of(m) > own]
    assert not upward, f"{name} (layer {own}) imports from a higher layer: {upward}"


def test_only_the_machine_module_imports_transitions():
    importers = {module_name(p) for p in SOURCES
                 if any(m == "transitions" or m.startswith("transitions.")
                        for m in imports_of(p))}
    assert importers == {"workflow._machine"}


@pytest.mark.parametrize("path", sorted((ROOT / "cli").rglob("*.py")),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_cli_uses_only_the_public_api(path):
    deep = [m for m in imports_of(path) if m.startswith("workflow.")]
    assert not deep, f"{path.name} reaches past the public API: {deep}"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(SRC)))
def test_library_never_prints_or_exits(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    calls = [node.func.id for node in ast.walk(tree)
             if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)]
    assert "print" not in calls
    assert "exit" not in calls
