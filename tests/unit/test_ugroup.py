"""VcpUnitGroupClass against a mocked controller: units, waiting, deletion, views."""

from __future__ import annotations

import base64
import logging

import pandas as pd
import pytest
from pandas.io.formats.style import Styler

import vcpsdk
from tests.columns import COMPUTE_COLUMNS, STORAGE_COLUMNS
from vcpsdk.errors import (
    VcpConflictError,
    VcpInvalidArgumentError,
    VcpSDKError,
    VcpTimeoutError,
    VcpUnitFailedError,
)
from vcpsdk.node import VcNode
from vcpsdk.testing.mock_controller import (
    AWS_ACCESS_KEY,
    AWS_SECRET_KEY,
    CDATE,
    HOST,
    PORT,
    VCC_ID,
    VCID,
    MockController,
    assert_headers,
    decode_cci,
    disk_json,
    node_id,
    node_json,
    unit_json,
    vc_json,
    write_config,
)
from vcpsdk.vcpsdk import VcpUnitClass

UNIT_PATH = f"/vcs/{VCID}/server"
VC_PATH = f"/vcs/{VCID}"
ACCEPTED_UNIT = {"vcid": VCID, "unit_name": "server"}


def _messages(caplog, level: int = logging.INFO) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "vcp.sdk" and r.levelno >= level]


# -- create_unit ------------------------------------------------------------------------------


def test_create_unit_posts_the_unit_cci_and_long_polls(
    make_ugroup, mock_sdk, mock_controller: MockController, vcp_pubkey
) -> None:
    ugroup = make_ugroup(vc_json("ug1"))
    mock_controller.reply("POST", VC_PATH, ACCEPTED_UNIT)
    mock_controller.reply(
        "GET",
        UNIT_PATH,
        unit_json("server", [node_json(1, state="BOOTING"), node_json(2, state="BOOTING")], revision=3),
        unit_json("server", [node_json(1), node_json(2, state="BOOTING")], revision=5),
        unit_json("server", [node_json(1), node_json(2)], revision=6),
    )
    spec = mock_sdk.get_spec("aws", "small")
    spec.num_nodes = 2
    spec.volume_size = 20
    spec.set_ssh_pubkey(str(vcp_pubkey))
    spec.params_e.append("FOO=bar")

    unit = ugroup.create_unit("server", spec)

    sent = mock_controller.sent()
    assert [s.call for s in sent] == [("GET", VC_PATH), ("POST", VC_PATH)] + [("GET", UNIT_PATH)] * 3
    assert_headers(sent)
    post = sent[1]
    assert sorted(post.body) == ["info", "unit_name"]
    assert post.body["unit_name"] == "server"
    doc = decode_cci(post.body["info"])
    assert isinstance(doc, list) and len(doc) == 1 and list(doc[0]) == ["unit"]
    cci = doc[0]["unit"]
    assert cci["name"] == "server"
    assert cci["cci_version"] == "1.0"
    assert cci["num_nodes"] == 2
    assert cci["private_network"] == "default"
    assert cci["cloud_provider"] == "aws"
    encoded_key = base64.b64encode(vcp_pubkey.read_bytes()).decode()
    assert cci["params"] == {"v": [], "e": [f"AUTHORIZED_KEYS={encoded_key}", "FOO=bar"]}
    params = cci["cloud_params"]
    assert params["cci_version"] == "1.2"
    assert (params["instance_type"], params["volume_type"], params["volume_size"]) == ("m4.large", "gp2", 20)
    assert params["access_key"] == AWS_ACCESS_KEY
    assert params["secret_key"] == AWS_SECRET_KEY
    # the waiter: a plain read, then "wait for change" past the revision it last saw
    assert sent[2].query == {}
    assert sent[3].query["wait_revision"] == ["3"]
    assert sent[4].query["wait_revision"] == ["5"]
    for s in sent[3:]:
        assert 0 < float(s.query["wait_sec"][0]) <= 1000
    assert isinstance(unit, VcpUnitClass)
    assert unit.name == "server"
    assert unit.type == "compute"


