"""The wheel on its own: built once, installed into a fresh virtual environment that cannot see
the checkout, and used from an empty directory as a new user would.

The dependencies come from a wheelhouse kept beside the test environment (``wheel-test`` under
its prefix), filled once from the package index with the versions installed here and reused
offline afterwards (``pip install --no-index``). The fresh environment is made anew at the same
place each session, so that mypy's cache of the dependencies stays valid between sessions.
"""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
DISTRIBUTION = "directive-workflow"
KEPT = Path(sys.prefix) / "wheel-test"
WHEELHOUSE = KEPT / "wheelhouse"
VERSION = importlib.metadata.version(DISTRIBUTION)


def _run(args: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None,
         check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=300, check=False)
    if check and result.returncode != 0:
        pytest.fail(f"{' '.join(args)} exited {result.returncode}:\n{result.stdout}{result.stderr}")
    return result


def _runtime_pins() -> list[str]:
    """Our runtime dependencies (no extra) at the versions installed in this environment."""
    pins = []
    for text in importlib.metadata.requires(DISTRIBUTION) or []:
        requirement = Requirement(text)
        if requirement.marker is None:
            pins.append(f"{requirement.name}=={importlib.metadata.version(requirement.name)}")
    return pins


def _pip_install(python: Path, *requirements: str, find_links: Path) -> None:
    """Install into the environment of ``python`` with this environment's pip, offline; on a
    first run, fill the wheelhouse from the index and try again."""
    command = [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
               "--no-compile", "--no-index", "--find-links", str(WHEELHOUSE),
               "--find-links", str(find_links), *requirements]
    if _run(command, check=False).returncode != 0:
        _run([sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:",
              "--dest", str(WHEELHOUSE), *_runtime_pins()])
        _run(command)


def _build(kind: str, out: Path, source: Path) -> Path:
    """Build a ``wheel`` or an ``sdist`` of ``source`` into ``out`` (the development backend)."""
    done = _run([sys.executable, "-c", f"import sys; from hatchling.build import build_{kind}; "
                 f"print(build_{kind}(sys.argv[1]))", str(out)], cwd=source)
    return out / done.stdout.strip()


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    """The wheel, built the way `python -m build` does: an sdist of the checkout, then a wheel
    from the unpacked sdist (so the links in src/ must survive the sdist)."""
    out = tmp_path_factory.mktemp("dist")
    sdist = _build("sdist", out, ROOT)
    with tarfile.open(sdist) as archive:
        archive.extractall(out, filter="data")
    _build("wheel", out, out / sdist.name.removesuffix(".tar.gz"))
    return out


@pytest.fixture(scope="module")
def venv(dist) -> Path:
    """A fresh virtual environment (no system site-packages) with the wheel installed."""
    home = KEPT / "venv"
    _run([sys.executable, "-m", "venv", "--clear", "--without-pip", str(home)])
    _pip_install(home / "bin" / "python", DISTRIBUTION, find_links=dist)
    return home


