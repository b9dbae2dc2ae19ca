"""The docs build's hooks (``scripts/docs_hooks.py``): the tutorial page shows an executed
notebook (run against a private sandbox into the stage, the committed file left without
outputs), and the API reference shows no reST roles."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

pytest.importorskip("mkdocs")
pytest.importorskip("griffe")
pytest.importorskip("nbclient")

ROOT = Path(__file__).parents[2]
TUTORIAL = ROOT / "examples" / "sandbox_tutorial.ipynb"


def _hooks() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_hooks_under_test", ROOT / "scripts" / "docs_hooks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def hooks() -> ModuleType:
    return _hooks()


def test_the_tutorial_page_is_the_executed_notebook(
    hooks: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Trial 15, finding 8."""
    monkeypatch.setattr(hooks, "STAGE", tmp_path / "stage")
    monkeypatch.delenv(hooks.EXECUTE_ENV, raising=False)
    committed = TUTORIAL.read_bytes()
    copy = hooks.staged(TUTORIAL)
    document = json.loads(copy.read_text(encoding="utf-8"))
    outputs = [o for cell in document["cells"] if cell["cell_type"] == "code" for o in cell["outputs"]]
    html = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert any("<table" in "".join(h) for h in html)
    assert not [o for o in outputs if o["output_type"] == "error"]
    assert "widgets" not in document.get("metadata", {})  # nothing for a CDN widget manager
    assert TUTORIAL.read_bytes() == committed  # the committed notebook keeps no outputs
    assert not (tmp_path / "stage" / "run").exists() or not any((tmp_path / "stage" / "run").iterdir())

    def no_second_run(notebook: Path) -> None:
        raise AssertionError("executed again")

    monkeypatch.setattr(hooks, "_executed", no_second_run)
    assert hooks.staged(TUTORIAL) == copy  # unchanged notebook: the executed copy is reused


def test_rest_roles_and_literal_markers_become_markdown(hooks: ModuleType) -> None:
    """Trial 15, finding 9: no raw ``:class:`X``` or ``::`` in the API reference."""
    text = (
        "Waits through :class:`vcpsdk.waiting.Waiter` (see :meth:`~vcpsdk.vcpsdk.VcpSDK.version`,\n"
        ":func:`f`, :mod:`vcpsdk.errors`, :attr:`x.y`, :data:`Z`, :exc:`KeyError`, :py:class:`W`).\n\n"
        "Run it by hand::\n\n    vcc serve\n\nExample::\n\n    vcp = VcpSDK()\n\n"
        "Example:\n    >>> 1\n    1\n"
    )
    assert hooks.markdown_docstring(text) == (
        "Waits through `vcpsdk.waiting.Waiter` (see `version`,\n"
        "`f`, `vcpsdk.errors`, `x.y`, `Z`, `KeyError`, `W`).\n\n"
        "Run it by hand:\n\n    vcc serve\n\n**Example:**\n\n    vcp = VcpSDK()\n\n"
        "Examples:\n    >>> 1\n    1\n"
    )


def test_no_docstring_of_the_package_keeps_rest_markup(hooks: ModuleType) -> None:
    import inspect
    import pkgutil
    import re

    import vcpsdk

    leftovers = []
    for info in pkgutil.walk_packages(vcpsdk.__path__, "vcpsdk."):
        if any(part in info.name for part in (".controller.", ".testing.fakes", ".extensions.")):
            continue
        try:
            module = __import__(info.name, fromlist=["_"])
        except ImportError:
            continue
        for obj in [module, *vars(module).values()]:
            doc = inspect.getdoc(obj) if getattr(obj, "__module__", info.name) == info.name else None
            if doc:
                converted = hooks.markdown_docstring(doc)
                leftovers += re.findall(r":[a-z]+:`[^`]*`|\S::$", converted, re.MULTILINE)
    assert not leftovers
