"""VcpUnitClass and VcNode against a mocked controller."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from pandas.io.formats.style import Styler

from tests.columns import COMPUTE_COLUMNS, STORAGE_COLUMNS
from vcpsdk.errors import VcpInvalidArgumentError
from vcpsdk.node import VcNode
from vcpsdk.testing.mock_controller import (
    CDATE,
    VCID,
    MockController,
    assert_headers,
    disk_json,
    instance_name,
    node_id,
    node_json,
    unit_json,
    vc_json,
)
from vcpsdk.vcpsdk import VcpUnitClass

UNIT_PATH = f"/vcs/{VCID}/server"
DISKS_PATH = f"/vcs/{VCID}/disks"
ACCEPTED = {"vcid": VCID, "unit_name": "server"}


def _messages(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "vcp.sdk"]


def _node_path(no: int, suffix: str = "") -> str:
    return f"{UNIT_PATH}/{node_id(no)}{suffix}"


@pytest.fixture
def make_unit(
    make_ugroup: Callable[..., Any], mock_controller: MockController
) -> Callable[..., VcpUnitClass]:
    """``make_unit(nodes)``: unit ``server`` of UnitGroup ``ug1`` holding ``nodes``."""

    def make(nodes: list[dict[str, Any]], name: str = "server", unit_type: str = "compute") -> VcpUnitClass:
        vc_type = "storage" if unit_type == "storage" else "compute"
        ugroup = make_ugroup(vc_json("ug1", [unit_json(name, nodes, unit_type=unit_type)], vc_type=vc_type))
        unit = ugroup.get_unit(name)
        assert unit is not None
        mock_controller.mark()
        return unit

    return make


@pytest.fixture
def three(make_unit) -> VcpUnitClass:
    """Unit ``server`` with RUNNING nodes 1, 2 and 3."""
    return make_unit([node_json(1), node_json(2), node_json(3)])


def _three_body(revision: int = 4) -> dict:
    return unit_json("server", [node_json(1), node_json(2), node_json(3)], revision=revision)


# -- add_nodes ---------------------------------------------------------------------------------


def test_add_nodes_puts_the_count_and_returns_the_new_nodes(
    three, mock_controller: MockController, caplog
) -> None:
    mock_controller.reply(
        "GET",
        UNIT_PATH,
        _three_body(),
        unit_json(
            "server",
            [
                node_json(1),
                node_json(2),
                node_json(3),
                node_json(4, state="BOOTING"),
                node_json(5, state="BOOTING"),
            ],
            state="INDEFINITE",
            revision=5,
        ),
        unit_json("server", [node_json(n) for n in range(1, 6)], revision=6),
    )
    mock_controller.reply("PUT", UNIT_PATH, {**ACCEPTED, "node_ids": [node_id(4), node_id(5)]})
    caplog.set_level(logging.INFO, logger="vcp.sdk")

    added = three.add_nodes(2)

    sent = mock_controller.sent()
    assert [s.call for s in sent] == [
        ("GET", UNIT_PATH),
        ("PUT", UNIT_PATH),
        ("GET", UNIT_PATH),
        ("GET", UNIT_PATH),
    ]
    assert sent[1].body == {"ip_address_list": [], "mac_address_list": [], "num_nodes": 2}
    assert sent[3].query["wait_revision"] == ["5"]
    assert_headers(sent)
    assert all(isinstance(n, VcNode) for n in added)
    assert [(n.no, n.id, n.state) for n in added] == [(4, node_id(4), "RUNNING"), (5, node_id(5), "RUNNING")]
    assert "add_node completed." in _messages(caplog)


def test_add_nodes_with_fixed_ips_ignores_the_count(three, mock_controller: MockController) -> None:
    mock_controller.reply(
        "GET",
        UNIT_PATH,
        _three_body(),
        unit_json(
            "server",
            [
                node_json(1),
                node_json(2),
                node_json(3),
                node_json(4, address="127.30.2.50"),
                node_json(5, address="127.30.2.51"),
            ],
            revision=5,
        ),
    )
    mock_controller.reply("PUT", UNIT_PATH, ACCEPTED)

    added = three.add_nodes(5, ip_addresses=["127.30.2.50"], ip_address="127.30.2.51")

    put = mock_controller.sent()[1]
    assert put.call == ("PUT", UNIT_PATH)
    assert put.body == {
        "ip_address_list": ["127.30.2.50", "127.30.2.51"],
        "mac_address_list": [],
        "num_nodes": 2,
    }
    assert [n.cloud_instance_address for n in added] == ["127.30.2.50", "127.30.2.51"]


def test_add_nodes_ip_address_union_has_no_duplicate(three, mock_controller: MockController) -> None:
    mock_controller.reply("GET", UNIT_PATH, _three_body())
    mock_controller.reply("PUT", UNIT_PATH, ACCEPTED)

    three.add_nodes(ip_addresses=["127.30.2.50"], ip_address="127.30.2.50", wait_for=False)

    assert mock_controller.sent()[1].body == {
        "ip_address_list": ["127.30.2.50"],
        "mac_address_list": [],
        "num_nodes": 1,
    }


def test_add_nodes_with_mac_addresses(three, mock_controller: MockController) -> None:
    mock_controller.reply("GET", UNIT_PATH, _three_body())
    mock_controller.reply("PUT", UNIT_PATH, ACCEPTED)

    three.add_nodes(
        ip_addresses=["127.30.2.50", "127.30.2.51"],
        mac_addresses=["02:00:00:00:00:01"],
        mac_address="02:00:00:00:00:02",
        wait_for=False,
    )

    assert mock_controller.sent()[1].body == {
        "ip_address_list": ["127.30.2.50", "127.30.2.51"],
        "mac_address_list": ["02:00:00:00:00:01", "02:00:00:00:00:02"],
        "num_nodes": 2,
    }


def test_add_nodes_without_waiting(three, mock_controller: MockController) -> None:
    mock_controller.reply(
        "GET",
        UNIT_PATH,
        _three_body(),
        unit_json(
            "server",
            [node_json(1), node_json(2), node_json(3), node_json(4, state="BOOTING")],
            state="INDEFINITE",
            revision=5,
        ),
    )
    mock_controller.reply("PUT", UNIT_PATH, ACCEPTED)

    added = three.add_nodes(wait_for=False, privileged=True)

    sent = mock_controller.sent()
    assert [s.call for s in sent] == [("GET", UNIT_PATH), ("PUT", UNIT_PATH), ("GET", UNIT_PATH)]
    assert sent[1].body == {"ip_address_list": [], "mac_address_list": [], "num_nodes": 1}
    assert_headers(sent, privileged=True)
    assert [(n.no, n.state) for n in added] == [(4, "BOOTING")]


def test_add_nodes_ips_on_storage_fail_before_put(make_unit, mock_controller: MockController) -> None:
    unit = make_unit([disk_json(1)], name="disks", unit_type="storage")

    with pytest.raises(VcpInvalidArgumentError) as info:
        unit.add_nodes(ip_address="127.30.2.50")

    assert info.value.args == ("VCP", "can't set ip_address(es) to storage")
    assert "PUT" not in [m for m, _ in mock_controller.calls()]


def test_add_disks_to_storage(make_unit, mock_controller: MockController) -> None:
    unit = make_unit([disk_json(1)], name="disks", unit_type="storage")
    mock_controller.reply(
        "GET",
        DISKS_PATH,
        unit_json("disks", [disk_json(1)], unit_type="storage", revision=2),
        unit_json("disks", [disk_json(1), disk_json(2), disk_json(3)], unit_type="storage", revision=3),
    )
    mock_controller.reply("PUT", DISKS_PATH, {"vcid": VCID, "unit_name": "disks"})

    added = unit.add_nodes(2)

    assert mock_controller.sent()[1].body == {"ip_address_list": [], "mac_address_list": [], "num_nodes": 2}
    assert [(n.type, n.no, n.cloud_disk_id) for n in added] == [
        ("storage", 2, f"vol-{2:017x}"),
        ("storage", 3, f"vol-{3:017x}"),
    ]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"ip_addresses": "127.30.2.50"}, "ip_addresses is not list"),
        ({"mac_addresses": "02:00:00:00:00:01"}, "mac_addresses is not list"),
        (
            {"ip_addresses": ["127.30.2.50", "127.30.2.51"], "mac_addresses": ["02:00:00:00:00:01"]},
            "mac_address_list and ip_address_list has element but their length are different",
        ),
        ({"num_add_nodes": 0}, "num_add_nodes"),
    ],
)
def test_add_nodes_bad_arguments_fail_before_put(
    three, mock_controller: MockController, kwargs, message
) -> None:
    with pytest.raises(VcpInvalidArgumentError, match=message):
        three.add_nodes(**kwargs)

    assert "PUT" not in [m for m, _ in mock_controller.calls()]


# -- delete_nodes ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("selector", "targets"),
    [
        ({}, [1]),
        ({"num_delete_nodes": 2}, [1, 2]),
        ({"num_delete_nodes": 4}, [1, 2, 3]),  # up to N, as the original: never an error
        ({"node_no": 1}, [1]),
        ({"cloud_instance_id": f"i-{2:017x}"}, [2]),
        ({"ip_address": "127.30.2.11"}, [1]),
        ({"ip_addresses": ["127.30.2.13", "127.30.2.11"]}, [3, 1]),
    ],
)
def test_delete_nodes_selectors(three, mock_controller: MockController, selector, targets, caplog) -> None:
    remaining = [n for n in (1, 2, 3) if n not in targets]
    mock_controller.reply(
        "GET", UNIT_PATH, _three_body(), unit_json("server", [node_json(n) for n in remaining], revision=9)
    )
    for no in targets:
        mock_controller.reply("DELETE", _node_path(no), {"vcid": VCID, "node_id": node_id(no)})
    caplog.set_level(logging.INFO, logger="vcp.sdk")

    left = three.delete_nodes(**selector)

    sent = mock_controller.sent()
    expected = [("GET", UNIT_PATH)]
    for no in targets:
        expected += [("DELETE", _node_path(no)), ("GET", UNIT_PATH)]
    expected.append(("GET", UNIT_PATH))
    assert [s.call for s in sent] == expected
    assert all(s.body == {} for s in sent if s.method == "DELETE")
    assert_headers(sent)
    assert [n.no for n in left] == remaining
    assert _messages(caplog).count("a node deleted.") == len(targets)
    assert "deleted node(s) completed." in _messages(caplog)


def test_delete_node_waits_with_long_poll(three, mock_controller: MockController) -> None:
    mock_controller.reply(
        "GET",
        UNIT_PATH,
        _three_body(),
        unit_json(
            "server",
            [node_json(1), node_json(2), node_json(3, state="DELETING")],
            state="INDEFINITE",
            revision=5,
        ),
        unit_json("server", [node_json(1), node_json(2)], revision=6),
    )
    mock_controller.reply("DELETE", _node_path(3), {"vcid": VCID, "node_id": node_id(3)})

    three.delete_nodes(node_no=3, privileged=True)

    sent = mock_controller.sent()
    assert [s.call for s in sent] == [
        ("GET", UNIT_PATH),
        ("DELETE", _node_path(3)),
        ("GET", UNIT_PATH),
        ("GET", UNIT_PATH),
        ("GET", UNIT_PATH),
    ]
    assert sent[3].query["wait_revision"] == ["5"]
    assert_headers(sent, privileged=True)


def test_delete_one_node_without_waiting(three, mock_controller: MockController) -> None:
    mock_controller.reply("GET", UNIT_PATH, _three_body())
    mock_controller.reply("DELETE", _node_path(2), {"vcid": VCID, "node_id": node_id(2)})

    three.delete_nodes(node_no=2, wait_for=False)

    assert mock_controller.calls() == [("GET", UNIT_PATH), ("DELETE", _node_path(2)), ("GET", UNIT_PATH)]


def test_delete_disk_of_a_storage_unit(make_unit, mock_controller: MockController) -> None:
    unit = make_unit([disk_json(1), disk_json(2)], name="disks", unit_type="storage")
    mock_controller.reply(
        "GET",
        DISKS_PATH,
        unit_json("disks", [disk_json(1), disk_json(2)], unit_type="storage", revision=3),
        unit_json("disks", [disk_json(2)], unit_type="storage", revision=4),
    )
    disk_path = f"{DISKS_PATH}/{node_id(1, 'disks')}"
    mock_controller.reply("DELETE", disk_path, {"vcid": VCID, "node_id": node_id(1, "disks")})

    left = unit.delete_nodes(node_no=1)

    sent = mock_controller.sent()
    assert [s.call for s in sent] == [
        ("GET", DISKS_PATH),
        ("DELETE", disk_path),
        ("GET", DISKS_PATH),
        ("GET", DISKS_PATH),
    ]
    assert sent[1].body == {}
    assert [(d.type, d.no) for d in left] == [("storage", 2)]


SEVERAL_SELECTORS = [
    {"num_delete_nodes": 1, "node_no": 1},
    {"node_no": 1, "ip_address": "127.30.2.11"},
    {"ip_address": "127.30.2.11", "ip_addresses": ["127.30.2.12"]},
    {"cloud_instance_id": f"i-{1:017x}", "num_delete_nodes": 2},
]


@pytest.mark.parametrize("selector", SEVERAL_SELECTORS)
def test_delete_nodes_with_several_selectors_fails_before_any_request(
    three, mock_controller: MockController, selector, caplog
) -> None:
    caplog.set_level(logging.ERROR, logger="vcp.sdk")
    with pytest.raises(VcpInvalidArgumentError) as info:
        three.delete_nodes(**selector)

    assert info.value.args == ("VCP", "invalid argment, one condition parameter allowed")
    assert mock_controller.sent() == []
    assert "invalid argment, one condition parameter allowed" in [
        r.getMessage() for r in caplog.records if r.levelno == logging.ERROR
    ]


MULTI = [{"num_delete_nodes": 2}, {"ip_addresses": ["127.30.2.11", "127.30.2.12"]}]


@pytest.mark.parametrize("selector", MULTI)
def test_delete_multi_node_without_waiting_is_refused(
    three, mock_controller: MockController, selector
) -> None:
    mock_controller.reply("GET", UNIT_PATH, _three_body())

    with pytest.raises(VcpInvalidArgumentError) as info:
        three.delete_nodes(wait_for=False, **selector)

    assert info.value.args == ("VCP", "invalid argment, delete multi-node must be wait_for=True")
    assert "DELETE" not in [m for m, _ in mock_controller.calls()]


@pytest.mark.parametrize("selector", MULTI)
def test_delete_multi_node_without_waiting_sends_no_request(
    three, mock_controller: MockController, selector
) -> None:
    mock_controller.reply("GET", UNIT_PATH, _three_body())

    with pytest.raises(VcpInvalidArgumentError, match="delete multi-node must be wait_for=True"):
        three.delete_nodes(wait_for=False, **selector)

    assert mock_controller.sent() == []


@pytest.mark.parametrize(
    ("selector", "message"),
    [
        ({"node_no": 9}, r"no node node_no\[9\]"),
        ({"ip_address": "127.30.2.99"}, r"no node ip_address\[127.30.2.99\]"),
        ({"cloud_instance_id": "i-nosuch"}, r"no node cloud_instance_id\[i-nosuch\]"),
    ],
)
def test_delete_nodes_without_a_match_sends_no_delete(
    three, mock_controller: MockController, selector, message
) -> None:
    mock_controller.reply("GET", UNIT_PATH, _three_body())

    with pytest.raises(VcpInvalidArgumentError, match=message):
        three.delete_nodes(**selector)

    assert mock_controller.calls() == [("GET", UNIT_PATH)]


# -- power_off_nodes / power_on_nodes -----------------------------------------------------------


def _mixed_body(revision: int = 4) -> dict:
    return unit_json(
        "server", [node_json(1), node_json(2), node_json(3, state="POWER_OFF")], revision=revision
    )


@pytest.fixture
def mixed(make_unit) -> VcpUnitClass:
    """Unit ``server``: nodes 1 and 2 RUNNING, node 3 POWER_OFF."""
    return make_unit([node_json(1), node_json(2), node_json(3, state="POWER_OFF")])


@pytest.mark.parametrize(
    ("op", "selector", "targets"),
    [
        ("power_off", {}, [1]),
        ("power_off", {"num_power_off_nodes": 2}, [1, 2]),
        ("power_off", {"num_power_off_nodes": 4}, [1, 2]),  # node 3 is already off
        ("power_on", {"num_power_on_nodes": 3}, [3]),
        ("power_off", {"node_no": 1}, [1]),
        ("power_off", {"ip_addresses": ["127.30.2.11"]}, [1]),
        ("power_on", {}, [3]),
        ("power_on", {"node_no": 3}, [3]),
        ("power_on", {"cloud_instance_id": f"i-{3:017x}"}, [3]),
        ("power_on", {"ip_address": "127.30.2.13"}, [3]),
    ],
)
def test_power_operations_patch_each_target(
    mixed, mock_controller: MockController, op, selector, targets
) -> None:
    mock_controller.reply("GET", UNIT_PATH, _mixed_body())
    for no in targets:
        mock_controller.reply("PATCH", _node_path(no, f"/{op}"), {"vcid": VCID, "node_id": node_id(no)})

    nodes = getattr(mixed, f"{op}_nodes")(**selector)

    sent = mock_controller.sent()
    expected = [("GET", UNIT_PATH)]
    for no in targets:
        expected += [("PATCH", _node_path(no, f"/{op}")), ("GET", UNIT_PATH)]
    expected.append(("GET", UNIT_PATH))
    assert [s.call for s in sent] == expected
    assert all(s.body == {} for s in sent if s.method == "PATCH")
    assert_headers(sent)
    assert [n.no for n in nodes] == [1, 2, 3]


def test_power_off_waits_until_power_off(mixed, mock_controller: MockController, caplog) -> None:
    mock_controller.reply(
        "GET",
        UNIT_PATH,
        _mixed_body(),
        unit_json(
            "server",
            [node_json(1), node_json(2, state="SHUTTING_DOWN"), node_json(3, state="POWER_OFF")],
            state="INDEFINITE",
            revision=7,
        ),
        unit_json(
            "server",
            [node_json(1), node_json(2, state="POWER_OFF"), node_json(3, state="POWER_OFF")],
            state="INDEFINITE",
            revision=8,
        ),
    )
    mock_controller.reply("PATCH", _node_path(2, "/power_off"), {"vcid": VCID, "node_id": node_id(2)})
    caplog.set_level(logging.INFO, logger="vcp.sdk")

    nodes = mixed.power_off_nodes(node_no=2, privileged=True)

    sent = mock_controller.sent()
    assert [s.call for s in sent] == [
        ("GET", UNIT_PATH),
        ("PATCH", _node_path(2, "/power_off")),
        ("GET", UNIT_PATH),
        ("GET", UNIT_PATH),
        ("GET", UNIT_PATH),
    ]
    assert sent[3].query["wait_revision"] == ["7"]
    assert_headers(sent, privileged=True)
    assert [n.state for n in nodes] == ["RUNNING", "POWER_OFF", "POWER_OFF"]
    assert "a node power off start." in _messages(caplog)
    assert "power off node(s) has started." in _messages(caplog)


@pytest.mark.parametrize("op", ["power_off", "power_on"])
@pytest.mark.parametrize(
    "selector",
    [
        {"node_no": 1, "ip_address": "127.30.2.11"},
        {"cloud_instance_id": "i-1", "ip_addresses": ["127.30.2.11"]},
    ],
)
def test_power_operations_with_several_selectors(
    mixed, mock_controller: MockController, op, selector
) -> None:
    with pytest.raises(VcpInvalidArgumentError) as info:
        getattr(mixed, f"{op}_nodes")(**selector)

    assert info.value.args == ("VCP", "invalid argment, one condition parameter allowed")
    assert mock_controller.sent() == []


@pytest.mark.parametrize(
    ("op", "count"), [("power_off", "num_power_off_nodes"), ("power_on", "num_power_on_nodes")]
)
def test_power_operations_several_count_selectors(mixed, mock_controller: MockController, op, count) -> None:
    with pytest.raises(VcpInvalidArgumentError, match="one condition parameter allowed"):
        getattr(mixed, f"{op}_nodes")(**{count: 1, "node_no": 1})

    assert mock_controller.sent() == []


def test_power_off_multi_node_without_waiting_is_refused(mixed, mock_controller: MockController) -> None:
    mock_controller.reply("GET", UNIT_PATH, _mixed_body())

    with pytest.raises(VcpInvalidArgumentError) as info:
        mixed.power_off_nodes(num_power_off_nodes=2, wait_for=False)

    assert info.value.args == ("VCP", "invalid argment, delete multi-node must be wait_for=True")
    assert "PATCH" not in [m for m, _ in mock_controller.calls()]


def test_power_on_with_no_node_off_sends_nothing_and_does_not_raise(
    three, mock_controller: MockController
) -> None:
    mock_controller.reply("GET", UNIT_PATH, _three_body())

    nodes = three.power_on_nodes(num_power_on_nodes=2)

    assert "PATCH" not in [m for m, _ in mock_controller.calls()]
    assert [n.no for n in nodes] == [1, 2, 3]


def test_power_on_one_node_without_waiting(mixed, mock_controller: MockController) -> None:
    mock_controller.reply("GET", UNIT_PATH, _mixed_body())
    mock_controller.reply("PATCH", _node_path(3, "/power_on"), {"vcid": VCID, "node_id": node_id(3)})

    mixed.power_on_nodes(wait_for=False)

    assert mock_controller.calls() == [
        ("GET", UNIT_PATH),
        ("PATCH", _node_path(3, "/power_on")),
        ("GET", UNIT_PATH),
    ]


# -- find_nodes / find_ip_addresses / df_nodes / printing ---------------------------------------


@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        ({}, [1, 2, 3]),
        ({"node_state": "POWER_OFF"}, [3]),
        ({"node_state": "RUNNING"}, [1, 2]),
        ({"node_no": 2}, [2]),
        ({"node_no": "2"}, [2]),
        ({"node_id": node_id(1)}, [1]),
        ({"cloud_instance_id": f"i-{3:017x}"}, [3]),
        ({"ip_address": "127.30.2.12", "ip_addresses": ["127.30.2.13"]}, [2, 3]),
        ({"ip_addresses": ["127.30.2.99"]}, []),
        ({"node_state": "RUNNING", "ip_addresses": ["127.30.2.13"]}, []),
    ],
)
def test_unit_find_nodes(make_unit, mock_controller: MockController, conditions, expected) -> None:
    unit = make_unit([])
    mock_controller.reply(
        "GET",
        UNIT_PATH,
        unit_json("server", [node_json(3, state="POWER_OFF"), node_json(1), node_json(2)], revision=4),
    )

    nodes = unit.find_nodes(**conditions)

    assert [n.no for n in nodes] == expected
    assert all(n.unit.name == "server" and n.vc.vcid == VCID for n in nodes)
    assert mock_controller.calls() == [("GET", UNIT_PATH)]


def test_unit_find_nodes_mapper_and_ip_addresses(mixed, mock_controller: MockController) -> None:
    mock_controller.reply("GET", UNIT_PATH, _mixed_body())

    assert mixed.find_nodes(mapper=lambda n: n.id) == [node_id(1), node_id(2), node_id(3)]
    assert mixed.find_ip_addresses(node_state="RUNNING") == ["127.30.2.11", "127.30.2.12"]
    assert mixed.find_ip_addresses(privileged=True) == ["127.30.2.11", "127.30.2.12", "127.30.2.13"]
    sent = mock_controller.sent()
    assert [s.call for s in sent] == [("GET", UNIT_PATH)] * 3
    assert_headers(sent[:2])
    assert_headers(sent[2:], privileged=True)


def test_unit_df_nodes(mixed, mock_controller: MockController) -> None:
    mock_controller.reply("GET", UNIT_PATH, _mixed_body())

    styled = mixed.df_nodes()

    assert isinstance(styled, Styler)
    frame = styled.data
    assert list(frame.columns) == COMPUTE_COLUMNS
    assert frame.to_dict("records")[2] == {
        "vcno": 1,
        "vcname": "ug1",
        "unit_name": "server",
        "unit_state": "INDEFINITE",
        "node_no": 3,
        "node_id": f"{node_id(3)[:8]}...",
        "node_state": "POWER_OFF",
        "cloud_instance_address": "127.30.2.13",
        "cloud_instance_id": f"i-{3:017x}",
        "cloud_instance_name": instance_name(VCID),
        "volumes": "none",
    }
    assert mock_controller.calls() == [("GET", UNIT_PATH)]


def test_unit_df_nodes_without_nodes(make_unit, mock_controller: MockController) -> None:
    unit = make_unit([])
    mock_controller.reply("GET", UNIT_PATH, unit_json("server", [], revision=2))

    assert unit.df_nodes() == []


def test_unit_df_nodes_storage(make_unit, mock_controller: MockController) -> None:
    unit = make_unit([disk_json(1)], name="disks", unit_type="storage")
    mock_controller.reply(
        "GET", DISKS_PATH, unit_json("disks", [disk_json(1, size=43)], unit_type="storage", revision=2)
    )

    frame = unit.df_nodes().data

    assert list(frame.columns) == STORAGE_COLUMNS
    assert frame.to_dict("records") == [
        {
            "vcno": 1,
            "vcname": "ug1",
            "unit_name": "disks",
            "unit_state": "RUNNING",
            "disk_no": 1,
            "disk_id": f"{node_id(1, 'disks')[:8]}...",
            "node_state": "RUNNING",
            "cloud_disk_id": f"vol-{1:017x}",
            "cloud_disk_size": 43,
        }
    ]


def test_unit_state_and_print(three, mock_controller: MockController, capsys) -> None:
    mock_controller.reply(
        "GET", UNIT_PATH, unit_json("server", [node_json(1, state="BOOTING")], state="BOOTING", revision=2)
    )

    assert three.state == "BOOTING"
    print(three)

    assert capsys.readouterr().out == "[VcUnit]\n+ type[compute] name[server]  state[BOOTING]\n\n"
    assert mock_controller.calls() == [("GET", UNIT_PATH)] * 2


def test_print_compute_node(mixed, mock_controller: MockController, capsys) -> None:
    mock_controller.reply(
        "GET",
        UNIT_PATH,
        unit_json(
            "server",
            [node_json(1, volumes=[{"volume_id": "vol-0abc", "device_name": "/dev/sdb"}])],
            revision=2,
        ),
    )
    [node] = mixed.find_nodes()

    print(node)

    out = capsys.readouterr().out
    assert out.startswith(
        f"[VcNode]\n+ type[compute] no(1) state[RUNNING] id[{node_id(1)}] cloud_instance_address[127.30.2.11]"
    )
    assert out == (
        f"[VcNode]\n+ type[compute] no(1) state[RUNNING] id[{node_id(1)}] "
        f"cloud_instance_address[127.30.2.11] cloud_instance_id[i-{1:017x}] "
        f"boot_date[{CDATE}] container_date[{CDATE}] watch_mode[True]"
        "\n\tvolume_id[vol-0abc] device_name[/dev/sdb]\n"
    )
    assert node.ssh_user_name == "root"


def test_print_node_with_error(mixed, mock_controller: MockController, capsys) -> None:
    mock_controller.reply(
        "GET",
        UNIT_PATH,
        unit_json(
            "server", [node_json(2, state="CONTAINER_ERROR", error_message="container exited")], revision=2
        ),
    )
    [node] = mixed.find_nodes()

    print(node)

    out = capsys.readouterr().out
    assert out.startswith("[VcNode]\n+ type[compute] no(2) state[CONTAINER_ERROR] ")
    assert out.endswith("\n*** HAS ERROR:\n---\ncontainer exited\n---\n")


def test_print_storage_node(make_unit, mock_controller: MockController, capsys) -> None:
    unit = make_unit([disk_json(1)], name="disks", unit_type="storage")
    mock_controller.reply(
        "GET",
        DISKS_PATH,
        unit_json("disks", [disk_json(1, in_use=True, size=43)], unit_type="storage", revision=2),
    )
    [disk] = unit.find_nodes()

    print(disk)

    assert capsys.readouterr().out == (
        f"[VcNode]\n+ type[storage] no(1) state[RUNNING] id[{node_id(1, 'disks')}] "
        f"cdate[{CDATE}] used_state[in-use] cloud_disk_id[vol-{1:017x}] cloud_disk_size[43]\n"
    )
