"""``vcpsdk.testing`` from outside this repository: a tiny project in ``tmp_path`` that
gets the pytest plugin by vcpsdk's entry point and enables the conformance suite in its
own conftest, run with pytest in a separate process.  The project also has a backend of
its own (a toy cloud, in its own module, on the toolkit) enabled with ``class:
"module:Class"``, and its ``toy/`` directory runs the conformance suite against that
backend through the project's harness."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

CONFTEST = """\
import pytest

from vcpsdk.testing.conformance.sandbox import SandboxHarness

pytest_plugins = ["vcpsdk.testing.conformance"]  # the fixtures come by vcpsdk's entry point


@pytest.fixture
def conformance_harness():
    return SandboxHarness()
"""

NOTEBOOK_TEST = """\
def test_my_notebook(vcp_sdk, vcp_pubkey):
    spec = vcp_sdk.get_spec("aws", "small")
    spec.set_ssh_pubkey(str(vcp_pubkey))
    unit = vcp_sdk.create_ugroup("mine").create_unit("web", spec)
    assert unit.state == "RUNNING"
    vcp_sdk.get_ugroup("mine").cleanup()


def test_another_user_and_a_ready_unit(make_vcp_sdk, make_running_unit, ssh_keypair):
    other = make_vcp_sdk(user="bob")
    assert other.user == "bob" and other.authority()["user_name"] == "bob"
    group, unit, nodes = make_running_unit(num_nodes=2)
    assert unit.state == "RUNNING" and len(nodes) == 2
    assert ssh_keypair.public.read_text().startswith("ssh-ed25519 ")
"""

#: the tests of vcpsdk/testing/conformance/suite.py (parametrized ones once per parameter)
CONFORMANCE_TESTS = 13

#: the toy backend, its harness and the conftest of ``toy/`` (copied into the project)
TOY = Path(__file__).parent / "external_project"


@dataclass
class Run:
    """The outcome of pytest on the external project."""

    returncode: int
    output: str
    outcomes: dict[str, str]  # test id → passed/failed/skipped/error


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    project = tmp_path_factory.mktemp("external")
    (project / "conftest.py").write_text(CONFTEST)
    (project / "test_notebook.py").write_text(NOTEBOOK_TEST)
    shutil.copy(TOY / "toy_backend.py", project / "toy_backend.py")
    shutil.copy(TOY / "toy_harness.py", project / "toy_harness.py")
    (project / "toy").mkdir()
    shutil.copy(TOY / "toy_conftest.py", project / "toy" / "conftest.py")
    report = project / "report.xml"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VCPSDK_", "PYTEST_"))}
    env["PYTHONPATH"] = str(project)  # the project's own modules (toy_backend), as if installed
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    outcomes: dict[str, str] = {}
    if report.exists():
        for case in ET.parse(report).getroot().iter("testcase"):
            kinds = {child.tag for child in case} & {"failure", "error", "skipped"}
            outcomes[f"{case.get('classname')}::{case.get('name')}"] = kinds.pop() if kinds else "passed"
    return Run(result.returncode, result.stdout + result.stderr, outcomes)


def test_the_conformance_suite_runs_from_an_outside_conftest(run: Run) -> None:
    suite = {name: outcome for name, outcome in run.outcomes.items() if name.startswith("vcpsdk_conformance")}
    assert len(suite) == CONFORMANCE_TESTS, run.output
    assert set(suite.values()) == {"passed"}, run.output
    assert any("test_restart_reconciles_running_nodes" in name for name in suite)


def test_the_conformance_suite_passes_with_an_out_of_tree_backend(run: Run) -> None:
    suite = {
        name: outcome for name, outcome in run.outcomes.items() if name.startswith("toy.vcpsdk_conformance")
    }
    assert len(suite) == CONFORMANCE_TESTS, run.output
    assert set(suite.values()) == {"passed"}, run.output
    assert any("test_partly_created_batch_leaves_nothing_behind" in name for name in suite)


def test_the_plugin_fixtures_work_in_an_outside_project(run: Run) -> None:
    notebook = {name: outcome for name, outcome in run.outcomes.items() if name.startswith("test_notebook")}
    assert notebook == {
        "test_notebook::test_my_notebook": "passed",
        "test_notebook::test_another_user_and_a_ready_unit": "passed",
    }, run.output
    assert run.returncode == 0, run.output
    assert "PytestAssertRewriteWarning" not in run.output
