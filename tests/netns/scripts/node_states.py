"""Run inside ``vcc sandbox run``: walk nodes through their states and record, after each
step, which addresses ``lo`` holds and whether each node answers ping and ssh.

Prints one JSON object ``{step: {"lo": [...], "ping": {ip: bool}, "ssh": {ip: bool}}}``
on stdout; ``argv[1]`` is the private key whose ``.pub`` the nodes authorize.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from vcpsdk.vcpsdk import VcpSDK

KEY = Path(sys.argv[1])
ADDRESSES = ["172.30.2.100", "172.30.2.101", "172.30.2.102"]
SSH = ["ssh", "-i", str(KEY), "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"]
SSH += ["-o", "BatchMode=yes", "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=5"]


def lo_addresses() -> list[str]:
    out = subprocess.run(
        ["ip", "-4", "-o", "addr", "show", "dev", "lo"], capture_output=True, text=True
    ).stdout
    return sorted(line.split()[3].split("/")[0] for line in out.splitlines())


def answers(command: list[str]) -> bool:
    return subprocess.run(command, capture_output=True, timeout=30).returncode == 0


def observe() -> dict[str, object]:
    return {
        "lo": lo_addresses(),
        "ping": {a: answers(["ping", "-c", "1", "-W", "1", a]) for a in ADDRESSES},
        "ssh": {a: answers([*SSH, f"vcp@{a}", "true"]) for a in ADDRESSES},
    }


def main() -> None:
    token = Path(os.environ["VCPSDK_SANDBOX_TOKEN_FILE"]).read_text().strip()
    sdk = VcpSDK(token)
    group = sdk.create_ugroup("netns")
    spec = sdk.get_spec("aws", "small")
    spec.ip_addresses = list(ADDRESSES)
    spec.set_ssh_pubkey(f"{KEY}.pub")
    steps: dict[str, object] = {"before": observe()}
    unit = group.create_unit("nodes", spec)
    steps["created"] = observe()
    # nodes reach each other, as vcp and as root through sudo
    steps["node_to_node"] = answers([*SSH, "vcp@172.30.2.100", "ping -c 1 -W 1 172.30.2.101 && sudo true"])
    node = {n.cloud_instance_address: n for n in unit.find_nodes()}
    for operation in ("power_off", "power_on", "suspend", "resume", "suspend", "stop", "start"):
        getattr(node["172.30.2.101"], operation)()
        unit.wait_nodes_applied()
        steps[operation if operation not in steps else f"{operation}_again"] = observe()
    unit.delete_nodes(ip_address="172.30.2.102")
    steps["deleted"] = observe()
    group.cleanup()
    steps["cleaned_up"] = observe()
    print(json.dumps(steps))


if __name__ == "__main__":
    main()
