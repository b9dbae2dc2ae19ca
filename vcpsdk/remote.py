"""Run commands on nodes with the system OpenSSH client (``VcNode.ssh_exec`` & co).

The original SDK runs the local ``ssh`` command; so do we, adding connection
sharing (``ControlMaster``/``ControlPersist``: one TCP+SSH handshake per node and
minute instead of one per command) and non-interactive options.  Host keys are not
pinned (``StrictHostKeyChecking=no`` with no known_hosts file) because sandbox and
cloud nodes are re-created at the same addresses with new keys.
"""

from __future__ import annotations

import logging
import os
import shlex
import subprocess
import tempfile
from pathlib import Path
from typing import IO, Any

from vcpsdk.errors import VcpRemoteCommandError, VcpSDKError, raise_error

logger = logging.getLogger("vcp.sdk")

COMMON_OPTIONS = (
    "-o",
    "BatchMode=yes",
    "-o",
    "StrictHostKeyChecking=no",
    "-o",
    "UserKnownHostsFile=/dev/null",
    "-o",
    "LogLevel=ERROR",
    "-o",
    "ConnectTimeout=15",
    "-o",
    "ControlMaster=auto",
    "-o",
    "ControlPersist=60",
)


def _control_dir() -> Path:
    directory = Path(tempfile.gettempdir()) / f"vcpsdk-ssh-{os.getuid()}"
    directory.mkdir(mode=0o700, exist_ok=True)
    return directory


def ssh_options(port: int, private_key_path: str | None) -> list[str]:
    """Options shared by ``ssh`` and ``scp`` for one node."""
    options = [*COMMON_OPTIONS, "-o", f"ControlPath={_control_dir()}/%C"]
    if port and port != 22:
        options += ["-o", f"Port={port}"]
    if private_key_path:
        options += ["-i", str(Path(private_key_path).expanduser()), "-o", "IdentitiesOnly=yes"]
    return options


def run(
    argv: list[str],
    what: str,
    stdin: IO[Any] | int | None = None,
    input_bytes: bytes | None = None,
    decode: bool = True,
    env: dict[str, str] | None = None,
) -> tuple[Any, Any]:
    """Run ``argv`` locally; ``(stdout, stderr)``, or VcpRemoteCommandError on failure."""
    try:
        result = subprocess.run(
            argv,
            input=input_bytes,
            stdin=None if input_bytes is not None else (stdin if stdin is not None else subprocess.DEVNULL),
            capture_output=True,
            env=env,
            check=False,
        )
    except FileNotFoundError:
        raise_error(
            VcpSDKError,
            f"{what} failed: {argv[0]} is not installed "
            "(install the OpenSSH client, e.g. apt-get install openssh-client)",
        )
    stderr_text = result.stderr.decode(errors="replace")
    stdout: str | bytes = result.stdout.decode(errors="replace") if decode else result.stdout
    stderr: str | bytes = stderr_text if decode else result.stderr
    if result.returncode != 0:
        message = f"{what} failed: exit status {result.returncode}"
        logger.error("%s: %s", message, stderr_text.strip()[-500:])
        raise VcpRemoteCommandError(message, exit_status=result.returncode, stdout=stdout, stderr=stderr)
    return stdout, stderr


def remote_command(cmd: str | list[str], cwd: str | None) -> str:
    """The command line sent to the node (``cd <cwd> && <cmd>`` like the original)."""
    text = cmd if isinstance(cmd, str) else shlex.join(cmd)
    return f"cd {shlex.quote(cwd)} && {text}" if cwd else text
