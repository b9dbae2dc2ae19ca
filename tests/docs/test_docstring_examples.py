"""The examples of the public docstrings run as written against a sandbox controller.

Each docstring with ``>>>`` examples of the notebook-facing API (:data:`MODULES`: the
modules, their public classes and every method, property and attribute of those) is one
test, run by :mod:`doctest` in a sandbox notebook's setting: ``VcpSDK()`` with no
configuration, i.e. the embedded sandbox (started once for this module, its nodes boot at
once).

An example sees what a sandbox notebook has after the first cells of the tutorial (the
names documented in ``docs/api/index.md``), made afresh for each docstring after every
UnitGroup left by the one before is cleaned up:

* ``vcp``: ``VcpSDK()`` (the embedded sandbox; its token is a superuser's);
* ``ug``: ``vcp.create_ugroup('handson101')``;
* ``spec``: ``vcp.get_spec('aws', 'small')`` with ``spec.set_ssh_pubkey('~/.ssh/id_rsa.pub')``;
* ``unit``: ``ug.create_unit('aws-server', spec)`` (one RUNNING node, 127.30.2.10);
* ``node``: ``unit.find_nodes()[0]``.

``$HOME`` is a directory with ``~/.ssh/id_rsa`` (and ``.pub``, also held by an ssh-agent:
OpenSSH looks for its default keys in the passwd entry's home, not ``$HOME``); the working
directory is an empty one.  As in a notebook, a table (a DataFrame or its Styler) is
displayed, not printed, so an example shows it without spelling it out; ``...`` in an
expected output matches anything (``ELLIPSIS``).
"""

from __future__ import annotations

import builtins
import doctest
import inspect
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd
import pytest
from pandas.io.formats.style import Styler

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
#: its text too): what the sandbox cannot do; every other example runs
CANNOT_RUN_IN_THE_SANDBOX = {
    # reserving a Chameleon host needs Chameleon Cloud and its credentials
    "vcpsdk.vcpsdk.VcpSDK.get_extension",
    # the docker_* helpers need a Docker engine on the node; sandbox nodes have none
    *(f"vcpsdk.node.VcNode.{name}" for name in vars(vcpsdk.node.VcNode) if name.startswith("docker_")),
}

FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _docstrings() -> Iterator[tuple[str, str]]:
    """(qualified name, docstring) of each module, public class and public class member."""
    for module in MODULES:
        yield module.__name__, module.__doc__ or ""
        for class_name, cls in vars(module).items():
            if class_name.startswith("_") or not inspect.isclass(cls) or cls.__module__ != module.__name__:
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


_PLAIN_DISPLAYHOOK = sys.__displayhook__


def _notebook_displayhook(value: object) -> None:
    """Show a value as a notebook would: a table (DataFrame or its Styler) is displayed as
    HTML, not as text, so an example's expected output does not spell tables out."""
    if isinstance(value, (pd.DataFrame, Styler)):
        builtins._ = value  # type: ignore[attr-defined]
        return
    _PLAIN_DISPLAYHOOK(value)


def _clean(vcp: VcpSDK) -> None:
    """Clean up every UnitGroup, once what the last example left running has settled."""
    for group in vcp.find_ugroups(privileged=True):
        for unit in group.find_units(privileged=True):
            unit.wait_nodes_applied(privileged=True)
        group.cleanup(privileged=True)
    assert not vcp.find_ugroups(privileged=True), "a UnitGroup survived its cleanup"


def _tutorial(vcp: VcpSDK) -> dict[str, Any]:
    """The first cells of the tutorial: the names every example may use."""
    ug = vcp.create_ugroup("handson101")
    spec = vcp.get_spec("aws", "small")
    spec.set_ssh_pubkey("~/.ssh/id_rsa.pub")
    unit = ug.create_unit("aws-server", spec)
    return {"vcp": vcp, "ug": ug, "spec": spec, "unit": unit, "node": unit.find_nodes()[0]}


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A user's machine: ``$HOME`` with ``~/.ssh/id_rsa`` and no ``~/vcp_config``, and the
    embedded sandbox of ``VcpSDK()`` (its own data dir, nodes boot at once); yields HOME."""
    home = tmp_path_factory.mktemp("home")
    (home / ".ssh").mkdir(mode=0o700)
    key = home / ".ssh" / "id_rsa"
    subprocess.run(["ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-f", str(key)], check=True)
    # ssh finds ~/.ssh/id_rsa by the passwd entry's home, not $HOME: an agent holds the key
    socket = home / "agent.sock"
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", str(socket)], stdout=subprocess.DEVNULL)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("SSH_AUTH_SOCK", str(socket))
        for _ in range(100):  # the agent's socket appears once it listens
            if socket.exists():
                break
            time.sleep(0.05)
        subprocess.run(["ssh-add", "-q", str(key)], check=True)
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
            agent.terminate()
            agent.wait()


def test_the_public_api_has_examples() -> None:
    names = {test.name for test in EXAMPLES}
    assert len(EXAMPLES) >= 60
    assert {"vcpsdk.vcpsdk.VcpSDK", "vcpsdk.node.VcNode.ssh_exec", "vcpsdk.spec.VcpSpecResource"} <= names
    assert CANNOT_RUN_IN_THE_SANDBOX <= names  # the skip list names only examples that exist


def _skipped(test: doctest.DocTest) -> bool:
    return any(example.options.get(doctest.SKIP) for example in test.examples)


def test_only_the_listed_examples_are_skipped() -> None:
    skipped = {test.name for test in EXAMPLES if _skipped(test)}
    assert skipped == CANNOT_RUN_IN_THE_SANDBOX


@pytest.mark.parametrize("test", EXAMPLES, ids=[t.name for t in EXAMPLES])
def test_docstring_example_runs_against_the_sandbox(
    test: doctest.DocTest,
    sandbox: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if all(example.options.get(doctest.SKIP) for example in test.examples):
        pytest.skip("the sandbox cannot run it (CANNOT_RUN_IN_THE_SANDBOX)")
    monkeypatch.chdir(tmp_path)
    _clean(VcpSDK())

    test.globs = _tutorial(VcpSDK())
    monkeypatch.setattr(sys, "__displayhook__", _notebook_displayhook)  # doctest sets the display hook to it
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    report: list[str] = []
    result = runner.run(test, out=report.append)
    assert result.failed == 0, "".join(report)
