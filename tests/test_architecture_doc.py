"""docs/architecture.md is drawn from the tree: every module it names exists, and it names
every library module."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "workflow"
DOC = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
LAYERS = DOC[DOC.index("| layer | module |") : DOC.index("## One transition")]


def named_modules() -> set[str]:
    """The modules the layers table names, as paths relative to src/workflow."""
    named: set[str] = set()
    for row in LAYERS.splitlines():
        cells = row.split("|")
        if len(cells) < 4:
            continue
        package = re.match(r"\s*`(\w+)/`", cells[2])
        for path in re.findall(r"`([\w/]+\.py)`", cells[2]):
            named.add(f"{package.group(1)}/{path}" if package and "/" not in path else path)
    return named


def test_every_module_named_exists():
    missing = sorted(p for p in named_modules() if not (SRC / p).is_file())
    assert not missing, f"docs/architecture.md names modules that do not exist: {missing}"


def test_every_library_module_is_named():
    modules = {
        str(p.relative_to(SRC))
        for p in SRC.rglob("*.py")
        if "migrations" not in p.parts and p.name != "__init__.py"
    }
    unnamed = sorted(modules - named_modules())
    assert not unnamed, f"docs/architecture.md does not place: {unnamed}"
