"""Commands on a node: working directory, environment, exit codes, streams, big data."""

from __future__ import annotations

import gc
import hashlib
import os
import subprocess
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from vcpsdk.errors import VcpRemoteCommandError
from vcpsdk.node import VcNode
from vcpsdk.testing.keys import make_ssh_keypair

from .conftest import MakeSshUnit, client_options, home_of, inner_home, ssh, ssh_text, unit_maker


@pytest.fixture
def env_node(make_ssh_unit: MakeSshUnit) -> VcNode:
    _, [node] = make_ssh_unit(unit="envnode", params_e=["KEY=value with spaces", "OTHER=x=y"])
    return node


def test_commands_run_in_the_node_home(node: VcNode, key: Path, live_controller) -> None:
    home = home_of(live_controller.state_dir, node)
    inside = inner_home(live_controller.state_dir, node)
    assert ssh_text(node, key, 'pwd; echo "$HOME"') == f"{inside}\n{inside}\n"
    assert ssh_text(node, key, "echo hello > hello.txt && ls") == "hello.txt\n"
    assert (home / "hello.txt").read_text() == "hello\n"


def test_params_e_and_node_variables_are_in_the_environment(
    env_node: VcNode, key: Path, live_controller
) -> None:
    assert ssh_text(env_node, key, 'echo "$KEY"') == "value with spaces\n"
    assert ssh_text(env_node, key, 'echo "$OTHER"') == "x=y\n"
    env = dict(line.split("=", 1) for line in ssh_text(env_node, key, "env").splitlines() if "=" in line)
    assert env["MY_PRIVATE_IP"] == env_node.cloud_instance_address
    assert env["VCP_NODE_ID"] == env_node.id
    assert env["VCP_UNIT_NAME"] == "envnode"
    assert env["VCP_UGROUP_NAME"] == "ssh"
    assert env["HOME"] == inner_home(live_controller.state_dir, env_node)
    assert env["USER"] == "root"
    assert "AUTHORIZED_KEYS" in env
    # the same through VcNode.ssh_exec
    out, _ = env_node.ssh_exec('echo "$KEY|$MY_PRIVATE_IP"', private_key_path=str(key))
    assert out == f"value with spaces|{env_node.cloud_instance_address}\n"


def test_ssh_exec_cwd_is_relative_to_home(node: VcNode, key: Path, live_controller) -> None:
    node.ssh_exec("mkdir -p sub/deeper", private_key_path=str(key))
    out, _ = node.ssh_exec("pwd", cwd="sub", private_key_path=str(key))
    assert out == f"{inner_home(live_controller.state_dir, node)}/sub\n"
    out, _ = node.ssh_exec(["ls"], cwd="sub", private_key_path=str(key))
    assert out == "deeper\n"
    with pytest.raises(VcpRemoteCommandError) as caught:
        node.ssh_exec("pwd", cwd="missing", private_key_path=str(key))
    assert caught.value.exit_status != 0
    assert caught.value.stdout == ""


@pytest.mark.parametrize("status", [0, 1, 3, 42, 200])
def test_exit_status_passes_through(node: VcNode, key: Path, status: int) -> None:
    assert ssh(node, key, f"exit {status}").returncode == status


def test_auth_failure_is_exit_255(node: VcNode, other_key: Path) -> None:
    assert ssh(node, other_key, "exit 3").returncode == 255


def test_stderr_is_separate_from_stdout(node: VcNode, key: Path) -> None:
    result = ssh(node, key, "echo out1; echo err1 >&2; echo out2; echo err2 >&2; exit 5")
    assert result.returncode == 5
    assert result.stdout == b"out1\nout2\n"
    assert result.stderr == b"err1\nerr2\n"


