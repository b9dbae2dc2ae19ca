"""Helpers for tests that run the SDK or the controller in separate processes."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vcpsdk.testing import free_port

REPO = Path(__file__).resolve().parents[1]
VCC = [sys.executable, "-m", "vcpsdk.controller.cli"]


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


@dataclass
class ServedController:
    """A ``vcc serve`` process on 127.0.0.1."""

    port: int
    state_dir: Path
    process: subprocess.Popen[bytes]

    def create_token(self, user: str, superuser: bool = False) -> str:
        """``vcc token create`` → the printed token."""
        args = [*VCC, "token", "create", "--user", user, "--state-dir", str(self.state_dir)]
        if superuser:
            args.append("--superuser")
        return subprocess.run(args, check=True, capture_output=True, text=True).stdout.strip()

    def write_config(self, config_dir: Path) -> Path:
        """``vcp_config.yml`` with ``vcc: {host, vcc_port, scheme: http}``."""
        config_dir.mkdir(parents=True, exist_ok=True)
        (config_dir / "vcp_config.yml").write_text(
            f"vcc:\n  host: 127.0.0.1\n  vcc_port: {self.port}\n  scheme: http\n"
        )
        return config_dir


@contextmanager
def vcc_serve(state_dir: Path, *extra: str) -> Iterator[ServedController]:
    """Run ``vcc serve --port 0`` until the block ends."""
    port_file = state_dir.parent / f"{state_dir.name}.port.json"
    port_file.unlink(missing_ok=True)  # a file left by an earlier server on this state
    process = subprocess.Popen(
        [
            *VCC,
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--port-file",
            str(port_file),
            "--state-dir",
            str(state_dir),
            "--boot-delay",
            "0",
            "--ssh-port",
            str(free_port()),
            *extra,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not port_file.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("vcc serve did not start")
            time.sleep(0.05)
        port = json.loads(port_file.read_text())["port"]
        yield ServedController(port, state_dir, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def refuse_non_loopback_names(monkeypatch: Any) -> list[str]:
    """Make every host name but 127.0.0.1/localhost fail to resolve; returns the refused names.

    Extension clients default to public endpoints: a test must never reach them.
    """
    refused: list[str] = []
    real = socket.getaddrinfo

    def guarded(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name not in ("127.0.0.1", "localhost"):
            refused.append(name)
            raise socket.gaierror(socket.EAI_NONAME, f"blocked in tests: {name}")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", guarded)
    return refused
