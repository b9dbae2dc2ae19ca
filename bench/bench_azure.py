#!/usr/bin/env python3
"""Benchmark of the Azure backend against the fake ARM (HTTPS on 127.0.0.1).

For ``create_unit`` of 1, 10 and 100 nodes through the SDK and an in-process controller
whose azure provider uses AzureBackend (the rehearsal-mode backends section of
``vcc fake-cloud azure``), prints the requests the fake ARM received (by method and resource
type, operation polls included), the wall time and the CPU time of this process (the SDK,
the controller and the fake ARM all run in it), then the ratio t(100)/t(1) (target < 10).

Every size is measured warm: one untimed create first pays what only the first create of a
controller pays (the token, the TLS connections), and each size is run ``--runs`` times (the
median counts).  ``--vm-create-seconds`` makes each VM's create operation last that long
in the fake (Azure takes a minute or more): the ratio then shows the concurrency bound at
work rather than the CPU cost of the requests.  Nothing connects anywhere but 127.0.0.1.

    python bench/bench_azure.py [--sizes 1 10 100] [--runs 3] [--concurrency N] [--vm-create-seconds S]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vcpsdk.controller.rehearsal.azure import azure_backend_config, azure_rehearsal_arm
from vcpsdk.testing import running_controller, write_test_public_key
from vcpsdk.testing.fakes.azure import running_fake_arm
from vcpsdk.testing.network import loopback_only
from vcpsdk.testing.units import connect_sdk


def kind(request: dict[str, Any]) -> str:
    """``METHOD resource-type`` of one recorded request (``.../providers/NS/TYPE/name[/...]``)."""
    parts = [p for p in request["path"].split("/") if p]
    if "providers" in parts:
        rest = parts[parts.index("providers") + 2 :]
        name = rest[0] if len(rest) < 3 else f"{rest[0]}/{rest[2]}"
    else:
        name = parts[-1] if parts else "/"
    return f"{request['method']} {name}"


def summary(counts: Counter[str]) -> str:
    return ", ".join(f"{name} {n}" for name, n in sorted(counts.items(), key=lambda kv: -kv[1]))


def main() -> int | str:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 100])
    parser.add_argument("--runs", type=int, default=3, help="creates per size; the median counts (default 3)")
    parser.add_argument(
        "--concurrency", type=int, default=None, help="max_concurrent_creates (default: the backend's)"
    )
    parser.add_argument(
        "--vm-create-seconds",
        type=float,
        default=0.0,
        help="how long a VM create lasts in the fake (default 0)",
    )
    args = parser.parse_args()

    times: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as tmp, loopback_only() as violations:
        base = Path(tmp)
        key = write_test_public_key(base / "id.pub")
        arm_state = azure_rehearsal_arm()
        arm_state.vm_create_seconds = args.vm_create_seconds
        with running_fake_arm(arm_state) as arm:
            config = azure_backend_config(arm)
            if args.concurrency is not None:
                config["max_concurrent_creates"] = args.concurrency
            with running_controller(base / "state", backends={"azure": config}) as running:
                vcp = connect_sdk(running, base / "cfg", "bench")

                def create(nodes: int, name: str) -> tuple[float, float, Counter[str]]:
                    spec = vcp.get_spec("azure", "small")
                    spec.set_ssh_pubkey(str(key))
                    spec.num_nodes = nodes
                    ug = vcp.create_ugroup(name)
                    before = len(arm.fake.requests)
                    start, cpu = time.perf_counter(), time.process_time()
                    unit = ug.create_unit("nodes", spec)
                    took, cpu = time.perf_counter() - start, time.process_time() - cpu
                    made = Counter(kind(r) for r in arm.fake.requests[before:])
                    assert len(unit.find_nodes()) == nodes
                    ug.cleanup()
                    assert all(not ids for ids in arm.fake.leftovers().values())
                    return took, cpu, made

                first, _, made = create(1, "warmup")
                bound = config.get("max_concurrent_creates", "default")
                print(
                    f"AzureBackend on the fake ARM {arm.base_url}, max_concurrent_creates {bound}, "
                    f"VM create {args.vm_create_seconds:g} s; first create (untimed warm-up: token, "
                    f"connections) {first:.2f} s: {summary(made)}"
                )
                header = f"{'nodes':>5}  {'ARM req':>7}  {'req/node':>8}  {'wall s (runs)':>22}  CPU s"
                print(f"{header}  requests by kind")
                for nodes in args.sizes:
                    runs = [create(nodes, f"bench{nodes}-{run}") for run in range(args.runs)]
                    times[nodes] = statistics.median(t for t, _, _ in runs)
                    cpu = statistics.median(c for _, c, _ in runs)
                    made = runs[-1][2]
                    total = sum(made.values())
                    walls = " ".join(f"{t:.2f}" for t, _, _ in runs)
                    row = f"{nodes:>5}  {total:>7}  {total / nodes:>8.1f}  {times[nodes]:>6.2f} ({walls:>13})"
                    print(f"{row}  {cpu:>5.2f}  {summary(made)}")
    if len(times) > 1:
        small, large = min(times), max(times)
        ratio = times[large] / times[small]
        verdict = "met" if ratio < 10 else "NOT met"
        print(f"t({large})/t({small}) = {ratio:.1f}  (medians; target < 10: {verdict})")
    return f"non-loopback connections attempted: {violations}" if violations else 0


if __name__ == "__main__":
    sys.exit(main())  # a message (exit status 1) when anything left 127.0.0.0/8
