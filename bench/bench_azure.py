#!/usr/bin/env python3
"""Benchmark of the Azure backend against the fake ARM (HTTPS on 127.0.0.1).

For ``create_unit`` of 1, 10 and 100 nodes through the SDK and an in-process controller
whose azure provider uses AzureBackend (the rehearsal-mode backends section of
``vcc fake-cloud azure``), prints the requests the fake ARM received (by method and resource
type, token and operation polls included) and the wall time, then the ratio t(100)/t(1)
(target < 10).  Nothing connects anywhere but 127.0.0.1.

    python bench/bench_azure.py [--sizes 1 10 100] [--concurrency 8]
"""

from __future__ import annotations

import argparse
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
    parser.add_argument(
        "--concurrency", type=int, default=8, help="max_concurrent_creates of the backend (default 8)"
    )
    args = parser.parse_args()

    times: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as tmp, loopback_only() as violations:
        base = Path(tmp)
        key = write_test_public_key(base / "id.pub")
        with running_fake_arm(azure_rehearsal_arm()) as arm:
            config = {**azure_backend_config(arm), "max_concurrent_creates": args.concurrency}
            with running_controller(base / "state", backends={"azure": config}) as running:
                vcp = connect_sdk(running, base / "cfg", "bench")
                print(
                    f"AzureBackend on the fake ARM {arm.base_url}, max_concurrent_creates {args.concurrency}"
                )
                print(f"{'nodes':>5}  {'ARM req':>7}  {'req/node':>8}  {'wall s':>7}  requests by kind")
                for nodes in args.sizes:
                    spec = vcp.get_spec("azure", "small")
                    spec.set_ssh_pubkey(str(key))
                    spec.num_nodes = nodes
                    ug = vcp.create_ugroup(f"bench{nodes}")
                    before = len(arm.fake.requests)
                    start = time.perf_counter()
                    unit = ug.create_unit("nodes", spec)
                    times[nodes] = time.perf_counter() - start
                    created = Counter(kind(r) for r in arm.fake.requests[before:])
                    assert len(unit.find_nodes()) == nodes
                    total = sum(created.values())
                    row = f"{nodes:>5}  {total:>7}  {total / nodes:>8.1f}  {times[nodes]:>7.2f}"
                    print(f"{row}  {summary(created)}")
                    ug.cleanup()
                    assert all(not ids for ids in arm.fake.leftovers().values())
    if len(times) > 1:
        small, large = min(times), max(times)
        ratio = times[large] / times[small]
        print(f"t({large})/t({small}) = {ratio:.1f}  (target < 10: {'met' if ratio < 10 else 'NOT met'})")
    return f"non-loopback connections attempted: {violations}" if violations else 0


if __name__ == "__main__":
    sys.exit(main())  # a message (exit status 1) when anything left 127.0.0.0/8
