"""Attacks of one node's user on the controller, the host and other users (issue 14 trial).

Each test reproduces an attack found in the new-user trial of the confined sandbox
(findings 1, 2, 3, 4, 5, 8, 14) on a controller of its own and
checks that it no longer works; the test names say which.  They run as root (CI) and as
a normal user; what only a root controller can do is skipped otherwise.
"""

from __future__ import annotations

import itertools
import logging
import os
import socket
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from vcpsdk.controller.backends.sandbox import backend as sandbox_backend
from vcpsdk.controller.backends.sandbox.confine import PING_HINT
from vcpsdk.controller.backends.sandbox.nodes import DEFAULT_UID_BASE, MAX_KEYS_BYTES
from vcpsdk.controller.settings import Limits
from vcpsdk.node import VcNode
from vcpsdk.testing import RunningController, running_controller
from vcpsdk.testing.keys import make_ssh_keypair, public_key_of
from vcpsdk.testing.units import connect_sdk, create_running_unit
from vcpsdk.vcpsdk import VcpSDK

from .conftest import client_options, home_of, ssh, ssh_text

ROOT = os.geteuid() == 0
only_root = pytest.mark.skipif(
    not ROOT, reason="only a root controller runs sessions as host uids of their own"
)
#: processes one user's sessions may have together in these tests
PROCESSES = 64
_units = itertools.count()


@pytest.fixture(scope="module")
def vcc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningController]:
    """A controller of this module with a small per-user process limit."""
    limits = Limits(node_processes_per_user=PROCESSES, node_file_bytes=1 << 20)
    with running_controller(tmp_path_factory.mktemp("hardening"), limits=limits) as running:
        yield running


