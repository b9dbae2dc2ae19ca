"""``vcc sandbox run [options] -- COMMAND...``: a sandbox and a command in a private network.

The command (``jupyter lab``, ``python script.py``, ``pytest``...) and a sandbox controller
run inside new Linux user, network, PID and mount namespaces made by util-linux
``unshare --user --map-root-user --net --pid --fork --kill-child --mount --mount-proc``;
this works as root and as a normal user where the kernel allows unprivileged user
namespaces.  Inside:

* the only interface is ``lo`` (up), with no route out: nothing can leave the namespace;
  ``/sys`` is the namespace's own sysfs (``/sys/class/net`` lists ``lo`` only);
* the controller serves the notebooks' own networks (aws ``172.30.2.0/24``, ...), and a
  node's address is on ``lo`` only while the node is up
  (``vcpsdk/controller/backends/sandbox/network.py``);
* ``VCPSDK_CONFIG_DIR`` names a ``vcp_config`` directory whose ``vcp_config.yml`` points at
  the controller, ``vault_port`` included (a copy of the user's ``~/vcp_config`` otherwise),
  ``VCPSDK_DATA_DIR`` the sandbox's files and ``VCPSDK_SANDBOX_TOKEN_FILE`` the token (also
  printed on stderr), which ``VcpSDK()`` without a token reads, so notebooks need no token
  (a token prompt still works);
* ``PATH`` starts with the bin directory of the interpreter vcpsdk runs in (``!ansible``);
* the command runs with the caller's own uid (a nested user namespace maps it), so
  ``jupyter lab`` needs no ``--allow-root``.

The command's exit status is returned.  When it ends (or on Ctrl-C, which reaches it as
usual), the controller is stopped and the namespaces disappear with their last process;
a data directory made for the run is removed.  SIGTERM or Ctrl-C before the command starts
stops the run (status 128 + N) after the same clean-up; SIGTERM later is passed on to the
command.  ``vcc sandbox run`` passes its signals on through a pipe that the supervisor
inside reads, so none is lost while it starts; when that pipe ends (``kill -9`` of
``vcc sandbox run``) the supervisor treats it as SIGTERM and the command gets
``STOP_TIMEOUT_SEC`` before it is killed, so nothing of the run outlives it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from vcpsdk.config import SANDBOX_TOKEN_FILE_ENV, SANDBOX_URL_ENV
from vcpsdk.controller.backends.sandbox.network import (
    LOOPBACK_INTERFACE,
    PRIVATE_NETWORK_ENV,
    check_private_namespace,
)

#: the namespaces of a run; ``--kill-child`` ends everything inside when ``unshare`` dies
UNSHARE_OPTIONS = (
    "--user",
    "--map-root-user",
    "--net",
    "--pid",
    "--fork",
    "--kill-child",
    "--mount",
    "--mount-proc",
)
#: environment the command gets
CONFIG_DIR_ENV = "VCPSDK_CONFIG_DIR"
DATA_DIR_ENV = "VCPSDK_DATA_DIR"
TOKEN_FILE_ENV = SANDBOX_TOKEN_FILE_ENV
URL_ENV = SANDBOX_URL_ENV
#: seconds the controller gets to stop before it is killed
STOP_TIMEOUT_SEC = 10.0
NO_NAMESPACES_HINT = (
    "unprivileged user namespaces are disabled on this host (sysctl kernel.unprivileged_userns_clone=0, "
    "user.max_user_namespaces=0, or AppArmor's kernel.apparmor_restrict_unprivileged_userns=1); "
    "run as root, or ask the administrator to allow them"
)


class NamespaceError(RuntimeError):
    """The private network cannot be made on this host (the message says why and what to do)."""


def build_parser() -> argparse.ArgumentParser:
    """The options of ``vcc sandbox run``."""
    parser = argparse.ArgumentParser(
        prog="vcc sandbox run",
        description="run COMMAND and a sandbox controller in a private network namespace "
        "(the notebooks' own addresses, e.g. 172.30.2.0/24; nothing leaves it)",
    )
    parser.add_argument(
        "--data-dir",
        default=None,
        help="keep the sandbox's files here (default: a temporary directory, removed)",
    )
    parser.add_argument(
        "--config-dir",
        default=None,
        help="vcp_config directory to copy (vcp_flavor.yml...) (default: $VCPSDK_CONFIG_DIR or ~/vcp_config)",
    )
    parser.add_argument(
        "--boot-delay", type=float, default=0.5, help="seconds a node takes to boot (default 0.5)"
    )
    parser.add_argument(
        "--unshare", default="unshare", help="util-linux unshare executable (default: on PATH)"
    )
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND [ARGS...]")
    return parser


def unshare_argv(unshare: str, inner: Sequence[str]) -> list[str]:
    """The command line that runs ``inner`` in new user, network, PID and mount namespaces."""
    return [unshare, *UNSHARE_OPTIONS, "--", *inner]


def check_namespaces(unshare: str = "unshare") -> str:
    """Make sure this host lets us create the namespaces; returns the ``unshare`` path.

    Raises:
        NamespaceError: ``unshare`` is missing or the kernel refuses the namespaces.
    """
    executable = shutil.which(unshare)
    if executable is None:
        raise NamespaceError(f"{unshare} (util-linux) is not installed; apt-get install util-linux")
    try:
        probe = subprocess.run(
            [executable, "--user", "--map-root-user", "--net", "true"],
            capture_output=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise NamespaceError(f"{executable} cannot run: {error}") from None
    if probe.returncode != 0:
        detail = probe.stderr.decode(errors="replace").strip() or f"exit status {probe.returncode}"
        raise NamespaceError(f"cannot create a user and network namespace ({detail}): {NO_NAMESPACES_HINT}")
    return executable


def run(argv: Sequence[str]) -> int:
    """``vcc sandbox run``: run the command inside a new private network; its exit status.

    Args:
        argv: the arguments after ``run``: options, ``--``, the command.

    Returns:
        the command's exit status (128 + N when signal N ended it), 2 for a usage error or a
        host without user namespaces.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    command = list(args.command)
    if command[:1] == ["--"]:
        command = command[1:]
    if not command:
        parser.print_usage(sys.stderr)
        print(
            "vcc sandbox run: give the command after --, e.g. vcc sandbox run -- jupyter lab", file=sys.stderr
        )
        return 2
    try:
        unshare = check_namespaces(args.unshare)
    except NamespaceError as error:
        print(f"vcc sandbox run: {error}", file=sys.stderr)
        return 2
    options = {
        "data_dir": args.data_dir,
        "config_dir": args.config_dir,
        "boot_delay": args.boot_delay,
        "uid": os.getuid(),
        "gid": os.getgid(),
        "unshare": unshare,
    }
    # the control pipe: the supervisor reads the signals we pass on from it (buffered, so
    # none is lost while it starts), and its end of file when this process dies (kill -9)
    control_read, control_write = os.pipe()
    options["control_fd"] = control_read
    inner = [sys.executable, "-m", "vcpsdk.controller.netns", json.dumps(options), *command]

    def forward(signum: int, frame: Any) -> None:
        """Pass SIGTERM/SIGINT on to the supervisor through the control pipe."""
        with contextlib.suppress(OSError):
            os.write(control_write, bytes([signum]))

    previous_int = signal.signal(signal.SIGINT, forward)
    previous_term = signal.signal(signal.SIGTERM, forward)
    try:
        try:
            child = subprocess.Popen(unshare_argv(unshare, inner), pass_fds=(control_read,))
        finally:
            os.close(control_read)
        status = child.wait()
    finally:
        signal.signal(signal.SIGINT, previous_int)
        signal.signal(signal.SIGTERM, previous_term)
        os.close(control_write)
    return status if status >= 0 else 128 - status


