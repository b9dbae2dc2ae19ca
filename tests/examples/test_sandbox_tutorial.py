"""``examples/sandbox_tutorial.ipynb`` (the seed tutorial "101 VC node start and delete" as a
notebook) executed top to bottom against an embedded sandbox of its own, its ``getpass()``
answered as a sandbox user does (Enter), and its outputs checked.

One test per property of the executed notebook (run once per module): another property
of the outputs is one more function."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbformat import NotebookNode

from vcpsdk.testing.network import free_port
from vcpsdk.testing.notebooks import display_outputs, error_outputs, html_outputs, run_notebook, stream_text

TUTORIAL = Path(__file__).parents[2] / "examples" / "sandbox_tutorial.ipynb"


@pytest.fixture(scope="module")
def tutorial(tmp_path_factory: pytest.TempPathFactory) -> NotebookNode:
    """The tutorial executed (a private sandbox in a temporary data dir, stopped afterwards)."""
    return run_notebook(
        TUTORIAL,
        work_dir=tmp_path_factory.mktemp("tutorial"),
        env={"VCPSDK_SANDBOX_SSH_PORT": str(free_port())},  # not 22/2222: other sandboxes may hold them
        timeout=300,
    )


def test_the_notebook_is_committed_without_outputs() -> None:
    notebook = nbformat.read(TUTORIAL, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and not any(cell.outputs or cell.execution_count for cell in code)
    assert any(cell.cell_type == "markdown" for cell in notebook.cells)
    assert "vcc_access_token = getpass()" in code[0].source  # the seed's token prompt, kept


def test_every_cell_ran_without_error(tutorial: NotebookNode) -> None:
    code = [cell for cell in tutorial.cells if cell.cell_type == "code"]
    assert all(cell.execution_count for cell in code)
    assert not error_outputs(tutorial)


def test_the_dataframe_views_are_html_tables(tutorial: NotebookNode) -> None:
    tables = [html for html in html_outputs(tutorial) if "<table" in html]
    assert len(tables) >= 15, len(tables)  # df_ugroups, df_units, df_nodes, df_flavors cells
    nodes = [t for t in tables if "node_state" in t]
    assert nodes and any("RUNNING" in t for t in nodes)
    assert any("flavor" in t and "m4.large" in t for t in tables)  # df_flavors('aws')


def test_nothing_on_stderr(tutorial: NotebookNode) -> None:
    assert stream_text(tutorial, "stderr") == ""


def test_the_nodes_answered_over_ssh_and_ping(tutorial: NotebookNode) -> None:
    out = stream_text(tutorial)
    assert "the keys are a pair" in out
    assert len(re.findall(r"^Linux \S+ ", out, flags=re.MULTILINE)) >= 5  # uname -a on the nodes
    assert "3 packets transmitted, 3 received" in out  # ping between the aws and the azure node
    assert "handson101" in out  # print(unit_group)


def test_the_tutorial_cleans_up(tutorial: NotebookNode) -> None:
    last = display_outputs(tutorial)[-1]
    assert "handson101" not in last["data"]["text/html"]  # df_ugroups() after cleanup()


def test_the_waits_show_progress(tutorial: NotebookNode) -> None:
    summaries = [
        o["data"].get("text/plain", "") for o in display_outputs(tutorial) if "(done in" in str(o["data"])
    ]
    assert any("handson101/aws-server: RUNNING" in s for s in summaries), summaries  # create_unit
    assert any("(cleanup)" in s for s in summaries), summaries  # the progress display's last line
