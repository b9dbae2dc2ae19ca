"""Run ``vcc serve`` in a separate process, for tests and benchmarks.

Unlike :func:`vcpsdk.testing.running_controller` (a controller in a thread of the test
process), this is the controller exactly as an operator starts it: its own process, its
own event loop, shut down with SIGTERM.

Example::

    from vcpsdk.testing.serve import vcc_serve

    with vcc_serve(tmp_path / "state") as served:
        vcp = VcpSDK(served.create_token("alice"), config_dir=str(served.write_config(tmp_path / "cfg")))
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from vcpsdk.controller.tls import SELF_SIGNED_DIR
from vcpsdk.core.polling import PollTimeout, poll
from vcpsdk.testing.network import free_port

#: the ``vcc`` command line of this Python
VCC = [sys.executable, "-m", "vcpsdk.controller.cli"]


@dataclass
class ServedController:
    """A ``vcc serve`` process on 127.0.0.1."""

    port: int
    state_dir: Path
    process: subprocess.Popen[bytes]
    #: the certificate it serves HTTPS with (``None``: plain http)
    cert_path: Path | None = None
    #: where the process's stderr goes (what ``vcc serve`` prints: address, certificate)
    log_path: Path | None = None

    def create_token(self, user: str, superuser: bool = False) -> str:
        """``vcc token create`` → the printed token.

        Args:
            user: the token's user.
            superuser: create a superuser's token.

        Returns:
            The new access token.
        """
        args = [*VCC, "token", "create", "--user", user, "--state-dir", str(self.state_dir)]
        if superuser:
            args.append("--superuser")
        return subprocess.run(args, check=True, capture_output=True, text=True).stdout.strip()

    def write_config(self, config_dir: Path) -> Path:
        """Write ``vcp_config.yml`` with ``vcc: {host, vcc_port, scheme: http}`` (with TLS:
        ``scheme: https`` and ``insecure_request_warning: False`` for the self-signed
        certificate).

        Returns:
            ``config_dir``.
        """
        config_dir.mkdir(parents=True, exist_ok=True)
        scheme = "https\n  insecure_request_warning: False" if self.cert_path else "http"
        (config_dir / "vcp_config.yml").write_text(
            f"vcc:\n  host: 127.0.0.1\n  vcc_port: {self.port}\n  scheme: {scheme}\n"
        )
        return config_dir


@contextmanager
def vcc_serve(state_dir: Path, *extra: str, tls: bool = False) -> Iterator[ServedController]:
    """Run ``vcc serve --port 0`` (sandbox nodes boot at once) until the block ends.

    Args:
        state_dir: the controller's state directory.
        extra: more ``vcc serve`` arguments.
        tls: serve HTTPS with ``--tls-self-signed`` (the certificate is in
            ``<state_dir>/tls/cert.pem``).

    Yields:
        The running process and its port.

    Raises:
        RuntimeError: the server exited or did not report its port within 30 s.
    """
    port_file = state_dir.parent / f"{state_dir.name}.port.json"
    port_file.unlink(missing_ok=True)  # a file left by an earlier server on this state
    log_path = state_dir.parent / f"{state_dir.name}.stderr.log"
    log = log_path.open("wb")
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
            *(["--tls-self-signed"] if tls else []),
        ],
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    log.close()  # the child has its own copy
    try:
        with suppress(PollTimeout):  # a timeout is reported below, like an early exit
            poll(lambda: port_file.exists() or process.poll() is not None, bool, timeout=30, interval=0.05)
        if not port_file.exists():
            raise RuntimeError("vcc serve did not start")
        port = json.loads(port_file.read_text())["port"]
        cert = state_dir / SELF_SIGNED_DIR / "cert.pem" if tls else None
        yield ServedController(port, state_dir, process, cert, log_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
