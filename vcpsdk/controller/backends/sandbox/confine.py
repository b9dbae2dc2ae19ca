"""Confinement of sandbox node sessions with bubblewrap (``bwrap``).

Every command, SFTP and SCP session of a confined node runs inside its own
``bwrap`` sandbox: new mount, PID, UTS and IPC namespaces, the network namespace
of the host (node addresses are loopback addresses, so nodes still reach and ping
each other).  The session sees:

* the host's system files read-only: ``/usr``, ``/bin``, ``/sbin``, ``/lib*`` and
  ``/etc`` with its secrets (shadow files, SSH host keys, TLS private keys, sudoers)
  replaced by empty ones; ``/etc/hostname`` holds the node's name;
* its own home (read-write) at a fixed path (``/root``; other users at ``/home/<name>``),
  every attached disk at ``/mnt/<device>`` (``~/mnt`` is a link to ``/mnt``);
* its own scratch directory as ``/tmp`` and ``/var/tmp`` (kept with the node);
* a fresh ``/proc`` (only its own processes; ``/proc/sys`` read-only) and a minimal ``/dev``;
* empty, read-only directories everywhere else: no state directory, other node,
  user home, ``/run`` or ``/opt`` of the host.

Every mount destination is a directory bubblewrap makes itself in its fresh root, never
a path under the node's own (persistent) files: a link a node user plants is resolved
inside the node only.

**Who the session is on the host.**  When the controller runs as root, ``bwrap`` (as
root) builds the view, then the session drops to an unprivileged host uid/gid of its
own (:attr:`NodeView.host_uid`: one per controller user, see ``nodes.py``) with
``setpriv`` and enters a user namespace of its own with ``unshare --map-user`` (root
inside, or 1000 for ``vcp``), whose capabilities it drops again.  So a node's "root" is
an ordinary user of the host: it cannot bind ports below 1024, open raw sockets, make a
set-uid-root file or exceed its process limit.  A controller that is not root runs every
session as its own uid (``bwrap --unshare-user``).

Limits (``prlimit``): processes per host uid (root controller only), file size and
address space per process (:class:`SessionLimits`).

:meth:`Confinement.probe` runs a session once; a host where that fails (no bubblewrap,
user namespaces refused) cannot confine nodes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

#: the name of the flag that lets a host that cannot confine serve several users
OPT_OUT_FLAG = "--allow-unconfined-nodes"
#: what to run to get bubblewrap and sftp-server on Debian
SETUP_HINT = "run scripts/setup.sh (bubblewrap) or apt-get install bubblewrap openssh-sftp-server"
#: OpenSSH's SFTP server, run inside the confinement for the ``sftp`` subsystem
SFTP_SERVER = "/usr/lib/openssh/sftp-server"
#: root's home inside a confined node (the node's home directory is mounted there)
ROOT_HOME = "/root"
#: where attached disks appear inside a confined node (``/mnt/xvdf``...)
DISK_ROOT = "/mnt"
#: the sysctl that lets the nodes' (unprivileged) users ping with ICMP datagram sockets
PING_SYSCTL = "net.ipv4.ping_group_range"
#: what the operator runs so that ping works in the nodes
PING_HINT = f'sysctl -w {PING_SYSCTL}="0 2147483647"'

#: top-level host directories shown read-only (a symlink such as ``/bin -> usr/bin`` is copied)
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
#: secrets under /etc a node never sees (files become empty, directories empty)
ETC_SECRETS = (
    "/etc/shadow",
    "/etc/shadow-",
    "/etc/gshadow",
    "/etc/gshadow-",
    "/etc/sudoers",
    "/etc/sudoers.d",
    "/etc/ssl/private",
    "/etc/security/opasswd",
)
#: empty directories that make the view look like a host
EMPTY_DIRS = ("/home", ROOT_HOME, "/run", DISK_ROOT, "/srv", "/opt", "/var")
#: util-linux programs of the privilege drop (root controller)
SETPRIV, UNSHARE, PRLIMIT = "setpriv", "unshare", "prlimit"


def ping_allowed(gid: int) -> bool:
    """True when a process of group ``gid`` may open ICMP datagram sockets (``ping``).

    Example:
        >>> isinstance(ping_allowed(0), bool)
        True
    """
    try:
        low, high = (int(v) for v in Path("/proc/sys/net/ipv4/ping_group_range").read_text().split())
    except (OSError, ValueError):
        return False
    return low <= gid <= high


def uid_mapped(uid: int) -> bool:
    """True when ``uid`` exists in this process's user namespace (``/proc/self/uid_map``)."""
    try:
        lines = Path("/proc/self/uid_map").read_text().splitlines()
    except OSError:
        return False
    for line in lines:
        inner, _, count = (int(v) for v in line.split())
        if inner <= uid < inner + count:
            return True
    return False


