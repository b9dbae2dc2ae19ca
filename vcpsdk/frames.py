"""DataFrame views with exactly the original columns (reference §4.9).

``df_ugroups`` and ``df_nodes`` return a pandas ``Styler`` that colours every
``*state*`` column; ``df_units`` and ``df_flavors`` return a plain DataFrame.  The Styler reads well in a
plain console (``repr``/``print`` show the text table, not ``<Styler at 0x...>``) and, in a
notebook, renders as HTML inside a sideways-scrolling container with cells kept on one line, so
wide node tables stay readable in a narrow window.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape
from typing import Any, ClassVar

import pandas as pd
from pandas.io.formats.style import Styler

from vcpsdk._html import CELL_STYLE, scrollable, state_css
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


class ViewStyler(Styler):
    """The pandas ``Styler`` of the views: ``repr``/``print`` give the DataFrame's text table
    (``repr(.data)``: wide tables wrap or shorten to pandas' ``display.width``); in a notebook
    the coloured HTML table sits in a sideways-scrolling container.  Everything else is
    pandas' ``Styler`` (``.data``, ``.to_html()``, ...).

    Example:
        >>> print(vcp.df_ugroups())  # doctest: +SKIP
           vcno   vctype  owner  vcname    state         vcid                    cdate
        0     1  compute  alice  group1  RUNNING  0123abcd...  2026/11/30 05:00:00 UTC
    """

    def __repr__(self) -> str:  # pandas' display options (width, max_columns), as df_units()
        return repr(self.data)

    def __str__(self) -> str:
        return self.__repr__()

    def _repr_html_(self) -> str | None:
        html = super()._repr_html_()
        return None if html is None else scrollable(html)


def style_states(frame: pd.DataFrame) -> Styler:
    """A :class:`ViewStyler` colouring every column whose name contains ``state``; cells stay on
    one line in a compact font."""
    columns = [c for c in frame.columns if "state" in str(c)]
    cells = {"selector": "td, th", "props": CELL_STYLE + ";font-size:0.9em"}
    styler = ViewStyler(frame).format(escape="html")  # names are shown, never interpreted
    return styler.map(state_css, subset=columns).set_table_styles([cells], overwrite=False)


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


class FlavorFrame(pd.DataFrame):
    """The DataFrame of ``df_flavors``: in a notebook it is captioned with its provider and
    scrolls sideways; its operations (``set_index``, ...) return plain DataFrames."""

    _metadata: ClassVar[list[str]] = ["provider_name"]

    def _repr_html_(self) -> str | None:
        html = super()._repr_html_()
        caption = f"<div><b>flavors of {escape(getattr(self, 'provider_name', ''))}</b></div>"
        return None if html is None else scrollable(caption + html)


def flavors_frame(flavors: dict[str, dict[str, Any]], provider_name: str = "") -> pd.DataFrame:
    """``df_flavors(provider)``: column ``flavor`` then the flavor keys (a :class:`FlavorFrame`)."""
    records = [{"flavor": name, **(values or {})} for name, values in flavors.items()]
    frame = pd.json_normalize(records)
    if "flavor" not in frame.columns:
        frame = pd.DataFrame(columns=["flavor"])
    shown = FlavorFrame(frame[["flavor", *[c for c in frame.columns if c != "flavor"]]])
    shown.provider_name = provider_name
    return shown
