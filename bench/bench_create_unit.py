#!/usr/bin/env python3
"""Benchmark of the sandbox with zero boot delay (issue 2 budgets).

Prints, for ``create_unit`` with 1, 100 and 1000 nodes: wall time, HTTP requests the
SDK sent, and the wake-up time (from the controller marking the unit RUNNING to
``create_unit`` returning); and ``df_nodes()`` time for 1000 nodes.

The controller runs as a separate ``vcc serve`` process on 127.0.0.1, like a user's.
Budgets: 1 node < 0.3 s, 100 nodes < 3 s, wake-up < 100 ms, df_nodes(1000) < 300 ms.

    python bench/bench_create_unit.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vcpsdk.testing import write_test_public_key
from vcpsdk.testing.serve import vcc_serve
from vcpsdk.vcpsdk import VcpSDK

#: a /16 for aws so that one unit can hold 1000 nodes (the default catalog has a /24)
CATALOG = "aws:\n  default:\n    private_network_ipmask: 127.40.0.0/16\n"


def running_at(unit_json: dict) -> float:
    """Controller time (epoch seconds) of the unit's last state change."""
    stamp = dt.datetime.fromisoformat(unit_json["mdate"].rstrip("Z")).replace(tzinfo=dt.UTC)
    return stamp.timestamp()


def measure(vcp: VcpSDK, key: Path, nodes: int, run: int) -> tuple[float, int, float]:
    ug = vcp.create_ugroup(f"bench-{nodes}-{run}")
    spec = vcp.get_spec("aws", "small")
    spec.set_ssh_pubkey(str(key))
    spec.num_nodes = nodes
    client = vcp._session.client
    sent = client.requests_sent
    start = time.perf_counter()
    unit = ug.create_unit("nodes", spec)
    returned = time.time()
    elapsed = time.perf_counter() - start
    requests = client.requests_sent - sent
    assert len(unit._unit.nodes) == nodes and unit._unit.state == "RUNNING"
    wake = returned - running_at(unit._unit.unit)
    if nodes < 1000:
        ug.cleanup()
    return elapsed, requests, wake


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs for 1 and 100 nodes")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        (tmp_path / "catalog.yml").write_text(CATALOG)
        with vcc_serve(tmp_path / "state", "--vpn-catalog", str(tmp_path / "catalog.yml")) as srv:
            token = srv.create_token("bench")
            vcp = VcpSDK(token, config_dir=str(srv.write_config(tmp_path / "cfg")))
            key = write_test_public_key(tmp_path / "bench.pub")
            print(f"{'nodes':>6} {'create_unit s (median)':>24} {'requests':>9} {'wake-up ms (median)':>20}")
            for nodes, repeat in ((1, args.repeat), (100, args.repeat), (1000, 1)):
                results = [measure(vcp, key, nodes, run) for run in range(repeat)]
                times = [r[0] for r in results]
                wakes = [r[2] * 1000 for r in results]
                print(
                    f"{nodes:>6} {statistics.median(times):>24.3f} {results[0][1]:>9d} "
                    f"{statistics.median(wakes):>20.1f}"
                )
            ug = vcp.get_ugroup("bench-1000-0")
            assert ug is not None
            timings = []
            for _ in range(args.repeat):
                start = time.perf_counter()
                frame = ug.df_nodes()
                timings.append(time.perf_counter() - start)
            assert len(frame.data) == 1000
            print(
                f"df_nodes() with 1000 nodes: median {statistics.median(timings) * 1000:.1f} ms "
                f"(min {min(timings) * 1000:.1f} ms)"
            )
            start = time.perf_counter()
            ug.cleanup()
            print(f"cleanup() of 1000 nodes: {time.perf_counter() - start:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
