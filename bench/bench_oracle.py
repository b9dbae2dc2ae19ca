#!/usr/bin/env python3
"""Benchmark of the Oracle Cloud backend against the fake OCI Core API (HTTP on 127.0.0.1).

For ``create_unit`` of 1, 10 and 100 nodes through the SDK and an in-process controller whose
oracle provider uses OracleBackend (the rehearsal-mode backends section of ``vcc fake-cloud
oracle``, its waiters polling at most every ``--poll`` seconds), prints the OCI requests the
fake received (by operation) and the wall time, then the ratio t(100)/t(1) (target < 10).
``--settle-reads N`` makes every lifecycle change show for N more reads, so the SDK's waiters
really wait.  Nothing connects anywhere but 127.0.0.1.

    python bench/bench_oracle.py [--sizes 1 10 100] [--concurrency 8] [--poll 0.05] [--settle-reads 0]
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cloud_bench import cloud_parser, summary  # beside this script

from vcpsdk.controller.rehearsal.oracle import KEY_FILE, oracle_backend_config, oracle_rehearsal_fake
from vcpsdk.testing import running_controller, write_test_public_key
from vcpsdk.testing.fakes.oracle import running_fake_oci
from vcpsdk.testing.network import loopback_only
from vcpsdk.testing.units import connect_sdk


def main() -> int | str:
    parser = cloud_parser(__doc__, [1, 10, 100])
    parser.add_argument("--concurrency", type=int, default=8, help="max_concurrent_creates (default 8)")
    parser.add_argument("--poll", type=float, default=0.05, help="the waiters' max_interval_seconds")
    parser.add_argument("--settle-reads", type=int, default=0, help="reads a transitional state stays")
    args = parser.parse_args()

    times: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as tmp, loopback_only() as violations:
        base = Path(tmp)
        key = write_test_public_key(base / "id.pub")
        fake = oracle_rehearsal_fake()
        fake.settle_reads = args.settle_reads
        with running_fake_oci(fake) as served:
            config = {
                **oracle_backend_config(served, fake.write_private_key(base / KEY_FILE)),
                "max_concurrent_creates": args.concurrency,
                "max_interval_seconds": args.poll,
            }
            with running_controller(base / "state", backends={"oracle": config}) as running:
                vcp = connect_sdk(running, base / "cfg", "bench")
                print(
                    f"OracleBackend on the fake OCI {served.service_endpoint}, max_concurrent_creates "
                    f"{args.concurrency}, settle_reads {args.settle_reads}"
                )
                print(f"{'nodes':>5}  {'OCI req':>7}  {'req/node':>8}  {'wall s':>7}  requests by operation")
                for nodes in args.sizes:
                    spec = vcp.get_spec("oracle", "small")
                    spec.set_ssh_pubkey(str(key))
                    spec.num_nodes = nodes
                    ug = vcp.create_ugroup(f"bench{nodes}")
                    before = len(fake.requests)
                    start = time.perf_counter()
                    unit = ug.create_unit("nodes", spec)
                    times[nodes] = time.perf_counter() - start
                    made = Counter(r["operation"] for r in fake.requests[before:])
                    assert len(unit.find_nodes()) == nodes
                    total = sum(made.values())
                    row = f"{nodes:>5}  {total:>7}  {total / nodes:>8.1f}  {times[nodes]:>7.2f}"
                    print(f"{row}  {summary(made)}")
                    ug.cleanup()
                    assert all(not ids for ids in fake.leftovers().values())
    if len(times) > 1:
        small, large = min(times), max(times)
        ratio = times[large] / times[small]
        print(f"t({large})/t({small}) = {ratio:.1f}  (target < 10: {'met' if ratio < 10 else 'NOT met'})")
    return f"non-loopback connections attempted: {violations}" if violations else 0


if __name__ == "__main__":
    sys.exit(main())  # a message (exit status 1) when anything left 127.0.0.0/8
