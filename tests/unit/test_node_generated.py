"""The docker helpers of ``VcNode`` generated from its table: each runs the documented
``docker`` command line over ``ssh_exec`` and converts the output as its docstring says."""

from __future__ import annotations

import inspect
from typing import Any

import pandas as pd
import pytest

from vcpsdk.node import VcNode
from vcpsdk.records import Vc

D = "/usr/local/bin/docker"


@pytest.fixture
def node_and_calls(monkeypatch: pytest.MonkeyPatch) -> tuple[VcNode, list[dict[str, Any]]]:
    """A compute node whose ``ssh_exec`` records its calls and prints canned output."""
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
    calls: list[dict[str, Any]] = []

    def ssh_exec(self: VcNode, cmd: str, **kw: Any) -> tuple[str, str]:
        calls.append({"cmd": cmd, **kw})
        if "--format" in cmd:
            return '{"ID": "a1"}\n{"ID": "b2"}\n', ""
        if " inspect " in cmd:
            return '[{"Id": "x"}]', ""
        return "out\n", "err\n"

    monkeypatch.setattr(VcNode, "ssh_exec", ssh_exec)
    return vc.units[0].nodes[0], calls


CASES = [
    ("docker_ps", (["-a"],), f"{D} ps -a --format '{{{{json .}}}}'", "table"),
    ("docker_image_ls", (), f"{D} image ls --format '{{{{json .}}}}'", "table"),
    ("docker_network_ls", (), f"{D} network ls --format '{{{{json .}}}}'", "table"),
    ("docker_volume_ls", (["-q"],), f"{D} volume ls -q --format '{{{{json .}}}}'", "table"),
    ("docker_inspect", ("web",), f"{D} inspect web", "object"),
    ("docker_image_inspect", ("nginx",), f"{D} image inspect nginx", "object"),
    ("docker_network_inspect", ("bridge", ["-v"]), f"{D} network inspect -v bridge", "object"),
    ("docker_volume_inspect", ("data",), f"{D} volume inspect data", "object"),
    ("docker_info", (), f"{D} info", "stdout"),
    ("docker_logs", ("web", ["--tail", "20"]), f"{D} logs --tail 20 web", "joined"),
    ("docker_cp", ("web:/a b", "/tmp/x"), f"{D} cp 'web:/a b' /tmp/x", "stdout"),
    ("docker_run", ("nginx", ["-d"], ["sh", "-c", "echo hi"]), f"{D} run -d nginx sh -c 'echo hi'", "both"),
    ("docker_exec", ("web", None, ["nginx", "-v"]), f"{D} exec web nginx -v", "both"),
    ("docker_restart", ("web",), f"{D} restart web", "stdout"),
    ("docker_stop", ("web", ["-t", "1"]), f"{D} stop -t 1 web", "stdout"),
    ("docker_start", ("web",), f"{D} start web", "stdout"),
    ("docker_rm", ("web", ["-f"]), f"{D} rm -f web", "stdout"),
    ("docker_pull", ("nginx:latest",), f"{D} pull nginx:latest", "stdout"),
    ("docker_push", ("10.0.0.1:5001/app:1",), f"{D} push 10.0.0.1:5001/app:1", "stdout"),
    ("docker_image_rm", ("nginx", ["-f"]), f"{D} image rm -f nginx", "stdout"),
    ("docker_image_tag", ("a:1", "b:2"), f"{D} image tag a:1 b:2", "stdout"),
]


def test_the_table_covers_every_docker_helper() -> None:
    helpers = {name for name in dir(VcNode) if name.startswith("docker_")}
    assert helpers == {name for name, *_ in CASES}
    assert len(helpers) == 21


@pytest.mark.parametrize(("name", "args", "command", "output"), CASES, ids=[c[0] for c in CASES])
def test_docker_helper_runs_its_command(
    node_and_calls: tuple[VcNode, list[dict[str, Any]]],
    name: str,
    args: tuple[Any, ...],
    command: str,
    output: str,
) -> None:
    node, calls = node_and_calls
    result = getattr(node, name)(*args)
    assert [c["cmd"] for c in calls] == [command]
    assert calls[0]["ssh_user_name"] == "root"
    expected: Any = {
        "table": None,
        "object": {"Id": "x"},
        "stdout": "out\n",
        "joined": "out\nerr\n",
        "both": ("out\n", "err\n"),
    }[output]
    if output == "table":
        assert isinstance(result, pd.DataFrame)
        assert list(result["ID"]) == ["a1", "b2"]
    else:
        assert result == expected


def test_keywords_user_key_and_cwd_reach_ssh(node_and_calls: tuple[VcNode, list[dict[str, Any]]]) -> None:
    node, calls = node_and_calls
    node.docker_cp(src="a", dest="b", cwd="/srv", ssh_user_name="ubuntu", private_key_path="/k")
    assert calls == [
        {"cmd": f"{D} cp a b", "cwd": "/srv", "private_key_path": "/k", "ssh_user_name": "ubuntu"}
    ]


def test_generated_helpers_are_plain_functions_that_bind_like_written_ones(
    node_and_calls: tuple[VcNode, list[dict[str, Any]]],
) -> None:
    node, _ = node_and_calls
    assert inspect.isfunction(VcNode.docker_ps)
    assert VcNode.docker_ps.__qualname__ == "VcNode.docker_ps"
    assert list(inspect.signature(node.docker_exec).parameters) == [
        "container",
        "options",
        "cmd",
        "ssh_user_name",
        "private_key_path",
    ]
    with pytest.raises(TypeError):
        node.docker_logs()  # container is required
    with pytest.raises(TypeError):
        node.docker_ps(colour="red")
    with pytest.raises(TypeError):
        node.docker_image_tag("a", "b", ["-f"], "root", None, "extra")


def test_a_row_and_a_stub_that_disagree_fail_at_import() -> None:
    """The row documents ``cmd`` but the typed stub has no such parameter: TypeError at once."""
    from vcpsdk import node as node_module

    row = node_module._docker_command(
        "logs", node_module._LOGS, "Logs", "node.docker_logs('web')", cmd="command."
    )
    with pytest.raises(TypeError, match="needs the parameters"):
        row(node_module._on_container)

    def no_privileged(self: Any) -> bool: ...

    with pytest.raises(TypeError, match="needs the parameters"):
        node_module._node_operation("suspend", "Suspend.")(no_privileged)


def test_generated_methods_show_the_stubs_annotations() -> None:
    """``__annotations__`` (what ``typing.get_type_hints`` and tools read) is the method's own."""
    assert VcNode.docker_exec.__annotations__ == {
        "container": "str",
        "options": "list[str] | None",
        "cmd": "list[str] | None",
        "ssh_user_name": "str",
        "private_key_path": "str | None",
        "return": "tuple[str, str]",
    }
    assert VcNode.suspend.__annotations__ == {"privileged": "bool", "return": "bool"}
    assert VcNode.docker_exec.__module__ == "vcpsdk.node"
