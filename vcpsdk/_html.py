"""Rich notebook views (``_repr_html_``) of the SDK's objects, rendered from data.

Each object's view is a *card*: a title, a list of fields and optional tables (a UnitGroup's
units and nodes, a unit's nodes), inside a horizontally scrollable container so that wide tables
stay readable in a narrow notebook (ids and addresses never wrap).  Every value is HTML-escaped
(Jinja2 autoescaping); state cells get the colours of the DataFrame views.  The classes call
one function here each (``VcpSDK._repr_html_`` → :func:`sdk_html`, ...).

Views of live objects read the controller once (as ``print`` does) and fall back to what was
last read when that fails, so displaying an object never raises.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

import vcpsdk
from vcpsdk.core.states import STATE_COLOURS
from vcpsdk.errors import VcpSDKError

if TYPE_CHECKING:
    import jinja2

#: the container of every view and DataFrame view: scrolls sideways instead of squeezing
SCROLL_STYLE = "overflow-x:auto;max-width:100%"
#: cells keep ids, addresses and dates on one line, in a compact font
CELL_STYLE = "white-space:nowrap;text-align:left;padding:1px 8px"
TABLE_STYLE = "border-collapse:collapse;font-size:0.9em;margin:0 0 4px 0"
#: the most nodes a card lists (the DataFrame views list them all)
MAX_ROWS = 50

_CARD = """\
<div class="vcpsdk-view" style="{{ scroll }}">
<table class="vcpsdk-fields" style="{{ table_style }}">
<caption style="text-align:left;white-space:nowrap"><b>{{ card.kind }}</b> {{ card.title }}</caption>
{%- for name, value, style in card.field_cells() %}
<tr><th style="{{ cell }}">{{ name }}</th><td style="{{ cell }}{{ style }}">{{ value }}</td></tr>
{%- endfor %}
</table>
{%- for table in card.tables %}
<table class="vcpsdk-table" style="{{ table_style }}">
<caption style="text-align:left;white-space:nowrap">{{ table.caption }}</caption>
<thead><tr>{% for column in table.columns %}<th style="{{ cell }}">{{ column }}</th>{% endfor %}</tr></thead>
<tbody>
{%- for row in table.cells() %}
<tr>{% for value, style in row %}<td style="{{ cell }}{{ style }}">{{ value }}</td>{% endfor %}</tr>
{%- endfor %}
</tbody>
</table>
{%- if table.more %}
<div style="font-size:0.9em">… and {{ table.more }} more ({{ table.more_hint }})</div>
{%- endif %}
{%- endfor %}
</div>"""


def state_css(value: Any) -> str:
    """The CSS colouring a state cell, e.g. ``background-color: #dfd`` (``''`` for a value that
    is not a known state)."""
    colour = STATE_COLOURS.get(str(value))
    return f"background-color: {colour}" if colour else ""


def _style_of(name: str, value: Any) -> str:
    css = state_css(value) if "state" in name else ""
    return f";{css}" if css else ""


@dataclass
class Table:
    """A table of a card: ``columns`` and ``rows`` of values; ``*state*`` columns are coloured.

    Args:
        caption: text above the table.
        columns: the column names.
        rows: the rows, one value per column; only the first :data:`MAX_ROWS` are shown.
        more_hint: what to call to see every row, e.g. ``ug.df_nodes()``.
    """

    caption: str
    columns: list[str]
    rows: list[list[Any]]
    more_hint: str = ""

    @property
    def more(self) -> int:
        """How many rows are not shown."""
        return max(0, len(self.rows) - MAX_ROWS)

    def cells(self) -> list[list[tuple[Any, str]]]:
        """``(value, extra style)`` of each shown cell, row by row."""
        shown = self.rows[:MAX_ROWS]
        return [[(v, _style_of(c, v)) for c, v in zip(self.columns, row, strict=True)] for row in shown]


@dataclass
class Card:
    """One object's view: ``kind`` (e.g. ``UnitGroup``) and ``title`` above its fields and tables.

    Args:
        kind: what the object is.
        title: its name.
        fields: ``(name, value)`` pairs; empty values are left out; ``state`` is coloured.
        tables: tables below the fields.
    """

    kind: str
    title: str
    fields: list[tuple[str, Any]]
    tables: list[Table] = field(default_factory=list)

    def field_cells(self) -> list[tuple[str, Any, str]]:
        """``(name, value, extra style)`` of each field that has a value."""
        return [(n, v, _style_of(n, v)) for n, v in self.fields if v not in ("", None, [], {})]

    def html(self) -> str:
        """The card as HTML, every value escaped."""
        return _template().render(card=self, scroll=SCROLL_STYLE, cell=CELL_STYLE, table_style=TABLE_STYLE)


@cache
def _template() -> jinja2.Template:
    import jinja2  # as pandas: only when a view is shown

    return jinja2.Environment(autoescape=True).from_string(_CARD)


def scrollable(html: str) -> str:
    """``html`` (e.g. a DataFrame view's table) inside the sideways-scrolling container."""
    return f'<div class="vcpsdk-view" style="{SCROLL_STYLE}">{html}</div>'


# -- the objects ---------------------------------------------------------------------------


def sdk_html(sdk: Any) -> str:
    """The view of a ``VcpSDK``: controller URL and name, user and role, SDK version (no request).

    Returns:
        str: the HTML.
    """
    authority = sdk._authority
    vcc = sdk._vcc
    return Card(
        "VcpSDK",
        "local sandbox" if vcc.name == "sandbox" else vcc.host_port,
        [
            ("controller", sdk._session.client.base_url),
            ("controller name", vcc.name),
            ("user", authority.get("user_name")),
            ("role", authority.get("user_role")),
            ("SDK version", vcpsdk.VCP_SDK_VERSION),
            ("config dir", sdk.config_dir),
        ],
    ).html()


def _fresh(obj: Any, cached: str) -> tuple[Any, str]:
    """``obj._refresh()`` (the controller's current record), else the record last read (its
    attribute ``cached``; None once a UnitGroup is gone) with a note why."""
    try:
        return obj._refresh(), ""
    except VcpSDKError as error:
        return getattr(obj, cached), f"as last read ({error})"


def ugroup_html(ug: Any) -> str:
    """The view of a ``VcpUnitGroupClass``, read again from the controller.

    Returns:
        str: the HTML; a short card once the UnitGroup is cleaned up.
    """
    vc, note = _fresh(ug, "_vc") if ug._vc is not None else (None, "")
    if vc is None:
        return Card("UnitGroup", "(cleaned up)", [("note", note)]).html()
    return vc_html(vc, note)


def vc_html(vc: Any, note: str = "") -> str:
    """The view of a UnitGroup record (``vcpsdk.records.Vc``): fields, units, nodes.

    Returns:
        str: the HTML.
    """
    units = Table(
        "units",
        ["unit_name", "type", "unit_state", "nodes", "node states", "error_message"],
        [[u.name, u.type, u.state, len(u.nodes), _count_states(u.nodes), u.error_message] for u in vc.units],
    )
    nodes = [(u, n) for u in vc.units for n in u.nodes]
    fields = [*_attributes(vc, "name type state owner vcno vcid cdate error_message"), ("note", note)]
    tables = [units, nodes_table(nodes, "ug.df_nodes()")] if vc.units else []
    return Card("UnitGroup", vc.name, fields, tables).html()


def unit_html(unit: Any) -> str:
    """The view of a ``VcpUnitClass``, read again from the controller.

    Returns:
        str: the HTML.
    """
    record, note = _fresh(unit, "_unit")
    return unit_record_html(record, note)


def unit_record_html(unit: Any, note: str = "") -> str:
    """The view of a unit record (``vcpsdk.records.VcUnit``): fields and nodes.

    Returns:
        str: the HTML.
    """
    fields = [
        ("name", unit.name),
        ("type", unit.type),
        ("state", unit.state),
        ("UnitGroup", unit.vc.name),
        ("nodes", f"{len(unit.nodes)} ({_count_states(unit.nodes)})" if unit.nodes else "0"),
        ("error_message", unit.error_message),
        ("note", note),
    ]
    tables = [nodes_table([(unit, n) for n in unit.nodes], "unit.df_nodes()")] if unit.nodes else []
    return Card("Unit", unit.name, fields, tables).html()


def _attributes(obj: Any, names: str) -> list[tuple[str, Any]]:
    """``(name, value)`` of the space-separated attribute ``names`` of ``obj``."""
    return [(name, getattr(obj, name)) for name in names.split()]


def _count_states(nodes: Iterable[Any]) -> str:
    counts = Counter(n.state for n in nodes)
    return ", ".join(f"{count} {state}" for state, count in sorted(counts.items()))


_COMPUTE_COLUMNS = ["unit_name", "node_no", "node_state", "cloud_instance_address", "ssh_port"]
_COMPUTE_COLUMNS += ["cloud_instance_id", "node_id", "name", "volumes"]
_STORAGE_COLUMNS = ["unit_name", "disk_no", "node_state", "cloud_disk_id", "cloud_disk_size"]
_STORAGE_COLUMNS += ["used_state", "disk_id", "cdate"]


def nodes_table(nodes: Sequence[tuple[Any, Any]], more_hint: str) -> Table:
    """The table of ``(unit, node)`` pairs (disk columns when the first one is a disk).

    Returns:
        Table: full ids and addresses, one row per node.
    """
    if nodes and nodes[0][1].type == "storage":
        rows = [
            [u.name, n.no, n.state, n.cloud_disk_id, n.cloud_disk_size, n.used_state, n.id, n.cdate]
            for u, n in nodes
        ]
        return Table("disks", _STORAGE_COLUMNS, rows, more_hint)
    rows = [
        [
            u.name,
            n.no,
            n.state,
            n.cloud_instance_address,
            n.ssh_port,
            n.cloud_instance_id,
            n.id,
            n.name,
            len(n.volumes),
        ]
        for u, n in nodes
    ]
    return Table("nodes", _COMPUTE_COLUMNS, rows, more_hint)


def node_html(node: Any) -> str:
    """The view of a ``VcNode`` as last read (no request).

    Returns:
        str: the HTML.
    """
    common = [("unit", node.unit.name), ("UnitGroup", node.vc.name), ("state", node.state)]
    if node.type == "storage":
        fields = [
            *common,
            ("disk_no", node.no),
            ("disk_id", node.id),
            *_attributes(node, "cloud_disk_id cloud_disk_size used_state cdate"),
        ]
    else:
        address = node.cloud_instance_address
        fields = [
            *common,
            ("node_no", node.no),
            ("node_id", node.id),
            ("cloud_instance_address", address),
            ("ssh", f"ssh -p {node.ssh_port} {node.ssh_user_name}@{address}" if address else ""),
            *_attributes(node, "cloud_instance_id name boot_date container_date watch_mode"),
            (
                "volumes",
                ", ".join(f"{v.get('volume_id', '')} {v.get('device_name', '')}" for v in node.volumes),
            ),
        ]
    fields.append(("error_message", node.error_message))
    return Card(f"{node.type} node", str(node.no), fields).html()


def spec_html(spec: Any) -> str:
    """The view of a spec: provider, flavor and every setting, secrets redacted (no request).

    Returns:
        str: the HTML.
    """
    fields: list[tuple[str, Any]] = [("provider", spec.provider_name), ("flavor", spec.flavor)]
    for key, value in spec._shown_settings():
        if key == "params":
            fields += [("params_v", "; ".join(value["v"])), ("params_e", "; ".join(value["e"]))]
        else:
            fields.append((key, value))
    return Card(type(spec).__name__, f"{spec.provider_name} / {spec.flavor}", fields).html()
