"""Run inside ``vcc sandbox run``: execute a notebook with nbclient + ipykernel, answering
its token prompt (``getpass``) with the sandbox's token, as a user at the keyboard would.

    python run_notebook.py NOTEBOOK.ipynb EXECUTED.ipynb

The kernel starts inside the namespace, so ``!ssh``, ``!ping`` and ``!ansible`` see the
private network.  The executed notebook (with outputs) is written even when a cell
fails; the exit status is 1 then.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

#: run in the kernel before the notebook: the answer to the token prompt
ANSWER_TOKEN_PROMPT = (  # ipykernel routes getpass() to its kernel's getpass on every execution
    "import os\n"
    "get_ipython().kernel.getpass = lambda prompt='', stream=None, **_: "
    "open(os.environ['VCPSDK_SANDBOX_TOKEN_FILE']).read().strip()\n"
)


def main(source: Path, target: Path) -> int:
    notebook = nbformat.read(source, as_version=4)
    client = NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": os.getcwd()}}
    )
    status = 0
    try:
        with client.setup_kernel():
            client.execute_cell(nbformat.v4.new_code_cell(ANSWER_TOKEN_PROMPT), 0, store_history=False)
            for index, cell in enumerate(notebook.cells):
                client.execute_cell(cell, index)
    except CellExecutionError as error:
        print(error, file=sys.stderr)
        status = 1
    nbformat.write(notebook, target)
    return status


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
