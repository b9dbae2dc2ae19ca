"""VcpSDK's UnitGroup methods: create_ugroup, get_ugroup, find_ugroups, df_ugroups, df_nodes."""

from __future__ import annotations

import logging

import pytest
from pandas.io.formats.style import Styler

import vcpsdk
from tests.columns import COMPUTE_COLUMNS, STORAGE_COLUMNS
from vcpsdk.errors import VcpInvalidArgumentError, VcpSDKError
from vcpsdk.testing.mock_controller import (
    CDATE,
    VCC_ID,
    VCID,
    VCID2,
    VCID3,
    MockController,
    assert_headers,
    decode_cci,
    disk_json,
    instance_name,
    node_id,
    node_json,
    unit_json,
    vc_json,
)
from vcpsdk.vcpsdk import VcpUnitGroupClass


def _three_ugroups() -> list[dict]:
    return [
        vc_json("ug1", vcid=VCID, vcno=1),
        vc_json("ug2", vcid=VCID2, vcno=2, vc_type="storage", state="ERROR", owner="bob"),
        vc_json("ug3", vcid=VCID3, vcno=3),
    ]


# -- create_ugroup -------------------------------------------------------------------------


@pytest.mark.parametrize("ugroup_type", ["compute", "storage"])
def test_create_ugroup_posts_the_empty_vc_cci(mock_sdk, mock_controller: MockController, ugroup_type) -> None:
    mock_controller.reply("GET", "/vcs", {"vcs": [vc_json("other", vcid=VCID2)]})
    mock_controller.reply("POST", "/vcs", {"vcid": VCID})
    mock_controller.reply("GET", f"/vcs/{VCID}", vc_json("handson101", vc_type=ugroup_type, vcno=7))

    ugroup = mock_sdk.create_ugroup("handson101", ugroup_type=ugroup_type)

    sent = mock_controller.sent()
    assert [s.call for s in sent] == [("GET", "/vcs"), ("POST", "/vcs"), ("GET", f"/vcs/{VCID}")]
    assert_headers(sent)
    post = sent[1]
    assert list(post.body) == ["cci"]
    assert decode_cci(post.body["cci"]) == [
        {
            "vc": {
                "cci_version": vcpsdk.VCP_SDK_VERSION,
                "type": ugroup_type,
                "description": "handson101",
                "name": "handson101",
            }
        }
    ]
    assert isinstance(ugroup, VcpUnitGroupClass)
    assert ugroup.vcid == VCID
    assert ugroup.name == "handson101"
    assert ugroup.owner == "alice"


def test_create_ugroup_privileged_sends_the_privileged_header(
    mock_sdk, mock_controller: MockController
) -> None:
    mock_controller.reply("GET", "/vcs", {"vcs": []})
    mock_controller.reply("POST", "/vcs", {"vcid": VCID})
    mock_controller.reply("GET", f"/vcs/{VCID}", vc_json("ug1"))

    mock_sdk.create_ugroup("ug1", privileged=True)

    sent = mock_controller.sent()
    assert len(sent) == 3
    assert_headers(sent, privileged=True)


def test_create_ugroup_with_an_existing_name_fails_before_post(
    mock_sdk, mock_controller: MockController, caplog
) -> None:
    mock_controller.reply("GET", "/vcs", {"vcs": [vc_json("handson101")]})
    mock_controller.reply("POST", "/vcs", {"vcid": VCID2})
    caplog.set_level(logging.ERROR, logger="vcp.sdk")

    with pytest.raises(VcpInvalidArgumentError) as info:
        mock_sdk.create_ugroup("handson101")

    assert "aleady exist UnitGroup" in info.value.args[1]
    assert mock_controller.calls() == [("GET", "/vcs")]
    assert any(
        "aleady exist UnitGroup" in r.getMessage()
        for r in caplog.records
        if r.name == "vcp.sdk" and r.levelno == logging.ERROR
    )


@pytest.mark.parametrize("bad_type", ["disk", "Compute", ""])
def test_create_ugroup_bad_type_fails_before_any_request(
    mock_sdk, mock_controller: MockController, bad_type
) -> None:
    with pytest.raises(VcpInvalidArgumentError, match="ugroup_type"):
        mock_sdk.create_ugroup("ug1", ugroup_type=bad_type)

    assert mock_controller.sent() == []


