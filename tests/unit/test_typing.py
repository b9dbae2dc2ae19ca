"""mypy sees the real signatures of the generated methods (the package ships ``py.typed``).

Runs mypy (its API) on a small user script: wrong keywords to generated methods are errors,
and the revealed types name the documented parameters rather than ``*Any, **Any``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import vcpsdk

mypy_api = pytest.importorskip("mypy.api")

USER_SCRIPT = """\
from vcpsdk.node import VcNode
from vcpsdk.vcpsdk import VcpSDK

vcp = VcpSDK()
ug = vcp.create_ugroup("handson")
unit = ug.create_unit("web", vcp.get_spec("aws", "small"))
node: VcNode = unit.find_nodes()[0]
reveal_type(unit.find_nodes)
reveal_type(ug.find_nodes)
reveal_type(node.docker_ps)
reveal_type(node.suspend)
reveal_type(unit.delete_nodes)
reveal_type(ug.owner)
reveal_type(node.docker_logs)
node.docker_ps(nonsense=True)
unit.find_nodes(nonsense=True)
ug.find_nodes(unit_name="web", bogus=1)
unit.unwatch_nodes(wait_for=False)
node.docker_logs("web", ["--tail", "2"], ssh_user_name="ubuntu")
ug.find_nodes("web", node_state="RUNNING", privileged=True)
unit.delete_nodes(2, wait_for=False)
"""


@pytest.fixture(scope="module")
def mypy_report(tmp_path_factory: pytest.TempPathFactory) -> dict[int, list[str]]:
    """mypy's messages on USER_SCRIPT, by line."""
    folder = tmp_path_factory.mktemp("user")
    script = folder / "user_script.py"
    script.write_text(USER_SCRIPT)
    package_root = Path(vcpsdk.__file__).resolve().parent.parent
    arguments = [str(script), "--no-incremental", "--cache-dir", str(folder / ".mypy_cache")]
    # a user's defaults, not this project's settings; pandas ships no stubs
    arguments += ["--config-file=", "--ignore-missing-imports", "--python-version", "3.11"]
    with pytest.MonkeyPatch.context() as env:
        env.setenv("MYPYPATH", str(package_root))  # the SDK under test, wherever it is installed from
        stdout, stderr, _ = mypy_api.run(arguments)
    assert not stderr, stderr
    lines: dict[int, list[str]] = {}
    for match in re.finditer(r"^(?P<file>[^:\n]+):(?P<line>\d+): (?P<text>.*)$", stdout, re.M):
        if match["file"].endswith("user_script.py"):
            lines.setdefault(int(match["line"]), []).append(match["text"])
        else:  # the SDK itself must type-check as the user's mypy sees it
            assert "error" not in match["text"], match[0]
    return lines


def line_of(statement: str) -> int:
    """The line number of ``statement`` in USER_SCRIPT."""
    return USER_SCRIPT.splitlines().index(statement) + 1


WRONG_CALLS = {
    "node.docker_ps(nonsense=True)": "nonsense",
    "unit.find_nodes(nonsense=True)": "nonsense",
    'ug.find_nodes(unit_name="web", bogus=1)': "bogus",
    "unit.unwatch_nodes(wait_for=False)": "wait_for",
}


def _errors(report: dict[int, list[str]], line: int) -> list[str]:
    return [text for text in report.get(line, []) if text.startswith("error:")]


@pytest.mark.parametrize(("statement", "keyword"), WRONG_CALLS.items(), ids=list(WRONG_CALLS))
def test_a_wrong_keyword_is_an_error(mypy_report: dict[int, list[str]], statement: str, keyword: str) -> None:
    errors = _errors(mypy_report, line_of(statement))
    assert any(f'Unexpected keyword argument "{keyword}"' in e for e in errors), errors


def test_right_calls_are_accepted(mypy_report: dict[int, list[str]]) -> None:
    refused = {line for line in mypy_report if _errors(mypy_report, line)}
    assert refused == {line_of(statement) for statement in WRONG_CALLS}


def revealed(report: dict[int, list[str]], expression: str) -> str:
    """The type mypy reveals for ``expression``, without the quotes."""
    (note,) = [text for text in report[line_of(f"reveal_type({expression})")] if "Revealed type is" in text]
    return note.split("Revealed type is ", 1)[1].strip('"')


def test_revealed_types_show_the_documented_parameters(mypy_report: dict[int, list[str]]) -> None:
    unit_find = revealed(mypy_report, "unit.find_nodes")
    assert "*Any" not in unit_find
    assert unit_find.startswith("def (node_id: str =, node_state: str =, node_no: Any =")
    assert unit_find.endswith("privileged: bool =) -> list[Any]")
    assert "[node_id: str =, node_state: str =" in revealed(mypy_report, "ug.find_nodes")
    docker_ps = revealed(mypy_report, "node.docker_ps")
    assert docker_ps.startswith("def (options: list[str] | None =, *, ssh_user_name: str =")
    assert revealed(mypy_report, "node.docker_logs").endswith(") -> str")
    assert revealed(mypy_report, "node.suspend") == "def (privileged: bool =) -> bool"
    delete = revealed(mypy_report, "unit.delete_nodes")
    assert delete.startswith("def (num_delete_nodes: int | None =, *, node_no: int | None =")
    assert delete.endswith(") -> list[vcpsdk.node.VcNode]")
    assert revealed(mypy_report, "ug.owner") == "str"