def widest_group_range() -> tuple[int, int]:
    """The lowest and highest gid of this process's user namespace (``/proc/self/gid_map``)."""
    try:
        spans = [
            [int(v) for v in line.split()] for line in Path("/proc/self/gid_map").read_text().splitlines()
        ]
    except (OSError, ValueError):
        return 0, 0
    if not spans:
        return 0, 0
    return min(s[0] for s in spans), min(max(s[0] + s[2] - 1 for s in spans), 2147483647)


@dataclass(frozen=True)
class SessionLimits:
    """Resource limits of every confined session (``0``: no limit).

    Attributes:
        processes: processes (and threads) of one host uid, over all its nodes and
            sessions (``RLIMIT_NPROC``; root controller only: otherwise every session is
            the controller's own uid).
        file_bytes: largest file a session may write (``RLIMIT_FSIZE``).
        memory_bytes: address space of one process (``RLIMIT_AS``).
    """

    processes: int = 0
    file_bytes: int = 0
    memory_bytes: int = 0

    def prlimit(self, per_uid: bool) -> list[str]:
        """The ``prlimit ... --`` prefix that applies these limits (empty: none).

        Example:
            >>> SessionLimits(processes=10).prlimit(per_uid=True)
            ['prlimit', '--nproc=10:10', '--']
        """
        options = [
            f"--{name}={value}:{value}"
            for name, value in (
                ("nproc", self.processes if per_uid else 0),
                ("fsize", self.file_bytes),
                ("as", self.memory_bytes),
            )
            if value
        ]
        return [PRLIMIT, *options, "--"] if options else []


@dataclass
class NodeView:
    """What one node's sessions see.

    Attributes:
        hostname: the node's name (``hostname`` prints it).
        home: the node's home directory on the host (mounted at ``/root``).
        scratch: the node's scratch directory on the host (mounted at ``/tmp``, ``/var/tmp``).
        hostname_file: a file holding the node's name, shown as ``/etc/hostname``.
        disks: ``{mount point inside the node: directory on the host}``.
        mounts: more read-write directories ``{inside: on the host}`` (users' homes).
        files: read-only files and directories ``{inside: on the host}`` (``/etc/passwd``,
            ``sudo``, the sudo broker's socket directory).
        host_uid: the host uid (and gid) the sessions run as when the controller is root
            (``None``: the controller's own).
    """

    hostname: str
    home: Path
    scratch: Path
    hostname_file: Path
    disks: Mapping[str, str] = field(default_factory=dict)
    mounts: Mapping[str, str] = field(default_factory=dict)
    files: Mapping[str, str] = field(default_factory=dict)
    host_uid: int | None = None


#: :attr:`Confinement.reason` until :meth:`Confinement.probe` has run
NOT_PROBED = "not probed yet"