def test_create_ugroup_refused_by_the_controller(mock_sdk, mock_controller: MockController) -> None:
    mock_controller.reply("GET", "/vcs", {"vcs": []})
    mock_controller.reply(
        "POST", "/vcs", (400, {"message": "2026/01/01 UTC: VCPInvalidParameterException: x"})
    )

    with pytest.raises(VcpInvalidArgumentError) as info:
        mock_sdk.create_ugroup("ug1")

    assert info.value.args == ("VCP", "create vc failed")
    assert info.value.http_status == 400
    assert mock_controller.calls() == [("GET", "/vcs"), ("POST", "/vcs")]


def test_create_ugroup_expects_202_accepted(mock_sdk, mock_controller: MockController) -> None:
    """Writes expect 202 (reference §5.1/§6.5); a 200 is an unexpected status."""
    mock_controller.reply("GET", "/vcs", {"vcs": []})
    mock_controller.reply("POST", "/vcs", (200, {"vcid": VCID}))
    mock_controller.reply("GET", f"/vcs/{VCID}", vc_json("ug1"))

    with pytest.raises(VcpSDKError) as info:
        mock_sdk.create_ugroup("ug1")

    assert info.value.args == ("VCP", "create vc failed")
    assert info.value.http_status == 200
    assert mock_controller.calls() == [("GET", "/vcs"), ("POST", "/vcs")]


def test_create_ugroup_without_vcid_in_reply(mock_sdk, mock_controller: MockController) -> None:
    mock_controller.reply("GET", "/vcs", {"vcs": []})
    mock_controller.reply("POST", "/vcs", {})

    with pytest.raises(VcpSDKError) as info:
        mock_sdk.create_ugroup("ug1")

    assert info.value.args == ("VCP", "create vc failed: cannot find new vc")


# -- get_ugroup / find_ugroups ---------------------------------------------------------------


def test_get_ugroup(mock_sdk, mock_controller: MockController) -> None:
    mock_controller.reply("GET", "/vcs", {"vcs": _three_ugroups()})

    ugroup = mock_sdk.get_ugroup("ug2")

    assert isinstance(ugroup, VcpUnitGroupClass)
    assert (ugroup.vcid, ugroup.name, ugroup.owner) == (VCID2, "ug2", "bob")
    sent = mock_controller.sent()
    assert [s.call for s in sent] == [("GET", "/vcs")]
    assert_headers(sent)


def test_get_ugroup_unknown_returns_none(mock_sdk, mock_controller: MockController) -> None:
    mock_controller.reply("GET", "/vcs", {"vcs": _three_ugroups()})

    assert mock_sdk.get_ugroup("nosuch") is None
    assert mock_controller.calls() == [("GET", "/vcs")]


def test_get_ugroup_privileged(mock_sdk, mock_controller: MockController) -> None:
    mock_controller.reply("GET", "/vcs", {"vcs": _three_ugroups()})

    assert mock_sdk.get_ugroup("ug3", privileged=True).vcid == VCID3
    assert_headers(mock_controller.sent(), privileged=True)


@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        ({}, ["ug1", "ug2", "ug3"]),
        ({"ugroup_name": "ug3"}, ["ug3"]),
        ({"vcid": VCID2}, ["ug2"]),
        ({"vcno": 3}, ["ug3"]),
        ({"vcno": "1"}, ["ug1"]),
        ({"state": "ERROR"}, ["ug2"]),
        ({"ugroup_type": "compute"}, ["ug1", "ug3"]),
        ({"ugroup_type": "storage"}, ["ug2"]),
        ({"ugroup_type": "compute", "vcno": 2}, []),
        ({"ugroup_name": "ug1", "state": None, "vcid": ""}, ["ug1"]),
    ],
)
def test_find_ugroups_filters(mock_sdk, mock_controller: MockController, conditions, expected) -> None:
    mock_controller.reply("GET", "/vcs", {"vcs": _three_ugroups()})

    found = mock_sdk.find_ugroups(**conditions)

    assert [u.name for u in found] == expected
    assert all(isinstance(u, VcpUnitGroupClass) for u in found)
    assert mock_controller.calls() == [("GET", "/vcs")]


def test_find_ugroups_privileged(mock_sdk, mock_controller: MockController) -> None:
    mock_controller.reply("GET", "/vcs", {"vcs": _three_ugroups()})

    assert len(mock_sdk.find_ugroups(privileged=True)) == 3
    assert_headers(mock_controller.sent(), privileged=True)


