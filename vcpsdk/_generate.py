"""Methods generated from table rows: a typed stub's signature, a composed docstring, one body.

Used where a class has a family of methods that differ only in data (``VcNode``'s node
operations and docker helpers, the units' ``<op>_nodes`` methods and node views): a typed
stub ``def`` (body ``...``) carries each method's signature, so mypy, ``inspect.signature``
and ``help()`` show it; :func:`implement` turns the stub and its table row into a plain
function with the row's docstring, whose body receives the bound arguments by name, and checks
at import that the stub has the parameters the row documents.
"""

from __future__ import annotations

import inspect
import textwrap
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ParamSpec, TypeVar, cast

R = TypeVar("R")
P = ParamSpec("P")
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


def keywords(
    fields: Any, defaults: Mapping[str, Any], order: Iterable[str] = ()
) -> Callable[[inspect.Signature], inspect.Signature]:
    """A ``signature`` for :func:`implement`: the stub's ``**kwargs: Unpack[fields]`` is, at run
    time, positional-or-keyword parameters, one a field of the TypedDict ``fields``.

    mypy reads the fields (names and types) from the stub; ``help()`` and ``inspect.signature``
    show them as the parameters they are, with their annotations and ``defaults``.

    Args:
        fields: the TypedDict.
        defaults: the default of every field.
        order: the parameters' order (default: the fields' order).

    Returns:
        the function from the stub's signature to the runtime one.

    Raises:
        TypeError: ``defaults`` or ``order`` do not name the fields.
    """
    hints = {name: getattr(hint, "__forward_arg__", hint) for name, hint in fields.__annotations__.items()}
    names = list(order) or list(hints)
    if set(defaults) != set(hints) or set(names) != set(hints):
        raise TypeError(f"{fields.__name__}: defaults {sorted(defaults)} / order {names} are not its fields")
    expanded = [parameter(name, hints[name], defaults[name]) for name in names]

    def expand(signature: inspect.Signature) -> inspect.Signature:
        *params, last = signature.parameters.values()
        if last.kind is not inspect.Parameter.VAR_KEYWORD:
            raise TypeError(f"{signature}: the stub ends with **kwargs: Unpack[{fields.__name__}]")
        return signature.replace(parameters=[*params, *expanded])

    return expand


def implement(
    doc: str,
    body: Callable[[Any, Arguments], R],
    needs: Iterable[str],
    *,
    owner: str = "",
    name: str = "",
    signature: Callable[[inspect.Signature], inspect.Signature] | None = None,
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """A decorator: the typed stub it decorates (body ``...``) becomes a generated method.

    The stub carries the signature (what mypy and ``inspect.signature`` show), the table row the
    docstring and the body.  At import the stub's parameters after ``self`` must be ``needs``.

    Args:
        doc: the docstring.
        body: called with the instance and the bound arguments by name (defaults applied).
        needs: the parameters after ``self`` the row documents and ``body`` reads, in order.
        owner: the class name for ``__qualname__`` (default: the stub's own).
        name: the method name (default: the stub's; a stub shared by several methods has
            its own).
        signature: derives the runtime signature from the stub's (default: the stub's).

    Returns:
        the decorator; it returns a plain function with the stub's name, signature and
        annotations and ``doc``.

    Raises:
        TypeError: the stub's parameters are not ``needs``.
    """

    def decorate(stub: Callable[P, R]) -> Callable[P, R]:
        stub_signature = inspect.signature(stub)
        full = signature(stub_signature) if signature else stub_signature
        # shared stubs declare ``self: Any`` for mypy; methods show a plain ``self``
        full = full.replace(parameters=[parameter("self"), *list(full.parameters.values())[1:]])
        names = list(full.parameters)[1:]
        if names != list(needs):
            raise TypeError(f"{stub.__qualname__}{full}: the table row needs the parameters {list(needs)}")

        def generated(*args: Any, **kwargs: Any) -> R:
            bound = full.bind(*args, **kwargs)
            bound.apply_defaults()
            arguments = dict(bound.arguments)
            return body(arguments.pop("self"), arguments)

        method_name = name or stub.__name__
        generated.__name__ = method_name
        generated.__qualname__ = f"{owner}.{method_name}" if owner else stub.__qualname__
        generated.__module__ = stub.__module__
        generated.__doc__ = doc
        annotations = {p.name: p.annotation for p in full.parameters.values() if p.annotation is not EMPTY}
        generated.__annotations__ = {**annotations, "return": full.return_annotation}
        generated.__signature__ = full  # type: ignore[attr-defined]
        return cast(Callable[P, R], generated)

    return decorate