@dataclass
class Confinement:
    """How node sessions are confined on this host.

    Attributes:
        bwrap: the bubblewrap executable (a name looked up on ``PATH``, or a path).
        confined: True once :meth:`probe` has shown that bwrap works here.
        reason: why nodes are not confined (empty when they are).
        limits: the resource limits of every session.
        own_uids: sessions get a user namespace of their own (``bwrap --unshare-user``, which
            a controller that does not drop privileges needs for ``vcp``'s uid 1000); where
            bubblewrap cannot make one (probed), they run with the controller's uid.
    """

    bwrap: str = "bwrap"
    confined: bool = False
    reason: str = NOT_PROBED
    limits: SessionLimits = field(default_factory=SessionLimits)
    own_uids: bool = True

    def __post_init__(self) -> None:
        #: root controller (of the host's user namespace): sessions drop to a host uid of
        #: their own (``NodeView.host_uid``); inside ``vcc sandbox run``'s namespace only
        #: uid 0 exists, so sessions there are the controller's uid like a normal user's
        self.drops_privileges = os.geteuid() == 0 and uid_mapped(1 << 20)

    @property
    def probed(self) -> bool:
        """Whether :meth:`probe` has run (``confined`` and ``reason`` say what it found)."""
        return self.confined or self.reason != NOT_PROBED

    def probe(self, host_uid: int | None = None) -> bool:
        """Run ``true`` in a node view once and remember whether it worked.

        Args:
            host_uid: the uid a root controller's sessions drop to (a free one).

        Returns:
            True when node sessions can be confined on this host.

        Example:
            >>> Confinement(bwrap="/nonexistent/bwrap").probe()
            False
        """
        executable = shutil.which(self.bwrap)
        if executable is None:
            self.confined, self.reason = False, f"bubblewrap ({self.bwrap}) is not installed; {SETUP_HINT}"
            return False
        self.bwrap = executable
        if not os.access(SFTP_SERVER, os.X_OK):
            self.confined, self.reason = False, f"{SFTP_SERVER} is missing; {SETUP_HINT}"
            return False
        probe_dir = Path("/")
        view = NodeView("probe", probe_dir, probe_dir, Path("/dev/null"), host_uid=host_uid)
        try:
            for own_uids in (True, False):  # no user namespace of their own: the controller's uid
                self.own_uids = own_uids
                result = subprocess.run(
                    self.argv(view, ["true"], uid=1000), capture_output=True, timeout=30, check=False, cwd="/"
                )
                if result.returncode == 0 or (self.drops_privileges and host_uid is not None):
                    break
        except (OSError, subprocess.TimeoutExpired) as e:
            self.confined, self.reason = False, f"{self.bwrap} cannot run: {e}"
            return False
        if result.returncode != 0:
            detail = result.stderr.decode(errors="replace").strip() or f"exit status {result.returncode}"
            self.confined, self.reason = False, f"{self.bwrap} cannot confine here: {detail}"
            return False
        self.confined, self.reason = True, ""
        return True

    def argv(self, view: NodeView, command: list[str], uid: int = 0, chdir: str | None = None) -> list[str]:
        """The command line that runs ``command`` inside ``view``.

        Args:
            view: what the session sees.
            command: the program and its arguments, run in the node's home.
            uid: the uid (and gid) inside the node (0: root); without :attr:`own_uids`
                (and no privilege drop) sessions keep the controller's.
            chdir: the working directory inside the node (default: root's home).

        Returns:
            the full argument vector (``prlimit``/``bwrap`` first).
        """
        drop = self.drops_privileges and view.host_uid is not None
        args = [*self.limits.prlimit(per_uid=drop), self.bwrap, "--die-with-parent", "--unshare-pid"]
        args += ["--unshare-uts", "--unshare-ipc", "--unshare-cgroup-try", "--hostname", view.hostname]
        args += ["--cap-drop", "ALL"]
        if drop:  # bwrap (root) builds the view; the session then becomes host_uid
            args += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
        elif self.own_uids:
            args += ["--unshare-user", "--uid", str(uid), "--gid", str(uid)]
        for directory in SYSTEM_DIRS:
            if os.path.islink(directory):
                args += ["--symlink", os.readlink(directory), directory]
            elif os.path.isdir(directory):
                args += ["--ro-bind", directory, directory]
        for secret in ETC_SECRETS:
            if os.path.isdir(secret) and not os.path.islink(secret):
                args += ["--tmpfs", secret, "--remount-ro", secret]
            elif os.path.lexists(secret):
                args += ["--ro-bind", "/dev/null", secret]
        for key in sorted(Path("/etc/ssh").glob("ssh_host_*_key")):
            args += ["--ro-bind", "/dev/null", str(key)]
        if os.path.isfile("/etc/hostname"):
            args += ["--ro-bind", str(view.hostname_file), "/etc/hostname"]
        # root without capabilities may still write most sysctls: /proc/sys is read-only
        args += ["--proc", "/proc", "--ro-bind", "/proc/sys", "/proc/sys", "--dev", "/dev"]
        for directory in EMPTY_DIRS:
            args += ["--dir", directory]
        args += ["--bind", str(view.scratch), "/tmp", "--bind", str(view.scratch), "/var/tmp"]
        args += ["--bind", str(view.home), ROOT_HOME]
        made = set(EMPTY_DIRS)
        for inside in [*view.mounts, *view.disks, *view.files]:  # parents bwrap would make 0700
            for parent in reversed(PurePosixPath(inside).parents[:-1]):
                if str(parent) not in made and not str(parent).startswith(SYSTEM_DIRS):
                    made.add(str(parent))
                    args += ["--perms", "0755", "--dir", str(parent)]
        for mount_point, source in {**view.mounts, **view.disks}.items():
            args += ["--bind", source, mount_point]
        for inside, source in view.files.items():
            args += ["--ro-bind", source, inside]
        args += ["--remount-ro", "/", "--chdir", chdir or ROOT_HOME, "--"]
        if drop:
            outer = str(view.host_uid)
            args += [SETPRIV, f"--reuid={outer}", f"--regid={outer}", "--clear-groups", "--"]
            args += [UNSHARE, f"--map-user={uid}", f"--map-group={uid}", "--"]
            args += [SETPRIV, "--inh-caps=-all", "--bounding-set=-all", "--"]
        return args + command