def test_create_unit_polls_when_long_poll_is_not_advertised(
    make_mock_sdk, make_ugroup, mock_controller: MockController, fake_time, caplog
) -> None:
    sdk = make_mock_sdk(long_poll=False)
    ugroup = make_ugroup(vc_json("ug1"), client=sdk)
    mock_controller.reply("POST", VC_PATH, ACCEPTED_UNIT)
    mock_controller.reply(
        "GET",
        UNIT_PATH,
        unit_json("server", [node_json(1, state="BOOTING")], revision=3),
        unit_json("server", [node_json(1, state="BOOTING")], revision=4),
        unit_json("server", [node_json(1)], revision=5),
    )
    caplog.set_level(logging.INFO, logger="vcp.sdk")

    unit = ugroup.create_unit("server", sdk.get_spec("aws", "small"))

    sent = mock_controller.sent()
    assert [s.call for s in sent] == [("GET", VC_PATH), ("POST", VC_PATH)] + [("GET", UNIT_PATH)] * 3
    assert all(s.query == {} for s in sent)
    assert len(fake_time.sleeps) == 2
    assert all(0 < t <= 5 for t in fake_time.sleeps)
    messages = _messages(caplog)
    assert "BOOTING ... 0 sec" in messages
    assert "BOOTING ... 5 sec" in messages
    assert "unit server is RUNNING" in messages
    assert unit.name == "server"


def test_create_unit_in_error_raises_unit_failed(
    make_ugroup, mock_sdk, mock_controller: MockController, caplog
) -> None:
    ugroup = make_ugroup(vc_json("ug1"))
    failed = unit_json("server", [node_json(1, state="ERROR")], state="ERROR", error_message="quota exceeded")
    mock_controller.reply("GET", VC_PATH, vc_json("ug1"), vc_json("ug1", [failed], state="ERROR"))
    mock_controller.reply("POST", VC_PATH, ACCEPTED_UNIT)
    mock_controller.reply(
        "GET",
        UNIT_PATH,
        unit_json("server", [node_json(1, state="BOOTING")], revision=3),
        {**failed, "revision": 4},
    )
    caplog.set_level(logging.ERROR, logger="vcp.sdk")

    with pytest.raises(VcpUnitFailedError) as info:
        ugroup.create_unit("server", mock_sdk.get_spec("aws", "small"))

    assert info.value.args == ("VCP", "failed (server)")
    assert info.value.server_message == "quota exceeded"
    # trial 15, finding 13: the hint names the actual UnitGroup and unit, no placeholders
    assert "ug.delete_units('server', force=True)" in info.value.hint
    assert "vcp.get_ugroup('ug1')" in info.value.hint and "unit_name" not in info.value.hint
    assert mock_controller.calls() == [
        ("GET", VC_PATH),
        ("POST", VC_PATH),
        ("GET", UNIT_PATH),
        ("GET", UNIT_PATH),
        ("GET", VC_PATH),
    ]
    logged = "\n".join(_messages(caplog, logging.ERROR))
    assert "[VcUnit]\n+ type[compute] name[server]  state[ERROR]" in logged
    assert "quota exceeded" in logged


def test_create_unit_times_out_and_leaves_the_unit(
    make_mock_sdk, make_ugroup, mock_controller: MockController, tmp_path
) -> None:
    directory = write_config(
        tmp_path / "cfg", vcc={"host": HOST, "vcc_port": PORT, "scheme": "http", "wait_timeout_sec": 30}
    )
    sdk = make_mock_sdk(long_poll=False, directory=directory)
    ugroup = make_ugroup(vc_json("ug1"), client=sdk)
    mock_controller.reply("POST", VC_PATH, ACCEPTED_UNIT)
    mock_controller.reply("GET", UNIT_PATH, unit_json("server", [node_json(1, state="BOOTING")], revision=3))

    with pytest.raises(VcpTimeoutError) as info:
        ugroup.create_unit("server", sdk.get_spec("aws", "small"))

    assert info.value.args == ("VCP", "Full of waiting time (server)")
    assert isinstance(info.value, TimeoutError)
    calls = mock_controller.calls()
    assert calls[:2] == [("GET", VC_PATH), ("POST", VC_PATH)]
    assert set(calls[2:]) == {("GET", UNIT_PATH)}
    assert 2 <= len(calls[2:]) <= 10  # polled every few seconds for 30 (fake) seconds


