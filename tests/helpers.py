"""Helpers shared by several test folders: Python in separate processes, SDK log lines.

The controller runners live in :mod:`vcpsdk.testing` (``vcpsdk.testing.serve.vcc_serve``
for ``vcc serve`` in its own process); ``refuse_non_loopback_names`` is
:func:`vcpsdk.testing.network.refuse_non_loopback_names`, importable from here too.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from vcpsdk.testing.network import refuse_non_loopback_names

__all__ = ["REPO", "refuse_non_loopback_names", "run_python", "sdk_messages", "tcp_connect"]

REPO = Path(__file__).resolve().parents[1]


def run_python(
    code_or_path: str | Path, env: dict[str, str], timeout: float = 120, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a script file or a ``-c`` snippet with ``env`` added to a clean environment."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("VCPSDK_")}
    full_env.update(env)
    args = [str(code_or_path)] if isinstance(code_or_path, Path) else ["-c", code_or_path]
    return subprocess.run(
        [sys.executable, *args], env=full_env, capture_output=True, text=True, timeout=timeout, cwd=cwd
    )


def sdk_messages(caplog: pytest.LogCaptureFixture, level: int = logging.INFO) -> list[str]:
    """Messages logged on ``vcp.sdk`` at exactly ``level``."""
    return [r.getMessage() for r in caplog.records if r.name == "vcp.sdk" and r.levelno == level]


def tcp_connect(address: str, port: int, timeout: float = 5) -> None:
    """Open and close a TCP connection (ConnectionRefusedError when nobody listens)."""
    with socket.create_connection((address, port), timeout=timeout):
        pass
