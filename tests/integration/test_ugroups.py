"""UnitGroups: create, look up, filter, print, clean up."""

from __future__ import annotations

import pytest

from vcpsdk.errors import VcpInvalidArgumentError, VcpSDKError
from vcpsdk.vcpsdk import VcpSDK, VcpUnitGroupClass

DUPLICATE = "aleady exist UnitGroup. change name or cleanup first!"


def test_create_compute_ugroup(sdk: VcpSDK, user_name: str) -> None:
    ug = sdk.create_ugroup("compute-group")
    assert isinstance(ug, VcpUnitGroupClass)
    assert ug.name == "compute-group"
    assert ug.owner == user_name
    assert ug.state == "RUNNING"
    assert ug.find_units() == []
    [found] = sdk.find_ugroups(ugroup_name="compute-group")
    assert found.vcid == ug.vcid


def test_create_storage_ugroup(sdk: VcpSDK) -> None:
    ug = sdk.create_ugroup("storage-group", "storage")
    assert ug.name == "storage-group"
    [found] = sdk.find_ugroups(ugroup_type="storage")
    assert found.vcid == ug.vcid
    assert sdk.find_ugroups(ugroup_type="compute") == []


def test_create_ugroup_with_unknown_type_raises_and_creates_nothing(sdk: VcpSDK) -> None:
    with pytest.raises(VcpInvalidArgumentError):
        sdk.create_ugroup("bad", "network")
    assert sdk.find_ugroups() == []


def test_duplicate_ugroup_name_raises_and_creates_nothing(sdk: VcpSDK) -> None:
    first = sdk.create_ugroup("dup")
    with pytest.raises(VcpInvalidArgumentError) as info:
        sdk.create_ugroup("dup")
    assert info.value.args == ("VCP", DUPLICATE)
    assert [g.vcid for g in sdk.find_ugroups()] == [first.vcid]


def test_duplicate_name_check_ignores_the_type(sdk: VcpSDK) -> None:
    sdk.create_ugroup("same")
    with pytest.raises(VcpSDKError) as info:
        sdk.create_ugroup("same", "storage")
    assert info.value.args[1] == DUPLICATE
    assert len(sdk.find_ugroups()) == 1


def test_get_ugroup_returns_the_named_group(sdk: VcpSDK) -> None:
    created = sdk.create_ugroup("wanted")
    sdk.create_ugroup("other")
    found = sdk.get_ugroup("wanted")
    assert found is not None
    assert found.vcid == created.vcid
    assert found.name == "wanted"


def test_get_ugroup_unknown_returns_none(sdk: VcpSDK) -> None:
    sdk.create_ugroup("present")
    assert sdk.get_ugroup("absent") is None


def test_find_ugroups_filters_combine_with_and(sdk: VcpSDK) -> None:
    a = sdk.create_ugroup("a")
    b = sdk.create_ugroup("b", "storage")
    c = sdk.create_ugroup("c")
    frame = sdk.df_ugroups().data
    vcno_of = {name: int(no) for name, no in zip(frame["vcname"], frame["vcno"], strict=True)}

    def names(**filters: object) -> list[str]:
        return sorted(g.name for g in sdk.find_ugroups(**filters))

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


def test_find_ugroups_of_a_new_user_is_empty(sdk: VcpSDK) -> None:
    assert sdk.find_ugroups() == []


def test_print_ugroup(sdk: VcpSDK, user_name: str, capsys) -> None:
    ug = sdk.create_ugroup("printed")
    [vcno] = sdk.df_ugroups().data["vcno"]
    print(ug)
    assert capsys.readouterr().out == (
        f"[Vc]\n+ type[compute] name[printed] owner({user_name}) vcno({vcno}) "
        f"state[RUNNING] vcid[{ug.vcid}]\n\n"
    )


def test_print_storage_ugroup(sdk: VcpSDK) -> None:
    ug = sdk.create_ugroup("disks", "storage")
    assert str(ug).startswith("[Vc]\n+ type[storage] name[disks] ")


def test_cleanup_of_an_empty_group_removes_it(sdk: VcpSDK) -> None:
    ug = sdk.create_ugroup("short-lived")
    ug.cleanup()
    assert sdk.get_ugroup("short-lived") is None
    assert sdk.find_ugroups() == []


def test_cleanup_removes_units_nodes_and_the_group(sdk: VcpSDK, compute_spec) -> None:
    ug = sdk.create_ugroup("to-clean")
    ug.create_unit("one", compute_spec(num_nodes=2))
    ug.create_unit("two", compute_spec())
    keep = sdk.create_ugroup("keep")
    keep.create_unit("stays", compute_spec())
    ug.cleanup()
    assert sdk.get_ugroup("to-clean") is None
    assert [g.name for g in sdk.find_ugroups()] == ["keep"]
    assert keep.find_ip_addresses(node_state="RUNNING")
    assert "to-clean" not in set(sdk.df_nodes().data["vcname"])


def test_group_name_can_be_reused_after_cleanup(sdk: VcpSDK) -> None:
    sdk.create_ugroup("again").cleanup()
    again = sdk.create_ugroup("again")
    assert sdk.get_ugroup("again").vcid == again.vcid


def test_rename_with_the_name_setter(sdk: VcpSDK) -> None:
    ug = sdk.create_ugroup("before")
    ug.name = "after"
    assert ug.name == "after"
    assert sdk.get_ugroup("before") is None
    assert sdk.get_ugroup("after").vcid == ug.vcid


def test_update_ugroup_name(sdk: VcpSDK) -> None:
    ug = sdk.create_ugroup("old-name")
    ug.update_ugroup_name("new-name")
    assert [g.name for g in sdk.find_ugroups()] == ["new-name"]
    assert str(ug).startswith("[Vc]\n+ type[compute] name[new-name] ")


def test_change_owner_moves_the_group(sdk: VcpSDK, make_sdk) -> None:
    ug = sdk.create_ugroup("gift")
    other = make_sdk()
    ug.change_owner(other.user)
    assert ug.owner == other.user
    assert sdk.get_ugroup("gift") is None
    received = other.get_ugroup("gift")
    assert received is not None
    assert received.vcid == ug.vcid
    assert received.owner == other.user


def test_change_owner_to_an_unknown_user_is_refused(sdk: VcpSDK) -> None:
    ug = sdk.create_ugroup("kept")
    with pytest.raises(VcpInvalidArgumentError):
        ug.change_owner("nobody-has-this-name")
    assert sdk.get_ugroup("kept").owner == ug.owner


@pytest.mark.parametrize("name", ["123", "yes", "null", "日本語 group", "x: y"])
def test_yaml_ambiguous_group_names_round_trip(sdk: VcpSDK, name: str) -> None:
    ug = sdk.create_ugroup(name)
    assert ug.name == name
    assert sdk.get_ugroup(name).vcid == ug.vcid
    assert list(sdk.df_ugroups().data["vcname"]) == [name]


def test_rename_to_a_name_in_use_is_refused(sdk) -> None:
    from vcpsdk.errors import VcpInvalidArgumentError

    first = sdk.create_ugroup("taken")
    second = sdk.create_ugroup("other")
    with pytest.raises(VcpInvalidArgumentError, match="aleady exist UnitGroup"):
        second.name = "taken"
    assert sorted(u.name for u in sdk.find_ugroups()) == ["other", "taken"]
    assert first.name == "taken"