class Student:
    """A user of the controller with a key and a node."""

    def __init__(self, vcc: RunningController, directory: Path, name: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.key = make_ssh_keypair(directory)
        self.sdk: VcpSDK = connect_sdk(vcc, directory / f"cfg-{name}", name)
        unit = f"n{next(_units)}"
        _, self.unit, [self.node] = create_running_unit(self.sdk, public_key_of(self.key), "grp", unit)

    def run(
        self, command: str, timeout: float = 60, input: bytes | None = None
    ) -> subprocess.CompletedProcess[bytes]:
        """``command`` on the student's node (ssh as root)."""
        return ssh(self.node, self.key, command, input=input, timeout=timeout)

    def text(self, command: str) -> str:
        """stdout of ``command``, which must succeed."""
        return ssh_text(self.node, self.key, command)

    def restart_node(self) -> VcNode:
        """Power the node off and on again (the controller rewrites its files)."""
        self.unit.power_off_nodes()
        [self.node] = self.unit.power_on_nodes()
        return self.node


@pytest.fixture
def alice(vcc: RunningController, tmp_path: Path) -> Student:
    """A student with one node."""
    return Student(vcc, tmp_path / "alice", "alice")


@pytest.fixture
def bob(vcc: RunningController, tmp_path: Path) -> Student:
    """Another student with one node."""
    return Student(vcc, tmp_path / "bob", "bob")


# -- finding 1: authorized_keys that freeze or exhaust the controller ---------------------


@pytest.mark.parametrize(
    "plant",
    [
        "rm authorized_keys && mkfifo authorized_keys",
        "rm authorized_keys && ln -s /dev/zero authorized_keys",
        f"head -c {MAX_KEYS_BYTES + 1} /dev/zero | tr '\\0' '#' >> authorized_keys",
    ],
    ids=["fifo", "dev-zero", "too-large"],
)
def test_a_bad_authorized_keys_refuses_only_that_login(
    alice: Student, bob: Student, plant: str, caplog: pytest.LogCaptureFixture
) -> None:
    bob.text(f"cd ~/.ssh && {plant}")
    with caplog.at_level(logging.WARNING, logger="vcp.controller"):
        started = time.monotonic()
        refused = bob.run("echo in", timeout=30)
        assert refused.returncode == 255 and refused.stdout == b""
        # other students' nodes never waited for bob's file
        assert alice.text("echo ok") == "ok\n"
        assert time.monotonic() - started < 20
    assert "authorized_keys" in caplog.text and bob.node.id in caplog.text
    # the planted file does not outlive a restart of the node: the spec's keys are back
    bob.restart_node()
    assert bob.text("echo back; test -f ~/.ssh/authorized_keys && echo regular") == "back\nregular\n"


# -- finding 2: links a node made, followed outside the node ---------------------------


def test_a_linked_authorized_keys_is_never_read_on_the_host(bob: Student, tmp_path: Path) -> None:
    """2a: ``authorized_keys`` → a host file with bob's key (it does not exist in the node)."""
    host_file = tmp_path / "host-keys"
    host_file.write_text(public_key_of(bob.key).read_text())
    os.chmod(tmp_path, 0o755)
    bob.text(f"cd ~/.ssh && mv authorized_keys ak && ln -s '{host_file}' authorized_keys")
    assert bob.run("echo in").returncode == 255
    bob.restart_node()
    assert bob.text("echo back") == "back\n"


def test_links_in_the_node_never_make_host_directories(
    vcc: RunningController, bob: Student, tmp_path: Path
) -> None:
    """2b: ``~/mnt`` and paths of the scratch /tmp as links into ``/oldroot`` (bwrap's view
    of the host before pivot_root): sessions after a restart never create host dirs."""
    outside = tmp_path / "outside"
    outside.mkdir()
    # the top directory of the state dir's path, as it would appear in the node's /tmp
    top = Path("/", *Path(vcc.state_dir).parts[1:3])
    bob.text(f"rm -rf mnt; ln -s '/oldroot{outside}' mnt")
    if top.parent == Path("/tmp"):  # where the home used to be mounted: under the scratch /tmp
        bob.run(
            f"cd / && mkdir -p '{top}' && mv '{top}' /tmp/old-top && ln -s '/oldroot{outside}/dl' '{top}'"
        )
    (outside / "dl").mkdir(mode=0o777)
    bob.run("true")  # the next session
    bob.restart_node()
    assert bob.text("echo fine") == "fine\n"
    assert [p.name for p in outside.rglob("*")] == ["dl"]


def test_disks_are_mounted_where_a_node_cannot_redirect_them(vcc: RunningController, tmp_path: Path) -> None:
    key = make_ssh_keypair(tmp_path)
    sdk = connect_sdk(vcc, tmp_path / "cfg", "dora")
    storage = sdk.create_ugroup("st", "storage")
    spec = sdk.get_spec("aws_disk", "small")
    spec.num_disks = 1
    storage.create_unit("data", spec)
    _, unit, [node] = create_running_unit(sdk, public_key_of(key), "cmp", "c", disks=storage.find_nodes())
    outside = tmp_path / "outside"
    outside.mkdir()
    assert ssh_text(node, key, 'echo x > "$VCP_DISK_XVDF/f"; cat mnt/xvdf/f') == "x\n"
    ssh_text(node, key, f"mv mnt mnt.real && ln -s '/oldroot{outside}' mnt")
    ssh(node, key, "true")  # the next session
    assert list(outside.iterdir()) == []
    unit.power_off_nodes()
    [node] = unit.power_on_nodes()
    assert ssh_text(node, key, 'cat "$VCP_DISK_XVDF/f"') == "x\n"  # the disk is still there
    assert list(outside.iterdir()) == []


# -- finding 3: a node's root is root of the host -------------------------------------


@only_root
def test_a_nodes_root_is_an_unprivileged_host_user(
    vcc: RunningController, alice: Student, bob: Student
) -> None:
    bob.text("cp /bin/sh rootsh && chmod 4755 rootsh && touch made")
    home = home_of(Path(vcc.state_dir), bob.node)
    made = (home / "rootsh").stat()
    assert made.st_uid >= DEFAULT_UID_BASE and made.st_mode & stat.S_ISUID
    # another student is another host uid
    alice.text("touch made")
    assert (home_of(Path(vcc.state_dir), alice.node) / "made").stat().st_uid not in (0, made.st_uid)
    # inside: root of a user namespace of its own, mapped to that uid
    assert bob.text("id -u; cat /proc/self/uid_map").split() == ["0", "0", str(made.st_uid), "1"]
    # no other host account reaches the set-uid file: the node's parents are private
    for directory in (Path(vcc.state_dir), home.parent.parent, home.parent):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory
    # even where the state dir's own parents let everybody through (pytest's do not)
    parents = [p for p in Path(vcc.state_dir).parents if p != Path("/")]
    modes = {p: stat.S_IMODE(p.stat().st_mode) for p in parents}
    try:
        for parent, mode in modes.items():
            parent.chmod(mode | 0o011)
        with pytest.raises(PermissionError):  # a host account (nobody) tries to run it
            subprocess.run(
                [str(home / "rootsh"), "-p", "-c", "id -u"],
                capture_output=True,
                check=False,
                user=65534,
                group=65534,
                extra_groups=[],
            )
    finally:
        for parent, mode in modes.items():
            parent.chmod(mode)


# -- finding 4: squatting other nodes' addresses ---------------------------------------


def test_an_idle_nodes_address_cannot_be_taken(vcc: RunningController, alice: Student, bob: Student) -> None:
    address, port = alice.node.cloud_instance_address, alice.node.ssh_port
    squat = (
        "import socket, sys; s = socket.socket(); "
        "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); "
        f"s.bind(('{address}', {port})); s.listen(); print('squatted')"
    )
    refused = bob.run(f'python3 -c "{squat}"')
    assert refused.returncode != 0 and b"squatted" not in refused.stdout
    alice.unit.power_off_nodes()
    with pytest.raises(ConnectionRefusedError):  # off: refused, as before
        socket.create_connection((address, port), timeout=5).close()
    refused = bob.run(f'python3 -c "{squat}"')
    assert b"Address already in use" in refused.stderr or b"Permission denied" in refused.stderr
    [alice.node] = alice.unit.power_on_nodes()
    assert alice.text("echo mine") == "mine\n"


@only_root
def test_port_22_cannot_be_bound_in_a_node(bob: Student) -> None:
    result = bob.run("python3 -c \"import socket; socket.socket().bind(('127.30.9.9', 22))\"")
    assert result.returncode != 0 and b"Permission denied" in result.stderr


# -- finding 8: one student's processes and files ------------------------------------


#: forks until the kernel refuses, prints how many children it made, ends them
FORK_BOMB = """
import os, signal, time
children = []
try:
    while len(children) < 1000:
        pid = os.fork()
        if pid == 0:
            time.sleep(60)
            os._exit(0)
        children.append(pid)
except BlockingIOError:
    pass
for pid in children:
    os.kill(pid, signal.SIGKILL)
print(len(children))
"""


#: starts ``count`` sleeping children, says "held", waits for the end of its input
HOLD = """
import os, sys, time
for _ in range({count}):
    if os.fork() == 0:
        time.sleep(60)
        os._exit(0)
print("held", flush=True)
sys.stdin.read()
"""


@only_root
def test_a_fork_bomb_stops_at_the_students_process_limit(alice: Student, bob: Student) -> None:
    made = bob.run("python3", input=FORK_BOMB.encode())
    assert made.returncode == 0, made.stderr
    assert 0 < int(made.stdout) < PROCESSES
    assert alice.text("echo unaffected") == "unaffected\n"


@only_root
def test_the_process_limit_counts_all_nodes_of_a_student(vcc: RunningController, bob: Student) -> None:
    _, _, [other] = create_running_unit(bob.sdk, public_key_of(bob.key), "grp", f"n{next(_units)}")
    held = PROCESSES // 2
    holder = subprocess.Popen(
        [
            "ssh",
            *client_options(bob.node, bob.key),
            f"root@{bob.node.cloud_instance_address}",
            f"python3 -c '{HOLD.format(count=held)}'",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert holder.stdin is not None and holder.stdout is not None
    try:
        assert holder.stdout.readline() == b"held\n"
        made = ssh(other, bob.key, "python3", input=FORK_BOMB.encode())  # bob's other node
        assert made.returncode == 0, made.stderr
        assert 0 < int(made.stdout) < PROCESSES - held
    finally:
        holder.stdin.close()  # the holder's session ends (its children with it)
        holder.wait(timeout=60)


def test_a_file_cannot_outgrow_the_file_size_limit(bob: Student) -> None:
    result = bob.run("dd if=/dev/zero of=big bs=1M count=4")
    assert result.returncode != 0
    assert int(bob.text("stat -c %s big")) <= 1 << 20


# -- finding 14: a session's processes end with it -------------------------------------


def test_background_processes_end_with_the_session(bob: Student) -> None:
    bob.text("nohup setsid sleep 300 >/dev/null 2>&1 & echo started")
    assert bob.run("pgrep -x sleep").stdout == b""


# -- finding 5: ping without CAP_NET_RAW ------------------------------------------------


def test_the_operator_is_told_once_when_nodes_cannot_ping(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Sessions have no raw sockets: ping needs ``net.ipv4.ping_group_range`` to include
    their groups; where it does not, the controller says what to run (one line)."""
    monkeypatch.setattr(sandbox_backend, "ping_allowed", lambda gid: False)
    backend = sandbox_backend.SandboxBackend(tmp_path / "state")
    with caplog.at_level(logging.WARNING, logger="vcp.controller"):
        backend.start()
    backend.close()
    warnings = [r.getMessage() for r in caplog.records if "ping" in r.getMessage()]
    assert warnings == [f"ping does not work in sandbox nodes (net.ipv4.ping_group_range); run: {PING_HINT}"]
