"""The architecture, enforced: layers import downwards only, and the CLI uses the public API."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "workflow"

# The layer of each top-level module or package of src/workflow; a module may import only
# modules of its own layer or below. Every top-level name must be listed: a new module is placed
# in the architecture on purpose, not by default.
LAYERS = {
    "i18n": 0, "errors": 0, "clock": 0, "records": 0, "limits": 0, "logs": 0, "shipped": 0,
    "office": 0, "workdays": 0,
    "definition": 1,
    "registry": 2,
    "store": 3, "hashchain": 3,
    "_machine": 4, "_effects": 4, "_schedule": 4, "_steps": 4, "_idempotency": 4, "_legal": 4,
    "_verification": 4,
    "catalog": 4,
    "engine": 4, "workers": 4,
    "__init__": 6,
    # the front ends inside the package: the HTTP service and the web console (issue 21), like
    # the CLI (public API only, tested below); the console may use the service's face
    "service": 7, "web": 8,
}
FEATURE_LAYER = 5
# Layer 5: the feature packages built on the engine (see docs/architecture.md).
FEATURES = (
    "accounts", "admin", "auditing", "directives", "events", "timers", "retry", "embedding",
    "testing", "scenarios",
)
LAYERS.update(dict.fromkeys(FEATURES, FEATURE_LAYER))

# Which feature may use which other feature. Features are siblings: each stands on the engine,
# and one leans on another only where the domain says so (none today: the demo, which drives the
# timer worker and the outbox, is the CLI's; the testing helpers run due timers).
FEATURE_USES: dict[str, set[str]] = {
    # an application's tests run the due timers of the scenario they play
    "testing": {"timers"},
    # a scenario's `wait` lets time pass: the timers due by then fire, as the worker would fire them
    "scenarios": {"timers"},
    # the overseers of a directive see its items (workflow.accounts.Sight)
    "accounts": {"directives"},
}

# Private core pieces some features reach for, beyond the engine's public methods. Pinned so a
# new reach is a decision: migration recompiles machines and reschedules timers; a directive
# import starts many instances in one transaction.
PRIVATE_CORE_USES = {
    ("workflow.admin.migration", "workflow._machine"),
    ("workflow.admin.migration", "workflow._schedule"),
    ("workflow.directives.imports", "workflow._steps"),
}


def top_of(module: str) -> str:
    parts = module.split(".")
    if parts[0] != "workflow":
        raise ValueError(module)
    return parts[1] if len(parts) > 1 else "__init__"


def layer_of(module: str) -> int:
    return LAYERS[top_of(module)]


def module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, *, names: bool = False) -> list[str]:
    """The modules a file imports; with ``names``, also ``module.name`` for ``from m import n``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
            if names:
                found.extend(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def is_private(dotted: str) -> bool:
    # `_` is gettext's name for "translate this" (workflow.i18n._), public by convention
    return any(part.startswith("_") and part not in ("__init__", "_") for part in dotted.split("."))


SOURCES = sorted(p for p in SRC.rglob("*.py") if "migrations" not in p.parts)
FRONT_ENDS = ("service", "web")
FRONT_END_SOURCES = [p for p in SOURCES if p.relative_to(SRC).parts[0] in FRONT_ENDS]
SERVICE_SOURCES = [p for p in SOURCES if p.relative_to(SRC).parts[0] == "service"]
FEATURE_SOURCES = [p for p in SOURCES if layer_of(module_name(p)) == FEATURE_LAYER]


def test_every_top_level_module_has_a_layer():
    tops = {p.relative_to(SRC).parts[0].removesuffix(".py") for p in SOURCES}
    assert tops <= LAYERS.keys(), f"place these in LAYERS: {sorted(tops - LAYERS.keys())}"


def test_feature_packages_have_their_modules():
    # the flat list of feature modules is gone: each feature is a package (retry is one module)
    assert FEATURE_SOURCES
    for name in FEATURES:
        assert (SRC / name / "__init__.py").is_file() or (SRC / f"{name}.py").is_file(), name


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


# The public modules beside the root: the feature packages' faces, the shipped files, the
# messages (the catalogue's language, dates and times as people read them) and the service.
PUBLIC_MODULES = {f"workflow.{name}" for name in (*FEATURES, "shipped", "i18n", "service")}
PUBLIC_MODULES -= {"workflow.retry"}


@pytest.mark.parametrize("path", sorted((ROOT / "cli").rglob("*.py")),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_cli_uses_only_the_public_api(path):
    deep = [m for m in imports_of(path) if m.startswith("workflow.") and m not in PUBLIC_MODULES]
    assert not deep, f"{path.name} reaches past the public API: {deep}"


@pytest.mark.parametrize("path", sorted((ROOT / "cli").rglob("*.py")),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_cli_imports_itself_relatively(path):
    # the wheel installs cli/ as workflow_cli: an absolute `from cli...` would find nothing there
    absolute = [m for m in imports_of(path) if m == "cli" or m.startswith("cli.")]
    assert not absolute, f"{path.name}: import these relatively: {absolute}"


@pytest.mark.parametrize("path", SERVICE_SOURCES, ids=lambda p: str(p.relative_to(SRC)))
def test_the_service_uses_only_the_public_api(path):
    """Like the CLI, the service is a client: the root and the feature faces, and its own
    package's modules."""
    deep = [m for m in imports_of(path) if m.startswith("workflow.") and m not in PUBLIC_MODULES
            and not m.startswith("workflow.service")]
    assert not deep, f"{path.name} reaches past the public API: {deep}"


def test_the_service_is_not_imported_by_the_library():
    below = [module_name(p) for p in SOURCES if p not in FRONT_END_SOURCES
             and any(m.split(".")[:2] in (["workflow", "service"], ["workflow", "web"])
                     for m in imports_of(p))]
    assert not below


_CODE_RUNNERS = {"eval", "exec", "compile", "__import__"}


@pytest.mark.parametrize(
    "path",
    sorted([*SRC.rglob("*.py"), *(ROOT / "cli").rglob("*.py")]),
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_no_python_runs_code_made_from_text(path):
    """Nothing of a definition, a payload or a request can become code: no eval, exec,
    compile or __import__ anywhere in the package or the CLI (expressions are compiled to
    closures by workflow.definition, never to Python source)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = [
        f"{path.name}:{node.lineno}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and (
            (isinstance(node.func, ast.Name) and node.func.id in _CODE_RUNNERS)
            or (
                isinstance(node.func, ast.Attribute)
                and node.func.attr in _CODE_RUNNERS
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "builtins"
            )
        )
    ]
    assert not found


_SCRIPT_CODE_RUNNERS = re.compile(
    r"\b(?:eval|Function|execScript)\s*\(|\b(?:setTimeout|setInterval)\s*\(\s*[\"'`]"
)


@pytest.mark.parametrize(
    "path", sorted(p for p in SRC.rglob("*") if p.suffix in (".js", ".mjs", ".html")),
    ids=lambda p: str(p.relative_to(SRC)),
)
def test_no_script_in_the_package_runs_code_made_from_text(path):
    """The browser's side of the same rule: no script shipped in the package (the console's
    own, the templates') calls eval, Function or a string timer."""
    found = [
        f"{path.name}:{number}"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if _SCRIPT_CODE_RUNNERS.search(line)
    ]
    assert not found


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(SRC)))
def test_library_never_prints_or_exits(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    calls = [node.func.id for node in ast.walk(tree)
             if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)]
    assert "print" not in calls
    assert "exit" not in calls


def test_features_use_other_features_only_where_declared():
    uses: dict[str, set[str]] = {}
    for path in FEATURE_SOURCES:
        own = top_of(module_name(path))
        for m in imports_of(path):
            if m.startswith("workflow.") and top_of(m) in FEATURES and top_of(m) != own:
                uses.setdefault(own, set()).add(top_of(m))
    undeclared = {f: used - FEATURE_USES.get(f, set()) for f, used in uses.items()}
    assert not any(undeclared.values()), f"undeclared feature dependencies: {undeclared}"


def test_no_feature_imports_another_features_private_helpers():
    reaches = [(module_name(p), m) for p in FEATURE_SOURCES for m in imports_of(p, names=True)
               if m.startswith("workflow.") and top_of(m) in FEATURES
               and top_of(m) != top_of(module_name(p)) and is_private(m)]
    assert not reaches


def test_features_reach_into_private_core_only_where_pinned():
    reaches = {(module_name(p), m) for p in FEATURE_SOURCES for m in imports_of(p, names=True)
               if m.startswith("workflow.") and top_of(m) not in FEATURES and is_private(m)}
    # a pair whose module is private covers its names too
    reaches = {(name, m) for name, m in reaches
               if not any(m.startswith(known + ".") for n, known in PRIVATE_CORE_USES if n == name)}
    assert reaches == PRIVATE_CORE_USES


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(SRC)))
def test_library_never_imports_the_cli(path):
    assert not [m for m in imports_of(path) if m == "cli" or m.startswith("cli.")]


