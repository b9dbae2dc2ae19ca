"""Docstrings read like a reference (``?obj.method`` and ``help(VcpSDK)`` in notebooks).

For the documented classes, every public method and property (name not starting with
``_``) has a docstring with an ``Example`` section, and every method taking parameters
besides ``self`` has an ``Args:`` section naming each of them.
"""

from __future__ import annotations

import inspect
import pydoc
import re
from collections.abc import Iterator
from typing import Any

import pytest

from vcpsdk.node import VcNode
from vcpsdk.spec import VcpExtClass, VcpSpecClass, VcpSpecResource
from vcpsdk.vcp_config_yaml import VcpConfigYaml
from vcpsdk.vcpsdk import VcpSDK, VcpUnitClass, VcpUnitGroupClass

CLASSES = (
    VcpSDK,
    VcpUnitGroupClass,
    VcpUnitClass,
    VcNode,
    VcpSpecResource,
    VcpSpecClass,
    VcpExtClass,
    VcpConfigYaml,
)


def public_members(cls: type) -> Iterator[tuple[str, Any]]:
    """``(name, object)`` of each public method (as users get it) and property."""
    for name in sorted(dir(cls)):
        if name.startswith("_"):
            continue
        raw = inspect.getattr_static(cls, name)
        if isinstance(raw, property):
            yield name, raw
        elif callable(getattr(cls, name)):
            yield name, getattr(cls, name)


def parameters(obj: Any) -> list[str]:
    """Parameter names besides ``self`` (``**kw`` as ``kw``)."""
    return [p for p in inspect.signature(obj).parameters if p != "self"]


def args_section(doc: str) -> str:
    """The text of the ``Args:`` section ('' when there is none)."""
    match = re.search(r"^Args:\n(.*?)(?=^\S|\Z)", doc, re.M | re.S)
    return match.group(1) if match else ""


MEMBERS = [
    pytest.param(cls, name, obj, id=f"{cls.__name__}.{name}")
    for cls in CLASSES
    for name, obj in public_members(cls)
]


def test_the_walk_sees_the_members() -> None:
    names = {p.id for p in MEMBERS}
    assert {
        "VcpSDK.get_spec",
        "VcpSDK.config_dir",
        "VcpUnitGroupClass.create_unit",
        "VcpUnitClass.delete_nodes",
        "VcNode.ssh_exec",
        "VcNode.occtr",
        "VcpSpecResource.set_ssh_pubkey",
        "VcpSpecResource.tags",
        "VcpSpecClass.find_spec",
        "VcpExtClass.find_extension",
        "VcpConfigYaml.load_config",
    } <= names
    assert len(names) >= 90


@pytest.mark.parametrize(("cls", "name", "obj"), MEMBERS)
def test_member_docstring(cls: type, name: str, obj: Any) -> None:
    doc = inspect.getdoc(obj) or ""
    assert doc.strip(), f"{cls.__name__}.{name} has no docstring"
    assert "Example" in doc, f"{cls.__name__}.{name}: no Example section"
    if isinstance(obj, property):
        return
    params = parameters(obj)
    if not params:
        return
    section = args_section(doc)
    assert section, f"{cls.__name__}.{name}: no Args: section for {params}"
    missing = [p for p in params if not re.search(rf"^\s+(\*\*|\*)?{p}:", section, re.M)]
    assert not missing, f"{cls.__name__}.{name}: Args: does not name {missing}"


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_class_docstring(cls: type) -> None:
    doc = inspect.getdoc(cls) or ""
    assert "Example" in doc
    init_params = parameters(cls.__init__)
    if init_params:
        section = args_section(doc)
        missing = [p for p in init_params if not re.search(rf"^\s+{p}:", section, re.M)]
        assert not missing, f"{cls.__name__}: Args: does not name {missing}"


def test_help_vcpsdk_renders_every_method() -> None:
    text = pydoc.render_doc(VcpSDK, renderer=pydoc.plaintext)
    missing = [name for name, obj in public_members(VcpSDK) if not re.search(rf"\b{name}\b", text)]
    assert not missing
    assert "Example" in text and "Args:" in text


@pytest.mark.parametrize("cls", CLASSES[1:], ids=lambda c: c.__name__)
def test_help_renders(cls: type) -> None:
    text = pydoc.render_doc(cls, renderer=pydoc.plaintext)
    assert all(re.search(rf"\b{name}\b", text) for name, _ in public_members(cls))
