#!/usr/bin/env python3
"""Benchmark of the Sakura Cloud backend against the fake IaaS API 1.1 (HTTP on 127.0.0.1).

For ``create_unit`` of 1, 10 and 100 nodes through the SDK and an in-process controller
whose sakura provider uses SakuraBackend (the rehearsal-mode backends section of
``vcc fake-cloud sakura``), prints the requests the fake received (by method and resource,
wait polls included) and the wall time, then the same for the unit's cleanup, and the ratio
t(100)/t(1).  The fake's server sets TCP_NODELAY (no delayed-ACK stall) and answers each
request at once; disks migrate for ``--migrating-reads`` reads and power changes take
``--power-reads`` reads.  Nothing connects anywhere but 127.0.0.1.

    python bench/bench_sakura.py [--sizes 1 10 100] [--concurrency 8] [--poll-interval 0.01]
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cloud_bench import cloud_parser, summary  # beside this script

from vcpsdk.controller.rehearsal.sakura import sakura_backend_config, sakura_rehearsal_fake
from vcpsdk.testing import running_controller, write_test_public_key
from vcpsdk.testing.fakes.sakura import running_fake_sakura
from vcpsdk.testing.network import loopback_only
from vcpsdk.testing.units import connect_sdk


def kind(request: dict[str, Any]) -> str:
    """``METHOD resource[/sub]`` of one recorded request (ids left out)."""
    parts = request["path"].split("/api/cloud/1.1/", 1)[-1].split("/")
    named = [p for p in parts if not p.isdigit()]
    return f"{request['method']} {'/'.join(named)}"


def main() -> int | str:
    parser = cloud_parser(__doc__, [1, 10, 100])
    parser.add_argument("--concurrency", type=int, default=8, help="max_concurrent_creates (default 8)")
    parser.add_argument("--poll-interval", type=float, default=0.01, help="seconds between wait polls")
    parser.add_argument("--migrating-reads", type=int, default=1, help="reads a new disk stays migrating")
    parser.add_argument("--power-reads", type=int, default=1, help="reads a boot/shutdown takes")
    args = parser.parse_args()

    times: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as tmp, loopback_only() as violations:
        base = Path(tmp)
        key = write_test_public_key(base / "id.pub")
        fake = sakura_rehearsal_fake(migrating_reads=args.migrating_reads, power_reads=args.power_reads)
        with running_fake_sakura(fake) as api:
            config = {
                **sakura_backend_config(api.api_root),
                "max_concurrent_creates": args.concurrency,
                "poll_interval": args.poll_interval,
            }
            with running_controller(base / "state", backends={"sakura": config}) as running:
                vcp = connect_sdk(running, base / "cfg", "bench")
                print(
                    f"SakuraBackend on the fake API {api.base_url}, max_concurrent_creates {args.concurrency}"
                )
                header = f"{'nodes':>5}  {'step':>7}  {'API req':>7}  {'req/node':>8}  {'wall s':>7}"
                print(f"{header}  requests by kind")
                for nodes in args.sizes:
                    spec = vcp.get_spec("sakura", "small")
                    spec.set_ssh_pubkey(str(key))
                    spec.num_nodes = nodes
                    ug = vcp.create_ugroup(f"bench{nodes}")
                    for step in ("create", "cleanup"):
                        before = len(fake.requests)
                        start = time.perf_counter()
                        if step == "create":
                            unit = ug.create_unit("nodes", spec)
                        else:
                            ug.cleanup()
                        elapsed = time.perf_counter() - start
                        if step == "create":
                            times[nodes] = elapsed
                            assert len(unit.find_nodes()) == nodes
                        counts = Counter(kind(r) for r in fake.requests[before:])
                        total = sum(counts.values())
                        row = f"{nodes:>5}  {step:>7}  {total:>7}  {total / nodes:>8.1f}  {elapsed:>7.2f}"
                        print(f"{row}  {summary(counts)}")
                    assert all(not ids for ids in fake.leftovers().values()), fake.leftovers()
    per_node = ", ".join(f"{n}: {1000 * t / n:.1f}" for n, t in sorted(times.items()))
    print(f"create wall ms per node: {per_node}")
    return f"non-loopback connections attempted: {violations}" if violations else 0


if __name__ == "__main__":
    sys.exit(main())  # a message (exit status 1) when anything left 127.0.0.0/8
