"""A multi-node construction notebook (``construction.ipynb``) executed as a real ``.ipynb``
inside ``vcc sandbox run``: fixed 172.30.2.x addresses, ``!ping``, ``!ssh``/``!scp`` as
vcp, an Ansible ad-hoc command, scale-in (the deleted node stops answering) and teardown.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
import pytest

from .conftest import HERE, SCRIPTS, sandbox_run

pytestmark = pytest.mark.usefixtures("namespaces")


def _text(cell: nbformat.NotebookNode) -> str:
    """A cell's output as a terminal would show it without colours."""
    text = "".join(
        str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", "")) for o in cell.outputs
    )
    return re.sub(r"\x1b\[[0-9;]*m", "", text).replace("\r\n", "\n")


def test_the_construction_notebook_runs_unchanged(tmp_path: Path) -> None:
    executed = tmp_path / "executed.ipynb"
    result = sandbox_run(
        sys.executable,
        str(SCRIPTS / "run_notebook.py"),
        str(HERE / "construction.ipynb"),
        str(executed),
        cwd=tmp_path,
    )
    assert executed.is_file(), result.stderr[-4000:]
    cells = [c for c in nbformat.read(executed, as_version=4).cells if c.cell_type == "code"]
    errors = [o for c in cells for o in c.outputs if o.output_type == "error"]
    assert result.returncode == 0 and not errors, result.stderr[-4000:]
    outputs = {c.source.splitlines()[0]: _text(c) for c in cells}

    def output(first_line: str) -> str:
        return next(text for line, text in outputs.items() if line.startswith(first_line))

    assert "1 received" in output("!ping -c 1 -W 2 172.30.2.100")
    assert output("!ssh -i id_nodes").splitlines()[-2:] == ["vcp", "root"]  # vcp, then sudo
    assert "hello from the notebook" in output("!echo hello")
    assert output("%env ANSIBLE_HOST_KEY_CHECKING").count('"ping": "pong"') == 3
    assert output("!ansible -i hosts nodes -b").count("CHANGED | rc=0 >>\nroot") == 3
    deleted = output("!ping -c 1 -W 1 172.30.2.102")  # scale-in: the address is gone
    assert "ping: connect: Network is unreachable" in deleted
    assert "ssh: connect to host 172.30.2.102 port 22: Network is unreachable" in deleted
    assert "teardown done" in output("ugroup.cleanup()")
