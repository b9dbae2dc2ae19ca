"""The notebook runner (:mod:`vcpsdk.testing.notebooks`) and notebook collection
(``--vcp-notebooks``): a notebook that asks for its token with ``getpass()`` runs against the
in-process controller, and a failing notebook names the failing cell."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pandas  # noqa: F401  # imported here once: pytester's in-process runs forget their imports, numpy loads once
import pytest
from nbformat import NotebookNode

from vcpsdk.testing import RunningController
from vcpsdk.testing.notebooks import (
    NotebookFailed,
    error_outputs,
    html_outputs,
    run_notebook,
    stream_text,
)

TOKEN_PROMPT = [
    "from getpass import getpass\nvcc_access_token = getpass()",
    "import os\nfrom vcpsdk.vcpsdk import VcpSDK\n\nvcp = VcpSDK(vcc_access_token)\n"
    "print('user', vcp.authority()['user_name'])\nprint('host', vcp.vcc_info()['host'])",
    "vcp.df_ugroups()",
]


def write_notebook(path: Path, *cells: str) -> Path:
    """A notebook of code cells (no outputs), as a user saves it."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    nbformat.write(notebook, path)
    return path


def test_the_token_prompt_is_answered_and_the_kernel_uses_the_controller(
    tmp_path: Path, live_controller: RunningController
) -> None:
    notebook = run_notebook(
        write_notebook(tmp_path / "token.ipynb", *TOKEN_PROMPT), controller=live_controller, user="carol"
    )
    assert isinstance(notebook, NotebookNode)
    assert f"user carol\nhost 127.0.0.1:{live_controller.port}\n" == stream_text(notebook)
    [table] = html_outputs(notebook)
    assert "<table" in table and "vcname" in table
    assert not stream_text(notebook, "stderr") and not error_outputs(notebook)
    saved = nbformat.read(tmp_path / "token.ipynb", as_version=4)
    assert not any(cell.outputs for cell in saved.cells)  # the file itself is left as it was


def test_other_prompts_are_answered_by_inputs(tmp_path: Path, live_controller: RunningController) -> None:
    path = write_notebook(
        tmp_path / "ask.ipynb",
        "name = input('your name: ')\nsecret = __import__('getpass').getpass('vault password: ')",
        "print(name, secret)",
    )
    notebook = run_notebook(
        path, controller=live_controller, inputs={"name": "Alice", "vault": "s3cret"}, token="unused"
    )
    assert stream_text(notebook) == "Alice s3cret\n"
    by_function = run_notebook(path, controller=live_controller, inputs=lambda prompt, password: prompt[:4])
    assert stream_text(by_function) == "your vaul\n"


def test_a_wrong_token_fails_naming_the_cell_and_the_error(
    tmp_path: Path, live_controller: RunningController
) -> None:
    path = write_notebook(tmp_path / "bad.ipynb", *TOKEN_PROMPT)
    with pytest.raises(NotebookFailed) as failed:
        run_notebook(path, controller=live_controller, token="not-a-token")
    assert (failed.value.cell_index, failed.value.ename) == (1, "VcpAuthError")
    assert "config vc failed" in failed.value.evalue
    report = failed.value.report()
    assert "cell 1 failed" in report and "    vcp = VcpSDK(vcc_access_token)" in report
    assert "\x1b[" not in report  # no terminal colours
    assert failed.value.notebook.cells[1].outputs[-1].output_type == "error"
    assert str(failed.value) == f"bad.ipynb: cell 1 raised VcpAuthError: {failed.value.evalue}"


def test_allow_errors_runs_on(tmp_path: Path, live_controller: RunningController) -> None:
    path = write_notebook(tmp_path / "on.ipynb", "1/0", "print('after')")
    notebook = run_notebook(path, controller=live_controller, allow_errors=True)
    assert [e.ename for e in error_outputs(notebook)] == ["ZeroDivisionError"]
    assert stream_text(notebook) == "after\n"


