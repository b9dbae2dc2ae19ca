"""Notebooks run in a real Jupyter kernel (nbclient + ipykernel) against a controller on 127.0.0.1.

They check what a user sees in the executed cells: the live progress display of a wait (a
widget replaced by a one-line summary), short errors with a hint for a bad token and a
duplicate UnitGroup (the full traceback one ``%tb`` away), nothing on stderr in the cells
that succeed, and an interrupted ``create_unit`` that says how to resume and is resumed.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

nbclient = pytest.importorskip("nbclient")
nbformat = pytest.importorskip("nbformat")
pytest.importorskip("ipykernel")
pytest.importorskip("ipywidgets")

from nbformat.v4 import new_code_cell, new_notebook  # noqa: E402

from vcpsdk.progress import PROGRESS_ENV  # noqa: E402
from vcpsdk.testing import RunningController, running_controller, write_test_public_key  # noqa: E402
from vcpsdk.testing.serve import subprocess_env  # noqa: E402

#: seconds a sandbox node takes to boot: a create_unit waits that long
BOOT_DELAY = 4
WIDGET = "application/vnd.jupyter.widget-view+json"
SETUP = [
    "import os\nfrom vcpsdk.vcpsdk import VcpSDK\nvcp = VcpSDK(os.environ['NB_TOKEN'])",
    "ug = vcp.create_ugroup('nb')\nspec = vcp.get_spec('aws', 'small')\n"
    "spec.set_ssh_pubkey(os.environ['NB_PUBKEY'])\nspec.num_nodes = 2",
]


class RecordingClient(nbclient.NotebookClient):  # type: ignore[misc]
    """Keeps every kernel message per cell (a display replaced later is gone from the
    outputs) and can interrupt the kernel when a message arrives."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.messages: dict[int, list[tuple[str, dict[str, Any]]]] = {}
        self.interrupt_when: Any = None

    def process_message(self, msg: dict[str, Any], cell: Any, cell_index: int) -> Any:
        self.messages.setdefault(cell_index, []).append((msg["msg_type"], msg["content"]))
        if self.interrupt_when is not None and self.interrupt_when(msg, cell_index):
            self.interrupt_when = None
            os.kill(self.km.provisioner.pid, signal.SIGINT)  # what Jupyter's stop button does
        return super().process_message(msg, cell, cell_index)


@pytest.fixture(scope="module")
def controller(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningController]:
    with running_controller(tmp_path_factory.mktemp("nb-vcc"), boot_delay=BOOT_DELAY) as running:
        yield running


@pytest.fixture
def kernel_env(controller: RunningController, tmp_path: Path) -> dict[str, str]:
    """The kernel's environment: the config dir, a token and a public key for the cells."""
    env = subprocess_env(
        {
            "VCPSDK_CONFIG_DIR": str(controller.write_config(tmp_path / "cfg")),
            "NB_TOKEN": controller.create_token("nb-user"),
            "NB_PUBKEY": str(write_test_public_key(tmp_path / "id.pub")),
        }
    )
    env.pop(PROGRESS_ENV, None)  # progress on, as by default
    return env


def client_for(cells: list[str], path: Path, tags: dict[int, list[str]] | None = None) -> RecordingClient:
    nb = new_notebook(cells=[new_code_cell(source) for source in cells])
    for index, cell_tags in (tags or {}).items():
        nb.cells[index].metadata["tags"] = cell_tags
    return RecordingClient(
        nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(path)}}
    )


def outputs(client: RecordingClient, index: int, kind: str) -> list[Any]:
    return [o for o in client.nb.cells[index].outputs if o.output_type == kind]


def stderr_of(client: RecordingClient, index: int) -> str:
    return "".join(o.text for o in outputs(client, index, "stream") if o.name == "stderr")