def test_long_poll_timeout_honours_the_hold(
    make_ugroup, mock_sdk, mock_controller: MockController, fake_time
) -> None:
    """The controller holds each long-poll read for wait_sec; the wait still ends in time."""
    ugroup = make_ugroup(vc_json("ug1"))
    mock_controller.reply("POST", VC_PATH, ACCEPTED_UNIT)
    booting = unit_json("server", [node_json(1, state="BOOTING")], revision=3)

    def held(request, context):
        fake_time.advance(float(request.qs.get("wait_sec", ["0"])[0]))
        return booting

    mock_controller.mocker.get(mock_controller.base + UNIT_PATH, json=held)

    with pytest.raises(VcpTimeoutError, match=r"Full of waiting time \(server\)"):
        ugroup.create_unit("server", mock_sdk.get_spec("aws", "small"))

    waits = [float(s.query["wait_sec"][0]) for s in mock_controller.sent() if s.query]
    assert waits and sum(waits) <= 1000
    assert fake_time.sleeps == []


def test_create_unit_without_waiting_then_wait_unit_applied(
    make_ugroup, mock_sdk, mock_controller: MockController
) -> None:
    ugroup = make_ugroup(vc_json("ug1"))
    mock_controller.reply("POST", VC_PATH, ACCEPTED_UNIT)
    booting = unit_json("server", [node_json(1, state="BOOTING")], revision=3)
    mock_controller.reply("GET", UNIT_PATH, booting, booting, unit_json("server", [node_json(1)], revision=4))

    unit = ugroup.create_unit("server", mock_sdk.get_spec("aws", "small"), wait_for=False)

    assert mock_controller.calls() == [("GET", VC_PATH), ("POST", VC_PATH), ("GET", UNIT_PATH)]
    assert unit.name == "server"
    mock_controller.mark()

    applied = ugroup.wait_unit_applied("server")

    sent = mock_controller.sent()
    assert [s.call for s in sent] == [("GET", UNIT_PATH)] * 2
    assert sent[1].query["wait_revision"] == ["3"]
    assert applied.name == "server"


def test_create_unit_privileged(make_ugroup, mock_sdk, mock_controller: MockController) -> None:
    ugroup = make_ugroup(vc_json("ug1"))
    mock_controller.reply("POST", VC_PATH, ACCEPTED_UNIT)
    mock_controller.reply("GET", UNIT_PATH, unit_json("server", [node_json(1)], revision=3))

    ugroup.create_unit("server", mock_sdk.get_spec("aws", "small"), privileged=True)

    assert len(mock_controller.sent()) == 3
    assert_headers(mock_controller.sent(), privileged=True)


def test_create_unit_existing_name_fails_before_post(
    make_ugroup, mock_sdk, mock_controller: MockController
) -> None:
    ugroup = make_ugroup(vc_json("ug1", [unit_json("server", [node_json(1)])]))

    with pytest.raises(VcpInvalidArgumentError, match=r"already exist unit\[server\]"):
        ugroup.create_unit("server", mock_sdk.get_spec("aws", "small"))

    assert mock_controller.calls() == [("GET", VC_PATH)]


def test_create_unit_spec_type_mismatch_fails_before_post(
    make_ugroup, mock_sdk, mock_controller: MockController
) -> None:
    ugroup = make_ugroup(vc_json("ug1"))

    with pytest.raises(VcpInvalidArgumentError) as info:
        ugroup.create_unit("disks", mock_sdk.get_spec("aws_disk", "small"))

    assert info.value.args[1] == "not much ugroup_type vc[compute] and spec[storage]"
    assert "POST" not in [m for m, _ in mock_controller.calls()]


@pytest.mark.parametrize("name", ["my server", "a/b", ""])
def test_create_unit_bad_name_fails_before_post(
    make_ugroup, mock_sdk, mock_controller: MockController, name
) -> None:
    ugroup = make_ugroup(vc_json("ug1"))

    with pytest.raises(VcpInvalidArgumentError, match="unit_name"):
        ugroup.create_unit(name, mock_sdk.get_spec("aws", "small"))

    assert "POST" not in [m for m, _ in mock_controller.calls()]


