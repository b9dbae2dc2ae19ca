"""scripts/check_import_cycles.py, the import-cycle gate of scripts/test.sh."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "check_import_cycles.py"


def gate(root: Path, package: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [sys.executable, str(SCRIPT), package], capture_output=True, text=True, env=env, timeout=60
    )


def write_package(root: Path, modules: dict[str, str]) -> None:
    package = root / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for name, source in modules.items():
        (package / f"{name}.py").write_text(source)


def test_a_cycle_fails_the_gate_and_is_named(tmp_path: Path) -> None:
    write_package(tmp_path, {"a": "from pkg import b\n", "b": "from pkg import c\n", "c": "import pkg.a\n"})
    result = gate(tmp_path, "pkg")
    assert result.returncode == 1
    assert "import cycle (3 modules)" in result.stdout
    assert "import cycles in pkg: 1" in result.stdout


def test_a_cycle_seen_only_by_type_checking_counts_too(tmp_path: Path) -> None:
    write_package(
        tmp_path,
        {
            "a": "from pkg import b\n",
            "b": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import a\n",
        },
    )
    assert gate(tmp_path, "pkg").returncode == 1


def test_no_cycle_passes(tmp_path: Path) -> None:
    write_package(tmp_path, {"a": "from pkg import b\n", "b": "import json\n"})
    result = gate(tmp_path, "pkg")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "import cycles in pkg: 0" in result.stdout
