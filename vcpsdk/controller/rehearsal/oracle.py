"""Rehearsal stand-in of Oracle Cloud: the fake OCI Core API on 127.0.0.1 (plain HTTP)."""

from __future__ import annotations

import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from vcpsdk.controller.rehearsal import NETWORKS, FakeCloud

#: the rehearsal subnet of the fake OCI (loopback addresses only) and the controller address
NETWORK, CONTROLLER_ADDRESS = NETWORKS["oracle"].network, NETWORKS["oracle"].controller_address
#: the file the generated API key is written to, in the state directory
KEY_FILE = "oci_api_key.pem"
_KINDS = {
    "instances": "instance",
    "bootVolumes": "boot_volume",
    "volumes": "volume",
    "volumeAttachments": "volume_attachment",
}


def oracle_rehearsal_fake() -> Any:
    """A new ``FakeOci`` whose only subnet is :data:`NETWORK` (room for 250 nodes)."""
    from vcpsdk.testing.fakes import oracle as fake

    made = fake.FakeOci()
    made.tables["subnets"].items.clear()  # the rehearsal subnet replaces the default one
    made.subnet_id = made.add_subnet(NETWORK, name="vcp-rehearsal")
    return made


def oracle_backend_config(running: Any, key_file: Path) -> dict[str, Any]:
    """The ``oracle`` backends section that points the Oracle backend at a served fake OCI.

    Args:
        running: the ``RunningOci`` of ``running_fake_oci(oracle_rehearsal_fake())``.
        key_file: where its API key was written (``private_key_file``).

    Returns:
        The section: endpoint, the fake user's API key, short waits, and a catalog entry
        ``default`` on the rehearsal subnet.
    """
    from vcpsdk.testing.fakes import oracle as fake

    return {
        "user_ocid": fake.USER_ID,
        "fingerprint": running.fake.fingerprint,
        "private_key_file": str(key_file),
        "service_endpoint": running.service_endpoint,
        "max_interval_seconds": 0.05,
        "retry_base_sleep_seconds": 0.05,
        "retry_max_sleep_seconds": 0.5,
        "controller_address": CONTROLLER_ADDRESS,
        "vpn_catalog": {
            "default": {
                "oracle_tenancy_ocid": fake.TENANCY_ID,
                "oracle_compartment_id": fake.COMPARTMENT_ID,
                "oracle_subnet_id": running.fake.subnet_id,
                "oracle_region": fake.REGION,
                "oracle_availability_domain": fake.AVAILABILITY_DOMAIN,
                "private_network_ipmask": NETWORK,
                "oracle_default_image": fake.IMAGE_NAME,
            }
        },
    }


def start(port: int, state_dir: Path | None) -> FakeCloud:
    """The fake OCI on ``127.0.0.1:port``; its generated API key is written (0600) to
    ``state_dir`` (a temporary directory, removed on exit, by default)."""
    from vcpsdk.testing.fakes.oracle import running_fake_oci

    fake = oracle_rehearsal_fake()
    with ExitStack() as on_error:  # the temporary directory (and key) go if the fake fails
        if state_dir is None:
            state_dir = Path(on_error.enter_context(tempfile.TemporaryDirectory(prefix="fake-oci-")))
        key_file = fake.write_private_key(Path(state_dir) / KEY_FILE)
        running = on_error.enter_context(running_fake_oci(fake, port=port))
        stack = on_error.pop_all()  # started: closed by ``stop`` from now on

    def leftovers() -> list[dict[str, Any]]:
        with fake.lock:
            return [
                {"type": _KINDS[kind], "id": ocid, "state": fake.state(fake.tables[kind].items[ocid])}
                for kind, ocids in fake.leftovers().items()
                for ocid in ocids
            ]

    return FakeCloud(
        "oracle",
        running.service_endpoint,
        {"oracle": oracle_backend_config(running, key_file)},
        leftovers,
        stack.close,
    )
