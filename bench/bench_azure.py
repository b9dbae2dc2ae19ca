#!/usr/bin/env python3
"""Benchmark of the Azure backend against the fake ARM (HTTPS on 127.0.0.1).

For ``create_unit`` of 1, 10 and 100 nodes through the SDK and an in-process controller
whose azure provider uses AzureBackend (the rehearsal-mode backends section of
``vcc fake-cloud azure``), prints the requests the fake ARM received (by method and resource
type, operation polls included), the wall time and the CPU time of the controller's process
(the SDK and the controller), then the ratio t(100)/t(1) (target < 10).

The fake ARM runs in a process of its own, as ``vcc fake-cloud azure`` does in rehearsal
mode (the cloud's work is not the controller's); ``--in-process`` serves it from the
benchmark's process instead.  Every size is measured warm: one untimed create first pays what
only the first create of a controller pays (the token, the TLS connections), and each size
is run ``--runs`` times (the median counts).  ``--vm-create-seconds`` makes each VM's create
operation last that long in the fake (Azure takes a minute or more): the ratio then shows
the concurrency bound at work rather than the CPU cost of the requests.  Nothing connects
anywhere but 127.0.0.1.

    python bench/bench_azure.py [--sizes 1 10 100] [--runs 3] [--concurrency N]
                                [--vm-create-seconds S] [--in-process]
"""

from __future__ import annotations

import multiprocessing
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cloud_bench import cloud_parser, summary  # beside this script

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


class Arm:
    """What the benchmark asks of the fake ARM, wherever it runs: its backends section, the
    kinds of the requests since a count, its leftovers."""

    def __init__(self, ask: Any) -> None:
        self.ask = ask

    def section(self) -> dict[str, Any]:
        return dict(self.ask("section"))

    def requests(self) -> int:
        return int(self.ask("count"))

    def kinds(self, since: int) -> Counter[str]:
        return Counter(self.ask("kinds", since))

    def clean(self) -> bool:
        return bool(self.ask("clean"))


def _answer(fake: Any, section: dict[str, Any], what: str, *args: Any) -> Any:
    with fake.lock:
        requests = list(fake.requests)
    if what == "section":
        return section
    if what == "count":
        return len(requests)
    if what == "kinds":
        return [kind(r) for r in requests[args[0] :]]
    return all(not ids for ids in fake.leftovers().values())


def _serve(connection: Any, vm_create_seconds: float, cert_dir: str) -> None:
    """The fake ARM's own process: serve it and answer the benchmark's questions."""
    fake = azure_rehearsal_arm()
    fake.vm_create_seconds = vm_create_seconds
    with running_fake_arm(fake, cert_dir=Path(cert_dir)) as running:
        section = azure_backend_config(running)
        while True:
            question = connection.recv()
            if question[0] == "stop":
                return
            connection.send(_answer(fake, section, *question))


@contextmanager
def fake_arm(vm_create_seconds: float, in_process: bool, cert_dir: Path) -> Iterator[Arm]:
    """The fake ARM in a process of its own (or in this one)."""
    if in_process:
        fake = azure_rehearsal_arm()
        fake.vm_create_seconds = vm_create_seconds
        with running_fake_arm(fake, cert_dir=cert_dir) as running:
            section = azure_backend_config(running)
            yield Arm(lambda *question: _answer(fake, section, *question))
        return
    ours, theirs = multiprocessing.Pipe()
    process = multiprocessing.get_context("spawn").Process(
        target=_serve, args=(theirs, vm_create_seconds, str(cert_dir)), daemon=True
    )
    process.start()

    def ask(*question: Any) -> Any:
        ours.send(question)
        return ours.recv()

    try:
        yield Arm(ask)
    finally:
        ours.send(("stop",))
        process.join(timeout=30)


def main() -> int | str:
    parser = cloud_parser(__doc__, [1, 10, 100])
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
    parser.add_argument("--in-process", action="store_true", help="serve the fake ARM from this process")
    args = parser.parse_args()

    times: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as tmp, loopback_only() as violations:
        base = Path(tmp)
        key = write_test_public_key(base / "id.pub")
        with fake_arm(args.vm_create_seconds, args.in_process, base / "tls") as arm:
            config = arm.section()
            if args.concurrency is not None:
                config["max_concurrent_creates"] = args.concurrency
            with running_controller(base / "state", backends={"azure": config}) as running:
                vcp = connect_sdk(running, base / "cfg", "bench")

                def create(nodes: int, name: str) -> tuple[float, float, Counter[str]]:
                    spec = vcp.get_spec("azure", "small")
                    spec.set_ssh_pubkey(str(key))
                    spec.num_nodes = nodes
                    ug = vcp.create_ugroup(name)
                    before = arm.requests()
                    start, cpu = time.perf_counter(), time.process_time()
                    unit = ug.create_unit("nodes", spec)
                    took, cpu = time.perf_counter() - start, time.process_time() - cpu
                    made = arm.kinds(before)
                    assert len(unit.find_nodes()) == nodes
                    ug.cleanup()
                    assert arm.clean()
                    return took, cpu, made

                first, _, made = create(1, "warmup")
                bound = config.get("max_concurrent_creates", "default")
                where = "in this process" if args.in_process else "in its own process"
                print(
                    f"AzureBackend on the fake ARM ({where}), max_concurrent_creates {bound}, VM create "
                    f"{args.vm_create_seconds:g} s; first create (untimed warm-up: token, connections) "
                    f"{first:.2f} s: {summary(made)}"
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