# -- inside the namespaces (pid 1, root of the new user namespace) -------------------------


def setup_network() -> None:
    """Bring ``lo`` up, mount the namespace's own sysfs, let every group ping, and check that
    ``lo`` is the only interface.

    Raises:
        NamespaceError: ``ip`` failed or another interface exists.
    """
    result = subprocess.run(["ip", "link", "set", LOOPBACK_INTERFACE, "up"], capture_output=True, check=False)
    if result.returncode != 0:
        raise NamespaceError(f"ip link set lo up: {result.stderr.decode(errors='replace').strip()}")
    # a sysfs of this network namespace (allowed to its owner), so /sys/class/net agrees with
    # ``ip addr``; the mount namespace of the run keeps it to the run
    sysfs = subprocess.run(
        ["mount", "-t", "sysfs", "-o", "nosuid,nodev,noexec", "sysfs", "/sys"],
        capture_output=True,
        check=False,
    )
    if sysfs.returncode != 0:
        detail = sysfs.stderr.decode(errors="replace").strip()
        print(f"vcc sandbox run: /sys still shows the host's interfaces ({detail})", file=sys.stderr)
    # per network namespace, and off ("1 0") in a new one; gid 0 here is the caller's group
    Path("/proc/sys/net/ipv4/ping_group_range").write_text("0 0\n")
    try:
        check_private_namespace()
    except RuntimeError as error:
        raise NamespaceError(str(error)) from None


