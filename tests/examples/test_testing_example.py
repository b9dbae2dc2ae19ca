"""The worked example of docs/testing.md (``examples/testing/``: a user's test file and
notebook) run as its user runs it: ``pytest --vcp-notebooks`` in a separate process, in a
project of its own with nothing but the installed vcpsdk."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).parents[2] / "examples" / "testing"
DOCS = Path(__file__).parents[2] / "docs" / "testing.md"


def test_the_example_passes_with_its_notebook(pytester: pytest.Pytester) -> None:
    for name in ("test_my_notebook.py", "my_notebook.ipynb"):
        shutil.copy(EXAMPLE / name, pytester.path / name)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-v", "--vcp-notebooks")
    result.assert_outcomes(passed=7)
    result.stdout.fnmatch_lines(["*my_notebook.ipynb::my_notebook.ipynb PASSED*"], consecutive=False)


def test_the_docs_show_the_example_as_it_is() -> None:
    docs = DOCS.read_text()
    example = (EXAMPLE / "test_my_notebook.py").read_text()
    start = example.index("def start_web_servers")
    assert example[start:].strip() in docs  # the docs quote the code CI runs
    assert "pytest --vcp-notebooks" in docs
