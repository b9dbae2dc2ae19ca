"""``import vcpsdk.vcpsdk`` stays light: no server modules, no pandas until a table is asked for.

Each check runs in a fresh interpreter so that modules other tests imported do not count.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

#: top-level packages only the controller (server) needs
SERVER_PACKAGES = ("fastapi", "starlette", "uvicorn", "sqlalchemy", "alembic", "asyncssh")
#: heavy packages the SDK imports when first needed (df_* methods, the Styler)
LAZY_PACKAGES = ("pandas", "numpy", "jinja2")


def modules_after(code: str) -> set[str]:
    """The names in ``sys.modules`` after running ``code`` in a fresh interpreter."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    return set(json.loads(out.splitlines()[-1]))


def top_level(modules: set[str]) -> set[str]:
    return {name.partition(".")[0] for name in modules}


@pytest.fixture(scope="module")
def sdk_modules() -> set[str]:
    return modules_after("import vcpsdk.vcpsdk")


def test_importing_the_sdk_loads_no_server_module(sdk_modules: set[str]) -> None:
    assert top_level(sdk_modules).isdisjoint(SERVER_PACKAGES)
    assert not [m for m in sdk_modules if m.startswith("vcpsdk.controller")]


def test_importing_the_sdk_defers_pandas_and_jinja2(sdk_modules: set[str]) -> None:
    assert top_level(sdk_modules).isdisjoint(LAZY_PACKAGES)


def test_node_and_records_import_without_pandas() -> None:
    assert top_level(modules_after("import vcpsdk.records, vcpsdk.node")).isdisjoint(LAZY_PACKAGES)


def test_a_table_imports_pandas_when_asked_for() -> None:
    code = "from vcpsdk.vcpsdk import VcpSDK\nframe = VcpSDK.df_flavors('aws')\nassert len(frame) > 0"
    assert {"pandas", "vcpsdk.frames"} <= modules_after(code)
