"""Privileged mode (reference §5.3): every method taking ``privileged=`` lets a superuser
work on another user's UnitGroup, refuses a regular user, and sends the
``x-vcc-privileged: True`` header exactly when asked to (§6.5)."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from vcpsdk.errors import VcpAuthError, VcpNotFoundError
from vcpsdk.node import VcNode
from vcpsdk.testing.units import create_running_unit
from vcpsdk.vcpsdk import VcpSDK, VcpUnitClass, VcpUnitGroupClass

from .support import unique

CLASSES = (VcpSDK, VcpUnitGroupClass, VcpUnitClass, VcNode)


def privileged_methods() -> set[str]:
    """``Class.method`` for every public method with a ``privileged`` parameter."""
    found = set()
    for cls in CLASSES:
        for name in dir(cls):
            member = getattr(cls, name)
            if name.startswith("_") or not callable(member):
                continue
            if "privileged" in inspect.signature(member).parameters:
                found.add(f"{cls.__name__}.{name}")
    return found


@dataclass
class Objects:
    """What the calls of ``CALLS`` work on."""

    sdk: VcpSDK
    ug: VcpUnitGroupClass
    unit: VcpUnitClass
    node: VcNode
    spec: Any
    owner: str


def _node_op(o: Objects, op: str, privileged: bool) -> Any:
    result = getattr(o.node, op)(privileged=privileged)
    o.unit.wait_nodes_applied(privileged=privileged)
    return result


def _node_call(op: str) -> Callable[[Objects, bool], Any]:
    return lambda o, p: _node_op(o, op, p)


#: one call per privileged method, in an order that is valid on a one-node unit
CALLS: list[tuple[str, Callable[[Objects, bool], Any]]] = [
    ("VcpSDK.df_ugroups", lambda o, p: o.sdk.df_ugroups(privileged=p)),
    ("VcpSDK.df_nodes", lambda o, p: o.sdk.df_nodes(privileged=p)),
    ("VcpSDK.find_ugroups", lambda o, p: o.sdk.find_ugroups(ugroup_name=o.ug.name, privileged=p)),
    ("VcpSDK.get_ugroup", lambda o, p: o.sdk.get_ugroup(o.ug.name, privileged=p)),
    ("VcpSDK.create_ugroup", lambda o, p: o.sdk.create_ugroup(unique("new"), privileged=p)),
    ("VcpUnitGroupClass.df_units", lambda o, p: o.ug.df_units(privileged=p)),
    ("VcpUnitGroupClass.df_nodes", lambda o, p: o.ug.df_nodes(privileged=p)),
    ("VcpUnitGroupClass.find_units", lambda o, p: o.ug.find_units(privileged=p)),
    ("VcpUnitGroupClass.get_unit", lambda o, p: o.ug.get_unit(o.unit.name, privileged=p)),
    ("VcpUnitGroupClass.find_nodes", lambda o, p: o.ug.find_nodes(privileged=p)),
    ("VcpUnitGroupClass.find_ip_addresses", lambda o, p: o.ug.find_ip_addresses(privileged=p)),
    (
        "VcpUnitGroupClass.create_unit",
        lambda o, p: o.ug.create_unit("extra", o.spec, wait_for=False, privileged=p),
    ),
    ("VcpUnitGroupClass.wait_unit_applied", lambda o, p: o.ug.wait_unit_applied("extra", privileged=p)),
    ("VcpUnitGroupClass.delete_units", lambda o, p: o.ug.delete_units("extra", force=True, privileged=p)),
    (
        "VcpUnitGroupClass.update_ugroup_name",
        lambda o, p: o.ug.update_ugroup_name(o.ug.name + "-x", privileged=p),
    ),
    ("VcpUnitGroupClass.change_owner", lambda o, p: o.ug.change_owner(o.owner, privileged=p)),
    ("VcpUnitClass.df_nodes", lambda o, p: o.unit.df_nodes(privileged=p)),
    ("VcpUnitClass.find_nodes", lambda o, p: o.unit.find_nodes(privileged=p)),
    ("VcpUnitClass.find_ip_addresses", lambda o, p: o.unit.find_ip_addresses(privileged=p)),
    ("VcpUnitClass.add_nodes", lambda o, p: o.unit.add_nodes(privileged=p)),
    ("VcpUnitClass.delete_nodes", lambda o, p: o.unit.delete_nodes(node_no=2, privileged=p)),  # the added one
    ("VcpUnitClass.power_off_nodes", lambda o, p: o.unit.power_off_nodes(privileged=p)),
    ("VcpUnitClass.power_on_nodes", lambda o, p: o.unit.power_on_nodes(privileged=p)),
    ("VcpUnitClass.unwatch_nodes", lambda o, p: o.unit.unwatch_nodes(privileged=p)),
    ("VcpUnitClass.watch_nodes", lambda o, p: o.unit.watch_nodes(privileged=p)),
    ("VcpUnitClass.unwatch", lambda o, p: o.unit.unwatch(privileged=p)),
    ("VcpUnitClass.watch", lambda o, p: o.unit.watch(privileged=p)),
    ("VcpUnitClass.wait_nodes_applied", lambda o, p: o.unit.wait_nodes_applied(privileged=p)),
    ("VcNode.config", lambda o, p: o.node.config(privileged=p)),
    ("VcNode.backup", lambda o, p: o.node.backup(privileged=p)),
    ("VcNode.unwatch", lambda o, p: o.node.unwatch(privileged=p)),
    ("VcNode.watch", lambda o, p: o.node.watch(privileged=p)),
    *[
        (f"VcNode.{op}", _node_call(op))
        for op in ("suspend", "resume", "suspend", "stop", "start", "power_off", "power_on")
    ],
    ("VcNode.delete", _node_call("delete")),
    ("VcpUnitGroupClass.cleanup", lambda o, p: o.ug.cleanup(privileged=p)),
]


def test_calls_cover_every_method_with_a_privileged_parameter() -> None:
    assert {name for name, _ in CALLS} == privileged_methods()


@pytest.fixture
def owned(vcp_sdk: VcpSDK, vcp_pubkey: Path, vcp_user: str) -> Objects:
    """A regular user's UnitGroup with a one-node unit."""
    group, unit, [node] = create_running_unit(vcp_sdk, vcp_pubkey, ugroup=unique("owned"))
    spec = vcp_sdk.get_spec("aws", "small")
    spec.set_ssh_pubkey(str(vcp_pubkey))
    return Objects(vcp_sdk, group, unit, node, spec, vcp_user)


