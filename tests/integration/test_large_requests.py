"""A large allowed request never holds other users' writes back (issue 14, item 2).

Its nodes (or disks) are written in batches, each in its own short transaction: while
it is between two batches, another user's write goes through.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from vcpsdk.controller.store import AddressClaim, Node, Unit
from vcpsdk.testing import RunningController, running_controller
from vcpsdk.vcpsdk import VcpSDK

DISKS = 45


@dataclass
class Held:
    """A large request held between its first and second batch."""

    between: threading.Event  # set once it waits between two batches
    resume: threading.Event  # set it to let the request go on
    batches: list[int]  # rows of each batch written so far


def hold_after_first_batch(
    live_controller: RunningController, monkeypatch: pytest.MonkeyPatch, batch_size: int
) -> Held:
    """Make the controller write ``batch_size`` nodes a batch and pause after the first."""
    service = live_controller.controller.service
    monkeypatch.setattr(service, "batch_size", batch_size)
    held = Held(threading.Event(), threading.Event(), [])
    write_batch = service._write_batch

    def pausing_batch(pending: Any, rows: list[dict[str, Any]]) -> None:
        write_batch(pending, rows)
        held.batches.append(len(rows))
        if len(held.batches) == 1:
            held.between.set()
            held.resume.wait(timeout=120)

    monkeypatch.setattr(service, "_write_batch", pausing_batch)
    return held


def test_other_users_write_between_the_batches_of_a_large_request(
    live_controller: RunningController, vcp_config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = hold_after_first_batch(live_controller, monkeypatch, 10)
    alice = VcpSDK(live_controller.create_token("alice"), config_dir=str(vcp_config_dir))
    bob = VcpSDK(live_controller.create_token("bob"), config_dir=str(vcp_config_dir))
    storage = alice.create_ugroup("big", ugroup_type="storage")
    spec = alice.get_spec("aws_disk", "small")
    spec.num_disks = DISKS
    finished: list[str] = []

    def large() -> None:
        storage.create_unit("many", spec, wait_for=False)
        finished.append("large")

    def other() -> None:
        bob.create_ugroup("meanwhile")
        finished.append("other")

    big = threading.Thread(target=large)
    big.start()
    assert held.between.wait(timeout=120)
    small = threading.Thread(target=other)
    small.start()
    small.join(timeout=120)  # a guard against a hang, not a speed limit
    finished_while_held = list(finished)
    held.resume.set()
    big.join(timeout=120)
    assert finished_while_held == ["other"]
    assert finished == ["other", "large"]
    assert held.batches == [10, 10, 10, 5]  # the first 10 went in with the unit itself
    unit = storage.wait_unit_applied("many")
    disks = unit.find_nodes()
    assert len(disks) == DISKS and {d.state for d in disks} == {"RUNNING"}
    assert sorted(d.no for d in disks) == list(range(1, DISKS + 1))
    assert [ug.name for ug in bob.find_ugroups()] == ["meanwhile"]


def test_nodes_made_between_the_batches_of_a_large_request_get_other_addresses(
    live_controller: RunningController,
    vcp_config_dir: Path,
    vcp_pubkey: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    held = hold_after_first_batch(live_controller, monkeypatch, 4)
    users = [VcpSDK(live_controller.create_token(name), config_dir=str(vcp_config_dir)) for name in "cd"]
    specs = []
    for vcp, count in zip(users, (11, 3), strict=True):
        spec = vcp.get_spec("aws", "small")
        spec.set_ssh_pubkey(str(vcp_pubkey))
        spec.num_nodes = count
        specs.append(spec)
    wide = users[0].create_ugroup("wide")
    big = threading.Thread(target=lambda: wide.create_unit("web", specs[0], wait_for=False))
    big.start()
    assert held.between.wait(timeout=120)
    small = users[1].create_ugroup("small").create_unit("web", specs[1])  # while the large one waits
    held.resume.set()
    big.join(timeout=120)
    large = wide.wait_unit_applied("web")
    large.add_nodes(6)  # batches again (4 + 2)
    grown = wide.get_unit("web")
    assert grown is not None
    addresses = grown.find_ip_addresses() + small.find_ip_addresses()
    assert len(addresses) == 20 and len(set(addresses)) == 20
    assert {n.state for n in grown.find_nodes()} == {"RUNNING"}


def test_restart_releases_a_unit_whose_large_request_was_cut_off(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with running_controller(state) as vcc:
        vcp = VcpSDK(vcc.create_token("dave"), config_dir=str(vcc.write_config(tmp_path / "cfg")))
        storage = vcp.create_ugroup("cut", ugroup_type="storage")
        spec = vcp.get_spec("aws_disk", "small")
        spec.num_disks = 2
        made = storage.create_unit("many", spec).find_nodes()
        # as a crash leaves it between two batches: processing, a disk not made, nothing queued
        with vcc.controller.store.transaction() as session:
            session.execute(update(Unit).values(processing=True, state="CREATING"))
            session.execute(update(Node).where(Node.node_id == made[1].id).values(state="CREATING"))
    with running_controller(state) as vcc:
        vcp = VcpSDK(vcc.create_token("dave"), config_dir=str(vcc.write_config(tmp_path / "cfg")))
        again = vcp.get_ugroup("cut")
        assert again is not None
        unit = again.get_unit("many")
        assert unit is not None
        states = {d.id: (d.state, d.error_message) for d in unit.find_nodes()}
        assert states[made[0].id] == ("RUNNING", "")
        assert states[made[1].id][0] == "ERROR" and "interrupted" in states[made[1].id][1]
        again.cleanup()  # not processing any more: it can be deleted
        assert vcp.get_ugroup("cut") is None


def test_restart_frees_addresses_claimed_for_nodes_a_crash_left_unwritten(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with running_controller(state) as vcc:  # as a crash between two batches leaves it
        with vcc.controller.store.transaction() as session:
            session.add(AddressClaim(address="127.0.5.9", node_id="f" * 32))
    with running_controller(state) as vcc:
        with vcc.controller.store.read() as session:
            assert session.get(AddressClaim, "127.0.5.9") is None