def test_the_kernel_runs_in_the_notebook_directory(
    tmp_path: Path, live_controller: RunningController
) -> None:
    (tmp_path / "data.txt").write_text("beside the notebook")
    path = write_notebook(tmp_path / "cwd.ipynb", "print(open('data.txt').read())")
    assert stream_text(run_notebook(path, controller=live_controller)) == "beside the notebook\n"


NOTEBOOKS_AS_TESTS = {
    "good.ipynb": TOKEN_PROMPT,
    "broken.ipynb": [*TOKEN_PROMPT[:2], "vcp.get_ugroup('nothing').df_units()"],
}


def make_notebooks(directory: Path) -> None:
    directory.mkdir()
    for name, cells in NOTEBOOKS_AS_TESTS.items():
        write_notebook(directory / name, *cells)
    checkpoints = directory / ".ipynb_checkpoints"
    checkpoints.mkdir()
    write_notebook(checkpoints / "good-checkpoint.ipynb", "raise SystemExit('a checkpoint is not a test')")


def test_vcp_notebooks_collects_a_folder_of_notebooks(pytester: pytest.Pytester) -> None:
    make_notebooks(pytester.path / "notebooks")
    result = pytester.runpytest("-p", "no:cacheprovider", "--vcp-notebooks", "notebooks", "-v")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*notebooks/broken.ipynb::broken.ipynb FAILED*",
            "*notebooks/good.ipynb::good.ipynb PASSED*",
        ],
        consecutive=False,
    )
    result.stdout.fnmatch_lines(
        ["*broken.ipynb: cell 2 failed", "", "    vcp.get_ugroup('nothing').df_units()", "*AttributeError*"]
    )


def test_notebooks_are_not_collected_unless_asked(pytester: pytest.Pytester) -> None:
    make_notebooks(pytester.path / "notebooks")
    pytester.runpytest("-p", "no:cacheprovider", "notebooks").assert_outcomes()
    pytester.makeini("[pytest]\nvcp_notebooks = true\n")
    pytester.runpytest("-p", "no:cacheprovider", "notebooks").assert_outcomes(passed=1, failed=1)


def test_run_vcp_notebook_fixture(pytester: pytest.Pytester, tmp_path: Path) -> None:
    write_notebook(pytester.path / "mine.ipynb", *TOKEN_PROMPT)
    pytester.makepyfile(
        test_mine="""
        from pathlib import Path

        from vcpsdk.testing.notebooks import html_outputs, stream_text

        def test_mine(run_vcp_notebook, vcp_user):
            notebook = run_vcp_notebook(Path(__file__).parent / "mine.ipynb")
            assert f"user {vcp_user}" in stream_text(notebook)
            assert html_outputs(notebook)
        """
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_a_notebook_calling_vcpsdk_without_a_token_runs(
    tmp_path: Path, live_controller: RunningController
) -> None:
    """Trial 15, finding 3: the README's ``vcp = VcpSDK()`` works under the kit."""
    path = write_notebook(
        tmp_path / "plain.ipynb",
        "from vcpsdk.vcpsdk import VcpSDK\nvcp = VcpSDK()\nprint('user', vcp.authority()['user_name'])",
    )
    notebook = run_notebook(path, controller=live_controller, user="dave")
    assert stream_text(notebook) == "user dave\n"


def test_a_failure_report_keeps_the_full_traceback(
    tmp_path: Path, live_controller: RunningController
) -> None:
    """Trial 15, finding 4: no "run %tb" in a report of a finished kernel."""
    path = write_notebook(
        tmp_path / "dup.ipynb",
        "import vcpsdk\nfrom vcpsdk.errors import VcpConflictError\n\n"
        "def create():\n    raise VcpConflictError('unit_group[dup] already exists')\n\ncreate()",
    )
    with pytest.raises(NotebookFailed) as failed:
        run_notebook(path, controller=live_controller)
    assert failed.value.ename == "VcpConflictError"
    assert "%tb" not in failed.value.traceback
    assert "def create" in failed.value.traceback or "create()" in failed.value.traceback
