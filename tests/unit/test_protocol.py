"""The occtr route table drives the SDK's client; secret keys come from the provider declarations."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from vcpsdk import occtr
from vcpsdk.core import protocol as routes
from vcpsdk.core.cci import render_vc_cci
from vcpsdk.core.providers import Capabilities, Field, Provider, all_providers
from vcpsdk.errors import VcpSDKError
from vcpsdk.occtr import OcctrClient, b64
from vcpsdk.testing.mock_controller import BASE, TOKEN, VCID, MockController, match_route, node_id

PARAMS = {"vcid": VCID, "unit_name": "server", "node_id": node_id(1), "operation": "watch"}
#: valid bodies of the writes whose bodies the controller checks
BODIES: dict[routes.Route, dict[str, Any]] = {
    routes.VC_CREATE: {"cci": b64(render_vc_cci("ug1", "compute", "1.0"))},
    routes.VC_RENAME: {"cci": b64(render_vc_cci("ug2", "compute", "1.0"))},
    routes.UNIT_ADD: {"info": b64("- unit: {name: server, cloud_provider: aws}"), "unit_name": "server"},
}


def params_of(route: routes.Route) -> dict[str, str]:
    """Path parameters for ``route`` (a valid operation where it takes one)."""
    return {name: PARAMS[name] for name in route.params}


@pytest.fixture
def client(mock_controller: MockController) -> OcctrClient:
    """A client of the mock controller (nothing sent yet)."""
    mock_controller.mark()
    return OcctrClient(BASE, TOKEN)


# -- the table ----------------------------------------------------------------------------


@pytest.mark.parametrize("route", routes.ROUTES, ids=lambda r: f"{r.method}{r.path or '(base)'}")
def test_reads_answer_200_and_writes_202(route: routes.Route) -> None:
    expected = 200 if route.method == "GET" and route is not routes.NODE_BACKUP else 202
    assert route.status == expected


def test_every_route_is_served_once() -> None:
    keys = [(r.method, r.path) for r in routes.ROUTES]
    assert len(keys) == len(set(keys))
    for route in routes.ROUTES:
        assert match_route(route.method, route.url(**params_of(route))) == (route, params_of(route))


@pytest.mark.parametrize(
    ("route", "operation", "message"),
    [
        (routes.NODE_OPERATION, "suspend", "suspend node failed"),
        (routes.NODE_OPERATION, "resume", "resume node failed"),
        (routes.NODE_OPERATION, "stop", "stop node failed"),
        (routes.NODE_OPERATION, "start", "start node failed"),
        (routes.NODE_OPERATION, "power_off", "power_off failed"),
        (routes.NODE_OPERATION, "power_on", "power_on failed"),
        (routes.NODE_OPERATION, "watch", "watch failed"),
        (routes.NODE_OPERATION, "unwatch", "unwatch failed"),
        (routes.UNIT_OPERATION, "watch", "watch unit failed"),
        (routes.UNIT_OPERATION, "unwatch", "unwatch unit failed"),
    ],
)
def test_operation_messages_are_the_originals(route: routes.Route, operation: str, message: str) -> None:
    assert route.message(operation=operation) == message


@pytest.mark.parametrize(
    ("route", "message"),
    [
        (routes.ROOT, "config vc failed"),
        (routes.VCS_LIST, "config vc failed"),
        (routes.VC_GET, "config vc failed"),
        (routes.AUTHORITY, "authority error"),
        (routes.VERSION, "oc controller version failed"),
        (routes.PUBLICKEY, "publickey failed"),
        (routes.VPN_CATALOG, "vpn_catalog failed"),
        (routes.VC_CREATE, "create vc failed"),
        (routes.VC_RENAME, "update vc failed"),
        (routes.VC_CHANGE_OWNER, "change owner vc failed"),
        (routes.VC_DELETE, "delete vc failed"),
        (routes.UNIT_ADD, "add unit failed"),
        (routes.UNIT_GET, "config unit failed"),
        (routes.UNIT_ADD_NODES, "add node failed"),
        (routes.UNIT_DELETE, "delete unit failed"),
        (routes.NODE_GET, "config node failed"),
        (routes.NODE_DELETE, "delete node failed"),
        (routes.NODE_BACKUP, "backup failed"),
    ],
)
def test_route_messages_are_the_originals(route: routes.Route, message: str) -> None:
    assert route.message(**params_of(route)) == message


def test_url_checks_the_path_parameters() -> None:
    assert routes.NODE_BACKUP.url(vcid="v", unit_name="u", node_id="n") == "/vcs/v/u/n/backup"
    with pytest.raises(TypeError, match="takes path parameters"):
        routes.UNIT_GET.url(vcid="v")
    with pytest.raises(ValueError, match=r"operation\[reboot\] is unknown; allowed: "):
        routes.NODE_OPERATION.url(vcid="v", unit_name="u", node_id="n", operation="reboot")
    assert "clear_processing" in routes.UNIT_OPERATION.operations
    assert "clear_processing" not in routes.NODE_OPERATION.operations


# -- the client, driven by the table --------------------------------------------------------


@pytest.mark.parametrize("route", [r for r in routes.ROUTES if r.errmsg], ids=lambda r: r.name + r.method)
def test_call_sends_the_route_and_expects_its_status(
    route: routes.Route, client: OcctrClient, mock_controller: MockController
) -> None:
    body = client.call(route, body=BODIES.get(route), **params_of(route))

    sent = mock_controller.sent()
    assert [s.call for s in sent] == [(route.method, route.url(**params_of(route)))]
    assert isinstance(body, dict)
    assert sent[0].body == (None if route.method == "GET" else BODIES.get(route, {}))


@pytest.mark.parametrize("route", [r for r in routes.ROUTES if r.errmsg], ids=lambda r: r.name + r.method)
def test_call_raises_with_the_original_message(
    route: routes.Route, client: OcctrClient, mock_controller: MockController
) -> None:
    other = 202 if route.status == 200 else 200  # the other success status is a failure here
    mock_controller.on(route, (other, {"message": "unexpected"}), **params_of(route))

    with pytest.raises(VcpSDKError) as info:
        client.call(route, **params_of(route))

    assert info.value.args == ("VCP", route.message(**params_of(route)))
    assert info.value.http_status == other


# -- secret keys ------------------------------------------------------------------------------

#: the list occtr.py carried by hand before the keys were derived (must stay covered)
HAND_WRITTEN = {
    "info",
    "cci",
    "access_key",
    "secret_key",
    "password",
    "client_secret",
    "private_key",
    "sakura_token",
    "sakura_secret",
    "token_secret",
    "application_credential_secret",
    "credentials",
    "token",
    "x-vcc-access-token",
}


def test_secret_keys_come_from_the_provider_declarations() -> None:
    declared = {key for p in all_providers() for key in p.secrets}

    assert routes.SECRET_KEYS == declared | routes.PROTOCOL_SECRET_KEYS
    assert HAND_WRITTEN <= routes.SECRET_KEYS
    assert occtr.SECRET_KEYS is routes.SECRET_KEYS


def test_a_new_providers_secret_field_is_a_secret_key() -> None:
    newcloud = Provider(
        name="newcloud",
        unit_type="compute",
        version="1.0",
        cci_version="1.0",
        fields=(Field("machine", str, "m1"),),
        capabilities=Capabilities(),
        credentials=("account", "api_secret"),
        secrets=("api_secret",),
    )

    keys = routes.secret_keys([*all_providers(), newcloud])

    assert "api_secret" in keys
    assert "account" not in keys
    assert keys - routes.SECRET_KEYS == {"api_secret"}


@pytest.mark.parametrize("key", sorted({k for p in all_providers() for k in p.secrets}))
def test_every_provider_secret_is_redacted_in_verbose_logs(
    key: str, mock_controller: MockController, caplog: pytest.LogCaptureFixture
) -> None:
    secret = f"S3CR3T-{key}"
    body: dict[str, Any] = {"unit": [{"cloud_params": {key: secret, "region": "r1"}}]}
    mock_controller.on(routes.VC_GET, body, vcid=VCID)
    caplog.set_level(logging.DEBUG, logger="vcp.sdk")

    answer = OcctrClient(BASE, TOKEN, verbose=3).call(routes.VC_GET, vcid=VCID)

    assert answer == body
    assert "r1" in caplog.text
    assert secret not in caplog.text
