"""Fixtures of the private sandbox network tests: ``vcc sandbox run`` as a subprocess.

Every test here needs Linux user and network namespaces (util-linux ``unshare``), ``ip``
(iproute2), ``ping``, ``ssh`` and bubblewrap; a host without one of them fails the test
with the reason (never a silent skip).  Addresses such as ``172.30.2.x`` are only ever
used inside the namespaces these tests create.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from vcpsdk.controller.netns import NamespaceError, check_namespaces
from vcpsdk.testing.keys import make_ssh_keypair

HERE = Path(__file__).parent
SCRIPTS = HERE / "scripts"
#: the ``vcc`` entry point of this environment
VCC = [sys.executable, "-m", "vcpsdk.controller.cli"]
TOOLS = {
    "unshare": "util-linux",
    "ip": "iproute2",
    "ping": "iputils-ping",
    "ssh": "openssh-client",
    "bwrap": "bubblewrap",
}


@pytest.fixture(scope="session")
def namespaces() -> None:
    """Fail (with the reason) where the tools or the kernel's namespaces are missing."""
    missing = [f"{tool} ({package})" for tool, package in TOOLS.items() if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"the private network tests need {', '.join(missing)}: run scripts/setup.sh")
    try:
        check_namespaces()
    except NamespaceError as error:
        pytest.fail(f"the private network tests need user and network namespaces: {error}")


def environment() -> dict[str, str]:
    """The environment of ``vcc sandbox run``: this interpreter's bin first on PATH (ansible)."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.pop("VCPSDK_LOOPBACK_ONLY", None)  # the command inside may talk to 172.30.2.x there
    return env


def sandbox_run(
    *command: str,
    options: tuple[str, ...] = ("--boot-delay", "0"),
    timeout: float = 600,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """``vcc sandbox run OPTIONS -- COMMAND`` to completion (text output captured)."""
    return subprocess.run(
        [*VCC, "sandbox", "run", *options, "--", *command],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=environment(),
        cwd=cwd,
        check=False,
    )


@pytest.fixture
def node_key(tmp_path: Path) -> Path:
    """A private key for the nodes (its public half is ``<key>.pub``)."""
    return make_ssh_keypair(tmp_path)
