#!/usr/bin/env python3
"""The VCP SDK tutorial (seed notebook "101 VC node start and delete") on the sandbox.

Runs with zero configuration: ``VcpSDK()`` starts (or reuses) a local sandbox
controller on 127.0.0.1.  Steps: create UnitGroup ``handson101``, create an ``aws``
unit, show the DataFrames, scale out to 2 nodes, scale in by IP address, add an
``azure`` unit, and clean everything up.

    python examples/sandbox_tutorial.py
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from vcpsdk import embedded
from vcpsdk.vcpsdk import VcpSDK

UGROUP = "handson101"


def show(title: str, frame: object) -> None:
    """Print a DataFrame (or the Styler's frame) under a heading, as Jupyter would show it."""
    print(f"\n## {title}")
    data = getattr(frame, "data", frame)
    print(data.to_string() if hasattr(data, "to_string") else data)


def on_node(node: object, command: str, key: Path) -> None:
    """Run ``command`` on a node over SSH and print it like a notebook's ``!ssh`` cell."""
    print(f"$ ssh -i {key} root@{node.cloud_instance_address} {command}")  # type: ignore[attr-defined]
    out, err = node.ssh_exec(command, private_key_path=str(key))  # type: ignore[attr-defined]
    print(out + err, end="")


def tutorial_key_pair() -> Path:
    """An SSH key pair for the nodes, kept next to the sandbox state; returns the .pub path."""
    directory = embedded.data_dir() / "tutorial"
    directory.mkdir(parents=True, exist_ok=True)
    private_path, public_path = directory / "id_ed25519", directory / "id_ed25519.pub"
    if not public_path.exists():
        key = Ed25519PrivateKey.generate()
        fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.OpenSSH,
                    serialization.NoEncryption(),
                )
            )
        public = key.public_key().public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        )
        public_path.write_bytes(public + b" tutorial@vcpsdk\n")
    return public_path


def main() -> int:
    """Run the tutorial; returns the process exit code."""
    logging.basicConfig(format="%(asctime)s - %(levelname)s - %(message)s", level=logging.INFO)

    print("# VCP SDK tutorial on the local sandbox")
    vcp = VcpSDK()  # no token, no config: the embedded sandbox on 127.0.0.1
    leftover = vcp.get_ugroup(UGROUP)
    if leftover is not None:
        print(f"(cleaning up {UGROUP} left by an earlier run)")
        leftover.cleanup()

    show("UnitGroups", vcp.df_ugroups())
    vcp.version()

    unit_group = vcp.create_ugroup(UGROUP)
    print(unit_group)
    show("UnitGroups", vcp.df_ugroups())
    show("flavors of aws", vcp.df_flavors("aws"))

    spec = vcp.get_spec("aws", "small")
    spec.volume_size = 15
    spec.set_ssh_pubkey(str(tutorial_key_pair()))
    print(spec)

    unit = unit_group.create_unit("aws-server", spec)
    show("units", unit_group.df_units())
    show("nodes", unit_group.df_nodes())

    print("\n# log into the node")
    private_key = tutorial_key_pair().with_suffix("")
    [node] = unit.find_nodes()
    on_node(node, "uname -a", private_key)
    on_node(node, "df -h . | tail -1", private_key)

    print("\n# scale out: add one node")
    unit.add_nodes()
    show("nodes of aws-server", unit.df_nodes())
    addresses = unit.find_ip_addresses(node_state="RUNNING")
    print("addresses:", addresses)

    print(f"\n# scale in: delete the node at {addresses[-1]}")
    unit.delete_nodes(ip_address=addresses[-1])
    show("nodes of aws-server", unit.df_nodes())

    print("\n# another cloud: an azure unit")
    spec_azure = vcp.get_spec("azure", "medium")
    spec_azure.set_ssh_pubkey(str(tutorial_key_pair()))
    unit_group.create_unit("azure-server", spec_azure)
    show("units", unit_group.df_units())
    show("nodes", unit_group.df_nodes())
    for each in unit_group.find_units():
        print(each.name, each.find_ip_addresses(node_state="RUNNING"))

    print("\n# ping the azure node from the aws node")
    [azure_address] = unit_group.find_ip_addresses(unit_name="azure-server")
    on_node(node, f"ping -c 3 {azure_address}", private_key)

    print("\n# cleanup")
    unit_group.cleanup()
    show("UnitGroups", vcp.df_ugroups())
    print(
        f"\nThe sandbox controller keeps running for your notebooks "
        f"(state in {embedded.data_dir()}); stop it with: vcc sandbox stop"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
