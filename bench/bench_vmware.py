#!/usr/bin/env python3
"""Benchmark of the vSphere backend against govmomi's vCenter simulator (vcsim on 127.0.0.1).

For ``create_unit`` of 1, 10 and 50 nodes (clones of the template) through the SDK and an
in-process controller whose vmware provider uses VmwareBackend (the rehearsal-mode backends
section of ``vcc fake-cloud vmware``), prints the SOAP calls the backend sent (by vSphere
method; property reads are ``Fetch``/``RetrievePropertiesEx``) and the wall time, then the
same for the cleanup (power off + destroy) and the ratio t(50)/t(1).  Needs the simulator
(``scripts/build-vcsim.sh``).  Nothing connects anywhere but 127.0.0.1.

    python bench/bench_vmware.py [--sizes 1 10 50] [--concurrency 8]
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cloud_bench import cloud_parser, summary  # beside this script

from vcpsdk.controller.backends.vmware import VmwareBackend
from vcpsdk.controller.rehearsal.vmware import vmware_backend_config
from vcpsdk.testing import running_controller, write_test_public_key
from vcpsdk.testing.fakes.vmware import running_vcsim
from vcpsdk.testing.network import loopback_only
from vcpsdk.testing.units import connect_sdk


def main() -> int | str:
    parser = cloud_parser(__doc__, [1, 10, 50])
    parser.add_argument(
        "--concurrency", type=int, default=8, help="max_concurrent_creates of the backend (default 8)"
    )
    args = parser.parse_args()

    times: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as tmp, loopback_only() as violations:
        base = Path(tmp)
        key = write_test_public_key(base / "id.pub")
        with running_vcsim(base / "vcsim") as sim:
            config = {
                **vmware_backend_config(sim),
                "max_concurrent_creates": args.concurrency,
                "task_poll_interval": 0.01,
                "vpn_catalog": {
                    "default": {
                        **vmware_backend_config(sim)["vpn_catalog"]["default"],
                        "private_network_ipmask": "127.79.0.0/16",  # room for the largest size
                    }
                },
            }
            with running_controller(base / "state", backends={"vmware": config}) as running:
                backend = running.controller.backends["vmware"]
                assert isinstance(backend, VmwareBackend)
                vcp = connect_sdk(running, base / "cfg", "bench")
                print(f"VmwareBackend on vcsim {sim.url}, max_concurrent_creates {args.concurrency}")
                print(
                    f"{'nodes':>5}  {'step':>7}  {'SOAP':>5}  {'per node':>8}  {'wall s':>7}  calls by method"
                )
                for nodes in args.sizes:
                    spec = vcp.get_spec("vmware", "small")
                    spec.set_ssh_pubkey(str(key))
                    spec.num_nodes = nodes
                    ug = vcp.create_ugroup(f"bench{nodes}")
                    for step in ("create", "cleanup"):
                        before = Counter(backend.soap_calls)
                        start = time.perf_counter()
                        if step == "create":
                            unit = ug.create_unit("nodes", spec)
                            assert len(unit.find_nodes(node_state="RUNNING")) == nodes
                        else:
                            ug.cleanup()
                        elapsed = time.perf_counter() - start
                        if step == "create":
                            times[nodes] = elapsed
                        calls = Counter(backend.soap_calls)
                        calls.subtract(before)
                        calls = +calls
                        total = sum(calls.values())
                        row = f"{nodes:>5}  {step:>7}  {total:>5}  {total / nodes:>8.1f}  {elapsed:>7.2f}"
                        print(f"{row}  {summary(calls)}")
                    assert sim.leftovers() == [], sim.leftovers()
    if len(times) > 1:
        small, large = min(times), max(times)
        print(f"t({large})/t({small}) = {times[large] / times[small]:.1f}")
    return f"non-loopback connections attempted: {violations}" if violations else 0


if __name__ == "__main__":
    sys.exit(main())  # a message (exit status 1) when anything left 127.0.0.0/8
