#!/usr/bin/env python3
"""Benchmark of SSH-able sandbox nodes (issue 3 budgets).

Prints: time for 1000 nodes to become SSH-reachable (from the ``create_unit`` call
until every node's endpoint answers with an SSH banner), the controller's RSS with
1000 idle nodes, and the ``ssh_exec`` round trip (median; cold first call too).
Budgets: 1000 nodes reachable < 20 s, RSS < 300 MB, ssh_exec median < 60 ms.

The controller runs as a separate ``vcc serve`` process on 127.0.0.1.

    python bench/bench_sandbox_ssh.py [--nodes 1000] [--calls 50]
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vcpsdk.testing.serve import vcc_serve
from vcpsdk.testing.units import connect_sdk

CATALOG = "aws:\n  default:\n    private_network_ipmask: 127.40.0.0/16\n"


def banner(address: str, port: int) -> bool:
    """True when ``address:port`` accepts a connection and speaks SSH."""
    try:
        with socket.create_connection((address, port), timeout=2) as sock:
            return sock.recv(8).startswith(b"SSH-2.0")
    except OSError:
        return False


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--calls", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        (tmp_path / "catalog.yml").write_text(CATALOG)
        key = tmp_path / "id_bench"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
        with vcc_serve(tmp_path / "state", "--vpn-catalog", str(tmp_path / "catalog.yml")) as srv:
            vcp = connect_sdk(srv, tmp_path / "c", "bench")
            print(f"controller RSS before nodes: {rss_mb(srv.process.pid):.0f} MB")
            ug = vcp.create_ugroup("ssh-bench")
            spec = vcp.get_spec("aws", "small")
            spec.set_ssh_pubkey(str(key) + ".pub")
            spec.num_nodes = args.nodes
            start = time.perf_counter()
            unit = ug.create_unit("nodes", spec)
            created = time.perf_counter() - start
            nodes = unit.find_nodes()
            pending = {(n.cloud_instance_address, n.ssh_port) for n in nodes}
            while pending:
                pending = {target for target in pending if not banner(*target)}
            reachable = time.perf_counter() - start
            print(
                f"{len(nodes)} nodes: create_unit returned after {created:.2f} s, "
                f"all SSH-reachable after {reachable:.2f} s"
            )
            time.sleep(1)
            print(f"controller RSS with {len(nodes)} idle nodes: {rss_mb(srv.process.pid):.0f} MB")

            node = nodes[0]
            start = time.perf_counter()
            node.ssh_exec("true", private_key_path=str(key))
            cold = time.perf_counter() - start
            timings = []
            for _ in range(args.calls):
                start = time.perf_counter()
                out, _ = node.ssh_exec("echo ok", private_key_path=str(key))
                timings.append(time.perf_counter() - start)
                assert out == "ok\n"
            print(
                f"ssh_exec round trip: median {statistics.median(timings) * 1000:.1f} ms, "
                f"p90 {sorted(timings)[int(len(timings) * 0.9)] * 1000:.1f} ms "
                f"(first call, new connection: {cold * 1000:.1f} ms)"
            )
            subprocess.run(
                [
                    "ssh",
                    "-o",
                    f"ControlPath={_control_path()}",
                    "-O",
                    "exit",
                    "-p",
                    str(node.ssh_port),
                    f"root@{node.cloud_instance_address}",
                ],
                capture_output=True,
            )
            start = time.perf_counter()
            ug.cleanup()
            print(f"cleanup() of {len(nodes)} nodes: {time.perf_counter() - start:.2f} s")
    return 0


def _control_path() -> str:
    from vcpsdk import remote

    return str(remote._control_dir() / "%C")


if __name__ == "__main__":
    sys.exit(main())
