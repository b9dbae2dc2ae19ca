"""Limits of a shared controller and the inputs that once answered 500 (issue 14).

Every refusal is a 4xx naming the field or the limit and its value, nothing is created,
and the client's keep-alive connection serves the next request.
"""

from __future__ import annotations

import base64
import http.client
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

from vcpsdk.controller.settings import Limits
from vcpsdk.core import protocol as routes
from vcpsdk.core.cci import render_vc_cci
from vcpsdk.testing.controller import RunningController, running_controller

LIMITS = Limits(
    max_body_bytes=16 * 1024,
    max_name_length=40,
    max_nodes_per_request=3,
    max_disks_per_node=2,
    max_nodes_per_unit=4,
    max_nodes_per_user=5,
    requests_per_second=0,
)


def b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def unit_info(name: str = "u", provider: str = "aws", **fields: Any) -> str:
    body = {"name": name, "cloud_provider": provider, **fields}
    return b64("- unit: " + json.dumps(body))


class Client:
    """One keep-alive HTTP connection to the controller, as the SDK's session holds it."""

    def __init__(self, vcc: RunningController, token: str) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", vcc.port, timeout=30)
        self.token = token
        self.socket: Any = None

    def send(
        self, method: str, path: str, body: Any = None, raw: bytes | None = None
    ) -> tuple[int, Any, Any]:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        headers = {
            "x-vcc-access-token": self.token,
            "X-Vault-Token": self.token,
            "Content-Type": "application/json",
        }
        self.conn.request(method, path if path.startswith("/v1/") else routes.BASE_PATH + path, data, headers)
        response = self.conn.getresponse()
        payload = response.read()
        if self.socket is None:
            self.socket = self.conn.sock
        assert self.conn.sock is self.socket, "the keep-alive connection was dropped"
        return response.status, json.loads(payload) if payload else None, response.headers

    def refused(
        self, method: str, path: str, body: Any = None, raw: bytes | None = None, status: int = 400
    ) -> str:
        """Send a request that must be refused with ``status``; then a normal one on the same socket."""
        got, answer, _ = self.send(method, path, body, raw)
        assert got == status, answer
        follow, _, _ = self.send("GET", "/vcs")
        assert follow == 200
        return str((answer or {}).get("message") or (answer or {}).get("errors"))


@pytest.fixture(scope="module")
def vcc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningController]:
    with running_controller(tmp_path_factory.mktemp("limits"), limits=LIMITS) as controller:
        yield controller


@pytest.fixture
def client(vcc: RunningController, request: pytest.FixtureRequest) -> Client:
    return Client(vcc, vcc.create_token(f"user-{request.node.name[-40:]}"))


def new_group(client: Client, name: str = "group", kind: str = "compute") -> str:
    status, body, _ = client.send("POST", "/vcs", {"cci": b64(render_vc_cci(name, kind, "1"))})
    assert status == 202, body
    return str(body["vcid"])


def groups(client: Client) -> list[dict[str, Any]]:
    return list(client.send("GET", "/vcs")[1]["vcs"])


def test_body_over_max_body_bytes_is_413_and_the_connection_goes_on(client: Client) -> None:
    message = client.refused("POST", "/vcs", raw=b"{" + b" " * 40_000 + b"}", status=413)
    assert "max_body_bytes=16384" in message
    assert groups(client) == []


def test_names_longer_than_max_name_length_are_refused(client: Client) -> None:
    message = client.refused("POST", "/vcs", {"cci": b64(render_vc_cci("g" * 41, "compute", "1"))})
    assert "max_name_length=40" in message and "vc.name" in message
    vcid = new_group(client)
    message = client.refused("PUT", f"/vcs/{vcid}", {"cci": b64(render_vc_cci("g" * 41, "compute", "1"))})
    assert "max_name_length=40" in message
    message = client.refused("POST", f"/vcs/{vcid}", {"unit_name": "u" * 41, "info": unit_info("u" * 41)})
    assert "max_name_length=40" in message and "unit_name" in message
    assert [g["name"] for g in groups(client)] == ["group"]


