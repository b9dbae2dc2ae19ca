"""The vSphere backend against govmomi's vCenter simulator, driven by the real pyvmomi: the
task sequence of a node, what each VM ends up with, the mapped faults, partial batches,
re-discovery by annotation, credentials kept out of logs and messages."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from pyVim.task import WaitForTask
from pyVmomi import vim

from vcpsdk.controller.backends.base import NodeRequest, UnitContext
from vcpsdk.controller.backends.registry import REGISTRY
from vcpsdk.controller.backends.toolkit.errors import (
    CloudAuthError,
    CloudCapacityError,
    CloudError,
    CloudInvalidParameter,
    CloudNotFoundError,
    CloudTimeoutError,
    InvalidRequest,
)
from vcpsdk.controller.backends.vmware import VmwareBackend
from vcpsdk.controller.backends.vmware.backend import (
    ANNOTATION_HEADER,
    annotation,
    parse_annotation,
    server_address,
    subnet_mask,
)
from vcpsdk.controller.backends.vmware.errors import map_error
from vcpsdk.core.polling import FakeClock, PollTimeout
from vcpsdk.core.providers import get_provider
from vcpsdk.testing.conformance.vmware import backend_config
from vcpsdk.testing.fakes.vmware import TEMPLATE, RunningVcsim, VcsimMissing, start_vcsim

TASKS = ("CloneVM_Task", "ReconfigVM_Task", "CustomizeVM_Task", "PowerOnVM_Task")
SECRET_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIVerySecretTestKeyMaterial test@vcp"


def unit_of(**params: Any) -> UnitContext:
    """A vmware unit with ``params`` as its cloud_params (and a secret in params_e)."""
    spec = {
        "provider": "vmware",
        "image": "vcp/base:1.0",
        "params_e": {"API_TOKEN": "tok-params-e-secret"},
        "cloud_params": {
            "num_cpus": 2,
            "memory": 2048,
            "disk_size": 20,
            "ssh_public_keys": [SECRET_KEY],
            **params,
        },
    }
    return UnitContext("vc1", "lab", "web", "vmware", "alice", spec, {})


def nodes_of(count: int, first: int = 21) -> list[NodeRequest]:
    return [NodeRequest(f"node{first + i}", i + 1, f"127.66.9.{first + i}") for i in range(count)]


@pytest.fixture
def make_backend(vcsim: RunningVcsim) -> Iterator[Callable[..., VmwareBackend]]:
    made: list[VmwareBackend] = []

    def make(controller_id: str = "ctl-test", **extra: Any) -> VmwareBackend:
        backend = VmwareBackend(backend_config(vcsim, **extra), controller_id)
        made.append(backend)
        return backend

    yield make
    for backend in made:
        backend.close()


@pytest.fixture
def backend(make_backend: Callable[..., VmwareBackend]) -> VmwareBackend:
    return make_backend()


def record_tasks(backend: VmwareBackend) -> list[str]:
    """The task methods the backend sends, in order."""
    sent: list[str] = []
    backend.soap_hooks.append(lambda method: sent.append(method) if method.endswith("_Task") else None)
    return sent


def fail_on(backend: VmwareBackend, method: str, fault: BaseException, after: int = 0) -> dict[str, int]:
    """Raise ``fault`` instead of the ``after+1``-th call of ``method`` (once)."""
    seen = {"calls": 0}

    def hook(name: str) -> None:
        if name == method:
            seen["calls"] += 1
            if seen["calls"] == after + 1:
                raise fault

    backend.soap_hooks.append(hook)
    return seen


# -- the registry and the declaration -------------------------------------------------------


def test_registered_and_declared_with_fixed_ips_only() -> None:
    entry = REGISTRY["vmware"]
    assert entry.load() is VmwareBackend
    assert entry.default_providers == ("vmware",)
    capabilities = get_provider("vmware").capabilities
    assert capabilities.fixed_ip
    assert not (
        capabilities.attach_volume or capabilities.tag or capabilities.disk_api or capabilities.power_api
    )


# -- creating nodes --------------------------------------------------------------------------


def test_a_node_is_cloned_reconfigured_customized_then_powered_on(backend: VmwareBackend, vcsim) -> None:
    sent = record_tasks(backend)
    [result] = backend.create_nodes(unit_of(), nodes_of(1))
    assert sent == list(TASKS)
    assert result.address == "127.66.9.21"
    vm = vcsim.vms()["vcp-node21"]
    assert vm["power"] == "poweredOn" and vm["moref"] == result.instance_id
    assert vm["ip"] == "127.66.9.21"  # the customization's fixed address, as the guest reports it


def test_every_clone_of_a_batch_runs_the_four_tasks_concurrently(make_backend, vcsim) -> None:
    backend = make_backend(max_concurrent_creates=4)
    sent = record_tasks(backend)
    results = backend.create_nodes(unit_of(), nodes_of(6))
    assert sorted(sent) == sorted(list(TASKS) * 6)
    for method in TASKS[1:]:  # each VM: its clone came before its reconfigure, ...
        assert sent.index(method) > sent.index("CloneVM_Task")
    assert sorted(r.address for r in results) == [f"127.66.9.{21 + i}" for i in range(6)]
    assert sorted(vcsim.leftovers()) == [f"vcp-node{21 + i}" for i in range(6)]


def test_the_clone_gets_the_spec_the_network_the_mac_and_the_guestinfo(backend: VmwareBackend, vcsim) -> None:
    unit = unit_of(
        num_cpus=4, memory=3072, disk_size=30, mac_addresses=["00:50:56:3f:00:01", "00:50:56:3f:00:02"]
    )
    backend.create_nodes(unit, nodes_of(2))
    si = vcsim.connect()
    vm = si.content.searchIndex.FindByInventoryPath("DC0/vm/vcp-node22")
    hardware = vm.config.hardware
    assert (hardware.numCPU, hardware.memoryMB) == (4, 3072)
    [disk] = [d for d in hardware.device if isinstance(d, vim.vm.device.VirtualDisk)]
    assert disk.capacityInKB == 30 * 1024 * 1024
    [nic] = [d for d in hardware.device if isinstance(d, vim.vm.device.VirtualEthernetCard)]
    assert nic.macAddress == "00:50:56:3f:00:02"  # the second node gets the second address
    assert vm.network[0].name == "DC0_DVPG0"
    identity = parse_annotation(vm.config.annotation)
    assert identity == {
        "vcp-controller": "ctl-test",
        "vcp-vcid": "vc1",
        "vcp-ugroup": "lab",
        "vcp-unit": "web",
        "vcp-node-id": "node22",
    }
    extra = {o.key: o.value for o in vm.config.extraConfig}
    assert extra["guestinfo.userdata.encoding"] == "base64"
    script = base64.b64decode(extra["guestinfo.userdata"]).decode()
    assert "NODE_ID=node22" in script and "MY_PRIVATE_IP=127.66.9.22" in script
    assert vm.guest.hostName == "vcp-node22" and vm.guest.ipAddress == "127.66.9.22"
    assert vm.guest.net[0].dnsConfig.domainName == "vcp.example"
    si.content.sessionManager.Logout()


def test_a_rerun_keeps_the_running_vms(backend: VmwareBackend, vcsim) -> None:
    first = backend.create_nodes(unit_of(), nodes_of(2))
    sent = record_tasks(backend)
    again = backend.create_nodes(unit_of(), nodes_of(2))  # the worker re-runs after a restart
    assert sent == []
    assert [r.instance_id for r in again] == [r.instance_id for r in first]
    assert vcsim.leftovers() == ["vcp-node21", "vcp-node22"]


def test_the_gateway_is_never_a_node_address(backend: VmwareBackend) -> None:
    catalog = backend_config_entry()
    planned = backend.plan_addresses("vmware", catalog, [], 2, set())
    assert "127.66.0.1" not in planned
    with pytest.raises(InvalidRequest, match=r"ip_address\[127.66.0.1\] is not available"):
        backend.plan_addresses("vmware", catalog, ["127.66.0.1"], 1, set())


def backend_config_entry() -> dict[str, Any]:
    return {"private_network_ipmask": "127.66.0.0/16", "vmware_ipv4_gateway": "127.66.0.1"}


# -- failures --------------------------------------------------------------------------------


def test_a_partly_failed_batch_destroys_what_it_made(make_backend, vcsim) -> None:
    backend = make_backend(max_concurrent_creates=1)
    fault = vim.fault.InsufficientResourcesFault(msg="Insufficient memory resources in the pool")
    fail_on(backend, "PowerOnVM_Task", fault, after=2)  # two nodes are up, the third fails
    with pytest.raises(CloudCapacityError) as failure:
        backend.create_nodes(unit_of(), nodes_of(3))
    assert failure.value.code == "InsufficientResourcesFault" and failure.value.provider == "vmware"
    assert "Insufficient memory resources" in str(failure.value)
    assert vcsim.leftovers() == []


def test_a_failed_clone_in_a_concurrent_batch_leaves_nothing(make_backend, vcsim) -> None:
    backend = make_backend(max_concurrent_creates=3)
    fail_on(
        backend, "CloneVM_Task", vim.fault.DuplicateName(msg="The name 'vcp-node23' already exists."), after=2
    )
    with pytest.raises(CloudInvalidParameter, match="DuplicateName: The name"):
        backend.create_nodes(unit_of(), nodes_of(3))
    assert vcsim.leftovers() == []


def test_a_wrong_password_is_an_auth_error_without_the_password(make_backend, vcsim, caplog) -> None:
    backend = make_backend(password="Wrong-Password-123")
    caplog.set_level(logging.DEBUG)
    with pytest.raises(CloudAuthError) as failure:
        backend.create_nodes(unit_of(), nodes_of(1))
    assert failure.value.code == "InvalidLogin"
    assert "Wrong-Password-123" not in str(failure.value) and "Wrong-Password-123" not in caplog.text
    assert vcsim.leftovers() == []


def test_the_units_own_credentials_are_used_and_never_logged(make_backend, vcsim, caplog) -> None:
    backend = make_backend(user="", password="")
    caplog.set_level(logging.DEBUG)
    unit = unit_of(user=vcsim.user, password=vcsim.password)
    backend.create_nodes(unit, nodes_of(1))
    fail_on(backend, "Destroy_Task", vim.fault.InvalidState(msg=f"refused for {vcsim.password}"))
    with pytest.raises(CloudInvalidParameter) as failure:
        backend.delete_nodes(unit, nodes_of(1))
    assert vcsim.password not in str(failure.value) and "***" in str(failure.value)
    for secret in (vcsim.password, "tok-params-e-secret", "VerySecretTestKeyMaterial"):
        assert secret not in caplog.text
    with pytest.raises(CloudAuthError, match="no vSphere credentials"):
        backend.create_nodes(unit_of(), nodes_of(1, first=30))  # neither the unit's nor the operator's


def test_a_missing_template_is_not_found(backend: VmwareBackend, vcsim) -> None:
    with pytest.raises(CloudNotFoundError, match="template VM 'no-such-template' not found"):
        backend.create_nodes(unit_of(cloud_image="no-such-template"), nodes_of(1))
    assert vcsim.leftovers() == []


def test_an_untrusted_certificate_says_how_to_trust_it(make_backend, vcsim) -> None:
    with pytest.raises(CloudError) as failure:
        make_backend(ca_file="").create_nodes(unit_of(), nodes_of(1))
    assert failure.value.code == "SSLCertVerificationError" and "ca_file" in str(failure.value)
    unverified = make_backend(ca_file="")
    unverified._catalog["default"]["vmware_allow_unverified_ssl"] = True
    [result] = unverified.create_nodes(unit_of(), nodes_of(1))
    assert result.address == "127.66.9.21"


def test_real_vsphere_faults_of_the_simulator_are_mapped(vcsim) -> None:
    si = vcsim.connect()
    try:
        with pytest.raises(vim.fault.InvalidLogin) as login:
            vcsim.connect(password="not-the-password")
        assert isinstance(map_error(login.value), CloudAuthError)
        folder = si.content.rootFolder.childEntity[0].vmFolder
        folder.CreateFolder("twice")
        with pytest.raises(vim.fault.DuplicateName) as duplicate:
            folder.CreateFolder("twice")
        assert type(map_error(duplicate.value)) is CloudInvalidParameter
        template = si.content.searchIndex.FindByInventoryPath(f"DC0/vm/{TEMPLATE}")
        WaitForTask(template.PowerOnVM_Task())
        with pytest.raises(vim.fault.InvalidPowerState) as power:
            WaitForTask(template.PowerOnVM_Task())
        mapped = map_error(power.value)
        assert type(mapped) is CloudInvalidParameter and mapped.code == "InvalidPowerState"
        WaitForTask(template.PowerOffVM_Task())
        with pytest.raises(Exception) as gone:
            WaitForTask(vim.VirtualMachine("vm-999999", si._stub).PowerOnVM_Task())
        assert isinstance(map_error(gone.value), CloudNotFoundError)
        assert isinstance(
            map_error(vim.fault.InsufficientCpuResourcesFault(msg="no CPU")), CloudCapacityError
        )
    finally:
        si.content.sessionManager.Logout()


# -- deleting, power, re-discovery -------------------------------------------------------------


def test_delete_powers_off_and_destroys_and_tolerates_gone_vms(backend: VmwareBackend, vcsim) -> None:
    unit = unit_of()
    backend.create_nodes(unit, nodes_of(3))
    sent = record_tasks(backend)
    backend.delete_nodes(unit, nodes_of(2))
    assert sorted(sent) == sorted(["PowerOffVM_Task", "Destroy_Task"] * 2)
    assert vcsim.leftovers() == ["vcp-node23"]
    backend.delete_nodes(unit, nodes_of(3))  # two are gone already
    assert vcsim.leftovers() == []


def test_a_restarted_controller_finds_its_vms_by_annotation(make_backend, vcsim) -> None:
    unit = unit_of()
    make_backend("ctl-A").create_nodes(unit, nodes_of(2))
    restarted = make_backend("ctl-A")
    assert restarted.describe(unit, nodes_of(3)) == {
        "node21": "RUNNING",
        "node22": "RUNNING",
        "node23": "DELETED",
    }
    restarted.power(unit, nodes_of(1), "power_off")  # a backend method only: vmware declares no power API
    assert restarted.describe(unit, nodes_of(2)) == {"node21": "POWER_OFF", "node22": "RUNNING"}
    other = make_backend("ctl-B")  # another controller's VMs are not its own
    assert other.describe(unit, nodes_of(2)) == {"node21": "DELETED", "node22": "DELETED"}
    other.delete_nodes(unit, nodes_of(2))
    assert len(vcsim.leftovers()) == 2
    restarted.delete_nodes(unit, nodes_of(2))
    assert vcsim.leftovers() == []


def test_disks_are_refused_by_the_backend_too(backend: VmwareBackend) -> None:
    assert backend.create_disks(unit_of(), []) == []
    with pytest.raises(InvalidRequest, match="provider vmware does not support a disk API"):
        backend.create_disks(unit_of(), [object()])  # type: ignore[list-item]


# -- helpers ---------------------------------------------------------------------------------


def test_settings_helpers() -> None:
    assert server_address("vc.example.org") == ("vc.example.org", 443)
    assert server_address("https://127.0.0.1:8989/sdk") == ("127.0.0.1", 8989)
    assert subnet_mask({"vmware_vsphere_network_mask": "255.255.0.0"}) == "255.255.0.0"
    assert subnet_mask({"private_network_ipmask": "10.1.0.0/20"}) == "255.255.240.0"
    with pytest.raises(CloudInvalidParameter):
        subnet_mask({"vmware_vsphere_network_mask": "nonsense"})
    text = annotation({"vcp-node-id": "n1"})
    assert text.startswith(ANNOTATION_HEADER) and parse_annotation(text) == {"vcp-node-id": "n1"}
    assert parse_annotation("a VM of somebody else\nvcp-node-id: n1") == {}


def test_without_the_simulator_binary_the_tests_say_how_to_build_it(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("VCPSDK_VCSIM", str(tmp_path / "missing-vcsim"))
    with pytest.raises(VcsimMissing, match="run scripts/build-vcsim.sh"):
        start_vcsim(tmp_path)


def test_a_task_that_never_finishes_times_out_on_the_clock(vcsim) -> None:
    clock = FakeClock()
    backend = VmwareBackend(
        {**backend_config(vcsim), "task_timeout": 30, "task_poll_interval": 5}, "c", clock
    )
    running = SimpleNamespace(info=SimpleNamespace(state=vim.TaskInfo.State.running))
    with pytest.raises(CloudTimeoutError, match="clone did not finish within 30 s"):
        backend.wait(running, "clone")
    assert clock.now() >= 30


def test_an_ended_session_is_replaced_by_a_new_login(backend: VmwareBackend, vcsim) -> None:
    unit = unit_of()
    backend.create_nodes(unit, nodes_of(1))
    backend.session(unit).content.sessionManager.Logout()  # as vCenter ends an idle session
    backend.create_nodes(unit, nodes_of(1, first=22))
    assert vcsim.leftovers() == ["vcp-node21", "vcp-node22"]


def test_the_controllers_per_node_mac_comes_first(backend: VmwareBackend, vcsim) -> None:
    [node] = nodes_of(1)
    node.backend_data["mac_address"] = "00:50:56:3f:aa:01"  # from mac_address_list of add_nodes
    backend.create_nodes(unit_of(mac_addresses=["00:50:56:3f:00:01"]), [node])
    si = vcsim.connect()
    vm = si.content.searchIndex.FindByInventoryPath("DC0/vm/vcp-node21")
    [nic] = [d for d in vm.config.hardware.device if isinstance(d, vim.vm.device.VirtualEthernetCard)]
    assert (nic.macAddress, nic.addressType) == ("00:50:56:3f:aa:01", "manual")
    si.content.sessionManager.Logout()


# -- half-made clones, cancelled tasks, sweeps, sessions (review findings 1, 5, 10, 12, 13) --------


def clone_by_hand(vcsim: RunningVcsim, name: str, note: str = "", power_on: bool = False) -> None:
    """A clone of the template named ``name`` as a crash between clone and reconfigure leaves
    it (the template's notes, powered off), or another party's VM of that name."""
    si = vcsim.connect()
    try:
        index = si.content.searchIndex
        template = index.FindByInventoryPath(f"DC0/vm/{TEMPLATE}")
        pool = index.FindByInventoryPath("DC0/host/DC0_C0/Resources")
        folder = index.FindByInventoryPath("DC0").vmFolder
        spec = vim.vm.CloneSpec(location=vim.vm.RelocateSpec(pool=pool), powerOn=False, template=False)
        WaitForTask(template.CloneVM_Task(folder=folder, name=name, spec=spec))
        vm = index.FindByInventoryPath(f"DC0/vm/{name}")
        if note:
            WaitForTask(vm.ReconfigVM_Task(vim.vm.ConfigSpec(annotation=note)))
        if power_on:
            WaitForTask(vm.PowerOnVM_Task())
    finally:
        si.content.sessionManager.Logout()


@pytest.mark.parametrize("method", ["ReconfigVM_Task", "CustomizeVM_Task"])
def test_a_failure_after_the_clone_leaves_no_vm(make_backend, vcsim, method: str) -> None:
    backend = make_backend(max_concurrent_creates=2)
    fail_on(backend, method, vim.fault.InsufficientResourcesFault(msg="no room"), after=1)
    with pytest.raises(CloudCapacityError, match="no room"):
        backend.create_nodes(unit_of(), nodes_of(3))
    assert vcsim.leftovers() == []  # the clone without our annotation was found by its name


def test_the_clone_spec_carries_the_annotation(backend: VmwareBackend) -> None:
    [node] = nodes_of(1)
    spec = backend.clone_spec(unit_of(), node, pool=None)
    assert parse_annotation(spec.config.annotation)["vcp-node-id"] == "node21"
    assert spec.powerOn is False


def test_a_half_made_clone_is_removed_by_delete_and_remade_by_a_rerun(backend: VmwareBackend, vcsim) -> None:
    clone_by_hand(vcsim, "vcp-node21")  # the controller crashed between clone and reconfigure
    assert backend.describe(unit_of(), nodes_of(1)) == {"node21": "DELETED"}  # no working node
    [result] = backend.create_nodes(unit_of(), nodes_of(1))  # the worker re-runs the create
    assert vcsim.vms()["vcp-node21"]["moref"] == result.instance_id
    assert parse_annotation(vcsim.vms()["vcp-node21"]["annotation"])["vcp-controller"] == "ctl-test"
    backend.delete_nodes(unit_of(), nodes_of(1))
    clone_by_hand(vcsim, "vcp-node22")
    backend.delete_nodes(unit_of(), nodes_of(1, first=22))
    assert vcsim.leftovers() == []


def test_vms_of_that_name_another_controller_or_a_user_runs_are_left_alone(
    backend: VmwareBackend, vcsim
) -> None:
    other = annotation({"vcp-controller": "ctl-other", "vcp-node-id": "node21"})
    clone_by_hand(vcsim, "vcp-node21", note=other)
    clone_by_hand(vcsim, "vcp-node22", power_on=True)  # running, no annotation: not a half-made clone
    backend.delete_nodes(unit_of(), nodes_of(2))
    assert vcsim.leftovers() == ["vcp-node21", "vcp-node22"]


def test_a_task_that_times_out_is_cancelled(vcsim) -> None:
    clock = FakeClock()
    config = {**backend_config(vcsim), "task_timeout": 30, "task_poll_interval": 5}
    backend = VmwareBackend(config, "c", clock)
    task = SimpleNamespace(info=SimpleNamespace(state=vim.TaskInfo.State.running), cancelled=0)

    def cancel() -> None:
        task.cancelled += 1
        task.info = SimpleNamespace(state=vim.TaskInfo.State.error)

    task.CancelTask = cancel
    with pytest.raises(CloudTimeoutError, match="clone did not finish within 30 s"):
        backend.wait(task, "clone")
    assert task.cancelled == 1


def test_a_clone_that_times_out_is_cancelled_and_removed(make_backend, vcsim, monkeypatch) -> None:
    backend = make_backend()
    finished = backend._finished
    cancelled: list[str] = []

    def clone_too_slow(task: Any, timeout: float) -> Any:
        info = finished(task, timeout)
        if not cancelled and info.result is not None and isinstance(info.result, vim.VirtualMachine):
            cancelled.append(str(info.result.name))  # the clone exists, the backend gave up on it
            raise PollTimeout("clone", info)
        return info

    monkeypatch.setattr(backend, "_finished", clone_too_slow)
    monkeypatch.setattr(backend, "_cancel", lambda task, what: cancelled.append(what))
    with pytest.raises(CloudTimeoutError, match="clone did not finish"):
        backend.create_nodes(unit_of(), nodes_of(1))
    assert cancelled == ["vcp-node21", "clone"]
    assert vcsim.leftovers() == []


def test_sweep_destroys_what_the_unit_still_has_and_nothing_else(make_backend, vcsim) -> None:
    backend = make_backend()
    web, db = unit_of(), UnitContext("vc1", "lab", "db", "vmware", "alice", unit_of().spec, {})
    backend.create_nodes(web, nodes_of(2))
    backend.create_nodes(db, nodes_of(1, first=30))
    make_backend("ctl-other").create_nodes(web, nodes_of(1, first=40))
    backend.sweep(web)
    assert vcsim.leftovers() == ["vcp-node30", "vcp-node40"]
    backend.sweep(web)  # nothing left: nothing to do


def test_threads_share_one_login(backend: VmwareBackend, vcsim) -> None:
    from concurrent.futures import ThreadPoolExecutor

    unit = unit_of()
    with ThreadPoolExecutor(4) as pool:
        sessions = list(pool.map(lambda _: backend.session(unit), range(8)))
    assert backend.logins == 1 and len({id(s) for s in sessions}) == 1


def test_a_password_a_fault_repeats_is_masked_in_the_error_and_the_cleanup_log(
    make_backend, vcsim, caplog
) -> None:
    backend = make_backend()
    caplog.set_level(logging.DEBUG)
    fail_on(backend, "ReconfigVM_Task", vim.fault.InvalidState(msg=f"login {vcsim.password} refused"))
    fail_on(backend, "Destroy_Task", vim.fault.InvalidState(msg=f"destroy as {vcsim.password} refused"))
    with pytest.raises(CloudInvalidParameter) as failure:
        backend.create_nodes(unit_of(), nodes_of(1))
    assert "login *** refused" in str(failure.value) and vcsim.password not in str(failure.value)
    assert "destroy as *** refused" in caplog.text  # the cleanup's failure is logged, masked
    assert vcsim.password not in caplog.text
    backend.delete_nodes(unit_of(), nodes_of(1))
    assert vcsim.leftovers() == []


def test_the_metadata_asks_cloud_init_to_clear_the_user_data(backend: VmwareBackend) -> None:
    [node] = nodes_of(1)
    metadata = json.loads(base64.b64decode(backend.guestinfo(unit_of(), node)["guestinfo.metadata"]))
    assert metadata["redact"] == ["userdata"] and metadata["cleanup-guestinfo"] == ["userdata"]
