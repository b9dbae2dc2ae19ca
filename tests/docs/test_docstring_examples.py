"""The examples of the public docstrings run as written against a sandbox controller.

Each docstring with ``>>>`` examples of the notebook-facing API (:data:`MODULES`: the
modules, their public classes and every method, property and attribute of those) is one
test, run by :mod:`doctest` in a sandbox notebook's setting: ``VcpSDK()`` with no
configuration, i.e. the embedded sandbox (started once for this module, its nodes boot at
once).

An example sees what a sandbox notebook has after the first cells of the tutorial (the
names documented in ``docs/api/index.md``), made on first use, so an example that makes
one of them itself starts without it:

* ``vcp``: ``VcpSDK()`` (the embedded sandbox; its token is a superuser's);
* ``ug``: ``vcp.create_ugroup('handson101')``;
* ``spec``: ``vcp.get_spec('aws', 'small')`` with ``spec.set_ssh_pubkey('~/.ssh/id_rsa.pub')``;
* ``unit``: ``ug.create_unit('aws-server', spec)`` (one RUNNING node, 127.30.2.10);
* ``node``: ``unit.find_nodes()[0]``.

``$HOME`` is a directory with ``~/.ssh/id_rsa`` (and ``.pub``); the working directory is
an empty one.  Before each docstring every UnitGroup is cleaned up, so each starts from the
same state.  ``...`` in an expected output matches anything (``ELLIPSIS``).
"""

from __future__ import annotations

import doctest
import inspect
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import vcpsdk.node
import vcpsdk.spec
import vcpsdk.vcp_config_yaml
import vcpsdk.vcpsdk
from vcpsdk import embedded
from vcpsdk.testing import free_port
from vcpsdk.vcpsdk import VcpSDK

#: the modules whose docstrings are user documentation (rendered in docs/api/)
MODULES: list[ModuleType] = [vcpsdk.vcpsdk, vcpsdk.node, vcpsdk.spec, vcpsdk.vcp_config_yaml]

#: the only docstrings whose examples may be marked ``# doctest: +SKIP`` (each says why in
#: the docstring too): they cannot run offline; every other example runs
NEEDS_A_REAL_CLOUD = {
    # reserves hosts on Chameleon Cloud through its Keystone/Blazar APIs (real credentials)
    "vcpsdk.vcpsdk.VcpSDK.get_extension",
    # the same extension lookup, with a Chameleon token
    "vcpsdk.spec.VcpExtClass.find_extension",
}

FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _docstrings() -> Iterator[tuple[str, str]]:
    """(qualified name, docstring) of each module, public class and public class member."""
    for module in MODULES:
        yield module.__name__, module.__doc__ or ""
        for class_name in getattr(module, "__all__", []):
            cls = getattr(module, class_name)
            if not inspect.isclass(cls) or cls.__module__ != module.__name__:
                continue
            yield f"{module.__name__}.{class_name}", cls.__doc__ or ""
            for name, member in vars(cls).items():
                if name.startswith("_"):
                    continue
                doc = getattr(member, "__doc__", None)
                if isinstance(doc, str) and doc is not type(member).__doc__:
                    yield f"{module.__name__}.{class_name}.{name}", doc


def _examples() -> list[doctest.DocTest]:
    parser = doctest.DocTestParser()
    found = []
    for name, doc in _docstrings():
        test = parser.get_doctest(inspect.cleandoc(doc), {}, name, None, 0)
        if test.examples:
            found.append(test)
    return found


EXAMPLES = _examples()


class NotebookGlobals(dict[str, Any]):
    """The globals of one docstring: the tutorial's names, each made on first use."""

    def __init__(self, factories: dict[str, Callable[[NotebookGlobals], Any]]) -> None:
        super().__init__()
        self._factories = factories

    def __missing__(self, name: str) -> Any:
        if name not in self._factories:
            raise KeyError(name)
        self[name] = value = self._factories[name](self)
        return value


def _spec(g: NotebookGlobals) -> Any:
    spec = g["vcp"].get_spec("aws", "small")
    spec.set_ssh_pubkey("~/.ssh/id_rsa.pub")
    return spec


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A user's machine: ``$HOME`` with ``~/.ssh/id_rsa`` and no ``~/vcp_config``, and the
    embedded sandbox of ``VcpSDK()`` (its own data dir, nodes boot at once); yields HOME."""
    home = tmp_path_factory.mktemp("home")
    (home / ".ssh").mkdir(mode=0o700)
    key = home / ".ssh" / "id_rsa"
    subprocess.run(["ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-f", str(key)], check=True)
    with pytest.MonkeyPatch.context() as env:
        for name in [n for n in os.environ if n.startswith("VCPSDK_")]:
            env.delenv(name)
        env.setenv("HOME", str(home))
        env.setenv("VCPSDK_DATA_DIR", str(tmp_path_factory.mktemp("data")))
        env.setenv("VCPSDK_SANDBOX_BOOT_DELAY", "0")
        env.setenv("VCPSDK_SANDBOX_SSH_PORT", str(free_port()))
        try:
            yield home
        finally:
            embedded.stop_sandbox()


def test_the_public_api_has_examples() -> None:
    names = {test.name for test in EXAMPLES}
    assert len(EXAMPLES) >= 60
    assert {"vcpsdk.vcpsdk.VcpSDK", "vcpsdk.node.VcNode.ssh_exec", "vcpsdk.spec.VcpSpecResource"} <= names
    assert NEEDS_A_REAL_CLOUD <= names  # the skip list names only examples that exist


def _skipped(test: doctest.DocTest) -> bool:
    return any(example.options.get(doctest.SKIP) for example in test.examples)


def test_only_the_listed_examples_are_skipped() -> None:
    skipped = {test.name for test in EXAMPLES if _skipped(test)}
    assert skipped == NEEDS_A_REAL_CLOUD


@pytest.mark.parametrize("test", EXAMPLES, ids=[t.name for t in EXAMPLES])
def test_docstring_example_runs_against_the_sandbox(
    test: doctest.DocTest,
    sandbox: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if all(example.options.get(doctest.SKIP) for example in test.examples):
        pytest.skip("needs a real cloud (NEEDS_A_REAL_CLOUD)")
    monkeypatch.chdir(tmp_path)
    for group in VcpSDK().find_ugroups(privileged=True):
        group.cleanup(privileged=True)

    test.globs = NotebookGlobals(
        {
            "vcp": lambda g: VcpSDK(),
            "ug": lambda g: g["vcp"].create_ugroup("handson101"),
            "spec": _spec,
            "unit": lambda g: g["ug"].create_unit("aws-server", _spec(g)),
            "node": lambda g: g["unit"].find_nodes()[0],
        }
    )
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    report: list[str] = []
    result = runner.run(test, out=report.append)
    assert result.failed == 0, "".join(report)
