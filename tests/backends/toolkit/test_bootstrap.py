"""The node bootstrap script of any cloud, run for real with stub commands."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from vcpsdk.controller.backends.base import NodeRequest, UnitContext
from vcpsdk.controller.backends.toolkit.bootstrap import (
    NodeIdentity,
    bootstrap_script,
    container_environment,
)

UNIT = UnitContext(
    vcid="v" * 32,
    vc_name="group",
    unit_name="web",
    provider="azure",
    owner="alice",
    spec={"image": "base:1", "params_e": ["AUTHORIZED_KEYS=a2V5"], "params_v": [], "docker_opt": {}},
    catalog={},
)


def run(script: str, tmp_path: Path) -> list[str]:
    """Run ``script`` with stubs: docker records its arguments, hostname -I answers."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stubs = {
        "docker": '#!/bin/sh\ncase "$1" in\n  info) exit 0 ;;\n  inspect) exit 1 ;;\n'
        '  run) shift; for a in "$@"; do printf \'%s\\0\' "$a"; done > "$DOCKER_ARGS" ;;\nesac\n',
        "hostname": "#!/bin/sh\necho 10.5.0.7 172.17.0.1\n",
        "example-metadata": "#!/bin/sh\necho node-from-cloud\n",
    }
    for name, text in stubs.items():
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    (tmp_path / "boot.sh").write_text(script)
    env = {**os.environ, "PATH": f"{bin_dir}:/usr/bin:/bin", "DOCKER_ARGS": str(tmp_path / "args")}
    subprocess.run(["/bin/sh", str(tmp_path / "boot.sh")], env=env, check=True, timeout=20)
    return (tmp_path / "args").read_bytes().decode().split("\0")[:-1]


def pairs(args: list[str]) -> dict[str, str]:
    return dict(args[i + 1].split("=", 1) for i, a in enumerate(args) if a == "-e")


@pytest.mark.skipif(shutil.which("sh") is None, reason="needs a POSIX shell")
def test_a_cloud_without_metadata_gets_the_node_id_written_in(tmp_path: Path) -> None:
    script = bootstrap_script(
        UNIT,
        NodeRequest("node-42", 1, None),
        NodeIdentity(cloud="Example"),
        controller_id="ctl",
        controller_address="10.5.0.1",
    )
    assert "# VCP node bootstrap (vcpsdk Example backend)" in script
    assert "NODE_ID=node-42" in script
    args = run(script, tmp_path)
    assert args[-1] == "base:1"
    assert pairs(args) == {
        "AUTHORIZED_KEYS": "a2V5",
        "MY_PRIVATE_IP": "10.5.0.7",  # the first address of hostname -I
        "VCCCTR_IPADDR": "10.5.0.1",
        "SERF_NODE_ID": "node-42",
        "VCCC_ID": "ctl",
        "VCP_NODE_ID": "node-42",
        "VCP_UNIT_NAME": "web",
        "VCP_UGROUP_NAME": "group",
    }


@pytest.mark.skipif(shutil.which("sh") is None, reason="needs a POSIX shell")
def test_a_cloud_that_tells_the_node_id_at_boot_shares_one_script(tmp_path: Path) -> None:
    identity = NodeIdentity(cloud="Example", node_id="example-metadata id", node_id_note="from the metadata")
    first = bootstrap_script(UNIT, NodeRequest("n1", 1, None), identity)
    assert first == bootstrap_script(UNIT, NodeRequest("n2", 2, None), identity)
    assert "# from the metadata" in first
    assert pairs(run(first, tmp_path))["VCP_NODE_ID"] == "node-from-cloud"


def test_a_fixed_address_is_written_in() -> None:
    script = bootstrap_script(
        UNIT, NodeRequest("n1", 1, "10.5.0.99"), NodeIdentity(cloud="Example", address="x")
    )
    assert "MY_PRIVATE_IP=10.5.0.99\n" in script and "$(x)" not in script


def test_container_environment() -> None:
    env = container_environment(UNIT, node_id="n1", address="127.1.0.5", controller_address="127.0.0.1")
    assert env == {
        "MY_PRIVATE_IP": "127.1.0.5",
        "VCCCTR_IPADDR": "127.0.0.1",
        "SERF_NODE_ID": "n1",
        "VCP_NODE_ID": "n1",
        "VCP_UNIT_NAME": "web",
        "VCP_UGROUP_NAME": "group",
    }  # no controller id: no VCCC_ID
