"""Testing tools for vcpsdk: for the tests of this project and for tests of your notebooks.

* :func:`running_controller` (:mod:`vcpsdk.testing.controller`): a real VC Controller
  in-process on 127.0.0.1 (sandbox nodes boot instantly).
* :mod:`vcpsdk.testing.serve`: ``vcc serve`` in a separate process.
* :mod:`vcpsdk.testing.mock_controller`: a controller mocked at the HTTP level, built from
  the occtr route table (for fast unit tests; needs ``requests-mock``).
* :mod:`vcpsdk.testing.fakes`: local fakes of the clouds (EC2 on moto, ...).
* :mod:`vcpsdk.testing.pytest_plugin`: pytest fixtures (``live_controller``, ``vcp_sdk``,
  ``make_vcp_sdk``, ``ssh_keypair``, ``vcp_faults`` ...), registered by vcpsdk's ``pytest11``
  entry point; ``pytest --vcp-notebooks DIR`` runs notebooks as tests.
* :mod:`vcpsdk.testing.faults`: fault injection of a test controller (failing units, slow
  boots, HTTP errors and timeouts).
* :mod:`vcpsdk.testing.notebooks`: ``run_notebook(path, controller=...)`` executes a
  ``.ipynb`` against a test controller, its token prompt answered.
* :mod:`vcpsdk.testing.conformance`: the backend conformance suite as a pytest plugin.

Example (a notebook's test; the plugin's fixtures need no ``conftest.py``)::

    def test_my_notebook(vcp_sdk, vcp_pubkey):
        spec = vcp_sdk.get_spec("aws", "small")
        spec.set_ssh_pubkey(str(vcp_pubkey))
        assert vcp_sdk.create_ugroup("mine").create_unit("web", spec).state == "RUNNING"

See docs/testing.md.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vcpsdk.testing.controller import RunningController, running_controller
    from vcpsdk.testing.faults import Faults
    from vcpsdk.testing.keys import write_test_public_key
    from vcpsdk.testing.network import free_port
    from vcpsdk.testing.notebooks import NotebookFailed, run_notebook
    from vcpsdk.testing.serving import serving

#: public name → module; imported on first use so that e.g. the mock controller
#: does not load the controller's server modules
_EXPORTS = {
    "RunningController": "vcpsdk.testing.controller",
    "running_controller": "vcpsdk.testing.controller",
    "serving": "vcpsdk.testing.serving",
    "write_test_public_key": "vcpsdk.testing.keys",
    "free_port": "vcpsdk.testing.network",
    "Faults": "vcpsdk.testing.faults",
    "NotebookFailed": "vcpsdk.testing.notebooks",
    "run_notebook": "vcpsdk.testing.notebooks",
}

__all__ = [
    "Faults",
    "NotebookFailed",
    "RunningController",
    "free_port",
    "run_notebook",
    "running_controller",
    "serving",
    "write_test_public_key",
]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'vcpsdk.testing' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
