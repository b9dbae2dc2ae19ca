"""VcNode helpers (system ssh with connection sharing) against a real node."""

from __future__ import annotations

from pathlib import Path

import pytest

from vcpsdk.errors import VcpRemoteCommandError, VcpSDKError
from vcpsdk.node import VcNode


def test_ssh_exec_returns_stdout_and_stderr(node: VcNode, key: Path) -> None:
    result = node.ssh_exec("echo out; echo err >&2", private_key_path=str(key))
    assert result == ("out\n", "err\n")


def test_ssh_exec_takes_an_argument_list(node: VcNode, key: Path) -> None:
    out, _ = node.ssh_exec(["printf", "%s|", "two words", "$HOME", ";"], private_key_path=str(key))
    assert out == "two words|$HOME|;|"


def test_repeated_ssh_exec_share_one_connection(node: VcNode, key: Path) -> None:
    outputs = [node.ssh_exec(f"echo {i}", private_key_path=str(key))[0] for i in range(10)]
    assert outputs == [f"{i}\n" for i in range(10)]


def test_ssh_exec_failure_raises_with_the_exit_status(node: VcNode, key: Path) -> None:
    with pytest.raises(VcpRemoteCommandError) as caught:
        node.ssh_exec("echo partial; echo broken >&2; exit 3", private_key_path=str(key))
    error = caught.value
    assert error.exit_status == 3
    assert error.stdout == "partial\n"
    assert error.stderr == "broken\n"
    assert isinstance(error, VcpSDKError)
    assert "exit status 3" in str(error)


def test_ssh_exec_with_a_wrong_key_is_exit_255(node: VcNode, other_key: Path) -> None:
    with pytest.raises(VcpRemoteCommandError) as caught:
        node.ssh_exec("true", private_key_path=str(other_key))
    assert caught.value.exit_status == 255
    assert "Permission denied" in caught.value.stderr


def test_ssh_exec_as_an_unknown_user_is_exit_255(node: VcNode, key: Path) -> None:
    with pytest.raises(VcpRemoteCommandError) as caught:
        node.ssh_exec("true", private_key_path=str(key), ssh_user_name="nobody")
    assert caught.value.exit_status == 255


def test_ssh_exec_output_decode_false_returns_bytes(node: VcNode, key: Path) -> None:
    out, err = node.ssh_exec(
        r"printf '\377\376\000x'; printf '\201' >&2", private_key_path=str(key), output_decode=False
    )
    assert (out, err) == (b"\xff\xfe\x00x", b"\x81")
    with pytest.raises(VcpRemoteCommandError) as caught:
        node.ssh_exec(r"printf '\377'; exit 2", private_key_path=str(key), output_decode=False)
    assert caught.value.stdout == b"\xff"


def test_ssh_exec_large_binary_output(node: VcNode, key: Path) -> None:
    out, _ = node.ssh_exec(
        "head -c 5000000 /dev/zero | tr '\\0' '\\377'", private_key_path=str(key), output_decode=False
    )
    assert out == b"\xff" * 5_000_000


def test_docker_helpers_say_docker_is_not_available(node: VcNode, key: Path) -> None:
    with pytest.raises(VcpSDKError, match="docker is not available") as caught:
        node.docker_ps(private_key_path=str(key))
    assert node.cloud_instance_address in str(caught.value)
    with pytest.raises(VcpSDKError, match="docker is not available"):
        node.docker_run("alpine", cmd=["true"], private_key_path=str(key))


def test_local_exec_runs_on_this_machine(node: VcNode, tmp_path: Path) -> None:
    out, err = node.local_exec('echo "$WHO"; pwd; echo e >&2', env={"WHO": "local", "PATH": "/bin"})
    assert out.splitlines()[0] == "local"
    assert err == "e\n"
    with pytest.raises(VcpRemoteCommandError) as caught:
        node.local_exec("exit 7")
    assert caught.value.exit_status == 7


def test_helpers_refuse_a_storage_node(vcp_sdk) -> None:
    storage = vcp_sdk.create_ugroup("storage", "storage")
    storage.create_unit("data", vcp_sdk.get_spec("aws_disk", "small"))
    [disk] = storage.find_nodes()
    with pytest.raises(VcpSDKError, match="only compute node"):
        disk.ssh_exec("true")


def test_docker_options_follow_the_whole_command(monkeypatch) -> None:
    """``docker_image_ls(['-a'])`` runs ``docker image ls -a`` (not ``docker image -a ls``)."""
    from vcpsdk.node import VcNode
    from vcpsdk.records import Vc, VcUnit

    vc = Vc(
        {
            "vcid": "v" * 32,
            "unit": [
                {
                    "name": "u",
                    "node": [{"node_no": 1, "node_id": "n" * 32, "cloud_instance_address": "127.30.2.10"}],
                }
            ],
        }
    )
    node: VcNode = VcUnit(vc, vc.vc_json["unit"][0]).nodes[0]
    sent: list[str] = []
    monkeypatch.setattr(VcNode, "ssh_exec", lambda self, cmd, **kw: (sent.append(cmd), ("", ""))[1])
    node.docker_image_ls(["-a"])
    node.docker_image_rm("busybox", ["-f"])
    node.docker_ps(["-a"])
    assert sent == [
        "/usr/local/bin/docker image ls -a --format '{{json .}}'",
        "/usr/local/bin/docker image rm -f busybox",
        "/usr/local/bin/docker ps -a --format '{{json .}}'",
    ]