def test_create_storage_unit(make_ugroup, mock_sdk, mock_controller: MockController) -> None:
    ugroup = make_ugroup(vc_json("st", vc_type="storage"))
    mock_controller.reply("POST", VC_PATH, {"vcid": VCID, "unit_name": "disks"})
    mock_controller.reply(
        "GET", f"/vcs/{VCID}/disks", unit_json("disks", [disk_json(1)], unit_type="storage", revision=2)
    )
    spec = mock_sdk.get_spec("aws_disk", "small")
    spec.num_disks = 1

    unit = ugroup.create_unit("disks", spec)

    post = mock_controller.sent()[1]
    cci = decode_cci(post.body["info"])[0]["unit"]
    assert cci["cloud_provider"] == "aws"  # the cloud, as the original aws_disk plugin sends it
    assert cci["num_disks"] == 1
    assert "num_nodes" not in cci
    assert unit.type == "storage"


# -- get_unit / find_units ----------------------------------------------------------------------


def _two_units_vc() -> dict:
    return vc_json(
        "ug1",
        [
            unit_json(
                "server", [node_json(3), node_json(1), node_json(2, state="POWER_OFF")], state="INDEFINITE"
            ),
            unit_json("web", [node_json(1, unit="web", address="127.30.2.99", instance_id="i-web")]),
        ],
        vcno=55,
    )


def test_get_unit(make_ugroup, mock_controller: MockController) -> None:
    ugroup = make_ugroup(_two_units_vc())

    unit = ugroup.get_unit("web")

    assert isinstance(unit, VcpUnitClass)
    assert unit.name == "web"
    sent = mock_controller.sent()
    assert [s.call for s in sent] == [("GET", VC_PATH)]
    assert_headers(sent)


def test_get_unit_unknown_returns_none(make_ugroup, mock_controller: MockController) -> None:
    ugroup = make_ugroup(_two_units_vc())

    assert ugroup.get_unit("nosuch") is None
    assert mock_controller.calls() == [("GET", VC_PATH)]


def test_ugroup_gone_on_the_controller(make_ugroup, mock_controller: MockController) -> None:
    ugroup = make_ugroup(_two_units_vc())
    mock_controller.reply("GET", VC_PATH, None)

    with pytest.raises(VcpSDKError) as info:
        ugroup.get_unit("server")

    assert info.value.args == ("VCP", "no yet setup unit_group")
    assert mock_controller.calls() == [("GET", VC_PATH)]


def test_a_stale_ugroup_is_not_found_with_a_hint(make_ugroup, mock_controller: MockController) -> None:
    """Trial 15, finding 5: a cleaned-up UnitGroup renders short (a not-found error) with a hint."""
    from vcpsdk._ipython import short_lines
    from vcpsdk.errors import VcpNotFoundError

    ugroup = make_ugroup(_two_units_vc())
    mock_controller.reply("GET", VC_PATH, None)
    with pytest.raises(VcpNotFoundError) as info:
        ugroup.df_nodes()
    assert info.value.args == ("VCP", "no yet setup unit_group")
    with pytest.raises(VcpNotFoundError) as again:  # and on every later use
        ugroup.df_units()
    assert str(again.value) == "no yet setup unit_group"
    assert short_lines(again.value, colour=False) == [
        "VcpUnitGroupGoneError: no yet setup unit_group",
        f"Hint: {again.value.hint}",
        "(The full traceback: run %tb)",
    ]
    assert "vcp.get_ugroup(name)" in again.value.hint


def test_find_units(make_ugroup, mock_controller: MockController) -> None:
    ugroup = make_ugroup(_two_units_vc())

    assert [u.name for u in ugroup.find_units()] == ["server", "web"]
    assert [u.name for u in ugroup.find_units("web")] == ["web"]
    assert ugroup.find_units("nosuch") == []
    assert [u.name for u in ugroup.find_units(privileged=True)] == ["server", "web"]
    assert mock_controller.calls() == [("GET", VC_PATH)] * 4
    assert_headers(mock_controller.sent()[3:], privileged=True)


