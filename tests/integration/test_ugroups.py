"""UnitGroups: create, look up, filter, print, clean up."""

from __future__ import annotations

import pytest

from vcpsdk.errors import VcpInvalidArgumentError, VcpSDKError
from vcpsdk.vcpsdk import VcpSDK, VcpUnitGroupClass

DUPLICATE = "aleady exist UnitGroup. change name or cleanup first!"


def test_create_compute_ugroup(vcp_sdk: VcpSDK, vcp_user: str) -> None:
    ug = vcp_sdk.create_ugroup("compute-group")
    assert isinstance(ug, VcpUnitGroupClass)
    assert ug.name == "compute-group"
    assert ug.owner == vcp_user
    assert ug.state == "RUNNING"
    assert ug.find_units() == []
    [found] = vcp_sdk.find_ugroups(ugroup_name="compute-group")
    assert found.vcid == ug.vcid


def test_create_storage_ugroup(vcp_sdk: VcpSDK) -> None:
    ug = vcp_sdk.create_ugroup("storage-group", "storage")
    assert ug.name == "storage-group"
    [found] = vcp_sdk.find_ugroups(ugroup_type="storage")
    assert found.vcid == ug.vcid
    assert vcp_sdk.find_ugroups(ugroup_type="compute") == []


def test_create_ugroup_with_unknown_type_raises_and_creates_nothing(vcp_sdk: VcpSDK) -> None:
    with pytest.raises(VcpInvalidArgumentError):
        vcp_sdk.create_ugroup("bad", "network")
    assert vcp_sdk.find_ugroups() == []


def test_duplicate_ugroup_name_raises_and_creates_nothing(vcp_sdk: VcpSDK) -> None:
    first = vcp_sdk.create_ugroup("dup")
    with pytest.raises(VcpInvalidArgumentError) as info:
        vcp_sdk.create_ugroup("dup")
    assert info.value.args == ("VCP", DUPLICATE)
    assert [g.vcid for g in vcp_sdk.find_ugroups()] == [first.vcid]


def test_duplicate_name_check_ignores_the_type(vcp_sdk: VcpSDK) -> None:
    vcp_sdk.create_ugroup("same")
    with pytest.raises(VcpSDKError) as info:
        vcp_sdk.create_ugroup("same", "storage")
    assert info.value.args[1] == DUPLICATE
    assert len(vcp_sdk.find_ugroups()) == 1


def test_get_ugroup_returns_the_named_group(vcp_sdk: VcpSDK) -> None:
    created = vcp_sdk.create_ugroup("wanted")
    vcp_sdk.create_ugroup("other")
    found = vcp_sdk.get_ugroup("wanted")
    assert found is not None
    assert found.vcid == created.vcid
    assert found.name == "wanted"


def test_get_ugroup_unknown_returns_none(vcp_sdk: VcpSDK) -> None:
    vcp_sdk.create_ugroup("present")
    assert vcp_sdk.get_ugroup("absent") is None


def test_find_ugroups_filters_combine_with_and(vcp_sdk: VcpSDK) -> None:
    a = vcp_sdk.create_ugroup("a")
    b = vcp_sdk.create_ugroup("b", "storage")
    c = vcp_sdk.create_ugroup("c")
    frame = vcp_sdk.df_ugroups().data
    vcno_of = {name: int(no) for name, no in zip(frame["vcname"], frame["vcno"], strict=True)}

    def names(**filters: object) -> list[str]:
        return sorted(g.name for g in vcp_sdk.find_ugroups(**filters))

    assert names() == ["a", "b", "c"]
    assert names(ugroup_name="b") == ["b"]
    assert names(vcid=c.vcid) == ["c"]
    assert names(vcno=vcno_of["a"]) == ["a"]
    assert names(vcno=str(vcno_of["a"])) == ["a"]
    assert names(ugroup_type="compute") == ["a", "c"]
    assert names(state="RUNNING") == ["a", "b", "c"]
    assert names(state="ERROR") == []
    assert names(ugroup_name="a", ugroup_type="storage") == []
    assert names(ugroup_name="b", vcid=b.vcid, ugroup_type="storage") == ["b"]
    assert names(ugroup_name="a", vcid=c.vcid) == []
    assert a.vcid != b.vcid


def test_find_ugroups_of_a_new_user_is_empty(vcp_sdk: VcpSDK) -> None:
    assert vcp_sdk.find_ugroups() == []


