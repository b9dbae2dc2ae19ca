"""The one root conftest: the plugins every test folder shares.

* :mod:`vcpsdk.testing.pytest_plugin` (registered by vcpsdk's ``pytest11`` entry point,
  not listed here): ``live_controller`` (one in-process controller per test session),
  ``vcp_user``/``vcp_token``/``vcp_config_dir``/``vcp_sdk`` (a fresh user per test),
  ``make_vcp_sdk``, ``vcp_pubkey``, ``ssh_keypair``, ``make_running_unit``, ``vcp_faults``;
* :mod:`vcpsdk.testing.conformance`: the backend conformance suite, collected where a
  ``conftest.py`` provides ``conformance_harness`` (tests/backends);
* ``pytester``: pytest's own plugin for running pytest on made-up projects (tests/testkit).

A live controller is always ``live_controller`` (or ``slow_controller``,
``private_controller`` where a folder needs its own); the mocked controller of tests/unit
has names of its own (``mock_controller``, ``mock_sdk``, ``make_mock_sdk``).
Folder conftests hold only what is specific to their folder.
"""

pytest_plugins = ["vcpsdk.testing.conformance", "pytester"]
