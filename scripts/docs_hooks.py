"""MkDocs hooks of the docs site (mkdocs.yml ``hooks:``).

The notebooks in ``examples/`` are pages of the site without being copied into ``docs/``:
``examples/<name>.ipynb`` becomes the page ``examples/<name>.ipynb`` (executed against a
private sandbox, then rendered by the mkdocs-jupyter plugin), so a nav line
``- Tutorial: examples/sandbox_tutorial.ipynb`` works in ``mkdocs build`` and in
``mkdocs serve`` alike.  It is also the griffe extension
:class:`ExampleSections` of the API reference (mkdocstrings ``extensions:``).
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

from griffe import Extension, Object
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files

EXAMPLE_HEADING = re.compile(r"^(\s*)Example:[ \t]*$", re.MULTILINE)
#: a Sphinx cross-reference role: ``:class:`X```, ``:py:meth:`~a.B.c```
ROLE = re.compile(r":(?:py:)?(?:class|meth|func|mod|attr|data|exc|obj|const):`(~?)([^`]+)`")
#: a line that is only a label introducing a literal block: ``Example::``
LABEL_LITERAL = re.compile(r"^([ \t]*)(\w+)::[ \t]*$", re.MULTILINE)
#: a paragraph ending in ``::`` (the literal block follows)
PARAGRAPH_LITERAL = re.compile(r"(\S)::[ \t]*$", re.MULTILINE)
ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
#: the modules of the API reference whose classes have generated methods
DOCUMENTED_MODULES = ("vcpsdk.vcpsdk", "vcpsdk.node", "vcpsdk.spec")
#: where the notebooks are staged for the build (ignored by git)
STAGE = ROOT / ".cache" / "docs-notebooks"
#: ``0`` renders the notebooks as committed (without outputs) instead of executing them
EXECUTE_ENV = "VCPSDK_DOCS_EXECUTE"


def on_config(config: Any) -> Any:
    """Give the methods that helper modules generate for a class that class's module.

    ``VcpUnitClass.delete_nodes`` and its kind are made by ``vcpsdk._views`` and keep its
    ``__module__``; the API reference (griffe, inspecting) would take them for references
    to ``vcpsdk._views.VcpUnitClass.delete_nodes``, which does not exist, and leave them out.

    Args:
        config: the MkDocs configuration (unchanged).

    Returns:
        ``config``.
    """
    for module_name in DOCUMENTED_MODULES:
        module = importlib.import_module(module_name)
        for cls in vars(module).values():
            if not inspect.isclass(cls) or cls.__module__ != module_name:
                continue
            for name, member in vars(cls).items():
                if inspect.isfunction(member) and member.__qualname__ == f"{cls.__qualname__}.{name}":
                    member.__module__ = module_name
    return config


@event_priority(100)  # before the notebook plugin looks for .ipynb pages
def on_files(files: Files, config: Any) -> Files:
    """Add every ``examples/*.ipynb`` to the site's files (as staged by :func:`staged`).

    Args:
        files: the files MkDocs found in ``docs/``.
        config: the MkDocs configuration.

    Returns:
        ``files`` with the notebooks added.
    """
    for notebook in sorted(EXAMPLES.glob("*.ipynb")):
        staged(notebook)
        # a real file (the notebook plugin reads it through src_dir), at examples/<name>
        src_uri = f"{EXAMPLES.name}/{notebook.name}"
        files.append(File(src_uri, str(STAGE), config.site_dir, config.use_directory_urls))
    return files


def staged(notebook: Path, execute: bool | None = None) -> Path:
    """Copy ``notebook`` to ``STAGE/examples/``, executed, without its widget state.

    The committed notebook has no outputs; the page shows them: the notebook is executed by
    :func:`vcpsdk.testing.run_notebook` against a private embedded sandbox (loopback only,
    in ``STAGE``, stopped afterwards).  The executed copy is kept with the digest of the
    notebook it came from, so a rebuild (``mkdocs serve``) executes only a changed notebook.

    nbconvert's templates load the widget manager from a CDN for a notebook with widget
    state; without it a widget output (e.g. a progress bar) shows its text form, and the
    page loads nothing from the network.

    Args:
        notebook: an ``examples/*.ipynb``.
        execute: run the notebook (default: unless ``$VCPSDK_DOCS_EXECUTE`` is ``0``).

    Returns:
        the copy.
    """
    if execute is None:
        execute = os.environ.get(EXECUTE_ENV, "1").strip().lower() not in {"0", "false", "no", "off"}
    copy = STAGE / EXAMPLES.name / notebook.name
    source = notebook.read_bytes()
    digest = hashlib.sha256(source).hexdigest() + ("+executed" if execute else "")
    marker = copy.with_name(copy.name + ".sha256")
    if copy.exists() and marker.exists() and marker.read_text(encoding="utf-8") == digest:
        return copy
    document = _executed(notebook) if execute else json.loads(source)
    document.get("metadata", {}).pop("widgets", None)
    copy.parent.mkdir(parents=True, exist_ok=True)
    copy.write_text(json.dumps(document, indent=1), encoding="utf-8")
    marker.write_text(digest, encoding="utf-8")
    return copy


def _executed(notebook: Path) -> dict[str, Any]:
    """``notebook`` run top to bottom against a private embedded sandbox (its prompts answered
    as a sandbox user does), as a JSON document."""
    import nbformat

    from vcpsdk.testing.network import free_port
    from vcpsdk.testing.notebooks import run_notebook

    work = STAGE / "run" / notebook.stem
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        executed = run_notebook(
            notebook,
            work_dir=work,
            env={"VCPSDK_SANDBOX_SSH_PORT": str(free_port())},  # not 22/2222: a sandbox may hold them
            timeout=600,
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    document: dict[str, Any] = json.loads(nbformat.writes(executed))
    return document


def markdown_docstring(text: str) -> str:
    """A docstring's reST markup as Markdown, before the Google-style parser reads it.

    * roles (``:class:`X```, ``:meth:`~a.b.X```, ``:func:``, ``:mod:``, ``:attr:``,
      ``:data:``, ``:exc:``, also with a ``py:`` domain) become inline code ```X``` (a ``~``
      keeps the last name, as Sphinx shows it);
    * a paragraph ending in ``::`` (a literal block follows, indented) ends in ``:``; a line
      that is only ``Example::`` becomes the bold label ``**Example:**`` (not a section);
    * ``Example:`` sections become ``Examples:`` (their ``>>>`` lines render as code).

    Args:
        text: the docstring.

    Returns:
        the docstring for the API reference.

    Example:
        >>> markdown_docstring("See :meth:`~vcpsdk.vcpsdk.VcpSDK.version` and :class:`Vc`::")
        'See `version` and `Vc`:'
    """
    text = ROLE.sub(lambda m: f"`{m.group(2).rsplit('.', 1)[-1] if m.group(1) else m.group(2)}`", text)
    text = LABEL_LITERAL.sub(r"\1**\2:**", text)
    text = PARAGRAPH_LITERAL.sub(r"\1:", text)
    return EXAMPLE_HEADING.sub(r"\1Examples:", text)


class ExampleSections(Extension):
    """A griffe extension: the docstrings' reST markup is read as Markdown and their
    ``Example:`` sections as Google-style ``Examples:`` sections (see
    :func:`markdown_docstring`)."""

    def on_object(self, *, obj: Object, **kwargs: Any) -> None:
        """Rewrite ``obj``'s docstring by :func:`markdown_docstring` before it is parsed.

        Args:
            obj: the object griffe loaded.
            kwargs: the other arguments of the event.
        """
        if obj.docstring is not None:
            obj.docstring.value = markdown_docstring(obj.docstring.value)