# -- find_nodes / find_ip_addresses -------------------------------------------------------------


@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        ({}, [("server", 1), ("server", 2), ("server", 3), ("web", 1)]),
        ({"unit_name": "web"}, [("web", 1)]),
        ({"node_state": "POWER_OFF"}, [("server", 2)]),
        ({"node_no": 1}, [("server", 1), ("web", 1)]),
        ({"node_no": "3"}, [("server", 3)]),
        ({"ip_address": "127.30.2.99", "ip_addresses": ["127.30.2.11"]}, [("server", 1), ("web", 1)]),
        ({"ip_addresses": ["127.30.2.12", "127.30.2.13"]}, [("server", 2), ("server", 3)]),
        ({"cloud_instance_id": "i-web"}, [("web", 1)]),
        ({"node_id": node_id(2)}, [("server", 2)]),
        ({"unit_name": "server", "node_state": "RUNNING"}, [("server", 1), ("server", 3)]),
        ({"unit_name": "web", "node_state": "POWER_OFF"}, []),
    ],
)
def test_ugroup_find_nodes(make_ugroup, mock_controller: MockController, conditions, expected) -> None:
    ugroup = make_ugroup(_two_units_vc())

    nodes = ugroup.find_nodes(**conditions)

    assert all(isinstance(n, VcNode) for n in nodes)
    assert sorted((n.unit.name, n.no) for n in nodes) == expected
    assert all(n.vc.vcid == VCID for n in nodes)
    assert mock_controller.calls() == [("GET", VC_PATH)]


def test_ugroup_find_nodes_mapper_and_privileged(make_ugroup, mock_controller: MockController) -> None:
    ugroup = make_ugroup(_two_units_vc())

    ids = ugroup.find_nodes(unit_name="server", mapper=lambda n: n.cloud_instance_id, privileged=True)

    assert sorted(ids) == [f"i-{1:017x}", f"i-{2:017x}", f"i-{3:017x}"]
    assert_headers(mock_controller.sent(), privileged=True)


def test_ugroup_find_ip_addresses(make_ugroup, mock_controller: MockController) -> None:
    ugroup = make_ugroup(_two_units_vc())

    assert sorted(ugroup.find_ip_addresses(node_state="RUNNING", unit_name="server")) == [
        "127.30.2.11",
        "127.30.2.13",
    ]
    assert sorted(ugroup.find_ip_addresses()) == ["127.30.2.11", "127.30.2.12", "127.30.2.13", "127.30.2.99"]
    assert mock_controller.calls() == [("GET", VC_PATH)] * 2


# -- delete_units ------------------------------------------------------------------------------


@pytest.mark.parametrize(("force", "sent_force"), [(False, "false"), (True, "true")])
def test_delete_units_sends_force_and_waits_until_gone(
    make_ugroup, mock_controller: MockController, force, sent_force, caplog
) -> None:
    ugroup = make_ugroup(_two_units_vc())
    mock_controller.reply("DELETE", UNIT_PATH, ACCEPTED_UNIT)
    mock_controller.reply(
        "GET",
        UNIT_PATH,
        unit_json("server", [node_json(1, state="DELETING")], state="DELETING", revision=8),
        None,
    )
    caplog.set_level(logging.INFO, logger="vcp.sdk")

    assert ugroup.delete_units("server", force=force) is None

    sent = mock_controller.sent()
    assert [s.call for s in sent] == [
        ("GET", VC_PATH),
        ("DELETE", UNIT_PATH),
        ("GET", UNIT_PATH),
        ("GET", UNIT_PATH),
    ]
    assert sent[1].body == {"force": sent_force}
    assert sent[3].query["wait_revision"] == ["8"]
    assert_headers(sent)
    assert "delete_unit completed." in _messages(caplog)


