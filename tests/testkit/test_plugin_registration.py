"""The pytest plugin reaches every project that installs vcpsdk (entry point ``pytest11``),
costs nothing until its fixtures are used, and still accepts the old ``pytest_plugins``
line."""

from __future__ import annotations

import pandas  # noqa: F401  # imported here once: pytester's in-process runs forget their imports, numpy loads once
import pytest

USES_THE_SDK = """
def test_my_group(vcp_sdk, vcp_pubkey):
    spec = vcp_sdk.get_spec("aws", "small")
    spec.set_ssh_pubkey(str(vcp_pubkey))
    assert vcp_sdk.create_ugroup("mine").create_unit("web", spec).state == "RUNNING"
"""


def test_the_fixtures_need_no_conftest(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_mine=USES_THE_SDK)
    pytester.runpytest().assert_outcomes(passed=1)


def test_a_conftest_listing_the_plugin_still_works(pytester: pytest.Pytester) -> None:
    pytester.makeconftest('pytest_plugins = ["vcpsdk.testing.pytest_plugin"]\n')
    pytester.makepyfile(test_mine=USES_THE_SDK)
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    assert "already registered" not in result.stdout.str()


def test_the_plugin_can_be_turned_off(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_mine=USES_THE_SDK)
    result = pytester.runpytest("-p", "no:vcpsdk.testing.pytest_plugin")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'vcp_sdk' not found*"])


def test_an_unused_plugin_loads_no_controller(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_plain="""
        import sys

        def test_nothing_of_the_controller_is_imported(request):
            assert request.config.pluginmanager.has_plugin("vcpsdk.testing.pytest_plugin")
            heavy = {"vcpsdk.testing.controller", "vcpsdk.controller.app", "uvicorn", "fastapi", "nbclient"}
            assert heavy.isdisjoint(sys.modules)
        """
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_the_session_controller_starts_once_and_serves_every_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_two="""
        seen = []

        def test_one(live_controller, vcp_sdk):
            seen.append(live_controller.port)
            assert vcp_sdk.df_ugroups().data.empty

        def test_two(live_controller, make_vcp_sdk):
            assert seen == [live_controller.port]
            assert make_vcp_sdk(user="bob").authority()["user_name"] == "bob"
        """
    )
    pytester.runpytest().assert_outcomes(passed=2)
