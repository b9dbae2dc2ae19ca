"""``scripts/setup.sh`` says what it does (run here only in its dry-run mode: no apt, no pip)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
STEP = re.compile(r"^setup \[ *\d+s\] +\S")


def run_setup(root: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(root), "PYTHON": sys.executable, **env}
    return subprocess.run(
        ["bash", str(root / "scripts" / "setup.sh"), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=environment,
    )


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A copy of the script and pyproject.toml, without .venv."""
    (tmp_path / "scripts").mkdir()
    shutil.copy(REPO / "scripts" / "setup.sh", tmp_path / "scripts" / "setup.sh")
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_help_describes_the_steps_and_options(checkout: Path) -> None:
    result = run_setup(checkout, "--help")
    assert result.returncode == 0
    assert result.stdout.startswith("usage: bash scripts/setup.sh [--quiet] [--dry-run] [--help]")
    for word in ("apt packages", "virtualenv", "pip", "vCenter simulator", "--quiet", "--dry-run"):
        assert word in result.stdout


def test_an_unknown_option_is_refused(checkout: Path) -> None:
    result = run_setup(checkout, "--fast")
    assert result.returncode == 2
    assert "setup: unknown option --fast" in result.stderr


def test_dry_run_prints_each_step_with_elapsed_time_and_changes_nothing(checkout: Path) -> None:
    result = run_setup(checkout, "--dry-run")
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert lines and all(STEP.match(line) for line in lines), lines
    text = "\n".join(lines)
    assert "checking apt packages" in text
    assert "creating the virtualenv .venv" in text
    assert f"would run: {sys.executable} -m venv .venv" in text
    assert "pip: would install pip and .[test,docs]" in text
    assert "would run: bash scripts/build-vcsim.sh" in text
    assert lines[-1].endswith("ready (dry run: nothing was changed)")
    assert result.stdout == ""
    assert sorted(p.name for p in checkout.iterdir()) == ["pyproject.toml", "scripts"]


def test_quiet_prints_nothing(checkout: Path) -> None:
    for result in (
        run_setup(checkout, "--dry-run", "--quiet"),
        run_setup(checkout, "--dry-run", VCPSDK_SETUP_QUIET="1"),
    ):
        assert result.returncode == 0
        assert result.stderr == result.stdout == ""
