"""Helpers shared by the directive-domain tests: the repository's files and deployed engines."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from workflow import Actor, Clock, Engine
from workflow.directives import import_directive, import_units

ROOT = Path(__file__).resolve().parent.parent
DEFINITIONS = sorted((ROOT / "definitions").glob("*.yaml"))
UNITS = ROOT / "examples" / "units.yaml"
DIRECTIVE = ROOT / "examples" / "19-CV-DUK.yaml"
NUMBER = "19-CV/ĐUK"
SYSTEM = Actor("importer", ["system"])


def deploy(engine: Engine, *names: str) -> Engine:
    """Deploy the named definitions (all of them when none is named)."""
    for file in DEFINITIONS:
        if not names or file.stem in names:
            engine.deploy(file)
    return engine


FAN_OUT_WORKFLOWS = (
    "dissemination",
    "plan_drafting",
    "signing",
    "archiving",
    "directive",
    "inspection",
)
"""What importing 19-CV/ĐUK and finishing its chains needs deployed."""


def few_units(folder: Path, base: int = 3) -> Path:
    """A units file with the bodies of the Khối and only ``base`` base units (fast fan-out)."""
    blocks = UNITS.read_text(encoding="utf-8").split("\n  - ")
    kept = [b for b in blocks[1:] if "kind: base" not in b]
    kept += [b for b in blocks[1:] if "kind: base" in b][:base]
    path = folder / "few_units.yaml"
    path.write_text("units:\n  - " + "\n  - ".join(kept), encoding="utf-8")
    return path


def imported(engine: Engine, units: Path = UNITS) -> Engine:
    """The definitions deployed, the units registered and 19-CV/ĐUK imported."""
    deploy(engine, *FAN_OUT_WORKFLOWS)
    import_units(engine, units)
    import_directive(engine, DIRECTIVE)
    return engine


def secretary(unit: str) -> Actor:
    return Actor(f"bi_thu.{unit}", ["secretary", "committee", "drafter"], unit)


def plan(**overrides: object) -> dict[str, object]:
    """A complete plan, as 19-CV/ĐUK demands it."""
    content: dict[str, object] = {
        "title": "Kế hoạch cụ thể hóa Nghị quyết Đại hội",
        "targets": "100% đảng viên được quán triệt",
        "tasks": "Quán triệt; chương trình hành động",
        "solutions": "Gắn với nhiệm vụ chuyên môn",
        "resources": "Kinh phí hoạt động công tác đảng",
        "responsibilities": "Bí thư chịu trách nhiệm chung",
        "schedule": "Quý IV/2020",
        "preliminary_review_on": "2023-06-30",
        "final_review_on": "2025-06-30",
        "complete_by": "2025-09-30",
    }
    content.update(overrides)
    return {k: v for k, v in content.items() if v is not None}


_TEMPLATES: dict[str, Path] = {}


def sqlite_copy(folder: Path, clock: Clock, *, units: bool = False) -> Engine:
    """A SQLite engine on a copy of a database with every definition deployed (and the few
    units registered when ``units``): YAML parsing is slow, so it is done once per run."""
    key = "units" if units else "plain"
    template = _TEMPLATES.get(key)
    if template is None:
        template = Path(tempfile.mkdtemp(prefix="wf-domain-")) / "template.db"
        with Engine.open(f"sqlite:///{template}") as engine:
            deploy(engine)
            if units:
                import_units(engine, few_units(template.parent))
        _TEMPLATES[key] = template
    path = folder / "domain.db"
    shutil.copy(template, path)
    return Engine.open(f"sqlite:///{path}", clock=clock)
