"""DataFrame views (reference §4.9) built from the real controller's answers."""

from __future__ import annotations

import re

import pandas as pd
from pandas.io.formats.style import Styler

from tests.columns import COMPUTE_COLUMNS as COMPUTE_NODE_COLUMNS
from tests.columns import UGROUP_COLUMNS, UNIT_COLUMNS
from vcpsdk.vcpsdk import VcpSDK

CDATE = re.compile(r"^\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2} UTC$")


def test_df_ugroups_is_a_styler_with_the_original_columns(vcp_sdk: VcpSDK, vcp_user: str) -> None:
    ug = vcp_sdk.create_ugroup("viewed")
    vcp_sdk.create_ugroup("viewed-disks", "storage")
    styled = vcp_sdk.df_ugroups()
    assert isinstance(styled, Styler)
    frame = styled.data
    assert list(frame.columns) == UGROUP_COLUMNS
    assert list(frame["vcname"]) == ["viewed", "viewed-disks"]
    assert list(frame["vctype"]) == ["compute", "storage"]
    assert set(frame["owner"]) == {vcp_user}
    assert set(frame["state"]) == {"RUNNING"}
    assert frame["vcid"].iloc[0] == ug.vcid[:8] + "..."
    assert all(CDATE.match(c) for c in frame["cdate"])
    assert frame["vcno"].iloc[0] < frame["vcno"].iloc[1]


def test_df_ugroups_colours_the_state_column(vcp_sdk: VcpSDK) -> None:
    vcp_sdk.create_ugroup("coloured")
    html = vcp_sdk.df_ugroups().to_html()
    assert "background-color: #dfd" in html


def test_df_ugroups_without_groups_has_the_columns_and_no_row(vcp_sdk: VcpSDK) -> None:
    frame = vcp_sdk.df_ugroups().data
    assert list(frame.columns) == UGROUP_COLUMNS
    assert len(frame) == 0


def test_sdk_df_nodes_is_an_empty_list_without_nodes(vcp_sdk: VcpSDK, compute_spec) -> None:
    assert vcp_sdk.df_nodes() == []
    ug = vcp_sdk.create_ugroup("no-nodes")
    assert vcp_sdk.df_nodes() == []
    ug.create_unit("empty", compute_spec(num_nodes=0))
    assert vcp_sdk.df_nodes() == []


def test_sdk_df_nodes_lists_the_nodes_of_every_group(vcp_sdk: VcpSDK, compute_spec, live_controller) -> None:
    first = vcp_sdk.create_ugroup("first")
    first.create_unit("web", compute_spec(num_nodes=2))
    second = vcp_sdk.create_ugroup("second")
    second.create_unit("db", compute_spec())
    styled = vcp_sdk.df_nodes()
    assert isinstance(styled, Styler)
    frame = styled.data
    assert list(frame.columns) == COMPUTE_NODE_COLUMNS
    assert list(frame.index) == [0, 1, 2]
    assert list(zip(frame["vcname"], frame["unit_name"], frame["node_no"], strict=True)) == [
        ("first", "web", 1),
        ("first", "web", 2),
        ("second", "db", 1),
    ]
    assert set(frame["node_state"]) == {"RUNNING"}
    assert set(frame["volumes"]) == {"none"}
    vcc_id = live_controller.controller.vcc_id
    assert set(frame["cloud_instance_name"]) == {
        f"VCP-{vcc_id[:8]}-{first.vcid[:8]}",
        f"VCP-{vcc_id[:8]}-{second.vcid[:8]}",
    }
    assert sorted(frame["cloud_instance_address"]) == sorted(
        first.find_ip_addresses() + second.find_ip_addresses()
    )


def test_ugroup_df_units_has_the_original_columns(vcp_sdk: VcpSDK, ug, compute_spec) -> None:
    ug.create_unit("u1", compute_spec())
    ug.create_unit("u2", compute_spec(num_nodes=0))
    frame = ug.df_units()
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == UNIT_COLUMNS
    assert list(frame["unit_name"]) == ["u1", "u2"]
    assert set(frame["unit_state"]) == {"RUNNING"}
    assert set(frame["vcname"]) == {"group"}
    assert set(frame["vctype"]) == {"compute"}
    assert set(frame["vcid"]) == {ug.vcid[:8] + "..."}


def test_ugroup_df_units_of_an_empty_group_has_no_row(ug) -> None:
    frame = ug.df_units()
    assert list(frame.columns) == UNIT_COLUMNS
    assert len(frame) == 0


def test_ugroup_df_nodes_concatenates_its_units(ug, compute_spec) -> None:
    ug.create_unit("a", compute_spec(num_nodes=2))
    ug.create_unit("b", compute_spec())
    frame = ug.df_nodes().data
    assert list(frame.columns) == COMPUTE_NODE_COLUMNS
    assert list(frame.index) == [0, 1, 2]
    assert list(frame["unit_name"]) == ["a", "a", "b"]
    node = ug.find_nodes(unit_name="b")[0]
    row = frame.iloc[2]
    assert row["node_id"] == node.id[:8] + "..."
    assert row["cloud_instance_address"] == node.cloud_instance_address
    assert row["cloud_instance_id"] == node.cloud_instance_id


def test_ugroup_df_nodes_is_an_empty_list_without_nodes(ug, compute_spec) -> None:
    assert ug.df_nodes() == []
    ug.create_unit("empty", compute_spec(num_nodes=0))
    assert ug.df_nodes() == []


def test_unit_df_nodes_shows_only_its_nodes(ug, compute_spec) -> None:
    unit = ug.create_unit("mine", compute_spec(num_nodes=2))
    ug.create_unit("theirs", compute_spec())
    styled = unit.df_nodes()
    assert isinstance(styled, Styler)
    assert list(styled.data.columns) == COMPUTE_NODE_COLUMNS
    assert list(styled.data["unit_name"]) == ["mine", "mine"]
    assert list(styled.data["node_no"]) == [1, 2]


def test_unit_df_nodes_is_an_empty_list_without_nodes(ug, compute_spec) -> None:
    unit = ug.create_unit("empty", compute_spec(num_nodes=0))
    assert unit.df_nodes() == []
