"""The controller's wiring (runtime.py) and its backend registry: the sandbox is an ordinary
entry, and ``restore`` / ``describe`` reach every backend, not only the sandbox."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pytest

from vcpsdk.controller.backends import registry
from vcpsdk.controller.backends.base import (
    Backend,
    DiskRequest,
    DiskResult,
    NodeRequest,
    NodeResult,
    UnitContext,
)
from vcpsdk.controller.runtime import build_controller
from vcpsdk.controller.settings import ControllerSettings
from vcpsdk.testing import running_controller, write_test_public_key
from vcpsdk.vcpsdk import VcpSDK


class RecordingBackend(Backend):
    """A cloud backend that keeps nothing but what it was asked (class-level, across restarts)."""

    name = "recording"
    uses_credentials = False
    calls: ClassVar[list[tuple[str, list[str]]]] = []
    gone: ClassVar[set[str]] = set()

    def __init__(self, config: dict[str, Any], controller_id: str) -> None:
        self.config = config

    def vpn_catalog(self) -> dict[str, dict[str, dict[str, Any]]]:
        return {"vmware": {"default": {"private_network_ipmask": "10.9.0.0/24"}}}

    def plan_addresses(
        self, provider: str, catalog: dict[str, Any], fixed: list[str], count: int, in_use: set[str]
    ) -> list[str | None]:
        return [None] * count

    def create_nodes(self, unit: UnitContext, nodes: list[NodeRequest]) -> list[NodeResult]:
        return [NodeResult(n.node_id, f"i-{n.node_no}", f"10.9.0.{9 + n.node_no}") for n in nodes]

    def delete_nodes(self, unit: UnitContext, nodes: list[NodeRequest]) -> None:
        self.calls.append(("delete", [n.node_id for n in nodes]))

    def power(self, unit: UnitContext, nodes: list[NodeRequest], action: str) -> None:
        self.calls.append((action, [n.node_id for n in nodes]))

    def create_disks(self, unit: UnitContext, disks: list[DiskRequest]) -> list[DiskResult]:
        raise NotImplementedError

    def delete_disks(self, unit: UnitContext, disks: list[DiskRequest]) -> None:
        raise NotImplementedError

    def restore(self, nodes: list[NodeRequest]) -> None:
        self.calls.append(("restore", [n.node_id for n in nodes]))

    def describe(self, unit: UnitContext, nodes: list[NodeRequest]) -> dict[str, str]:
        self.calls.append(("describe", [n.node_id for n in nodes]))
        return {n.node_id: "DELETED" for n in nodes if n.node_id in self.gone}


@pytest.fixture
def recording(monkeypatch: pytest.MonkeyPatch) -> type[RecordingBackend]:
    entry = registry.BackendEntry("recording", f"{__name__}:RecordingBackend", ("vmware",))
    monkeypatch.setitem(registry.REGISTRY, "recording", entry)
    RecordingBackend.calls.clear()
    RecordingBackend.gone.clear()
    return RecordingBackend


def test_sandbox_is_an_ordinary_registry_entry_serving_unclaimed_providers(tmp_path: Path) -> None:
    assert registry.REGISTRY["sandbox"].fallback
    assert registry.REGISTRY["sandbox"].target == "vcpsdk.controller.backends.sandbox:SandboxBackend"
    assert registry.REGISTRY["aws"].target == "vcpsdk.controller.backends.aws:AwsBackend"
    controller = build_controller(ControllerSettings(state_dir=tmp_path))
    try:
        assert list(controller.backends) == ["sandbox"]
        assert controller.backend_for("aws") is controller.backends["sandbox"]
        assert controller.backend_for("chameleon") is controller.backend
    finally:
        controller.store.close()


def test_default_providers_come_from_the_declarations() -> None:
    # every provider declared with config_section "aws", and no other
    assert sorted(registry.REGISTRY["aws"].default_providers) == ["aws", "aws_disk", "aws_spot"]


def test_a_backend_of_another_package_is_enabled_by_its_class(tmp_path: Path) -> None:
    target = f"{RecordingBackend.__module__}:RecordingBackend"
    # the class named in the section is used, not the registry's own vmware entry
    assert registry.REGISTRY["vmware"].target != target
    controller = build_controller(
        ControllerSettings(state_dir=tmp_path, backends={"vmware": {"class": target, "region": "x"}})
    )
    try:
        backend = controller.backends["vmware"]
        assert isinstance(backend, RecordingBackend)
        assert backend.config == {"region": "x"}  # "class" and "providers" are not its settings
        # by default it serves the providers declared with config_section "vmware"
        assert controller.backend_for("vmware") is backend
        assert controller.backend_for("aws") is controller.backends["sandbox"]
    finally:
        controller.store.close()


def test_unknown_backend_and_double_claims_are_refused(tmp_path: Path) -> None:
    with pytest.raises(
        ValueError,
        match=r"unknown backend 'nope'; known backends: aws, azure(, \w+)* .*class: 'module:Class'",
    ):
        build_controller(ControllerSettings(state_dir=tmp_path, backends={"nope": {}}))
    with pytest.raises(ValueError, match="unknown backend 'sandbox'"):
        build_controller(ControllerSettings(state_dir=tmp_path, backends={"sandbox": {}}))


def test_restore_and_describe_reach_every_backend(tmp_path: Path, recording: type[RecordingBackend]) -> None:
    state = tmp_path / "state"
    pubkey = write_test_public_key(tmp_path / "k.pub")
    settings: dict[str, Any] = {"backends": {"recording": {}}}
    with running_controller(state, **settings) as vcc:
        assert vcc.controller.backend_for("vmware") is vcc.controller.backends["recording"]
        token = vcc.create_token("alice")
        vcp = VcpSDK(token, config_dir=str(vcc.write_config(tmp_path / "cfg1")))
        ug = vcp.create_ugroup("mixed")
        for provider, unit_name in (("vmware", "cloud"), ("aws", "local")):
            spec = vcp.get_spec(provider, "small")
            spec.set_ssh_pubkey(str(pubkey))
            spec.num_nodes = 2
            ug.create_unit(unit_name, spec)
        cloud_ids = sorted(n.id for n in ug.get_unit("cloud").find_nodes())  # type: ignore[union-attr]
        local_ids = sorted(n.id for n in ug.get_unit("local").find_nodes())  # type: ignore[union-attr]
    assert ("restore", []) in recording.calls  # the first start: nothing to restore yet

    recording.calls.clear()
    recording.gone.add(cloud_ids[0])  # terminated outside the controller meanwhile
    with running_controller(state, **settings) as vcc:
        restored = [sorted(ids) for call, ids in recording.calls if call == "restore"]
        assert restored == [cloud_ids]  # only its own nodes; the sandbox restores the others
        described = [sorted(ids) for call, ids in recording.calls if call == "describe"]
        assert described == [cloud_ids]
        vcp = VcpSDK(token, config_dir=str(vcc.write_config(tmp_path / "cfg2")))
        ug = vcp.get_ugroup("mixed")
        assert ug is not None
        states = {n.id: n.state for n in ug.find_nodes()}
        assert states[cloud_ids[0]] == "HOST_ERROR"
        assert states[cloud_ids[1]] == "RUNNING"
        assert {states[i] for i in local_ids} == {"RUNNING"}
        # the sandbox got its nodes back too: they listen on this run's SSH port
        new_ports = {n.ssh_port for n in ug.get_unit("local").find_nodes()}  # type: ignore[union-attr]
        assert new_ports == {vcc.controller.backend.node_ssh_port()}
