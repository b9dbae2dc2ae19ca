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
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from vcpsdk.controller.tls import SELF_SIGNED_DIR
from vcpsdk.core.polling import PollTimeout, poll
from vcpsdk.testing.network import free_port

#: the ``vcc`` command line of this Python
VCC = [sys.executable, "-m", "vcpsdk.controller.cli"]
#: proxy variables (compared in lower case) a test's ``vcc`` process never inherits: with one
#: set, requests, azure-core, oci and botocore would send even 127.0.0.1 traffic to the proxy
PROXY_VARIABLES = frozenset({"http_proxy", "https_proxy", "all_proxy", "ftp_proxy", "no_proxy"})
#: prefixes of the cloud SDKs' credential and endpoint variables a test's ``vcc`` process never
#: inherits (the operator's real accounts)
CLOUD_VARIABLE_PREFIXES = ("AWS_", "AZURE_", "OCI_", "SAKURACLOUD_", "VSPHERE_", "GOVC_")
#: set to ``1``, ``vcc`` refuses (and reports) every connection off 127.0.0.0/8 and exits
#: with :data:`LOOPBACK_VIOLATION_EXIT` when there was one (see :func:`loopback_only_run`)
LOOPBACK_ONLY_ENV = "VCPSDK_LOOPBACK_ONLY"
#: the exit status of ``vcc`` under :data:`LOOPBACK_ONLY_ENV` after a refused connection
LOOPBACK_VIOLATION_EXIT = 4


def subprocess_env(explicit: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment a test starts ``vcc serve`` / ``vcc fake-cloud`` with: this process's,
    without proxies (both spellings) and cloud credential variables, with ``NO_PROXY`` for
    loopback, plus what the test sets explicitly.

    Args:
        explicit: variables the test sets for the process (they win, even a cloud's).

    Returns:
        The environment for :class:`subprocess.Popen`.

    Example::

        subprocess.Popen([*VCC, "serve", ...], env=subprocess_env({"AWS_REGION": "us-east-1"}))
    """
    env = {
        name: value
        for name, value in os.environ.items()
        if name.lower() not in PROXY_VARIABLES and not name.upper().startswith(CLOUD_VARIABLE_PREFIXES)
    }
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env.update(explicit or {})
    return env


class _Stopped(Exception):
    """SIGTERM/SIGINT ended a command run by :func:`loopback_only_run`."""


def loopback_only_run(run: Callable[[], int]) -> int:
    """``run()`` with every connection off 127.0.0.0/8 refused (what ``vcc`` does when
    :data:`LOOPBACK_ONLY_ENV` is ``1``).

    A SIGTERM or SIGINT that ``run`` does not handle itself (``vcc serve`` re-raises it after
    its graceful shutdown) ends it with status 0, so that the refusals are still reported.

    Args:
        run: the command (returns its exit status).

    Returns:
        Its exit status, or :data:`LOOPBACK_VIOLATION_EXIT` when a connection was refused
        (the refused addresses are reported on stderr).
    """
    from vcpsdk.testing.network import loopback_only

    def stopped(signum: int, frame: object) -> None:
        raise _Stopped(signum)

    previous = {sig: signal.signal(sig, stopped) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        with loopback_only() as violations:
            try:
                status = run()
            except _Stopped:
                status = 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if violations:
        print(f"vcc: {LOOPBACK_ONLY_ENV}: refused connections to {', '.join(violations)}", file=sys.stderr)
        return LOOPBACK_VIOLATION_EXIT
    return status


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
        done = subprocess.run(args, check=True, capture_output=True, text=True, env=subprocess_env())
        return done.stdout.strip()

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
def vcc_serve(
    state_dir: Path, *extra: str, tls: bool = False, env: Mapping[str, str] | None = None
) -> Iterator[ServedController]:
    """Run ``vcc serve --port 0`` (sandbox nodes boot at once) until the block ends, in the
    environment of :func:`subprocess_env` (no proxies, no cloud credentials).

    Args:
        state_dir: the controller's state directory.
        extra: more ``vcc serve`` arguments.
        tls: serve HTTPS with ``--tls-self-signed`` (the certificate is in
            ``<state_dir>/tls/cert.pem``).
        env: variables set for the process on top of the cleaned environment.

    Yields:
        The running process and its port.

    Raises:
        RuntimeError: the server exited or did not report its port within 30 s.
        AssertionError: after the block, when the server (run with ``env``
            ``{LOOPBACK_ONLY_ENV: "1"}`` or that variable set in this process) refused a
            connection off 127.0.0.0/8.
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
        env=subprocess_env(env),
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
    if process.returncode == LOOPBACK_VIOLATION_EXIT:
        raise AssertionError(f"vcc serve connected off loopback: {log_path.read_text()[-2000:]}")
