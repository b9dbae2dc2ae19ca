"""``vcpsdk.core`` is shared by the SDK and the controller: it needs only PyYAML and the stdlib."""

from __future__ import annotations

import json
import subprocess
import sys

FORBIDDEN = (
    "requests",
    "urllib3",
    "pandas",
    "fastapi",
    "starlette",
    "sqlalchemy",
    "uvicorn",
    "vcpsdk.controller",
)

SCRIPT = """
import importlib, json, pkgutil, sys
import vcpsdk.core
names = ["vcpsdk.core"] + [m.name for m in pkgutil.walk_packages(vcpsdk.core.__path__, "vcpsdk.core.")]
for name in names:
    importlib.import_module(name)
print(json.dumps({"imported": names, "modules": sorted(sys.modules)}))
"""


def test_importing_every_core_module_pulls_in_no_server_or_http_module() -> None:
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True)
    report = json.loads(result.stdout)

    assert {"vcpsdk.core.cci", "vcpsdk.core.protocol", "vcpsdk.core.providers", "vcpsdk.core.polling"} <= set(
        report["imported"]
    )
    loaded = [m for m in report["modules"] if any(m == f or m.startswith(f + ".") for f in FORBIDDEN)]
    assert loaded == []