def write_config(config_dir: Path, source: Path | None, port: int) -> None:
    """A ``vcp_config`` directory for the command: a copy of ``source`` (flavors, other
    files) whose ``vcp_config.yml`` names the private controller under ``vcc:``."""
    try:
        if source is not None and source.is_dir():
            shutil.copytree(source, config_dir, dirs_exist_ok=True)
    except OSError as error:  # an unreadable config dir: the controller's section is enough
        print(f"vcc sandbox run: {source} is not copied ({error})", file=sys.stderr)
    config_dir.mkdir(parents=True, exist_ok=True)
    config_file = config_dir / "vcp_config.yml"
    data: dict[str, Any] = {}
    if config_file.is_file():
        data = yaml.safe_load(config_file.read_text(encoding="utf-8")) or {}
    vcc = dict(data.get("vcc") or {})
    vcc.update(host="127.0.0.1", vcc_port=port, scheme="http", vault_port=port)  # it serves the cubbyhole
    data["vcc"] = vcc
    config_file.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def with_interpreter_bin(path: str) -> str:
    """``path`` with this interpreter's bin directory first (once): the command, and the
    notebook kernels it starts, find the tools installed with vcpsdk (``ansible``, ``vcc``)
    as the notebooks' ``!ansible`` cells expect."""
    bin_dir = str(Path(sys.executable).parent)
    return os.pathsep.join(
        [bin_dir, *(entry for entry in path.split(os.pathsep) if entry and entry != bin_dir)]
    )


def as_caller(unshare: str, uid: int, gid: int, command: list[str]) -> list[str]:
    """``command`` in a nested user namespace where it has the caller's own uid and gid
    (nothing to do for root): files it makes are the caller's, ``jupyter`` needs no
    ``--allow-root``, and it has no privilege over the namespace."""
    if uid == 0 and gid == 0:
        return command
    return [unshare, "--user", f"--map-user={uid}", f"--map-group={gid}", "--", *command]


