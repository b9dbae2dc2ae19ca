"""DataFrame views with exactly the original columns (reference §4.9).

``df_ugroups`` and ``df_nodes`` return a pandas ``Styler`` that colours every
``*state*`` column; ``df_units`` and ``df_flavors`` return a plain DataFrame.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd
from pandas.io.formats.style import Styler

from vcpsdk.core.states import STATE_COLOURS
from vcpsdk.node import VcNode
from vcpsdk.records import Vc, VcUnit

UGROUP_COLUMNS = ["vcno", "vctype", "owner", "vcname", "state", "vcid", "cdate"]
UNIT_COLUMNS = [
    "vctype",
    "vcno",
    "vcname",
    "vc_state",
    "vcid",
    "cdate",
    "unit_name",
    "unit_state",
]
COMPUTE_NODE_COLUMNS = [
    "vcno",
    "vcname",
    "unit_name",
    "unit_state",
    "node_no",
    "node_id",
    "node_state",
    "cloud_instance_address",
    "cloud_instance_id",
    "cloud_instance_name",
    "volumes",
]
STORAGE_NODE_COLUMNS = [
    "vcno",
    "vcname",
    "unit_name",
    "unit_state",
    "disk_no",
    "disk_id",
    "node_state",
    "cloud_disk_id",
    "cloud_disk_size",
]


def short_id(value: str) -> str:
    """First 8 characters of an id followed by ``...``, as the original shows ids."""
    return f"{value[:8]}..." if value else ""


def _colour(value: Any) -> str:
    colour = STATE_COLOURS.get(str(value))
    return f"background-color: {colour}" if colour else ""


def style_states(frame: pd.DataFrame) -> Styler:
    """A Styler colouring every column whose name contains ``state``."""
    columns = [c for c in frame.columns if "state" in str(c)]
    return frame.style.map(_colour, subset=columns)


def ugroups_frame(vcs: Iterable[Vc]) -> Styler:
    """``df_ugroups()``: one row per UnitGroup."""
    rows = [[vc.vcno, vc.type, vc.owner, vc.name, vc.state, short_id(vc.vcid), vc.cdate] for vc in vcs]
    return style_states(pd.DataFrame(rows, columns=UGROUP_COLUMNS))


def units_frame(vc: Vc) -> pd.DataFrame:
    """``df_units()``: one row per unit of a UnitGroup."""
    rows = [
        [vc.type, vc.vcno, vc.name, vc.state, short_id(vc.vcid), vc.cdate, u.name, u.state] for u in vc.units
    ]
    return pd.DataFrame(rows, columns=UNIT_COLUMNS)


def _unit_rows(vc: Vc, unit: VcUnit) -> pd.DataFrame:
    def compute(n: VcNode) -> list[Any]:
        name = n.name or f"VCP-{vc.vcc_id[:8]}-{vc.vcid[:8]}"
        return [n.cloud_instance_address, n.cloud_instance_id, name, "exists" if n.volumes else "none"]

    def storage(n: VcNode) -> list[Any]:
        return [n.cloud_disk_id, n.cloud_disk_size]

    tail, columns = (
        (storage, STORAGE_NODE_COLUMNS) if unit.type == "storage" else (compute, COMPUTE_NODE_COLUMNS)
    )
    head = [vc.vcno, vc.name, unit.name, unit.state]
    rows = [[*head, n.no, short_id(n.id), n.state, *tail(n)] for n in unit.nodes]
    return pd.DataFrame(rows, columns=columns)


def _combine(frames: list[pd.DataFrame]) -> Styler | list[Any]:
    if not frames:
        return []
    frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    return style_states(frame)


def nodes_frame(vcs: Iterable[Vc]) -> Styler | list[Any]:
    """``df_nodes()``: one row per node (or disk); ``[]`` when there is none."""
    return _combine([_unit_rows(vc, u) for vc in vcs for u in vc.units if u.nodes])


def unit_nodes_frame(unit: VcUnit) -> Styler | list[Any]:
    """``unit.df_nodes()``: the nodes of one unit; ``[]`` when there is none."""
    return _combine([_unit_rows(unit.vc, unit)] if unit.nodes else [])


def flavors_frame(flavors: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """``df_flavors(provider)``: column ``flavor`` then the flavor keys."""
    records = [{"flavor": name, **(values or {})} for name, values in flavors.items()]
    frame = pd.json_normalize(records)
    if "flavor" not in frame.columns:
        frame = pd.DataFrame(columns=["flavor"])
    return frame[["flavor", *[c for c in frame.columns if c != "flavor"]]]