def test_delete_units_without_waiting(make_ugroup, mock_controller: MockController) -> None:
    ugroup = make_ugroup(_two_units_vc())
    mock_controller.reply("DELETE", UNIT_PATH, ACCEPTED_UNIT)

    ugroup.delete_units("server", wait_for=False, privileged=True)

    sent = mock_controller.sent()
    assert [s.call for s in sent] == [("GET", VC_PATH), ("DELETE", UNIT_PATH)]
    assert sent[1].body == {"force": "false"}
    assert_headers(sent, privileged=True)


def test_delete_units_unknown_unit_fails_before_delete(make_ugroup, mock_controller: MockController) -> None:
    ugroup = make_ugroup(_two_units_vc())

    with pytest.raises(VcpInvalidArgumentError) as info:
        ugroup.delete_units("x")

    assert info.value.args == ("VCP", "no unit unit_name[x]")
    assert "DELETE" not in [m for m, _ in mock_controller.calls()]
    assert "ug.df_units()" in info.value.hint  # trial 15, finding 13: not help()'s generic hint


def test_delete_units_conflict_is_reported(make_ugroup, mock_controller: MockController) -> None:
    ugroup = make_ugroup(_two_units_vc())
    mock_controller.reply("DELETE", UNIT_PATH, (409, {"message": "unit has node(s)"}))

    with pytest.raises(VcpConflictError) as info:
        ugroup.delete_units("server")

    assert info.value.args == ("VCP", "delete unit failed")
    assert info.value.server_message == "unit has node(s)"


# -- cleanup -----------------------------------------------------------------------------------


@pytest.mark.parametrize("long_poll", [True, False])
def test_cleanup_deletes_with_force_and_waits_for_404(
    make_mock_sdk, make_ugroup, mock_controller: MockController, long_poll, caplog
) -> None:
    sdk = make_mock_sdk(long_poll=long_poll)
    ugroup = make_ugroup(_two_units_vc(), client=sdk)
    mock_controller.reply("DELETE", VC_PATH, {"vcid": VCID})
    deleting = vc_json(
        "ug1",
        [unit_json("server", [node_json(1, state="DELETING")], state="DELETING")],
        state="DELETING",
        revision=9,
    )
    mock_controller.reply("GET", VC_PATH, deleting, None)
    caplog.set_level(logging.INFO, logger="vcp.sdk")

    assert ugroup.cleanup() is None

    sent = mock_controller.sent()
    assert [s.call for s in sent] == [("DELETE", VC_PATH), ("GET", VC_PATH), ("GET", VC_PATH)]
    assert sent[0].body == {"force": "true"}
    assert_headers(sent)
    if long_poll:
        assert sent[2].query["wait_revision"] == ["9"]
    else:
        assert sent[2].query == {}
    assert "cleanup completed. vc ug1 is cleanup(no unit)" in _messages(caplog)
    with pytest.raises(VcpSDKError, match="no yet setup unit_group"):
        ugroup.vcid  # noqa: B018 - the property raises once the UnitGroup is gone


def test_cleanup_without_waiting(make_ugroup, mock_controller: MockController) -> None:
    ugroup = make_ugroup(_two_units_vc())
    mock_controller.reply("DELETE", VC_PATH, {"vcid": VCID})

    ugroup.cleanup(wait_for=False, privileged=True)

    sent = mock_controller.sent()
    assert [s.call for s in sent] == [("DELETE", VC_PATH)]
    assert sent[0].body == {"force": "true"}
    assert_headers(sent, privileged=True)


def test_cleanup_stops_waiting_when_attached_disks_stay(
    make_ugroup, mock_controller: MockController, caplog
) -> None:
    body = vc_json(
        "st", [unit_json("disks", [disk_json(1, in_use=True)], unit_type="storage")], vc_type="storage"
    )
    ugroup = make_ugroup(body)
    mock_controller.reply("DELETE", VC_PATH, {"vcid": VCID})
    caplog.set_level(logging.INFO, logger="vcp.sdk")

    ugroup.cleanup()

    assert mock_controller.calls() == [("DELETE", VC_PATH), ("GET", VC_PATH)]
    assert any("keeps unit(s) still in use: disks(RUNNING)" in m for m in _messages(caplog))
    assert ugroup.vcid == VCID


# -- rename / owner / state / print ------------------------------------------------------------