# Only the store speaks SQL. The engine holds the transaction plumbing (it opens transactions
# and turns the database's errors into the library's: engine/_transactions.py, and
# engine/_engine.py's schema check); everything else calls store functions.
SQL_IMPORTERS = {"workflow.engine._engine", "workflow.engine._transactions"}


def _imports_sqlalchemy(path: Path) -> bool:
    return any(m == "sqlalchemy" or m.startswith("sqlalchemy.") for m in imports_of(path))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(SRC)))
def test_only_the_store_imports_sqlalchemy(path):
    name = module_name(path)
    if name.startswith("workflow.store") or name in SQL_IMPORTERS:
        return
    assert not _imports_sqlalchemy(path), f"{name} builds SQL: move it into a store/ module"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(SRC)))
def test_no_module_outside_the_store_reaches_the_tables(path):
    """Neither ``import workflow.store.tables`` nor ``from workflow.store import tables``
    (nor a table imported by name from it)."""
    name = module_name(path)
    if name.startswith("workflow.store"):
        return
    reaches = [m for m in imports_of(path, names=True)
               if m == "workflow.store.tables" or m.startswith("workflow.store.tables.")]
    assert not reaches, f"{name} uses the tables directly: {reaches}"


def test_the_table_check_sees_every_spelling(tmp_path):
    """The check above catches the three ways of importing the tables."""
    spellings = ("import workflow.store.tables\n",
                 "from workflow.store import tables\n",
                 "from workflow.store.tables import instances\n")
    for text in spellings:
        path = tmp_path / "probe.py"
        path.write_text(text, encoding="utf-8")
        assert any(m == "workflow.store.tables" or m.startswith("workflow.store.tables.")
                   for m in imports_of(path, names=True)), text