def test_superuser_operates_another_users_group(owned: Objects, make_vcp_sdk) -> None:
    su = make_vcp_sdk(superuser=True)
    name = owned.ug.name
    assert su.get_ugroup(name) is None  # not without privileged mode
    assert name not in set(su.df_ugroups().data["vcname"])

    ug = su.get_ugroup(name, privileged=True)
    assert ug is not None and ug.owner == owned.owner
    table = su.df_ugroups(privileged=True).data
    assert list(table.columns) == ["vcno", "vctype", "owner", "vcname", "state", "vcid", "cdate"]
    assert list(table.loc[table["vcname"] == name, "owner"]) == [owned.owner]

    unit = ug.create_unit("byroot", owned.spec, privileged=True)
    assert unit.state == "RUNNING"
    mine = owned.sdk.get_ugroup(name)
    assert [u.name for u in mine.find_units()] == [owned.unit.name, "byroot"]

    [added] = unit.add_nodes(privileged=True)
    assert len(mine.get_unit("byroot").find_nodes()) == 2
    after = unit.power_off_nodes(node_no=added.no, privileged=True)
    assert {n.no: n.state for n in after} == {1: "RUNNING", added.no: "POWER_OFF"}
    assert mine.get_unit("byroot").find_nodes(node_no=added.no)[0].state == "POWER_OFF"

    ug.delete_units("byroot", force=True, privileged=True)
    assert mine.get_unit("byroot") is None
    ug.cleanup(privileged=True)
    assert owned.sdk.get_ugroup(name) is None


def test_superuser_every_privileged_method_on_another_users_group(owned: Objects, make_vcp_sdk) -> None:
    su = make_vcp_sdk(superuser=True)
    ug = su.get_ugroup(owned.ug.name, privileged=True)
    unit = ug.get_unit(owned.unit.name)
    [node] = unit.find_nodes()
    objects = Objects(su, ug, unit, node, owned.spec, owned.owner)
    vcid = ug.vcid
    for name, call in CALLS:
        result = call(objects, True)
        # what the owner sees confirms that the call took effect
        if name == "VcpSDK.get_ugroup":
            assert result.owner == owned.owner
        elif name == "VcpUnitGroupClass.update_ugroup_name":
            assert owned.sdk.find_ugroups(vcid=vcid)[0].name == owned.ug.name + "-x"
        elif name == "VcpUnitClass.add_nodes":
            assert len(owned.sdk.find_ugroups(vcid=vcid)[0].find_nodes()) == 2
        elif name == "VcpUnitClass.delete_nodes":
            assert [n.id for n in owned.sdk.find_ugroups(vcid=vcid)[0].find_nodes()] == [node.id]
        elif name.startswith("VcNode.") and name != "VcNode.delete":
            state = owned.sdk.find_ugroups(vcid=vcid)[0].find_nodes()[0].state
            expected = {
                "VcNode.suspend": "SUSPENDED",
                "VcNode.stop": "STOPPED",
                "VcNode.power_off": "POWER_OFF",
            }.get(name, "RUNNING")
            assert state == expected, name
        elif name == "VcpUnitGroupClass.wait_unit_applied":
            assert result.state == "RUNNING"
    assert owned.sdk.find_ugroups(vcid=vcid) == []  # the last call cleaned it up


