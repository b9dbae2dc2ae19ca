#!/usr/bin/env python3
"""Benchmark of the AWS backend against EC2 on moto (server mode, 127.0.0.1).

For ``create_unit`` of 1, 10 and 100 nodes through the SDK and an in-process controller
whose aws provider uses AwsBackend, prints the requests sent to EC2 (HTTP requests,
retries included, by operation) and the wall time; then the same for ``cleanup()``.

The backend keeps its operator defaults (client-side limit of 20 requests/s, adaptive
retries) except the polling interval, which is 0.1 s instead of 5 s because moto starts
instances at once.  Nothing connects anywhere but 127.0.0.1.

    python bench/bench_aws.py [--rps 20] [--sizes 1 10 100]
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cloud_bench import cloud_parser, summary  # beside this script

from vcpsdk.testing import running_controller, write_test_public_key
from vcpsdk.testing.fakes.aws import backend_config, ec2_client, make_network, moto_endpoint
from vcpsdk.testing.network import loopback_only
from vcpsdk.testing.units import connect_sdk


def main() -> int:
    parser = cloud_parser(__doc__, [1, 10, 100])
    parser.add_argument(
        "--rps", type=float, default=20.0, help="max_requests_per_second of the backend (default 20)"
    )
    args = parser.parse_args()

    endpoint = moto_endpoint()
    entry = make_network(ec2_client(endpoint))
    config = backend_config(endpoint, entry, waiter_delay=0.1, max_requests_per_second=args.rps)
    with tempfile.TemporaryDirectory() as tmp, loopback_only() as violations:
        base = Path(tmp)
        key = write_test_public_key(base / "id.pub")
        with running_controller(base / "state", backends={"aws": config}) as running:
            backend = running.controller.backends["aws"]
            vcp = connect_sdk(running, base / "cfg", "bench")
            print(f"AwsBackend on moto {endpoint}, max_requests_per_second={args.rps:g}")
            print(
                f"{'nodes':>5}  {'EC2 req':>7}  {'wall s':>7}  {'cleanup req':>11}  "
                f"{'cleanup s':>9}  create_unit requests by operation"
            )
            for nodes in args.sizes:
                spec = vcp.get_spec("aws", "small")
                spec.set_ssh_pubkey(str(key))
                spec.num_nodes = nodes
                ug = vcp.create_ugroup(f"bench{nodes}")
                vcid = ug.vcid
                before = Counter(backend.requests)
                start = time.perf_counter()
                unit = ug.create_unit("nodes", spec)
                elapsed = time.perf_counter() - start
                created = Counter(backend.requests)
                created.subtract(before)
                created = +created
                assert len(unit.find_nodes()) == nodes
                start = time.perf_counter()
                ug.cleanup()
                cleanup_time = time.perf_counter() - start
                deleted = Counter(backend.requests)
                deleted.subtract(before)
                deleted.subtract(created)
                deleted = +deleted
                assert backend.find_tagged(vcid) == []
                print(
                    f"{nodes:>5}  {sum(created.values()):>7}  {elapsed:>7.2f}  "
                    f"{sum(deleted.values()):>11}  {cleanup_time:>9.2f}  {summary(created)}"
                )
                print(f"{'':>5}  cleanup: {summary(deleted)}")
    if violations:
        print(f"non-loopback connections attempted: {violations}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