def test_stdin_is_passed_through(node: VcNode, key: Path, live_controller) -> None:
    result = subprocess.run(
        f"echo data | ssh {' '.join(client_options(node, key))} "
        f"root@{node.cloud_instance_address} 'cat > f; wc -c < f'",
        shell=True,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == b"5"
    assert (home_of(live_controller.state_dir, node) / "f").read_bytes() == b"data\n"


def test_ssh_exec_stdin_fd_feeds_the_command(node: VcNode, key: Path, tmp_path: Path) -> None:
    payload = os.urandom(300_000)
    source = tmp_path / "payload.bin"
    source.write_bytes(payload)
    with source.open("rb") as stdin:
        out, err = node.ssh_exec("sha256sum", stdin_fd=stdin, private_key_path=str(key))
    assert out.split()[0] == hashlib.sha256(payload).hexdigest()
    assert err == ""
    with source.open("rb") as stdin:  # a raw descriptor works too
        out, _ = node.ssh_exec("wc -c", stdin_fd=stdin.fileno(), private_key_path=str(key))
    assert out.strip() == str(len(payload))


def test_large_output_is_byte_exact(node: VcNode, key: Path) -> None:
    made = ssh_text(node, key, "head -c 5000000 /dev/urandom | tee big.bin | sha256sum")
    result = ssh(node, key, "cat big.bin")
    assert result.returncode == 0
    assert len(result.stdout) == 5_000_000
    assert hashlib.sha256(result.stdout).hexdigest() == made.split()[0]


def test_large_input_is_byte_exact(node: VcNode, key: Path) -> None:
    payload = os.urandom(5_000_000)
    result = ssh(node, key, "cat > upload.bin; sha256sum upload.bin; wc -c < upload.bin", input=payload)
    assert result.returncode == 0, result.stderr
    digest, _, size = result.stdout.decode().split()
    assert (digest, int(size)) == (hashlib.sha256(payload).hexdigest(), 5_000_000)


def test_large_stdout_and_stderr_at_once(node: VcNode, key: Path) -> None:
    result = ssh(node, key, "head -c 3000000 /dev/zero & head -c 2000000 /dev/zero >&2; wait")
    assert result.returncode == 0
    assert (len(result.stdout), len(result.stderr)) == (3_000_000, 2_000_000)


def test_command_that_ignores_its_stdin_still_succeeds(node: VcNode, key: Path) -> None:
    result = ssh(node, key, "true", input=os.urandom(2_000_000))
    assert (result.returncode, result.stderr) == (0, b"")


def test_ssh_exec_command_reading_part_of_stdin(node: VcNode, key: Path, tmp_path: Path) -> None:
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(2_000_000))
    with source.open("rb") as stdin:
        out, _ = node.ssh_exec("head -c 10 | wc -c", stdin_fd=stdin, private_key_path=str(key))
    assert out.strip() == "10"


def test_parallel_sessions_on_one_node(node: VcNode, key: Path) -> None:
    with ThreadPoolExecutor(16) as pool:
        outputs = list(pool.map(lambda i: ssh_text(node, key, f"sleep 0.2; echo {i}"), range(16)))
    assert outputs == [f"{i}\n" for i in range(16)]


def test_each_address_reaches_its_own_node(make_ssh_unit: MakeSshUnit, key: Path, live_controller) -> None:
    _, nodes = make_ssh_unit(unit="trio", num_nodes=3)
    for node in nodes:
        assert ssh_text(node, key, 'echo "$VCP_NODE_ID $MY_PRIVATE_IP"; pwd') == (
            f"{node.id} {node.cloud_instance_address}\n{inner_home(live_controller.state_dir, node)}\n"
        )


def test_commands_leave_no_unawaited_coroutines(private_sdk, tmp_path: Path) -> None:
    key = make_ssh_keypair(tmp_path)
    _, [node] = unit_maker(private_sdk, key)()
    gc.collect()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for i in range(5):
            assert ssh_text(node, key, f"echo {i}") == f"{i}\n"
        gc.collect()
    assert [str(w.message) for w in caught if "never awaited" in str(w.message)] == []
