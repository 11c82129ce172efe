"""Helpers shared by the directive-domain tests: the repository's files and deployed engines."""

from __future__ import annotations

from pathlib import Path

from workflow import Actor, Engine, import_directive, import_units

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


def imported(engine: Engine) -> Engine:
    """Every definition deployed, the units registered and 19-CV/ĐUK imported."""
    deploy(engine)
    import_units(engine, UNITS)
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
