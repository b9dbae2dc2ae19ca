"""Confinement of sandbox node sessions with bubblewrap (``bwrap``).

Every command, SFTP and SCP session of a confined node runs inside its own
``bwrap`` sandbox: new mount, PID, UTS and IPC namespaces, the network namespace
of the host (node addresses are loopback addresses, so nodes still reach and ping
each other).  The session sees:

* the host's system files read-only: ``/usr``, ``/bin``, ``/sbin``, ``/lib*`` and
  ``/etc`` with its secrets (shadow files, SSH host keys, TLS private keys, sudoers)
  replaced by empty ones; ``/etc/hostname`` holds the node's name;
* its own home (read-write, at the same path as on the host), with every attached
  disk bind-mounted at ``~/mnt/<device>``;
* its own scratch directory as ``/tmp`` and ``/var/tmp`` (kept with the node);
* a fresh ``/proc`` (only its own processes; ``/proc/sys`` read-only) and a minimal ``/dev``;
* empty, read-only directories everywhere else: no state directory, other node,
  user home, ``/run`` or ``/opt`` of the host.

Capabilities are dropped.  When the controller runs as root and the kernel does not
let root's group open ICMP datagram sockets (``net.ipv4.ping_group_range``), the
session keeps ``CAP_NET_RAW`` so that ``ping`` works, and a seccomp filter limits it to
ICMP: packet sockets, other raw IP protocols and io_uring are refused.

:meth:`Confinement.probe` runs ``bwrap ... true`` once; a host where that fails
(no bubblewrap, user namespaces refused) cannot confine nodes.
"""

from __future__ import annotations

import errno
import os
import platform
import shutil
import struct
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

#: the name of the flag that lets a host that cannot confine serve several users
OPT_OUT_FLAG = "--allow-unconfined-nodes"
#: what to run to get bubblewrap and sftp-server on Debian
SETUP_HINT = "run scripts/setup.sh (bubblewrap) or apt-get install bubblewrap openssh-sftp-server"
#: OpenSSH's SFTP server, run inside the confinement for the ``sftp`` subsystem
SFTP_SERVER = "/usr/lib/openssh/sftp-server"

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
EMPTY_DIRS = ("/home", "/root", "/run", "/mnt", "/srv", "/opt", "/var")


def _ping_needs_raw_socket() -> bool:
    """True when ping must open a raw socket: this process's group may not open
    ICMP datagram sockets (``net.ipv4.ping_group_range``)."""
    try:
        low, high = (int(v) for v in Path("/proc/sys/net/ipv4/ping_group_range").read_text().split())
    except (OSError, ValueError):
        return True
    return not low <= os.getgid() <= high


# -- seccomp: CAP_NET_RAW limited to ICMP ----------------------------------------------

_AUDIT_ARCH_X86_64 = 0xC000003E
_X32_SYSCALL_BIT = 0x40000000
_NR_SOCKET, _NR_IO_URING_SETUP = 41, 425  # x86_64
_AF_INET, _AF_INET6, _AF_PACKET = 2, 10, 17
_SOCK_RAW, _SOCK_PACKET, _SOCK_TYPE_MASK = 3, 10, 0xF
_IPPROTO_ICMP, _IPPROTO_ICMPV6 = 1, 58
_LD_ABS, _JEQ, _JGE, _AND, _RET = 0x20, 0x15, 0x35, 0x54, 0x06
_ALLOW, _DENY = 0x7FFF0000, 0x00050000 | errno.EPERM


def icmp_only_filter() -> bytes:
    """A seccomp BPF program (x86_64) for sessions that keep ``CAP_NET_RAW``.

    It refuses (EPERM) every non-x86_64 system call ABI, ``io_uring_setup``, packet
    sockets (``AF_PACKET``, ``SOCK_PACKET``) and raw IPv4/IPv6 sockets of any protocol
    but ICMP/ICMPv6; everything else is allowed.

    Returns:
        the program as ``struct sock_filter`` records, the format ``bwrap --seccomp`` reads.
    """
    # (code, jump if true, jump if false, k); a jump skips that many instructions
    program = [
        (_LD_ABS, 0, 0, 4),  # 0: arch
        (_JEQ, 1, 0, _AUDIT_ARCH_X86_64),
        (_RET, 0, 0, _DENY),
        (_LD_ABS, 0, 0, 0),  # 3: system call number
        (_JGE, 14, 0, _X32_SYSCALL_BIT),  # → 19 deny
        (_JEQ, 13, 0, _NR_IO_URING_SETUP),  # → 19 deny
        (_JEQ, 0, 11, _NR_SOCKET),  # else → 18 allow
        (_LD_ABS, 0, 0, 16),  # 7: family (low 32 bits of args[0])
        (_JEQ, 10, 0, _AF_PACKET),  # → 19 deny
        (_JEQ, 1, 0, _AF_INET),  # → 11
        (_JEQ, 0, 7, _AF_INET6),  # else → 18 allow
        (_LD_ABS, 0, 0, 24),  # 11: type
        (_AND, 0, 0, _SOCK_TYPE_MASK),
        (_JEQ, 5, 0, _SOCK_PACKET),  # → 19 deny
        (_JEQ, 0, 3, _SOCK_RAW),  # else → 18 allow
        (_LD_ABS, 0, 0, 32),  # 15: protocol
        (_JEQ, 1, 0, _IPPROTO_ICMP),  # → 18 allow
        (_JEQ, 0, 1, _IPPROTO_ICMPV6),  # else → 19 deny
        (_RET, 0, 0, _ALLOW),  # 18
        (_RET, 0, 0, _DENY),  # 19
    ]
    return b"".join(struct.pack("<HBBI", *op) for op in program)