def test_a_yaml_alias_bomb_is_refused_without_expanding(client: Client) -> None:
    lines = ["- vc:", "    name: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        lines.append(f"    k{i}: &{'a' * (i + 1)} [" + ", ".join([f"*{'a' * i}"] * 10) + "]")
    message = client.refused("POST", "/vcs", {"cci": b64("\n".join(lines))})
    assert "max_yaml_bytes=262144" in message and "cci" in message
    assert groups(client) == []


@pytest.mark.parametrize("nested", ["[" * 5000 + "]" * 5000, "a: " + "{b: " * 40 + "1" + "}" * 40])
def test_deeply_nested_yaml_is_refused(client: Client, nested: str) -> None:
    message = client.refused("POST", "/vcs", {"cci": b64(nested)})
    assert "cci" in message


def test_deeply_nested_json_is_refused_on_occtr_and_vault(client: Client) -> None:
    deep = b'{"cci": ' + b"[" * 6000 + b"]" * 6000 + b"}"
    assert "max_depth=32" in client.refused("POST", "/vcs", raw=deep)
    shallow_but_over = b'{"cci": ' + b"[" * 40 + b"]" * 40 + b"}"
    assert "max_depth=32" in client.refused("POST", "/vcs", raw=shallow_but_over)
    assert "max_depth=32" in client.refused("POST", "/v1/cubbyhole/deep", raw=deep)
    status, _, _ = client.send("GET", "/v1/cubbyhole/deep")
    assert status == 404


@pytest.mark.parametrize("payload", ["ü" * 12, "LS0t\u00e9", "not base64!"])
def test_non_ascii_or_invalid_base64_is_400(client: Client, payload: str) -> None:
    assert "not valid base64" in client.refused("POST", "/vcs", {"cci": payload})
    vcid = new_group(client)
    assert "info is not valid base64" in client.refused(
        "POST", f"/vcs/{vcid}", {"unit_name": "u", "info": payload}
    )


def test_lone_surrogates_in_names_are_400(client: Client) -> None:
    raw = b'{"cci": "%s"}' % b64('- vc: {name: "x\\ud800"}').encode()
    assert "Unicode" in client.refused("POST", "/vcs", raw=raw)
    vcid = new_group(client)
    raw = b'{"unit_name": "u\\ud800", "info": "%s"}' % unit_info().encode()
    assert "surrogate" in client.refused("POST", f"/vcs/{vcid}", raw=raw)
    assert "surrogate" in client.refused(
        "PATCH", f"/vcs/{vcid}", raw=b'{"operation": "change_owner", "owner": "\\udfff"}'
    )
    assert "surrogate" in client.refused("POST", "/v1/cubbyhole/s", raw=b'{"value": "\\ud800"}')
    assert [g["name"] for g in groups(client)] == ["group"]


def test_a_mac_list_shorter_than_num_nodes_is_400(client: Client) -> None:
    vcid = new_group(client)
    info = unit_info(provider="vmware", num_nodes=2, cloud_params={"mac_address_list": ["02:00:00:00:00:01"]})
    message = client.refused("POST", f"/vcs/{vcid}", {"unit_name": "u", "info": info})
    assert "mac_address_list" in message and "num_nodes=2" in message
    assert groups(client)[0]["unit"] == []


def test_a_secret_sealed_with_another_key_is_refused(vcc: RunningController, client: Client) -> None:
    assert client.send("POST", "/v1/cubbyhole/aws/secret_key", {"value": "s3cr3t"})[0] == 204
    vcid = new_group(client)
    sealed_elsewhere = "sealed:" + Fernet(Fernet.generate_key()).encrypt(b"x").decode()
    info = unit_info(cloud_params={"access_key": "a", "secret_key": sealed_elsewhere})
    message = client.refused("POST", f"/vcs/{vcid}", {"unit_name": "u", "info": info})
    assert "cloud_params.secret_key" in message
    box = vcc.controller.secrets
    saved = box._fernet
    box._fernet = Fernet(Fernet.generate_key())  # as if secrets.key had been replaced
    try:
        message = client.refused("GET", "/v1/cubbyhole/aws/secret_key", status=409)
        assert "sealed with another key" in message
    finally:
        box._fernet = saved


def test_num_nodes_null_means_one(client: Client) -> None:
    vcid = new_group(client)
    info = unit_info(num_nodes=None)
    status, body, _ = client.send("POST", f"/vcs/{vcid}", {"unit_name": "u", "info": info})
    assert status == 202, body
    [unit] = groups(client)[0]["unit"]
    assert len(unit["node"]) == 1


def test_counts_over_the_limits_are_refused_and_nothing_is_created(client: Client) -> None:
    vcid = new_group(client)
    message = client.refused("POST", f"/vcs/{vcid}", {"unit_name": "u", "info": unit_info(num_nodes=4)})
    assert "max_nodes_per_request=3" in message
    disks = [f"vcp:{vcid}:d:{i}" for i in range(3)]
    info = unit_info(cloud_params={"volume_id": disks})
    assert "max_disks_per_node=2" in client.refused("POST", f"/vcs/{vcid}", {"unit_name": "u", "info": info})
    assert groups(client)[0]["unit"] == []
    assert client.send("POST", f"/vcs/{vcid}", {"unit_name": "u", "info": unit_info(num_nodes=0)})[0] == 202
    assert "max_nodes_per_request=3" in client.refused("PUT", f"/vcs/{vcid}/u", {"num_nodes": 4})
    assert client.send("PUT", f"/vcs/{vcid}/u", {"num_nodes": 3})[0] == 202
    client.send("PATCH", f"/vcs/{vcid}/u/clear_processing")
    assert "max_nodes_per_unit=4" in client.refused("PUT", f"/vcs/{vcid}/u", {"num_nodes": 2})
    info = unit_info("v", num_nodes=3)
    assert "max_nodes_per_user=5" in client.refused("POST", f"/vcs/{vcid}", {"unit_name": "v", "info": info})
    units = groups(client)[0]["unit"]
    assert [(u["name"], len(u["node"])) for u in units] == [("u", 3)]


def test_405_answers_carry_allow(client: Client) -> None:
    status, _, headers = client.send("DELETE", "/vcs")
    assert status == 405
    assert set(headers["Allow"].split(", ")) >= {"GET", "POST"}
    status, _, headers = client.send("POST", "/vcs/x/y/z/backup")
    assert status == 405
    assert "GET" in headers["Allow"].split(", ")
    status, _, headers = client.send("POST", "/health")
    assert status == 405 and "GET" in headers["Allow"]
    assert client.send("GET", "/vcs")[0] == 200


def test_rate_limit_answers_429_with_retry_after(tmp_path: Path) -> None:
    limits = Limits(requests_per_second=0.5, request_burst=3)
    with running_controller(tmp_path / "vcc", limits=limits) as vcc:
        client = Client(vcc, vcc.create_token("alice"))
        other = Client(vcc, vcc.create_token("bob"))
        assert [client.send("GET", "/vcs")[0] for _ in range(3)] == [200, 200, 200]
        status, body, headers = client.send("GET", "/vcs")
        assert status == 429
        assert "requests_per_second=0.5" in body["message"] and "request_burst=3" in body["message"]
        assert int(headers["Retry-After"]) >= 1
        assert client.send("POST", "/v1/cubbyhole/x", {"value": "1"})[0] == 429
        assert other.send("GET", "/vcs")[0] == 200  # another token has its own bucket


def test_the_openapi_document_describes_bodies_statuses_and_operations(client: Client) -> None:
    status, document, _ = client.send("GET", "/openapi.json")
    assert status == 200
    text = json.dumps(document)
    assert '"422"' not in text
    paths = document["paths"]
    create = paths[routes.BASE_PATH + "/vcs"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"]["required"] == ["cci"]
    assert set(create["responses"]) == {"202", "400", "403", "405", "409", "413", "429"}
    assert create["responses"]["400"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"
    }
    add_unit = paths[routes.BASE_PATH + "/vcs/{vcid}"]["post"]["requestBody"]["content"]["application/json"]
    assert add_unit["schema"]["properties"]["unit_name"]["maxLength"] == 40
    # PATCH …/{operation} and GET …/{node_id} are the same URLs: one template (trial 14 #13)
    assert routes.BASE_PATH + "/vcs/{vcid}/{unit_name}/{operation}" not in paths
    operation = paths[routes.BASE_PATH + "/vcs/{vcid}/{unit_name}/{node_id}"]["patch"]
    [param] = [p for p in operation["parameters"] if p["name"] == "node_id"]
    assert param["schema"]["enum"] == list(routes.UNIT_OPERATIONS)
    assert "operation" in param["description"]
    nodes = paths[routes.BASE_PATH + "/vcs/{vcid}/{unit_name}"]["put"]["requestBody"]["content"]
    assert nodes["application/json"]["schema"]["properties"]["mac_address_list"]["maxItems"] == 3
    cci = create["requestBody"]["content"]["application/json"]["schema"]["properties"]["cci"]
    assert cci["minLength"] == 4 and cci["pattern"] == routes.BASE64_PATTERN
    assert document["components"]["securitySchemes"]["token"]["name"] == "x-vcc-access-token"