def test_print_ugroup(vcp_sdk: VcpSDK, vcp_user: str, capsys) -> None:
    ug = vcp_sdk.create_ugroup("printed")
    [vcno] = vcp_sdk.df_ugroups().data["vcno"]
    print(ug)
    assert capsys.readouterr().out == (
        f"[Vc]\n+ type[compute] name[printed] owner({vcp_user}) vcno({vcno}) "
        f"state[RUNNING] vcid[{ug.vcid}]\n\n"
    )


def test_print_storage_ugroup(vcp_sdk: VcpSDK) -> None:
    ug = vcp_sdk.create_ugroup("disks", "storage")
    assert str(ug).startswith("[Vc]\n+ type[storage] name[disks] ")


def test_cleanup_of_an_empty_group_removes_it(vcp_sdk: VcpSDK) -> None:
    ug = vcp_sdk.create_ugroup("short-lived")
    ug.cleanup()
    assert vcp_sdk.get_ugroup("short-lived") is None
    assert vcp_sdk.find_ugroups() == []


def test_cleanup_removes_units_nodes_and_the_group(vcp_sdk: VcpSDK, compute_spec) -> None:
    ug = vcp_sdk.create_ugroup("to-clean")
    ug.create_unit("one", compute_spec(num_nodes=2))
    ug.create_unit("two", compute_spec())
    keep = vcp_sdk.create_ugroup("keep")
    keep.create_unit("stays", compute_spec())
    ug.cleanup()
    assert vcp_sdk.get_ugroup("to-clean") is None
    assert [g.name for g in vcp_sdk.find_ugroups()] == ["keep"]
    assert keep.find_ip_addresses(node_state="RUNNING")
    assert "to-clean" not in set(vcp_sdk.df_nodes().data["vcname"])


def test_group_name_can_be_reused_after_cleanup(vcp_sdk: VcpSDK) -> None:
    vcp_sdk.create_ugroup("again").cleanup()
    again = vcp_sdk.create_ugroup("again")
    assert vcp_sdk.get_ugroup("again").vcid == again.vcid


def test_rename_with_the_name_setter(vcp_sdk: VcpSDK) -> None:
    ug = vcp_sdk.create_ugroup("before")
    ug.name = "after"
    assert ug.name == "after"
    assert vcp_sdk.get_ugroup("before") is None
    assert vcp_sdk.get_ugroup("after").vcid == ug.vcid


def test_update_ugroup_name(vcp_sdk: VcpSDK) -> None:
    ug = vcp_sdk.create_ugroup("old-name")
    ug.update_ugroup_name("new-name")
    assert [g.name for g in vcp_sdk.find_ugroups()] == ["new-name"]
    assert str(ug).startswith("[Vc]\n+ type[compute] name[new-name] ")


def test_change_owner_moves_the_group(vcp_sdk: VcpSDK, make_vcp_sdk) -> None:
    ug = vcp_sdk.create_ugroup("gift")
    other = make_vcp_sdk()
    ug.change_owner(other.user)
    assert ug.owner == other.user
    assert vcp_sdk.get_ugroup("gift") is None
    received = other.get_ugroup("gift")
    assert received is not None
    assert received.vcid == ug.vcid
    assert received.owner == other.user


def test_change_owner_to_an_unknown_user_is_refused(vcp_sdk: VcpSDK) -> None:
    ug = vcp_sdk.create_ugroup("kept")
    with pytest.raises(VcpInvalidArgumentError):
        ug.change_owner("nobody-has-this-name")
    assert vcp_sdk.get_ugroup("kept").owner == ug.owner


@pytest.mark.parametrize("name", ["123", "yes", "null", "日本語 group", "x: y"])
def test_yaml_ambiguous_group_names_round_trip(vcp_sdk: VcpSDK, name: str) -> None:
    ug = vcp_sdk.create_ugroup(name)
    assert ug.name == name
    assert vcp_sdk.get_ugroup(name).vcid == ug.vcid
    assert list(vcp_sdk.df_ugroups().data["vcname"]) == [name]


def test_rename_to_a_name_in_use_is_refused(vcp_sdk) -> None:
    from vcpsdk.errors import VcpInvalidArgumentError

    first = vcp_sdk.create_ugroup("taken")
    second = vcp_sdk.create_ugroup("other")
    with pytest.raises(VcpInvalidArgumentError, match="aleady exist UnitGroup"):
        second.name = "taken"
    assert sorted(u.name for u in vcp_sdk.find_ugroups()) == ["other", "taken"]
    assert first.name == "taken"