def test_update_ugroup_name_puts_an_empty_vc_cci(make_ugroup, mock_controller: MockController) -> None:
    ugroup = make_ugroup(vc_json("ug1"))
    mock_controller.reply("GET", "/vcs", {"vcs": [vc_json("ug1")]})
    mock_controller.reply("PUT", VC_PATH, {"vcid": VCID})
    mock_controller.reply("GET", VC_PATH, vc_json("renamed"))

    assert ugroup.update_ugroup_name("renamed") is None

    sent = mock_controller.sent()
    # the name is checked against the user's UnitGroups before the PUT
    assert [s.call for s in sent] == [("GET", "/vcs"), ("PUT", VC_PATH), ("GET", VC_PATH)]
    assert list(sent[1].body) == ["cci"]
    assert decode_cci(sent[1].body["cci"]) == [
        {
            "vc": {
                "cci_version": vcpsdk.VCP_SDK_VERSION,
                "type": "compute",
                "description": "renamed",
                "name": "renamed",
            }
        }
    ]
    assert_headers(sent)
    assert ugroup.name == "renamed"


def test_name_setter_renames(make_ugroup, mock_controller: MockController) -> None:
    ugroup = make_ugroup(vc_json("st", vc_type="storage"))
    mock_controller.reply("GET", "/vcs", {"vcs": [vc_json("st", vc_type="storage")]})
    mock_controller.reply("PUT", VC_PATH, {"vcid": VCID})
    mock_controller.reply("GET", VC_PATH, vc_json("st2", vc_type="storage"))

    ugroup.name = "st2"

    put = mock_controller.sent()[1]
    assert put.call == ("PUT", VC_PATH)
    assert decode_cci(put.body["cci"])[0]["vc"]["type"] == "storage"
    assert decode_cci(put.body["cci"])[0]["vc"]["name"] == "st2"
    assert ugroup.name == "st2"


def test_change_owner_patches(make_ugroup, mock_controller: MockController) -> None:
    ugroup = make_ugroup(vc_json("ug1"))
    mock_controller.reply("PATCH", VC_PATH, {"vcid": VCID})

    assert ugroup.change_owner("bob", privileged=True) is None

    sent = mock_controller.sent()
    assert [s.call for s in sent] == [("PATCH", VC_PATH)]
    assert sent[0].body == {"owner": "bob", "operation": "change_owner"}
    assert_headers(sent, privileged=True)
    assert ugroup.owner == "bob"


def test_change_owner_refused(make_ugroup, mock_controller: MockController, caplog) -> None:
    ugroup = make_ugroup(vc_json("ug1"))
    mock_controller.reply("PATCH", VC_PATH, (400, {"message": "owner[nobody] is not a user"}))

    with caplog.at_level("ERROR", logger="vcp.sdk"), pytest.raises(VcpInvalidArgumentError) as info:
        ugroup.change_owner("nobody")

    # the request-level line, then the SDK-level message of the original (reference §5.1)
    assert info.value.args == ("VCP", "failed ugroup change owner http status(400)")
    assert "change owner vc failed: http_status(400)" in caplog.text
    assert info.value.server_message == "owner[nobody] is not a user"
    assert ugroup.owner == "alice"


def test_state_is_read_from_the_controller(make_ugroup, mock_controller: MockController) -> None:
    ugroup = make_ugroup(vc_json("ug1"))
    mock_controller.reply("GET", VC_PATH, vc_json("ug1", state="APPLYING"))

    assert ugroup.state == "APPLYING"
    assert mock_controller.calls() == [("GET", VC_PATH)]


def test_print_ugroup(make_ugroup, mock_controller: MockController, capsys) -> None:
    ugroup = make_ugroup(vc_json("03_sample", owner="user1", vcno=55))

    print(ugroup)

    assert capsys.readouterr().out == (
        f"[Vc]\n+ type[compute] name[03_sample] owner(user1) vcno(55) state[RUNNING] vcid[{VCID}]\n\n"
    )
    assert mock_controller.calls() == [("GET", VC_PATH)]