def test_superuser_privileged_group_keeps_reads_but_writes_need_privileged(
    owned: Objects, make_vcp_sdk
) -> None:
    su = make_vcp_sdk(superuser=True)
    ug = su.get_ugroup(owned.ug.name, privileged=True)
    assert ug.state == "RUNNING"  # reads stay privileged
    assert list(ug.df_nodes().data["unit_name"]) == [owned.unit.name]
    unit = ug.get_unit(owned.unit.name)
    assert unit.state == "RUNNING"
    assert [n.id for n in unit.find_nodes()] == [owned.node.id]

    writes = {
        "create_unit": lambda: ug.create_unit("nope", owned.spec),
        "add_nodes": lambda: unit.add_nodes(),
        "power_off_nodes": lambda: unit.power_off_nodes(),
        "delete_units": lambda: ug.delete_units(owned.unit.name, force=True),
        "cleanup": lambda: ug.cleanup(),
    }
    for what, write in writes.items():
        with pytest.raises(VcpNotFoundError) as caught:
            write()
        # the controller does not show another user's group without privileged mode
        assert caught.value.http_status == 404, (what, caught.value.http_status)
    mine = owned.sdk.get_ugroup(owned.ug.name)
    assert [u.name for u in mine.find_units()] == [owned.unit.name]  # nothing changed
    assert [n.state for n in mine.find_nodes()] == ["RUNNING"]


def test_node_of_a_privileged_group_keeps_privileged_reads(owned: Objects, make_vcp_sdk) -> None:
    su = make_vcp_sdk(superuser=True)
    [node] = su.get_ugroup(owned.ug.name, privileged=True).get_unit(owned.unit.name).find_nodes()
    assert node.config() is True
    assert node.state == "RUNNING"


def test_regular_user_privileged_is_refused_everywhere(owned: Objects) -> None:
    """Every privileged method, called by a regular user with privileged=True on the
    user's own objects, raises VcpAuthError and changes nothing."""
    owned.names = {}
    not_refused = []
    for name, call in CALLS:
        try:
            call(owned, True)
        except VcpAuthError as e:
            assert e.http_status == 403, name
            continue
        except Exception as e:
            not_refused.append(f"{name}: {type(e).__name__} {e}")
            continue
        not_refused.append(f"{name}: no error")
    assert not not_refused
    group = owned.sdk.get_ugroup(owned.ug.name)
    assert [u.name for u in group.find_units()] == [owned.unit.name]
    assert [(n.id, n.state, n.watch_mode) for n in group.find_nodes()] == [(owned.node.id, "RUNNING", True)]
    assert [g.name for g in owned.sdk.find_ugroups()] == [owned.ug.name]


# -- the header ------------------------------------------------------------------------------


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, str, str | None]]]:
    """Every request ``requests`` sends: (method, url, x-vcc-privileged header or None)."""
    records: list[tuple[str, str, str | None]] = []
    real_send = requests.Session.send

    def send(self: requests.Session, request: requests.PreparedRequest, **kwargs: Any) -> Any:
        records.append((str(request.method), str(request.url), request.headers.get("x-vcc-privileged")))
        return real_send(self, request, **kwargs)

    monkeypatch.setattr(requests.Session, "send", send)
    yield records


def test_privileged_header_only_when_privileged(make_vcp_sdk, vcp_pubkey: Path, sent) -> None:
    """Each call runs twice on the superuser's own groups: without privileged mode no
    request carries the header, with it every request carries ``x-vcc-privileged: True``."""
    su = make_vcp_sdk(superuser=True)
    for privileged in (False, True):
        group, unit, [node] = create_running_unit(su, vcp_pubkey)
        spec = su.get_spec("aws", "small")
        spec.set_ssh_pubkey(str(vcp_pubkey))
        objects = Objects(su, group, unit, node, spec, su.user)
        for name, call in CALLS:
            sent.clear()
            call(objects, privileged)
            assert sent, name
            headers = {header for _, _, header in sent}
            assert headers == ({"True"} if privileged else {None}), (name, privileged, sent)
