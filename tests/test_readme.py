"""The README's library example runs as written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def test_readme_has_a_library_example():
    assert any("Engine.open" in block for block in python_blocks())


def test_readme_library_example_runs_as_written(tmp_path):
    example = next(block for block in python_blocks() if "Engine.open" in block)
    result = subprocess.run([sys.executable, "-c", example], cwd=tmp_path, capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert "refused, missing: ('paid',)" in result.stdout
    assert "paid 3" in result.stdout
