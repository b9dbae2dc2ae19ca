"""``VcNode``: a node (or a disk of a storage unit) as returned by ``find_nodes``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vcpsdk.records import Vc, VcUnit


class VcNode:
    """One node of a unit: a VM running the Base container, or a disk.

    Attributes (compute): ``no``, ``id``, ``state``, ``cloud_instance_address``,
    ``cloud_instance_id``, ``volumes``, ``boot_date``, ``container_date``,
    ``watch_mode``, ``name``, ``error_message``, ``ssh_user_name``.
    Attributes (storage): ``no``, ``id``, ``state``, ``cloud_disk_id``,
    ``cloud_disk_size``, ``used_state`` (``in-use``/``un-use``), ``cdate``.
    ``unit`` and ``vc`` are the unit and UnitGroup records the node belongs to.
    """

    def __init__(self, unit: VcUnit, node_json: dict[str, Any]) -> None:
        self.unit = unit
        self.vc: Vc = unit.vc
        self.node_json = node_json
        self.type: str = unit.type
        self.state: str = node_json.get("state", "")
        self.name: str = node_json.get("name", "")
        self.error_message: str = node_json.get("error_message") or ""
        self.last_error_http_status: int | None = None
        self.ssh_user_name: str = node_json.get("ssh_user_name") or "root"
        if self.type == "storage":
            self.no = node_json.get("disk_no")
            self.id: str = node_json.get("disk_id", "")
            self.cdate: str = node_json.get("cdate", "")
            self.used_state = "in-use" if node_json.get("in_use") else "un-use"
            self.cloud_disk_id: str = node_json.get("cloud_disk_id", "")
            self.cloud_disk_size = node_json.get("cloud_disk_size")
            self.cloud_instance_address = ""
            self.cloud_instance_id = ""
            self.volumes: list[dict[str, str]] = []
        else:
            self.no = node_json.get("node_no")
            self.id = node_json.get("node_id", "")
            self.cloud_instance_address = node_json.get("cloud_instance_address", "")
            self.cloud_instance_id = node_json.get("cloud_instance_id", "")
            self.volumes = list(node_json.get("volumes") or [])
            self.boot_date: str = node_json.get("boot_date", "")
            self.container_date: str = node_json.get("container_date", "")
            self.watch_mode = bool(node_json.get("watch_mode", True))

    def __str__(self) -> str:
        if self.type == "storage":
            text = (
                f"[VcNode]\n+ type[storage] no({self.no}) state[{self.state}] id[{self.id}] "
                f"cdate[{self.cdate}] used_state[{self.used_state}] "
                f"cloud_disk_id[{self.cloud_disk_id}] cloud_disk_size[{self.cloud_disk_size}]"
            )
        else:
            text = (
                f"[VcNode]\n+ type[compute] no({self.no}) state[{self.state}] id[{self.id}] "
                f"cloud_instance_address[{self.cloud_instance_address}] "
                f"cloud_instance_id[{self.cloud_instance_id}] boot_date[{self.boot_date}] "
                f"container_date[{self.container_date}] watch_mode[{self.watch_mode}]"
            )
            for volume in self.volumes:
                text += (
                    f"\n\tvolume_id[{volume.get('volume_id', '')}] "
                    f"device_name[{volume.get('device_name', '')}]"
                )
        if self.error_message:
            text += f"\n*** HAS ERROR:\n---\n{self.error_message}\n---"
        return text

    def __repr__(self) -> str:
        where = self.cloud_disk_id if self.type == "storage" else self.cloud_instance_address
        return f"<VcNode {self.type} unit={self.unit.name} no={self.no} state={self.state} at={where}>"