class Stopped(Exception):
    """SIGTERM or SIGINT came before the command started: the run stops (128 + signal)."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"signal {signum}")
        self.signum = signum


class Supervisor:
    """What the supervisor does with SIGTERM and SIGINT, whether sent to it directly (Ctrl-C
    reaches the whole process group), passed on by ``vcc sandbox run`` through the control
    pipe, or made up when that pipe ends (the launcher died, e.g. ``kill -9``).

    Before the command runs, the first signal raises :class:`Stopped` (the run tears down
    and ends with 128 + N); later ones are ignored while it does.  Once the command runs,
    SIGTERM is passed on to it and SIGINT left to it (the terminal already sent it there).
    Handlers, not ``SIG_IGN``: an ignored signal would stay ignored in the programs started
    here.
    """

    def __init__(self) -> None:
        self.command: subprocess.Popen[bytes] | None = None
        self.stopping = False
        self.launcher_gone = threading.Event()

    def install(self) -> None:
        """Handle SIGTERM and SIGINT (pid 1 of a PID namespace ignores them otherwise)."""
        signal.signal(signal.SIGTERM, self.on_signal)
        signal.signal(signal.SIGINT, self.on_signal)

    def on_signal(self, signum: int, frame: Any) -> None:
        """The signal handler (see the class)."""
        if self.command is not None:
            if signum == signal.SIGTERM:
                with contextlib.suppress(ProcessLookupError):
                    self.command.send_signal(signal.SIGTERM)
            return
        if not self.stopping:
            self.stopping = True
            raise Stopped(signum)

    def listen(self, control_fd: int) -> None:
        """Read the control pipe in a thread: each byte is a signal for the main thread; its
        end means the launcher is gone, which counts as SIGTERM, and the command gets
        ``STOP_TIMEOUT_SEC`` to end before it is killed."""
        os.set_inheritable(control_fd, False)
        main = threading.main_thread().ident
        assert main is not None

        def read() -> None:
            with os.fdopen(control_fd, "rb", buffering=0) as pipe:
                while data := pipe.read(1):
                    signal.pthread_kill(main, data[0])
            self.launcher_gone.set()
            signal.pthread_kill(main, signal.SIGTERM)
            if not threading.Event().wait(STOP_TIMEOUT_SEC):
                command = self.command
                if command is not None:
                    with contextlib.suppress(ProcessLookupError):
                        command.kill()

        threading.Thread(target=read, name="vcc-sandbox-run-control", daemon=True).start()


def reap_until(pid: int) -> int:
    """Wait for ``pid`` while reaping every other child: this supervisor is the PID
    namespace's init, so orphans of the controller's sessions become its children.

    Returns:
        ``pid``'s exit status (128 + N when signal N ended it).
    """
    while True:
        try:
            done, status = os.waitpid(-1, 0)
        except ChildProcessError:
            return 1
        except InterruptedError:
            continue
        if done == pid:
            code = os.waitstatus_to_exitcode(status)
            return code if code >= 0 else 128 - code


def stop_controller(pid: int, timeout: float = STOP_TIMEOUT_SEC) -> None:
    """SIGTERM the controller, reap children until it is gone, SIGKILL it after ``timeout``."""
    from vcpsdk.core.polling import PollTimeout, poll

    def reaped() -> bool:
        with contextlib.suppress(ChildProcessError):
            while (done := os.waitpid(-1, os.WNOHANG)[0]) != 0:
                if done == pid:
                    return True
        return not _alive(pid)

    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    try:
        poll(reaped, bool, timeout=timeout, interval=0.05)
    except PollTimeout:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def inner_main(options: dict[str, Any], command: list[str]) -> int:
    """Start the controller, run the command, stop the controller; the command's status
    (128 + N when signal N stopped the run before the command started)."""
    supervisor = Supervisor()
    supervisor.install()
    if options.get("control_fd") is not None:
        supervisor.listen(int(options["control_fd"]))
    try:
        return _supervise(supervisor, options, command)
    except Stopped as stopped:
        print(f"vcc sandbox run: signal {stopped.signum} before the command started", file=sys.stderr)
        return 128 + stopped.signum


def _supervise(supervisor: Supervisor, options: dict[str, Any], command: list[str]) -> int:
    from vcpsdk import embedded
    from vcpsdk.errors import VcpSDKError

    try:
        setup_network()
    except (NamespaceError, OSError) as error:
        print(f"vcc sandbox run: {error}", file=sys.stderr)
        return 2
    own_data_dir = options.get("data_dir") is None
    data_dir = Path(options["data_dir"] or tempfile.mkdtemp(prefix="vcc-sandbox-run-")).resolve()
    os.environ[DATA_DIR_ENV] = str(data_dir)
    os.environ[PRIVATE_NETWORK_ENV] = "private"
    os.environ["VCPSDK_SANDBOX_BOOT_DELAY"] = str(options.get("boot_delay", 0.5))
    os.environ["VCPSDK_SANDBOX_SSH_PORT"] = "22"
    controller = 0
    try:
        try:
            sandbox = embedded.ensure_sandbox()
        except VcpSDKError as error:
            print(f"vcc sandbox run: the sandbox controller did not start: {error}", file=sys.stderr)
            return 1
        controller = sandbox.pid
        source = options.get("config_dir") or os.environ.get(CONFIG_DIR_ENV) or "~/vcp_config"
        config_dir = sandbox.data_dir / "vcp_config"
        write_config(config_dir, Path(source).expanduser(), sandbox.port)
        token_file = sandbox.data_dir / "token"
        print(
            f"vcc sandbox run: sandbox at {sandbox.base_url} on a private network (lo only); "
            f"token for the notebook's prompt: {sandbox.token} (in {token_file})",
            file=sys.stderr,
        )
        environment = {
            **os.environ,
            CONFIG_DIR_ENV: str(config_dir),
            TOKEN_FILE_ENV: str(token_file),
            URL_ENV: sandbox.base_url,
        }
        environment.pop(PRIVATE_NETWORK_ENV)
        environment["PATH"] = with_interpreter_bin(environment.get("PATH", ""))
        argv = as_caller(options["unshare"], int(options["uid"]), int(options["gid"]), command)
        try:
            supervisor.command = subprocess.Popen(argv, env=environment)
        except OSError as error:
            print(f"vcc sandbox run: cannot run {command[0]}: {error}", file=sys.stderr)
            return 127
        return reap_until(supervisor.command.pid)
    finally:
        supervisor.stopping = True  # a signal now must not cut the clean-up short
        if controller:
            stop_controller(controller)
        if own_data_dir:
            shutil.rmtree(data_dir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    """Entry point inside the namespaces: ``python -m vcpsdk.controller.netns OPTIONS_JSON COMMAND...``."""
    args = sys.argv[1:] if argv is None else argv
    return inner_main(json.loads(args[0]), args[1:])


if __name__ == "__main__":
    sys.exit(main())
