"""The Base container's users on a node (``users.py``, ``node_sudo.py``), without a controller."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from vcpsdk.controller.backends.sandbox.confine import Confinement, NodeView
from vcpsdk.controller.backends.sandbox.node_sudo import _parse
from vcpsdk.controller.backends.sandbox.users import identity_files, install_sudo, login_users


def test_root_keeps_the_node_home_and_others_get_uids_from_1000() -> None:
    users = login_users(Path("/s/nodes/n1/home"), ["root", "vcp", "ubuntu"])
    assert [(u.name, u.uid, u.home) for u in users.values()] == [
        ("root", 0, "/s/nodes/n1/home"),
        ("vcp", 1000, "/home/vcp"),
        ("ubuntu", 1001, "/home/ubuntu"),
    ]


def test_passwd_and_group_name_vcp_in_place_of_the_hosts_uid_1000(tmp_path: Path) -> None:
    files = identity_files(tmp_path, login_users(Path("/h"), ["root", "vcp"]))
    assert set(files) == {"/etc/passwd", "/etc/group"}
    passwd = Path(files["/etc/passwd"]).read_text().splitlines()
    assert [line for line in passwd if line.split(":")[2] == "1000"] == [
        f"vcp:x:1000:1000:vcp:/home/vcp:{'/bin/bash' if Path('/bin/bash').exists() else '/bin/sh'}"
    ]
    assert passwd[0].startswith("root:x:0:0:")
    group = Path(files["/etc/group"]).read_text().splitlines()
    assert "vcp:x:1000:" in group
    assert all(line.endswith(("vcp", ",vcp")) for line in group if line.startswith("sudo:"))


def test_the_node_sudo_is_an_executable_python_program(tmp_path: Path) -> None:
    sudo = install_sudo(tmp_path)
    assert sudo == tmp_path / "node-bin" / "sudo"
    assert sudo.read_text().startswith("#!/usr/bin/python3 -I\n")
    assert sudo.stat().st_mode & stat.S_IXOTH


@pytest.mark.parametrize(
    ("argv", "user", "command"),
    [
        (["id"], "root", ["id"]),
        (
            ["-H", "-S", "-n", "-u", "root", "/bin/sh", "-c", "echo BECOME"],
            "root",
            ["/bin/sh", "-c", "echo BECOME"],
        ),
        (["-HSn", "-p", "[sudo via ansible] password:", "-u", "root", "true"], "root", ["true"]),
        (["--user=vcp", "--", "-weird"], "vcp", ["-weird"]),
        (["-uvcp", "whoami"], "vcp", ["whoami"]),
    ],
)
def test_sudo_understands_the_options_of_notebooks_and_ansible(
    argv: list[str], user: str, command: list[str]
) -> None:
    options, rest = _parse(argv)
    assert (options["user"], rest) == (user, command)


def test_sudo_login_and_shell_flags() -> None:
    assert _parse(["-i"])[0]["login"] is True
    assert _parse(["-s", "ls"])[0]["shell"] is True
    assert _parse(["-E", "env"])[0]["keep_env"] is True
    assert _parse(["-l"])[0]["only"] == "list"


def test_without_user_namespaces_for_sessions_vcp_keeps_roots_uid(tmp_path: Path) -> None:
    real = Confinement()
    assert real.probe(), real.reason  # bubblewrap is set up on test machines (scripts/setup.sh)
    assert real.own_uids
    refusing = tmp_path / "bwrap"
    refusing.write_text(
        f'#!/bin/sh\nfor a in "$@"; do [ "$a" = --unshare-user ] && exit 1; done\nexec {real.bwrap} "$@"\n'
    )
    refusing.chmod(0o755)
    limited = Confinement(bwrap=str(refusing))
    assert limited.probe(), limited.reason
    assert limited.own_uids is False
    view = NodeView("n", tmp_path, tmp_path, Path("/dev/null"))
    assert "--unshare-user" not in limited.argv(view, ["id"], uid=1000)
    own = real.argv(view, ["id"], uid=1000, chdir="/home/vcp")
    assert own[own.index("--unshare-user") : own.index("--unshare-user") + 5] == [
        "--unshare-user",
        "--uid",
        "1000",
        "--gid",
        "1000",
    ]
    assert own[-4:] == ["--chdir", "/home/vcp", "--", "id"]
