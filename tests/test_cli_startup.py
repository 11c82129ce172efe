"""A one-shot command loads only what it needs: `workflow fire` neither pydantic nor features.

Real imports in a fresh interpreter (no timing here; the speed is measured in bench/).
"""

from __future__ import annotations

import json
import subprocess
import sys

from support import PAYMENT

from workflow import Engine

# What firing on a deployed version never needs: the schema (pydantic), Alembic, every feature.
NOT_FOR_FIRE = (
    "pydantic",
    "alembic",
    "workflow.definition.schema",
    "workflow.definition.loader",
    "workflow.admin",
    "workflow.auditing",
    "workflow.directives",
    "workflow.events",
    "workflow.timers",
)

PROBE = """
import json, sys
from cli.main import run
code = run(sys.argv[1:])
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def _probe(*args: str) -> tuple[dict[str, object], str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=120,
        check=False,
    )
    *output, last = done.stdout.strip().splitlines()
    return json.loads(last), "\n".join(output)


def _loaded(modules: object, prefixes: tuple[str, ...]) -> list[str]:
    assert isinstance(modules, list)
    return [m for m in modules if any(m == p or m.startswith(f"{p}.") for p in prefixes)]


def test_fire_in_a_fresh_process_loads_neither_the_schema_nor_the_features(tmp_path):
    url = f"sqlite:///{tmp_path / 'w.db'}"
    with Engine(url) as engine:
        engine.deploy_text(PAYMENT, filename="payment.yaml")
        engine.add_actor("lan", ["clerk"])
        instance = engine.start("payment", engine.actor("lan")).instance.id
    result, output = _probe(
        "--db", url, "fire", str(instance), "pay", "--actor", "lan", "--payload",
        '{"paid": 150}', "--json",
    )
    assert result["code"] == 0
    assert json.loads(output)["instance"]["state"] == "paid"
    assert _loaded(result["modules"], NOT_FOR_FIRE) == []


def test_help_does_not_import_the_engine():
    """Help reads its language and catalogue (workflow.i18n and the light modules of the root:
    errors, clock, limits, records), never the engine, the database or the definitions."""
    result, output = _probe("--help")
    assert result["code"] == 0
    assert "fire" in output
    heavy = ("sqlalchemy", "pydantic", "yaml", "transitions", "workflow.engine", "workflow.store",
             "workflow.definition", *NOT_FOR_FIRE)
    assert _loaded(result["modules"], heavy) == []