def test_progress_display_short_errors_and_quiet_cells(kernel_env: dict[str, str], tmp_path: Path) -> None:
    cells = [
        *SETUP,
        "unit = ug.create_unit('web', spec)\nunit.state",  # 2
        "vcp.create_ugroup('nb')",  # 3: duplicate UnitGroup
        "VcpSDK('not-a-token')",  # 4: bad token
        "%tb",  # 5: the full traceback of the last error
        "ug.cleanup()",  # 6
    ]
    client = client_for(cells, tmp_path, tags={3: ["raises-exception"], 4: ["raises-exception"]})
    client.execute(env=kernel_env)

    # the live display: a progress widget with the unit and its nodes per state ...
    shown = [c for t, c in client.messages[2] if t == "display_data" and WIDGET in c["data"]]
    assert shown, client.messages[2]
    assert shown[0]["data"]["text/plain"].startswith("nb/web: BOOTING 2")
    # ... replaced in place by the one-line summary, which is what the saved notebook keeps
    [summary] = outputs(client, 2, "display_data")
    assert summary.data["text/plain"].startswith("nb/web: RUNNING 2/2 (done in ")
    assert outputs(client, 2, "execute_result")[0].data["text/plain"] == "'RUNNING'"

    # short errors: the class and message, a hint, the way to the full traceback
    [duplicate] = outputs(client, 3, "error")
    assert duplicate.ename == "VcpInvalidArgumentError"
    assert duplicate.evalue == "aleady exist UnitGroup. change name or cleanup first!"
    text = "\n".join(duplicate.traceback)
    assert "vcp.get_ugroup('nb')" in text and "%tb" in text
    assert len(duplicate.traceback) == 3 and "vcpsdk/" not in text  # no frames of the internals
    [auth] = outputs(client, 4, "error")
    assert auth.ename == "VcpAuthError" and auth.evalue.startswith("config vc failed: http_status(403)")
    assert "vcc sandbox token" in "\n".join(auth.traceback) and len(auth.traceback) == 3
    [full] = outputs(client, 5, "error")  # %tb: the whole traceback, through the SDK
    assert full.ename == "VcpAuthError" and "vcpsdk.py" in "\n".join(full.traceback)

    # the cleanup waits too; no cell that succeeded wrote to stderr (no log records, no warnings)
    assert outputs(client, 6, "display_data")[0].data["text/plain"] == "nb (cleanup): deleted (done in 0 s)"
    for index in (0, 1, 2, 6):
        assert stderr_of(client, index) == "", (index, client.nb.cells[index].outputs)


def test_an_interrupted_create_unit_says_how_to_resume_and_resumes(
    kernel_env: dict[str, str], tmp_path: Path
) -> None:
    cells = [
        *SETUP,
        "unit = ug.create_unit('web', spec)",  # 2: interrupted while the nodes boot
        "unit = ug.wait_unit_applied('web')\nunit.state",  # 3: the resume the message names
        "[n.state for n in ug.get_unit('web').find_nodes()]",  # 4
    ]
    client = client_for(cells, tmp_path, tags={2: ["raises-exception"]})

    def waiting(msg: dict[str, Any], index: int) -> bool:  # the progress display: create_unit waits
        return index == 2 and msg["msg_type"] == "display_data" and WIDGET in msg["content"]["data"]

    client.interrupt_when = waiting
    client.execute(env=kernel_env)

    [error] = outputs(client, 2, "error")
    assert error.ename == "VcpWaitInterrupted"
    assert error.evalue.startswith("Stopped waiting for nb/web after ")
    assert "the operation goes on on the controller" in error.evalue
    text = "\n".join(error.traceback)
    assert "ug.wait_unit_applied('web')" in text and "ug.get_unit('web')" in text
    assert len(error.traceback) == 3 and "%tb" in text  # short: no wall of internals
    [summary] = outputs(client, 2, "display_data")
    assert "(interrupted after " in summary.data["text/plain"]

    assert outputs(client, 3, "execute_result")[0].data["text/plain"] == "'RUNNING'"
    assert outputs(client, 4, "execute_result")[0].data["text/plain"] == "['RUNNING', 'RUNNING']"
    for index in (0, 1, 3, 4):
        assert stderr_of(client, index) == "", (index, client.nb.cells[index].outputs)