# -- df_ugroups / df_nodes -----------------------------------------------------------------


def test_df_ugroups(mock_sdk, mock_controller: MockController) -> None:
    mock_controller.reply("GET", "/vcs", {"vcs": _three_ugroups()})

    styled = mock_sdk.df_ugroups()

    assert isinstance(styled, Styler)
    frame = styled.data
    assert list(frame.columns) == ["vcno", "vctype", "owner", "vcname", "state", "vcid", "cdate"]
    assert frame.to_dict("records")[1] == {
        "vcno": 2,
        "vctype": "storage",
        "owner": "bob",
        "vcname": "ug2",
        "state": "ERROR",
        "vcid": f"{VCID2[:8]}...",
        "cdate": CDATE,
    }
    assert list(frame["vcid"]) == [f"{v[:8]}..." for v in (VCID, VCID2, VCID3)]
    assert mock_controller.calls() == [("GET", "/vcs")]


def test_df_ugroups_privileged_and_empty(mock_sdk, mock_controller: MockController) -> None:
    mock_controller.reply("GET", "/vcs", {"vcs": []})

    frame = mock_sdk.df_ugroups(privileged=True).data

    assert list(frame.columns) == ["vcno", "vctype", "owner", "vcname", "state", "vcid", "cdate"]
    assert frame.empty
    assert_headers(mock_controller.sent(), privileged=True)


def test_sdk_df_nodes_without_nodes_is_an_empty_list(mock_sdk, mock_controller: MockController) -> None:
    mock_controller.reply(
        "GET", "/vcs", {"vcs": [vc_json("ug1", [unit_json("server")]), vc_json("ug2", vcid=VCID2)]}
    )

    assert mock_sdk.df_nodes() == []
    assert mock_controller.calls() == [("GET", "/vcs")]


def test_sdk_df_nodes_compute(mock_sdk, mock_controller: MockController) -> None:
    vol = [{"volume_id": "vol-1", "device_name": "/dev/sdb"}]
    vcs = [
        vc_json("ug1", [unit_json("server", [node_json(1, volumes=vol), node_json(2)])], vcno=4),
        vc_json(
            "ug3",
            [unit_json("web", [node_json(1, unit="web", vcid=VCID3, address="127.30.2.99")])],
            vcid=VCID3,
            vcno=5,
        ),
    ]
    mock_controller.reply("GET", "/vcs", {"vcs": vcs})

    styled = mock_sdk.df_nodes(privileged=True)

    assert isinstance(styled, Styler)
    frame = styled.data
    assert list(frame.columns) == COMPUTE_COLUMNS
    assert list(frame.index) == [0, 1, 2]
    assert frame.to_dict("records")[0] == {
        "vcno": 4,
        "vcname": "ug1",
        "unit_name": "server",
        "unit_state": "RUNNING",
        "node_no": 1,
        "node_id": f"{node_id(1)[:8]}...",
        "node_state": "RUNNING",
        "cloud_instance_address": "127.30.2.11",
        "cloud_instance_id": f"i-{1:017x}",
        "cloud_instance_name": f"VCP-{VCC_ID[:8]}-{VCID[:8]}",
        "volumes": "exists",
    }
    assert list(frame["volumes"]) == ["exists", "none", "none"]
    assert list(frame["cloud_instance_name"]) == [instance_name(VCID)] * 2 + [instance_name(VCID3)]
    assert list(frame["cloud_instance_address"])[2] == "127.30.2.99"
    assert_headers(mock_controller.sent(), privileged=True)


def test_sdk_df_nodes_storage(mock_sdk, mock_controller: MockController) -> None:
    disks = [disk_json(1, size=43), disk_json(2, size=43, in_use=True)]
    mock_controller.reply(
        "GET",
        "/vcs",
        {"vcs": [vc_json("st", [unit_json("disks", disks, unit_type="storage")], vc_type="storage", vcno=9)]},
    )

    frame = mock_sdk.df_nodes().data

    assert list(frame.columns) == STORAGE_COLUMNS
    assert frame.to_dict("records")[1] == {
        "vcno": 9,
        "vcname": "st",
        "unit_name": "disks",
        "unit_state": "RUNNING",
        "disk_no": 2,
        "disk_id": f"{node_id(2, 'disks')[:8]}...",
        "node_state": "RUNNING",
        "cloud_disk_id": f"vol-{2:017x}",
        "cloud_disk_size": 43,
    }