def test_print_ugroup_shows_units_in_error(make_ugroup, mock_controller: MockController, capsys) -> None:
    failed = unit_json("server", [node_json(1, state="ERROR")], state="ERROR", error_message="quota exceeded")
    ugroup = make_ugroup(vc_json("ug1", [failed, unit_json("ok", [])], state="ERROR", vcno=3))

    print(ugroup)

    out = capsys.readouterr().out
    assert out.startswith(f"[Vc]\n+ type[compute] name[ug1] owner(alice) vcno(3) state[ERROR] vcid[{VCID}]\n")
    assert "[VcUnit]\n+ type[compute] name[server]  state[ERROR]\n" in out
    assert "*** HAS ERROR:\n---\nquota exceeded\n---\n" in out
    assert "name[ok]" not in out


# -- df_units / df_nodes -----------------------------------------------------------------------


def test_df_units(make_ugroup, mock_controller: MockController) -> None:
    ugroup = make_ugroup(_two_units_vc())

    frame = ugroup.df_units()

    assert type(frame) is pd.DataFrame
    assert list(frame.columns) == [
        "vctype",
        "vcno",
        "vcname",
        "vc_state",
        "vcid",
        "cdate",
        "unit_name",
        "unit_state",
    ]
    assert frame.to_dict("records") == [
        {
            "vctype": "compute",
            "vcno": 55,
            "vcname": "ug1",
            "vc_state": "RUNNING",
            "vcid": f"{VCID[:8]}...",
            "cdate": CDATE,
            "unit_name": "server",
            "unit_state": "INDEFINITE",
        },
        {
            "vctype": "compute",
            "vcno": 55,
            "vcname": "ug1",
            "vc_state": "RUNNING",
            "vcid": f"{VCID[:8]}...",
            "cdate": CDATE,
            "unit_name": "web",
            "unit_state": "RUNNING",
        },
    ]
    assert mock_controller.calls() == [("GET", VC_PATH)]


def test_ugroup_df_nodes(make_ugroup, mock_controller: MockController) -> None:
    ugroup = make_ugroup(_two_units_vc())

    styled = ugroup.df_nodes(privileged=True)

    assert isinstance(styled, Styler)
    frame = styled.data
    assert list(frame.columns) == COMPUTE_COLUMNS
    rows = {(r["unit_name"], r["node_no"]): r for r in frame.to_dict("records")}
    assert sorted(rows) == [("server", 1), ("server", 2), ("server", 3), ("web", 1)]
    assert rows[("web", 1)]["node_id"] == f"{node_id(1, 'web')[:8]}..."
    assert rows[("server", 2)]["node_state"] == "POWER_OFF"
    assert rows[("server", 2)]["unit_state"] == "INDEFINITE"
    assert_headers(mock_controller.sent(), privileged=True)


def test_ugroup_df_nodes_without_nodes(make_ugroup, mock_controller: MockController) -> None:
    ugroup = make_ugroup(vc_json("ug1", [unit_json("server", [])]))

    assert ugroup.df_nodes() == []


def test_ugroup_df_nodes_of_a_disk_type_group(make_ugroup, mock_controller: MockController) -> None:
    """Controllers before 18.07 call storage UnitGroups type 'disk'."""
    body = vc_json("st", [unit_json("disks", [disk_json(1)], unit_type="storage")], vc_type="disk")
    body["unit"][0].pop("type")
    ugroup = make_ugroup(body)

    frame = ugroup.df_nodes().data

    assert list(frame.columns) == STORAGE_COLUMNS
    assert list(frame["cloud_disk_id"]) == [f"vol-{1:017x}"]
    assert list(ugroup.df_units()["vctype"]) == ["storage"]


def test_df_nodes_cloud_instance_name_without_node_name(make_ugroup, mock_controller: MockController) -> None:
    node = node_json(1)
    del node["name"], node["cloud_instance_name"]  # both optional in reference §6.5
    ugroup = make_ugroup(vc_json("ug1", [unit_json("server", [node])]))

    frame = ugroup.df_nodes().data

    assert list(frame["cloud_instance_name"]) == [f"VCP-{VCC_ID[:8]}-{VCID[:8]}"]
