"""The mock controller of :mod:`vcpsdk.testing.mock_controller` as users meet it."""

from __future__ import annotations

from pathlib import Path

import pytest

from vcpsdk.core import protocol as routes
from vcpsdk.testing.mock_controller import TOKEN, VCID, MockController, mocked_controller, node_id


def test_the_sdk_runs_on_the_default_answers_alone(tmp_path: Path) -> None:
    from vcpsdk.vcpsdk import VcpSDK

    with mocked_controller(token=TOKEN) as mock:
        sdk = VcpSDK(TOKEN, config_dir=str(mock.write_config(tmp_path / "cfg")))
        ugroup = sdk.get_ugroup("ug1")
        assert ugroup is not None
        unit = ugroup.get_unit("server")
        assert [n.id for n in unit.find_nodes()] == [node_id(1)]
        created = sdk.create_ugroup("another")

        assert created.vcid == VCID
        assert mock.calls()[-2:] == [("POST", "/vcs"), ("GET", f"/vcs/{VCID}")]


def test_default_answers_refuse_a_wrong_token(tmp_path: Path) -> None:
    from vcpsdk.errors import VcpAuthError
    from vcpsdk.vcpsdk import VcpSDK

    with mocked_controller(token=TOKEN) as mock, pytest.raises(VcpAuthError) as info:
        VcpSDK("another-token", config_dir=str(mock.write_config(tmp_path / "cfg")))

    assert info.value.args == ("VCP", "config vc failed")
    assert "VCPAuthException: another-:token lookup is failed" in str(info.value.server_message)


def test_scripted_replies_take_the_routes_success_status(mock_controller: MockController) -> None:
    from vcpsdk.occtr import OcctrClient

    where = {"vcid": VCID, "unit_name": "server", "node_id": node_id(1)}
    mock_controller.on(routes.NODE_BACKUP, {"vcid": VCID, "node_id": node_id(1)}, **where)

    body = OcctrClient(mock_controller.base, TOKEN).call(routes.NODE_BACKUP, **where)

    assert body == {"vcid": VCID, "node_id": node_id(1)}
    assert mock_controller.mocker.last_request.method == "GET"


def test_replies_can_only_be_scripted_for_routes_of_the_table(mock_controller: MockController) -> None:
    with pytest.raises(AssertionError, match="not a route of the occtr route table"):
        mock_controller.reply("GET", "/ccts", {})
    with pytest.raises(AssertionError, match="not a route of the occtr route table"):
        mock_controller.reply("POST", f"/vcs/{VCID}/server", {})


def test_the_module_example_runs_as_written(requests_mock, tmp_path: Path) -> None:
    import textwrap

    from vcpsdk.testing import mock_controller

    doc = mock_controller.__doc__ or ""
    example = textwrap.dedent(
        doc.split("plugin of the ``test`` extra)::", 1)[1].split("\n\nNothing is sent")[0]
    )
    namespace: dict[str, object] = {}
    exec(compile(example, "mock_controller example", "exec"), namespace)
    namespace["test_rename"](requests_mock, tmp_path)  # type: ignore[operator]
