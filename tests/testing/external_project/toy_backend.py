"""A toy cloud and its vcpsdk backend, written outside the vcpsdk package.

The "cloud" is a JSON file of instances and volumes (so it outlives a controller
restart); every request to it goes through ToyCloud.request, where a test can inject
failures.  The backend uses the toolkit: its error tree (CodeTable), address planning
(AddressPolicy) and waiting (wait_all).
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vcpsdk.controller.backends import base
from vcpsdk.controller.backends.toolkit.addresses import AddressPolicy
from vcpsdk.controller.backends.toolkit.errors import CloudCapacityError, CloudNotFoundError, CodeTable
from vcpsdk.controller.backends.toolkit.waiting import wait_all

CODES = CodeTable(
    "toy", exact={"InsufficientInstanceCapacity": CloudCapacityError, "NotFound": CloudNotFoundError}
)
MASK = "10.99.0.0/16"
_LOCK = threading.Lock()


class ToyCloud:
    """The toy cloud's API on a JSON file: {"instances": {...}, "volumes": {...}}."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        #: called with the operation name before every request (failure injection)
        self.before: Callable[[str], None] | None = None

    def read(self) -> dict[str, Any]:
        if not self.path.exists():
            return {"instances": {}, "volumes": {}}
        return json.loads(self.path.read_text())

    def request(self, operation: str, change: Callable[[dict[str, Any]], Any]) -> Any:
        if self.before is not None:
            self.before(operation)
        with _LOCK:
            data = self.read()
            result = change(data)
            self.path.write_text(json.dumps(data))
        return result

    def run(self, node_id: str, address: str, volumes: list[str]) -> str:
        iid = f"toy-{secrets.token_hex(6)}"

        def change(data: dict[str, Any]) -> str:
            data["instances"][iid] = {"node_id": node_id, "address": address, "state": "pending"}
            for vid in volumes:
                data["volumes"][vid]["attached_to"] = iid
            return iid

        return self.request("run", change)

    def describe(self) -> dict[str, dict[str, Any]]:
        def change(data: dict[str, Any]) -> dict[str, Any]:
            for instance in data["instances"].values():  # booting takes one look
                if instance["state"] == "pending":
                    instance["state"] = "running"
            return data["instances"]

        return self.request("describe", change)

    def set_state(self, iid: str, state: str) -> None:
        def change(data: dict[str, Any]) -> None:
            if iid not in data["instances"]:
                raise CODES.error("NotFound", f"no instance {iid}")
            data["instances"][iid]["state"] = state

        self.request("set_state", change)

    def terminate(self, iid: str) -> None:
        def change(data: dict[str, Any]) -> None:
            data["instances"].pop(iid, None)
            for volume in data["volumes"].values():
                if volume.get("attached_to") == iid:
                    volume["attached_to"] = None

        self.request("terminate", change)

    def create_volume(self, disk_id: str) -> str:
        vid = f"toy-vol-{secrets.token_hex(6)}"

        def change(data: dict[str, Any]) -> str:
            data["volumes"][vid] = {"disk_id": disk_id, "attached_to": None}
            return vid

        return self.request("create_volume", change)

    def delete_volume(self, vid: str) -> None:
        self.request("delete_volume", lambda data: data["volumes"].pop(vid, None))


class ToyBackend(base.Backend):
    """The toy cloud as a vcpsdk backend: enabled with ``class: "toy_backend:ToyBackend"``."""

    name = "toy"
    address_policy = AddressPolicy()  # the controller picks addresses in the catalog's mask

    def __init__(self, config: dict[str, Any], controller_id: str) -> None:
        self.cloud = ToyCloud(Path(config["cloud_file"]))
        self.controller_id = controller_id

    def vpn_catalog(self) -> dict[str, dict[str, dict[str, Any]]]:
        return {"aws": {"default": {"private_network_ipmask": MASK}}}

    def _instance_of(self, node: base.NodeRequest) -> str | None:
        for iid, instance in self.cloud.describe().items():
            if instance["node_id"] == node.node_id:
                return iid
        return None

    def _wait(self, ids: list[str], state: str) -> None:
        def check(pending: list[str]) -> set[str]:
            instances = self.cloud.describe()
            return {i for i in pending if (instances[i]["state"] if i in instances else "gone") == state}

        wait_all(ids, check, what="instance(s)", target=state, timeout=30, interval=0.01, provider="toy")

    def create_nodes(self, unit: base.UnitContext, nodes: list[base.NodeRequest]) -> list[base.NodeResult]:
        created: dict[str, str] = {}
        try:
            for node in nodes:
                volumes = [d.cloud_disk_id for d in node.disks]
                created[node.node_id] = self.cloud.run(node.node_id, str(node.address), volumes)
            self._wait(list(created.values()), "running")
        except BaseException:
            for iid in created.values():  # nothing of a failed batch stays behind
                self.cloud.terminate(iid)
            raise
        return [
            base.NodeResult(
                node_id=n.node_id,
                instance_id=created[n.node_id],
                address=str(n.address),
                volumes=[
                    {"volume_id": d.cloud_disk_id, "device_name": base.DATA_DEVICES[i]}
                    for i, d in enumerate(n.disks)
                ],
                backend_data={"instance_id": created[n.node_id]},
            )
            for n in nodes
        ]

    def delete_nodes(self, unit: base.UnitContext, nodes: list[base.NodeRequest]) -> None:
        ids = [iid for iid in (self._instance_of(n) for n in nodes) if iid]
        for iid in ids:
            self.cloud.terminate(iid)
        self._wait(ids, "gone")

    def power(self, unit: base.UnitContext, nodes: list[base.NodeRequest], action: str) -> None:
        state = "stopped" if action in ("power_off", "stop", "suspend") else "running"
        ids = []
        for node in nodes:
            iid = self._instance_of(node)
            if iid is None:
                raise CODES.error("NotFound", f"no instance of node {node.node_id}")
            self.cloud.set_state(iid, state)
            ids.append(iid)
        self._wait(ids, state)

    def describe(self, unit: base.UnitContext, nodes: list[base.NodeRequest]) -> dict[str, str]:
        states = {i["node_id"]: i["state"] for i in self.cloud.describe().values()}
        word = {"running": "RUNNING", "stopped": "POWER_OFF"}
        return {n.node_id: word.get(states.get(n.node_id, ""), "DELETED") for n in nodes}

    def create_disks(self, unit: base.UnitContext, disks: list[base.DiskRequest]) -> list[base.DiskResult]:
        created: dict[str, str] = {}
        try:
            for disk in disks:
                created[disk.disk_id] = self.cloud.create_volume(disk.disk_id)
        except BaseException:
            for vid in created.values():
                self.cloud.delete_volume(vid)
            raise
        return [
            base.DiskResult(d.disk_id, created[d.disk_id], d.size_gb, {"cloud_disk_id": created[d.disk_id]})
            for d in disks
        ]

    def delete_disks(self, unit: base.UnitContext, disks: list[base.DiskRequest]) -> None:
        for disk in disks:
            if disk.backend_data.get("cloud_disk_id"):
                self.cloud.delete_volume(disk.backend_data["cloud_disk_id"])
