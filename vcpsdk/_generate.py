"""Methods generated from table rows: a real signature, a composed docstring, one body.

Used where a class has a family of methods that differ only in data (``VcNode``'s node
operations and docker helpers, the units' ``<op>_nodes`` methods): each row of the family's
table becomes a plain function whose ``inspect.signature`` and ``help()`` show the documented
parameters, and whose body receives the bound arguments by name.
"""

from __future__ import annotations

import inspect
import textwrap
from collections.abc import Callable
from typing import Any, TypeVar

R = TypeVar("R")
#: the bound arguments of a call, by parameter name (defaults applied, ``self`` removed)
Arguments = dict[str, Any]

WIDTH = 96


EMPTY = inspect.Parameter.empty


def parameter(name: str, annotation: Any = EMPTY, default: Any = EMPTY) -> inspect.Parameter:
    """A positional-or-keyword parameter (annotations are strings, as in hand-written methods)."""
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    return inspect.Parameter(name, kind, default=default, annotation=annotation)


def _fill(text: str, indent: str = "", subsequent: str | None = None) -> str:
    """``text`` wrapped at WIDTH columns on spaces (a plain greedy wrap: cheaper than textwrap at
    import time, when every generated docstring is composed); ``''`` for an empty text."""
    lines: list[str] = []
    words: list[str] = []
    prefix, width = indent, len(indent)
    for word in text.split():
        if words and width + 1 + len(word) > WIDTH:
            lines.append(prefix + " ".join(words))
            prefix = indent if subsequent is None else subsequent
            words, width = [], len(prefix)
        width += len(word) + (1 if words else 0)
        words.append(word)
    if words:
        lines.append(prefix + " ".join(words))
    return "\n".join(lines)


def section(title: str, entries: list[tuple[str, str]]) -> str:
    """A docstring section: ``Title:`` then one wrapped ``name: text`` entry a line."""
    return "\n".join([f"{title}:", *(_fill(f"{name}: {text}", "    ", "        ") for name, text in entries)])


def docstring(
    summary: str,
    details: str,
    args: list[tuple[str, str]],
    returns: str,
    raises: list[tuple[str, str]],
    example: str,
) -> str:
    """A Google-style docstring: summary, details, Args, Returns, Raises and Example sections.

    Args:
        summary: first paragraph.
        details: second paragraph (none when empty).
        args: ``(parameter, text)`` pairs.
        returns: the Returns text.
        raises: ``(exception, text)`` pairs.
        example: doctest lines, unindented.

    Returns:
        str: the docstring, wrapped at 96 columns.
    """
    parts = [
        _fill(summary),
        _fill(details),
        section("Args", args),
        "Returns:\n" + _fill(returns, "    "),
        section("Raises", raises),
        "Example:\n" + textwrap.indent(example, "    "),
    ]
    return "\n\n".join(part for part in parts if part)


def make_method(
    owner: str,
    name: str,
    parameters: list[inspect.Parameter],
    returns: str,
    doc: str,
    body: Callable[[Any, Arguments], R],
) -> Callable[..., R]:
    """A method ``owner.name`` with this signature (after ``self``) and docstring running ``body``.

    Args:
        owner: the class name, for ``__qualname__``.
        name: the method name.
        parameters: the parameters after ``self``.
        returns: the return annotation (a string).
        doc: the docstring.
        body: called with the instance and the bound arguments by name (defaults applied).

    Returns:
        a plain function, to assign in the class body (``docker_ps = ...``).
    """
    signature = inspect.Signature([parameter("self"), *parameters], return_annotation=returns)

    def generated(*args: Any, **kwargs: Any) -> R:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        arguments = dict(bound.arguments)
        return body(arguments.pop("self"), arguments)

    generated.__name__ = name
    generated.__qualname__ = f"{owner}.{name}"
    generated.__doc__ = doc
    generated.__signature__ = signature  # type: ignore[attr-defined]
    return generated