@pytest.fixture
def user(venv, tmp_path):
    """Run a command of the installed environment from an empty directory."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("WORKFLOW_", "PYTHON", "VIRTUAL_ENV"))}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    cwd = tmp_path / "empty"
    cwd.mkdir()

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return _run(list(args), cwd=cwd, env=env, check=check)

    run.cwd = cwd  # type: ignore[attr-defined]
    return run


def test_the_wheel_carries_the_web_consoles_templates_and_static_files(dist):
    wheel = next(dist.glob("*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    static = ("static/console.js", "static/console.css")
    for name in (*static, "templates/base.html", "templates/item.html"):
        assert f"workflow/web/{name}" in names, name


def test_the_installed_package_is_the_wheel_not_the_checkout(user, venv):
    found = user("python", "-c", "import workflow, workflow_cli; "
                 "print(workflow.__file__); print(workflow_cli.__file__)").stdout.split()
    assert all(Path(f).is_relative_to(venv) for f in found), found


def test_version_answers(user):
    assert user("workflow", "--version").stdout.strip() == f"workflow, version {VERSION}"


def test_demo_runs_from_an_empty_directory(user):
    out = user("workflow", "demo", "--quiet").stdout
    # in Vietnamese, from the catalogue compiled into the wheel
    assert "== kiểm tra nhật ký: đạt:" in out
    assert sorted(p.name for p in user.cwd.iterdir()) == ["demo.db"]


def test_shipped_definitions_deploy_start_fire_and_verify(user):
    deployed = user("workflow", "definitions", "deploy", "--builtin").stdout
    assert "deployed plan_drafting@1" in deployed
    user("workflow", "actors", "add", "sec", "--role", "secretary", "--unit", "chi_bo_1")
    user("workflow", "actors", "add", "sup", "--role", "supervisor", "--unit", "chi_bo_1")
    assert "started instance 1" in user("workflow", "start", "difficulty_report", "--actor",
                                        "sec").stdout
    assert "reported -> escalated" in user("workflow", "fire", "1", "escalate", "--actor",
                                           "sup").stdout
    assert user("workflow", "audit", "verify").stdout.startswith("ok: 1 chains, 2 events")


def test_the_wheel_ships_the_compiled_catalogue(dist):
    wheel = next(dist.glob("*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert "workflow/locale/vi/LC_MESSAGES/workflow.mo" in names


def test_examples_export_and_docs(user):
    user("workflow", "examples", "export", "mine")
    assert (user.cwd / "mine" / "examples" / "19-CV-DUK.yaml").is_file()
    assert user("workflow", "docs", "cli").stdout.startswith("#")


def test_without_the_extra_no_postgresql_driver_is_installed(user):
    listed = user("python", "-c", "import importlib.metadata as m; "
                  "print('\\n'.join(d.metadata['Name'].lower() for d in m.distributions()))")
    names = listed.stdout.split()
    assert DISTRIBUTION in names
    assert not [n for n in names if "psycopg" in n], names


def test_a_postgresql_url_without_the_driver_fails_in_one_line_naming_the_extra(user):
    result = user("workflow", "--db", "postgresql+psycopg://app@127.0.0.1:1/db", "db", "current",
                  check=False)
    assert result.returncode == 2
    assert result.stderr == (
        "error: PostgreSQL needs the psycopg driver: pip install 'directive-workflow[postgres]'\n"
    )


def test_mypy_strict_types_the_installed_package(user, venv):
    (user.cwd / "use.py").write_text(
        "import workflow\n\nengine: workflow.Engine = workflow.Engine.open('sqlite://')\n",
        encoding="utf-8")
    result = user(str(Path(sys.executable).with_name("mypy")), "--strict", "--config-file=",
                  "--cache-dir", str(KEPT / "mypy-cache"),
                  "--python-executable", str(venv / "bin" / "python"), "use.py", check=False)
    assert result.returncode == 0, result.stdout
    assert "import-untyped" not in result.stdout


def _dummy_cli_wheel(directory: Path) -> Path:
    """A distribution shipping its own top-level ``cli`` package with a ``main``."""
    name, version = "other_cli", "9.9"
    info = f"{name}-{version}.dist-info"
    files = {
        "cli/__init__.py": "",
        "cli/main.py": "def main():\n    print('other cli 9.9')\n",
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
                         "Tag: py3-none-any\n",
        f"{info}/entry_points.txt": "[console_scripts]\nother-cli = cli.main:main\n",
    }
    path = directory / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as wheel:
        for file, text in files.items():
            wheel.writestr(file, text)
        wheel.writestr(f"{info}/RECORD", "".join(f"{f},,\n" for f in files) + f"{info}/RECORD,,\n")
    return path


def test_another_distributions_cli_package_does_not_touch_ours(user, venv, tmp_path):
    _pip_install(venv / "bin" / "python", "other_cli", find_links=_dummy_cli_wheel(tmp_path).parent)
    assert user("other-cli").stdout == "other cli 9.9\n"
    assert user("workflow", "--version").stdout.strip() == f"workflow, version {VERSION}"