@dataclass
class NodeView:
    """What one node's sessions see.

    Attributes:
        hostname: the node's name (``hostname`` prints it).
        home: the node's home directory on the host (mounted at the same path).
        scratch: the node's scratch directory on the host (mounted at ``/tmp``, ``/var/tmp``).
        hostname_file: a file holding the node's name, shown as ``/etc/hostname``.
        disks: ``{mount point inside the node: directory on the host}``.
        mounts: more read-write directories ``{inside: on the host}`` (users' homes).
        files: read-only files and directories ``{inside: on the host}`` (``/etc/passwd``,
            ``sudo``, the sudo broker's socket directory).
    """

    hostname: str
    home: Path
    scratch: Path
    hostname_file: Path
    disks: Mapping[str, str] = field(default_factory=dict)
    mounts: Mapping[str, str] = field(default_factory=dict)
    files: Mapping[str, str] = field(default_factory=dict)


@dataclass
class Confinement:
    """How node sessions are confined on this host.

    Attributes:
        bwrap: the bubblewrap executable (a name looked up on ``PATH``, or a path).
        confined: True once :meth:`probe` has shown that bwrap works here.
        reason: why nodes are not confined (empty when they are).
        own_uids: sessions of users other than root can get a uid of their own (bubblewrap
            ``--unshare-user`` works here); without it they run with root's.
    """

    bwrap: str = "bwrap"
    confined: bool = False
    reason: str = "not probed yet"
    own_uids: bool = False

    def __post_init__(self) -> None:
        self._raw_ping = os.geteuid() == 0 and _ping_needs_raw_socket() and platform.machine() == "x86_64"
        self._filter = icmp_only_filter() if self._raw_ping else b""

    def probe(self) -> bool:
        """Run ``bwrap <the node view> true`` once and remember whether it worked.

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
        view = NodeView("probe", probe_dir, probe_dir, Path("/dev/null"))
        fds = self.pass_fds()
        try:
            result = subprocess.run(
                self.argv(view, ["true"], seccomp_fd=fds[0] if fds else None),
                capture_output=True,
                timeout=30,
                check=False,
                pass_fds=fds,
            )
        except (OSError, subprocess.TimeoutExpired) as e:
            self.confined, self.reason = False, f"{self.bwrap} cannot run: {e}"
            return False
        finally:
            for fd in fds:
                os.close(fd)
        if result.returncode != 0:
            detail = result.stderr.decode(errors="replace").strip() or f"exit status {result.returncode}"
            self.confined, self.reason = False, f"{self.bwrap} cannot confine here: {detail}"
            return False
        self.confined, self.reason = True, ""
        self.own_uids = True  # argv() honours uid from now on: try it once
        nested = subprocess.run(
            self.argv(view, ["true"], uid=1000), capture_output=True, timeout=30, check=False
        )
        self.own_uids = nested.returncode == 0
        return True

    def pass_fds(self) -> tuple[int, ...]:
        """A fresh descriptor holding the seccomp program, if sessions need one (the
        caller passes it to the child and closes it afterwards)."""
        if not self._filter:
            return ()
        fd = os.memfd_create("vcc-seccomp")
        os.write(fd, self._filter)
        os.lseek(fd, 0, os.SEEK_SET)
        return (fd,)

    def argv(
        self,
        view: NodeView,
        command: list[str],
        seccomp_fd: int | None = None,
        uid: int = 0,
        chdir: str | None = None,
    ) -> list[str]:
        """The ``bwrap`` command line that runs ``command`` inside ``view``.

        Args:
            view: what the session sees.
            command: the program and its arguments, run in the node's home.
            seccomp_fd: descriptor from :meth:`pass_fds` (needed when it returned one).
            uid: not 0: run as this uid (and gid) in a user namespace of the session's own
                (where the host allows it, :attr:`own_uids`).
            chdir: the working directory inside the node (default: the node's home).

        Returns:
            the full argument vector, ``bwrap`` first.
        """
        args = [self.bwrap, "--die-with-parent", "--unshare-pid", "--unshare-uts", "--unshare-ipc"]
        args += ["--unshare-cgroup-try", "--hostname", view.hostname, "--cap-drop", "ALL"]
        if uid and self.own_uids:
            args += ["--unshare-user", "--uid", str(uid), "--gid", str(uid)]
        if self._raw_ping:
            args += ["--cap-add", "CAP_NET_RAW"]
        if seccomp_fd is not None:
            args += ["--seccomp", str(seccomp_fd)]
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
        args += ["--bind", str(view.home), str(view.home)]
        for mount_point, source in {**view.mounts, **view.disks}.items():
            args += ["--bind", source, mount_point]
        for inside, source in view.files.items():
            args += ["--ro-bind", source, inside]
        args += ["--remount-ro", "/", "--chdir", chdir or str(view.home), "--", *command]
        return args
