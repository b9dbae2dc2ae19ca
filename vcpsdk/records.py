"""Plain records of what the controller returns: UnitGroups (``Vc``) and units.

They mirror the original ``vcplib.occtr.Vc`` / ``VcUnit`` objects that notebooks
reach through ``node.vc`` and ``node.unit``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vcpsdk.node import VcNode

if TYPE_CHECKING:
    from vcpsdk.occtr import OcctrClient


class _Record:
    """What UnitGroup and unit records share: the error text of ``str``, ``repr`` and the
    notebook view (:mod:`vcpsdk._html`)."""

    type: str
    name: str
    state: str
    error_message: str
    #: the function of :mod:`vcpsdk._html` that renders the record, and what ``repr`` counts
    _view = ""
    _counted = ""

    def _error_text(self) -> str:
        return f"*** HAS ERROR:\n---\n{self.error_message}\n---\n" if self.error_message else ""

    def __repr__(self) -> str:
        count = len(getattr(self, self._counted))
        return f"<{type(self).__name__} {self.type} {self.name!r} state={self.state} {self._counted}={count}>"

    def _repr_html_(self) -> str:
        from vcpsdk import _html

        html: str = getattr(_html, self._view)(self)
        return html


class Vc(_Record):
    """A UnitGroup as last read from the controller."""

    _view, _counted = "vc_html", "units"

    def __init__(
        self, vc_json: dict[str, Any], client: OcctrClient | None = None, read_privileged: bool = False
    ) -> None:
        self.vc_json = vc_json
        #: the controller client the nodes of this UnitGroup use for their operations
        self.client = client
        #: read in privileged mode: refreshing its nodes stays privileged
        self.read_privileged = read_privileged
        self.vcid: str = vc_json["vcid"]
        self.vcno = vc_json.get("vcno", "")
        self.name: str = vc_json.get("name", "")
        self.owner: str = vc_json.get("owner", "")
        self.state: str = vc_json.get("state", "")
        self.cdate: str = vc_json.get("cdate", "")
        self.type: str = "storage" if vc_json.get("type") in ("storage", "disk") else "compute"
        self.vcc_id: str = vc_json.get("vcc_id", "")
        self.error_message: str = vc_json.get("error_message") or ""
        self.revision = vc_json.get("revision")
        self.units = [VcUnit(self, u) for u in vc_json.get("unit") or []]

    def unit(self, name: str) -> VcUnit | None:
        """The unit called ``name``, if any."""
        return next((u for u in self.units if u.name == name), None)

    def __str__(self) -> str:
        return (
            f"[Vc]\n+ type[{self.type}] name[{self.name}] owner({self.owner}) vcno({self.vcno}) "
            f"state[{self.state}] vcid[{self.vcid}]\n"
        ) + self._error_text()


class VcUnit(_Record):
    """A unit as last read from the controller."""

    _view, _counted = "unit_record_html", "nodes"

    def __init__(self, vc: Vc, unit_json: dict[str, Any]) -> None:
        self.vc = vc
        self.unit = unit_json
        self.name: str = unit_json.get("name", "")
        self.state: str = unit_json.get("state", "")
        self.error_message: str = unit_json.get("error_message") or ""
        self.type: str = "storage" if "disk" in unit_json or vc.type == "storage" else "compute"
        raw = unit_json.get("disk") if self.type == "storage" else unit_json.get("node")
        self.nodes = [VcNode(self, n) for n in raw or []]

    def __str__(self) -> str:
        return f"[VcUnit]\n+ type[{self.type}] name[{self.name}]  state[{self.state}]\n" + self._error_text()
