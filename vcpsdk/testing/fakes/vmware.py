"""govmomi's vCenter simulator (vcsim) as a subprocess on 127.0.0.1, for the vSphere tests.

Not a hand-written fake: ``scripts/build-vcsim.sh`` builds the real simulator from Debian's
govmomi sources (with ``scripts/vcsim/main.go``), and this module runs it.  Its inventory:
datacenter ``DC0``, cluster ``DC0_C0`` (root pool ``Resources``, child pool ``DC0_C0_RP1``),
networks ``VM Network`` and ``DC0_DVPG0``, datastore ``LocalDS_0`` and one powered-off
template VM (:data:`TEMPLATE`).  It serves HTTPS with a fresh P-256 certificate (written to
``cert_path``) and keeps its state in memory until stopped.

The binary is ``$VCPSDK_VCSIM``, else the ``vcsim`` link the build script leaves in
``${VCPSDK_CACHE:-~/.cache/vcpsdk}``.  Without it :class:`VcsimMissing` says to run the build.

Example::

    with running_vcsim(tmp_path) as sim:
        si = sim.connect()                  # pyvmomi, verifying sim.cert_path
        ...
        assert sim.leftovers() == []        # VMs other than the template
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vcpsdk.core.polling import PollTimeout, poll

#: the simulator's inventory names and the credentials of the tests (fake)
DATACENTER = "DC0"
RESOURCE_POOL = "DC0_C0_RP1"
NETWORK = "VM Network"
DV_PORTGROUP = "DC0_DVPG0"
TEMPLATE = "vcp-template"
USER = "vcp-tester"
PASSWORD = "vcsim-Pa55word"  # the simulator's fake password
#: what to run when the binary is missing
BUILD = "scripts/build-vcsim.sh"


class VcsimMissing(RuntimeError):
    """The vcsim binary is not there (build it with ``scripts/build-vcsim.sh``)."""


def cache_dir() -> Path:
    """Where ``scripts/build-vcsim.sh`` keeps its builds (``$VCPSDK_CACHE``, else ~/.cache/vcpsdk)."""
    if os.environ.get("VCPSDK_CACHE"):
        return Path(os.environ["VCPSDK_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "vcpsdk"


def vcsim_binary() -> Path:
    """The vcsim binary: ``$VCPSDK_VCSIM``, else the build script's ``vcsim`` link.

    Raises:
        VcsimMissing: it does not exist, with how to build it.
    """
    path = Path(os.environ.get("VCPSDK_VCSIM") or cache_dir() / "vcsim")
    if not (path.is_file() and os.access(path, os.X_OK)):
        raise VcsimMissing(
            f"the vCenter simulator is not built ({path} missing): run {BUILD} "
            "(installs golang-go and golang-github-vmware-govmomi-dev with apt-get and builds it "
            "in about a minute), or set VCPSDK_VCSIM to a vcsim binary"
        )
    return path


@dataclass
class RunningVcsim:
    """A running simulator: where it listens, its certificate and the test credentials."""

    process: subprocess.Popen[bytes]
    url: str  # the SOAP endpoint, https://127.0.0.1:PORT/sdk
    host: str
    port: int
    cert_path: Path
    user: str = USER
    password: str = field(default=PASSWORD, repr=False)
    template: str = TEMPLATE

    @property
    def server(self) -> str:
        """``host:port``, as the catalog's ``vmware_vsphere_server``."""
        return f"{self.host}:{self.port}"

    def connect(self, password: str | None = None) -> Any:
        """A pyvmomi ``ServiceInstance`` of the simulator, its certificate verified."""
        import ssl

        from pyVim.connect import SmartConnect

        return SmartConnect(
            host=self.host,
            port=self.port,
            user=self.user,
            pwd=self.password if password is None else password,
            sslContext=ssl.create_default_context(cafile=str(self.cert_path)),
        )

    def vms(self) -> dict[str, dict[str, Any]]:
        """``{name: {"power": ..., "annotation": ..., "ip": ...}}`` of every VM (the template too)."""
        from pyVmomi import vim

        si = self.connect()
        try:
            view = si.content.viewManager.CreateContainerView(
                si.content.rootFolder, [vim.VirtualMachine], True
            )
            found = {
                vm.name: {
                    "power": str(vm.runtime.powerState),
                    "annotation": vm.config.annotation or "",
                    "ip": vm.guest.ipAddress or "",
                    "moref": vm._moId,
                }
                for vm in view.view
            }
            view.DestroyView()
            return found
        finally:
            si.content.sessionManager.Logout()

    def leftovers(self) -> list[str]:
        """The names of the VMs other than the template, sorted."""
        return sorted(name for name in self.vms() if name != self.template)

    def stop(self) -> None:
        """SIGTERM, and wait for the simulator to exit (killed after 10 s)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_vcsim(
    workdir: Path, *, port: int = 0, template: str = TEMPLATE, user: str = USER, password: str = PASSWORD
) -> RunningVcsim:
    """Start the simulator on ``127.0.0.1:port`` and wait for its address line.

    Args:
        workdir: where its certificate (``vcsim.pem``) and output go (created).
        port: the TCP port, 0 for any free port.
        template: the name of its template VM.
        user: the user name it accepts.
        password: the password it accepts (passed in the environment, not the command line).

    Returns:
        The running simulator (stop it with :meth:`RunningVcsim.stop`).

    Raises:
        VcsimMissing: the binary is not built.
        RuntimeError: it exited or printed nothing within 30 s (its stderr is included).
    """
    binary = vcsim_binary()
    workdir.mkdir(parents=True, exist_ok=True)
    cert = workdir / "vcsim.pem"
    out, err = workdir / "vcsim.out", workdir / "vcsim.err"
    command = [str(binary), "-listen", f"127.0.0.1:{port}", "-username", user, "-template", template]
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen(
            [*command, "-cert", str(cert)],
            stdout=stdout,
            stderr=stderr,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "VCSIM_PASSWORD": password},
        )

    def line() -> str:
        text = out.read_text(errors="replace")
        return text.split("\n", 1)[0] if "\n" in text else ""

    try:
        poll(lambda: line() or process.poll() is not None, bool, timeout=30, interval=0.02)
    except PollTimeout:
        pass
    if not line():
        if process.poll() is None:
            process.kill()
            process.wait()
        raise RuntimeError(f"vcsim did not start: {err.read_text(errors='replace').strip()[-2000:]}")
    info = json.loads(line())
    return RunningVcsim(
        process, str(info["url"]), str(info["host"]), int(info["port"]), cert, user, password, template
    )


@contextmanager
def running_vcsim(workdir: Path | None = None, **options: Any) -> Iterator[RunningVcsim]:
    """:func:`start_vcsim` for a ``with`` block (a temporary ``workdir`` by default)."""
    with tempfile.TemporaryDirectory(prefix="vcsim-") as tmp:
        sim = start_vcsim(workdir or Path(tmp), **options)
        try:
            yield sim
        finally:
            sim.stop()
