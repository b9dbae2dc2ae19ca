"""Rehearsal stand-in of Sakura Cloud: the fake IaaS API 1.1 over HTTP on 127.0.0.1."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import Any

from vcpsdk.controller.rehearsal import NETWORKS, FakeCloud

#: the rehearsal switch's network (loopback addresses only), its gateway and the controller address
NETWORK, GATEWAY, CONTROLLER_ADDRESS = (
    NETWORKS["sakura"].network,
    NETWORKS["sakura"].gateway,
    NETWORKS["sakura"].controller_address,
)
#: kinds of :meth:`FakeSakura.leftovers` → the ``type`` of a leftovers entry
KINDS = {"servers": "server", "disks": "disk", "interfaces": "interface", "notes": "note"}


def sakura_rehearsal_fake(**knobs: Any) -> Any:
    """A new ``FakeSakura`` whose only switch is on :data:`NETWORK` (room for 240 nodes)."""
    from vcpsdk.testing.fakes import sakura as fake

    made = fake.FakeSakura(**{"migrating_reads": 1, "power_reads": 1, **knobs})
    made.switches.clear()  # the rehearsal switch replaces the default one
    made.add_switch(NETWORK, GATEWAY, switch_id=fake.SWITCH_ID)
    return made


def sakura_backend_config(api_root: str) -> dict[str, Any]:
    """The ``sakura`` backends section that points the Sakura backend at a served fake.

    Args:
        api_root: the fake's ``api_root`` (``http://127.0.0.1:PORT/cloud/zone/{zone}/api/cloud/1.1/``).

    Returns:
        The section: endpoint, fake credentials, short waits, and a catalog entry ``default``
        on the rehearsal switch.
    """
    from vcpsdk.testing.fakes.sakura import backend_section

    return backend_section(api_root, network=NETWORK, gateway=GATEWAY, controller_address=CONTROLLER_ADDRESS)


def start(port: int, state_dir: Path | None) -> FakeCloud:
    """The fake Sakura API on ``127.0.0.1:port`` (its state in memory; ``state_dir`` unused)."""
    from vcpsdk.testing.fakes.sakura import running_fake_sakura

    fake = sakura_rehearsal_fake()
    stack = ExitStack()
    running = stack.enter_context(running_fake_sakura(fake, port=port))

    def leftovers() -> list[dict[str, Any]]:
        return [{"type": KINDS[kind], "id": rid} for kind, ids in fake.leftovers().items() for rid in ids]

    return FakeCloud(
        "sakura",
        running.base_url,
        {"sakura": sakura_backend_config(running.api_root)},
        leftovers,
        stack.close,
    )
