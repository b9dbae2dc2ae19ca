"""Run a user's Jupyter notebook against a test controller and return it executed.

:func:`run_notebook` starts a Jupyter kernel (nbclient, ipykernel: the ``notebook`` extra)
whose environment points vcpsdk at the controller, answers the notebook's ``getpass()``
token prompt (and any ``input()`` prompt you give an answer for), runs every cell and
returns the executed notebook (an ``nbformat.NotebookNode``).  A cell that raises stops the
run with :class:`NotebookFailed`, which names the cell and its error.

Two targets:

* ``controller=`` a :class:`~vcpsdk.testing.RunningController` (the pytest fixture
  ``live_controller``): the kernel gets ``VCPSDK_CONFIG_DIR`` = a fresh config dir whose
  ``vcp_config.yml`` names that controller, and ``getpass()`` gets a new token of ``user``;
* no controller: the embedded sandbox, private to this run (``VCPSDK_DATA_DIR`` and an
  empty config dir in ``work_dir``); ``getpass()`` gets ``""`` (the sandbox's own token is
  used), and the sandbox is stopped after the run.

Example::

    from vcpsdk.testing import running_controller
    from vcpsdk.testing.notebooks import run_notebook, stream_text

    with running_controller(tmp_path / "vcc") as vcc:
        nb = run_notebook("my_notebook.ipynb", controller=vcc)
    assert "RUNNING" in stream_text(nb)

In pytest the fixture ``run_vcp_notebook(path, **options)`` does this against
``live_controller``, and ``pytest --vcp-notebooks DIR`` collects notebooks as tests.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nbformat import NotebookNode

    from vcpsdk.testing.controller import RunningController

__all__ = [
    "NotebookFailed",
    "display_outputs",
    "error_outputs",
    "html_outputs",
    "kernel_environment",
    "outputs",
    "run_notebook",
    "stream_text",
]

#: an answer to an ``input()``/``getpass()`` prompt: ``(prompt, password) -> text``
Answer = Callable[[str, bool], str]

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@dataclass
class NotebookFailed(Exception):
    """A cell of the notebook raised (or the kernel died, or a cell ran too long).

    Attributes:
        path: the notebook file.
        notebook: the notebook executed up to and including the failing cell.
        cell_index: the index of the failing cell in ``notebook.cells`` (``None``: unknown).
        source: that cell's source.
        ename: the exception's class name (``"VcpSDKError"``...).
        evalue: the exception's message.
        traceback: the traceback the kernel showed, without terminal colours.
    """

    path: Path
    notebook: NotebookNode
    cell_index: int | None
    source: str
    ename: str
    evalue: str
    traceback: str

    def __str__(self) -> str:
        where = f"cell {self.cell_index}" if self.cell_index is not None else "a cell"
        return f"{self.path.name}: {where} raised {self.ename}: {self.evalue}"

    def report(self) -> str:
        """The failing cell and its error, as a test report shows them."""
        where = f"cell {self.cell_index}" if self.cell_index is not None else "a cell"
        source = "\n".join("    " + line for line in self.source.splitlines())
        error = self.traceback.rstrip() or f"{self.ename}: {self.evalue}"
        return f"{self.path}: {where} failed\n\n{source}\n\n{error}"


def kernel_environment(
    work_dir: Path,
    controller: RunningController | None = None,
    env: Mapping[str, str] | None = None,
    token: str = "",
) -> dict[str, str]:
    """The environment of a kernel that uses ``controller`` (or a private embedded sandbox).

    Writes ``work_dir/vcp_config/vcp_config.yml`` (naming ``controller``; empty without
    one, so ``VcpSDK()`` starts the sandbox of ``work_dir/data``).

    Args:
        work_dir: a directory of this run (created if needed).
        controller: the controller the SDK in the kernel talks to.
        env: more variables (they win).
        token: the token ``VcpSDK()`` uses when the notebook gives none
            (``VCPSDK_ACCESS_TOKEN``).

    Returns:
        this process's environment with ``VCPSDK_CONFIG_DIR`` and ``VCPSDK_DATA_DIR`` set,
        ``VCPSDK_ACCESS_TOKEN`` (when ``token`` is given) and ``VCPSDK_SHORT_ERRORS=0`` (the
        failure reports show the full traceback, not IPython's short rendering).
    """
    config_dir = Path(work_dir) / "vcp_config"
    config_dir.mkdir(parents=True, exist_ok=True)
    if controller is not None:
        controller.write_config(config_dir)
    environment = {k: v for k, v in os.environ.items() if not k.startswith("VCPSDK_")}
    environment.update(
        VCPSDK_CONFIG_DIR=str(config_dir),
        VCPSDK_DATA_DIR=str(Path(work_dir) / "data"),
        PYDEVD_DISABLE_FILE_VALIDATION="1",  # no debugger warning from the kernel
        JUPYTER_PLATFORM_DIRS="1",
        VCPSDK_SHORT_ERRORS="0",
    )
    if token:
        environment["VCPSDK_ACCESS_TOKEN"] = token
    environment.update(env or {})
    return environment


def run_notebook(
    path: str | Path,
    *,
    controller: RunningController | None = None,
    token: str | None = None,
    user: str = "notebook",
    inputs: Mapping[str, str] | Answer | None = None,
    work_dir: str | Path | None = None,
    cwd: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 600,
    kernel_name: str = "python3",
    allow_errors: bool = False,
) -> NotebookNode:
    """Execute the notebook at ``path`` against ``controller`` and return it executed.

    Args:
        path: the ``.ipynb`` file (not changed).
        controller: the controller the notebook's SDK talks to; ``None``: an embedded
            sandbox private to this run (stopped afterwards).
        token: the answer to a ``getpass()`` prompt (default: a new token of ``user`` on
            ``controller``; ``""`` for the sandbox, which then uses its own); also in the
            kernel's ``$VCPSDK_ACCESS_TOKEN``, so ``VcpSDK()`` without a token works too.
        user: the user the token is made for.
        inputs: answers to other prompts: ``{prompt substring: answer}`` (the first key found
            in the prompt wins, also for ``getpass()``), or a function ``(prompt,
            password) -> answer``.  An unexpected ``input()`` gets ``""``.
        work_dir: where the config dir and sandbox data go (default: a temporary directory,
            removed afterwards).
        cwd: the kernel's working directory (default: the notebook's directory, as in Jupyter).
        env: more environment variables of the kernel.
        timeout: seconds one cell may run.
        kernel_name: the Jupyter kernel (default ``python3``: this Python's ipykernel).
        allow_errors: keep going after a cell raises (errors stay in the outputs).

    Returns:
        the executed notebook.

    Raises:
        NotebookFailed: a cell raised (unless ``allow_errors``), timed out or the kernel died.
        ImportError: nbclient/nbformat/ipykernel are missing (``pip install vcpsdk[notebook]``).

    Example::

        nb = run_notebook("tutorial.ipynb", controller=live_controller)
        assert not stream_text(nb, "stderr")
    """
    import nbformat
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    path = Path(path)
    notebook = nbformat.read(path, as_version=4)
    with ExitStack() as stack:
        if work_dir is None:
            work_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix="vcp-notebook-"))
        work = Path(work_dir)
        if token is None:
            token = controller.create_token(user) if controller is not None else ""
        environment = kernel_environment(work, controller, env, token)
        if controller is None:
            stack.callback(_stop_sandbox, environment)
        client = _client_class()(
            notebook,
            answer=_answerer(token, inputs),
            timeout=timeout,
            kernel_name=kernel_name,
            allow_errors=allow_errors,
            # the kernel's own log (e.g. its warning that it runs over TCP on 127.0.0.1) is not
            # the notebook's: only its errors reach this process's stderr
            extra_arguments=["--IPKernelApp.log_level=ERROR"],
            resources={"metadata": {"path": str(cwd or path.parent.resolve())}},
        )
        try:
            client.execute(env=environment)
        except (CellExecutionError, CellTimeoutError, DeadKernelError) as error:
            raise _failure(path, notebook, error) from None
    return notebook


def _answerer(token: str, inputs: Mapping[str, str] | Answer | None) -> Answer:
    """How prompts are answered: ``inputs`` first, then the token for password prompts."""

    def answer(prompt: str, password: bool) -> str:
        if callable(inputs):
            return inputs(prompt, password)
        for key, value in (inputs or {}).items():
            if key in prompt:
                return value
        return token if password else ""

    return answer


def _client_class() -> type[Any]:
    """nbclient's ``NotebookClient`` answering the kernel's input requests (made on first use,
    so that importing this module does not need nbclient)."""
    global _AnsweringClient
    if _AnsweringClient is None:
        from nbclient import NotebookClient

        class AnsweringClient(NotebookClient):
            """A NotebookClient that lets the kernel ask for input and answers it."""

            def __init__(self, nb: Any, answer: Answer, **kwargs: Any) -> None:
                super().__init__(nb, **kwargs)
                self._answer = answer

            async def async_start_new_kernel_client(self) -> Any:
                kc = await super().async_start_new_kernel_client()
                kc.allow_stdin = True  # getpass()/input() ask us instead of failing
                return kc

            async def async_execute_cell(self, cell: Any, cell_index: int, *args: Any, **kwargs: Any) -> Any:
                answering = asyncio.ensure_future(self._answer_input_requests())
                try:
                    return await super().async_execute_cell(cell, cell_index, *args, **kwargs)
                finally:
                    answering.cancel()

            async def _answer_input_requests(self) -> None:
                kc: Any = self.kc  # an AsyncKernelClient
                while True:  # until the cell's execution ends (then cancelled)
                    message = await kc.get_stdin_msg(timeout=None)
                    if message["msg_type"] == "input_request":
                        content = message["content"]
                        kc.input(self._answer(content.get("prompt", ""), bool(content.get("password"))))

        _AnsweringClient = AnsweringClient
    return _AnsweringClient


_AnsweringClient: type[Any] | None = None


def _failure(path: Path, notebook: NotebookNode, error: Exception) -> NotebookFailed:
    """The :class:`NotebookFailed` of ``error``, naming the cell whose output shows it."""
    for index, cell in reversed(list(enumerate(notebook.cells))):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                return NotebookFailed(
                    path,
                    notebook,
                    index,
                    cell.source,
                    output.get("ename", ""),
                    output.get("evalue", ""),
                    _ANSI.sub("", "\n".join(output.get("traceback", []))),
                )
    return NotebookFailed(path, notebook, None, "", type(error).__name__, str(error), "")


def _stop_sandbox(environment: Mapping[str, str]) -> None:
    """Stop the private embedded sandbox a notebook may have started (``vcc sandbox stop``)."""
    subprocess.run(
        [sys.executable, "-m", "vcpsdk.controller.cli", "sandbox", "stop"],
        env=dict(environment),
        capture_output=True,
        timeout=60,
        check=False,
    )


# -- reading the outputs ----------------------------------------------------------------


def outputs(notebook: NotebookNode, output_type: str | None = None) -> Iterator[NotebookNode]:
    """Every output of the notebook's code cells, in order (only ``output_type`` ones if given:
    ``"stream"``, ``"display_data"``, ``"execute_result"``, ``"error"``)."""
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output_type is None or output.get("output_type") == output_type:
                yield output


def stream_text(notebook: NotebookNode, name: str = "stdout") -> str:
    """All text the cells wrote to ``name`` (``"stdout"`` or ``"stderr"``)."""
    return "".join(o.get("text", "") for o in outputs(notebook, "stream") if o.get("name") == name)


def display_outputs(notebook: NotebookNode) -> list[NotebookNode]:
    """The rich outputs (``display_data`` and ``execute_result``), in order."""
    return [o for o in outputs(notebook) if o.get("output_type") in ("display_data", "execute_result")]


def html_outputs(notebook: NotebookNode) -> list[str]:
    """The ``text/html`` of every rich output (DataFrame tables, ``_repr_html_`` views)."""
    return [o["data"]["text/html"] for o in display_outputs(notebook) if "text/html" in o.get("data", {})]


def error_outputs(notebook: NotebookNode) -> list[NotebookNode]:
    """The error outputs (with ``allow_errors=True`` the run goes on after them)."""
    return list(outputs(notebook, "error"))
