"""The mock controller answers like the live one, route by route of the occtr route table.

For each entry of :data:`vcpsdk.core.protocol.ROUTES` the same request (same path
parameters, headers and body) goes to a live in-process controller
(:func:`vcpsdk.testing.running_controller`, sandbox backend) and to the mock built from
the table (:mod:`vcpsdk.testing.mock_controller`); both must answer with the same status
and a body of the same shape (keys, nesting and value types).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from vcpsdk import VCP_SDK_VERSION
from vcpsdk.core import protocol as routes
from vcpsdk.core.cci import render_vc_cci
from vcpsdk.core.polling import poll
from vcpsdk.occtr import b64
from vcpsdk.testing import RunningController, running_controller
from vcpsdk.testing.mock_controller import BASE, mocked_controller

UNIT_CCI = b64("- unit: {name: server, cloud_provider: aws, num_nodes: 1}")
_names = itertools.count(1)


@pytest.fixture(scope="module")
def parity_controller(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningController]:
    """A live controller of this module only (its UnitGroups are compared with the mock's)."""
    with running_controller(tmp_path_factory.mktemp("parity")) as running:
        yield running


@pytest.fixture(scope="module")
def live_token(parity_controller: RunningController) -> str:
    """A regular token of the live controller (whose user can give UnitGroups to ``someone-else``)."""
    parity_controller.create_token("someone-else")
    return parity_controller.create_token("parity")


def send(base: str, token: str, route: routes.Route, params: dict[str, str], body: Any) -> requests.Response:
    """One request of ``route`` as the SDK sends it."""
    headers = {routes.TOKEN_HEADER: token, "Content-Type": "application/json"}
    data = None if route.method == "GET" else requests.models.complexjson.dumps(body or {})
    path = route.path.format(**params)  # unchecked: refused operations are sent too
    return requests.request(route.method, base + path, headers=headers, data=data, timeout=30)


def shape(value: Any) -> Any:
    """Keys, nesting and value types of a JSON value (lists by their first element)."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


@pytest.fixture
def live_world(parity_controller: RunningController, live_token: str) -> dict[str, str]:
    """A fresh UnitGroup with one RUNNING unit ``server`` of one node on the live controller."""
    base = parity_controller.base_url
    name = f"parity{next(_names)}"
    created = send(base, live_token, routes.VC_CREATE, {}, {"cci": b64(render_vc_cci(name, "compute", "1"))})
    vcid = created.json()["vcid"]
    added = send(base, live_token, routes.UNIT_ADD, {"vcid": vcid}, {"info": UNIT_CCI, "unit_name": "server"})
    assert added.status_code == 202, added.text
    unit = poll(
        lambda: send(base, live_token, routes.UNIT_GET, {"vcid": vcid, "unit_name": "server"}, None).json(),
        lambda body: body.get("state") == "RUNNING",
        timeout=30,
        interval=0.05,
    )
    return {"vcid": vcid, "unit_name": "server", "node_id": unit["node"][0]["node_id"], "name": name}


def request_of(route: routes.Route, world: dict[str, str]) -> tuple[dict[str, str], Any]:
    """Path parameters and body of a valid request of ``route`` on ``world``."""
    values = {**world, "operation": "suspend" if route is routes.NODE_OPERATION else "watch"}
    params = {name: values[name] for name in route.params}
    bodies: dict[routes.Route, Any] = {
        routes.VC_CREATE: {"cci": b64(render_vc_cci(world["name"] + "-new", "compute", VCP_SDK_VERSION))},
        routes.VC_RENAME: {"cci": b64(render_vc_cci(world["name"] + "-renamed", "compute", VCP_SDK_VERSION))},
        routes.VC_CHANGE_OWNER: {"owner": "someone-else", "operation": "change_owner"},
        routes.VC_DELETE: {"force": "true"},
        routes.UNIT_ADD: {
            "info": b64("- unit: {name: second, cloud_provider: aws, num_nodes: 1}"),
            "unit_name": "second",  # the CCI's name must be the unit_name (trial 14 #16)
        },
        routes.UNIT_ADD_NODES: {"ip_address_list": [], "mac_address_list": [], "num_nodes": 1},
        routes.UNIT_DELETE: {"force": "true"},
    }
    return params, bodies.get(route)


@pytest.mark.parametrize("route", routes.ROUTES, ids=lambda r: f"{r.method}{r.path or '(base)'}")
def test_mock_and_live_controller_answer_alike(
    route: routes.Route, parity_controller: RunningController, live_token: str, live_world: dict[str, str]
) -> None:
    params, body = request_of(route, live_world)
    live = send(parity_controller.base_url, live_token, route, params, body)
    with mocked_controller(token=live_token):
        mock = send(BASE, live_token, route, params, body)

    assert (mock.status_code, live.status_code) == (route.status, route.status), live.text
    assert shape(mock.json()) == shape(live.json())


BAD_REQUESTS = [
    pytest.param(routes.VCS_LIST, {}, None, "not-a-token", id="unknown-token"),
    pytest.param(
        routes.UNIT_ADD,
        {},
        {"info": b64("- unit: {name: s, cloud_provider: awz}"), "unit_name": "s"},
        None,
        id="unknown-provider",
    ),
    pytest.param(routes.UNIT_ADD, {}, {"info": UNIT_CCI, "unit_name": "bad name"}, None, id="bad-unit-name"),
    pytest.param(routes.VC_CREATE, {}, {"cci": b64("- vc: {name: x, type: gpu}")}, None, id="bad-vc-type"),
    pytest.param(routes.NODE_OPERATION, {"operation": "reboot"}, None, None, id="unknown-node-operation"),
    pytest.param(routes.UNIT_OPERATION, {"operation": "reboot"}, None, None, id="unknown-unit-operation"),
]


@pytest.mark.parametrize(("route", "override", "body", "token"), BAD_REQUESTS)
def test_mock_and_live_controller_refuse_alike(
    route: routes.Route,
    override: dict[str, str],
    body: Any,
    token: str | None,
    parity_controller: RunningController,
    live_token: str,
    live_world: dict[str, str],
) -> None:
    values = {**live_world, **override}
    params = {name: values[name] for name in route.params}
    sent_token = token or live_token
    live = send(parity_controller.base_url, sent_token, route, params, body)
    with mocked_controller(token=live_token):
        mock = send(BASE, sent_token, route, params, body)

    assert mock.status_code == live.status_code >= 400
    live_message, mock_message = live.json()["message"], mock.json()["message"]
    # "<date> UTC: <Exception>: <detail>": the same exception and detail
    assert mock_message.split(" UTC: ", 1)[1] == live_message.split(" UTC: ", 1)[1]
