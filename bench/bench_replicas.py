#!/usr/bin/env python3
"""Throughput and p99 latency of 1, 2 and 3 ``vcc serve`` replicas on one PostgreSQL (issue 17).

One run measures every replica count with the same load: ``--clients`` concurrent SDK
clients (real :class:`vcpsdk.vcpsdk.VcpSDK`, one user and token each, threads of this
process) behind a round-robin TCP balancer (:mod:`vcpsdk.testing.fleet`) for ``--seconds``
each, doing :class:`vcpsdk.testing.fleet.MixClient` rounds: create a UnitGroup, a unit of 2
nodes and one of 1 node, add 2 nodes, power a node off (and on), delete a node, clean up.

Two backends:

* ``sandbox`` — every provider on the sandbox, whose node endpoints run only on the replica
  holding the ``sandbox`` lease (the other replicas answer requests and hand the work over);
* ``aws`` — the AWS backend against the local stand-in ``vcc fake-cloud aws`` (rehearsal
  mode, docs/backends.md; needs ``vcpsdk[rehearsal]``), whose operations any replica runs.

Prints one table: operations per second (SDK calls that changed something and completed,
per second of load), HTTP requests, p50/p99 request latency, 5xx answers and failed SDK
calls.  Numbers only; nothing is asserted.

    python bench/bench_replicas.py [--seconds 30] [--clients 8] [--replicas 1,2,3]
                                   [--backends sandbox,aws] [--boot-delay 0]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vcpsdk.testing import write_test_public_key
from vcpsdk.testing.fleet import Fleet, MixClient
from vcpsdk.testing.postgres import PostgresServer, postgres_server
from vcpsdk.testing.rehearsal import fake_cloud

COLUMNS = ("backend", "replicas", "ops/s", "requests", "p50 ms", "p99 ms", "5xx", "failed")


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values``, nearest rank (0 for none)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


@contextmanager
def backend_args(backend: str, base: Path) -> Iterator[tuple[list[str], tuple[str, ...]]]:
    """``vcc serve`` arguments and client providers of ``backend`` (a stand-in runs meanwhile)."""
    if backend == "sandbox":
        yield [], ("aws", "azure", "oracle", "sakura")
        return
    with fake_cloud(backend, base / f"fake-{backend}") as cloud:
        yield ["--backends", str(cloud.backends_file)], (backend,)


def measure(
    server: PostgresServer, backend: str, replicas: int, args: argparse.Namespace, base: Path
) -> tuple[object, ...]:
    """One row: ``args.clients`` clients for ``args.seconds`` on ``replicas`` replicas."""
    url = server.create_database(f"bench_{backend}_{replicas}")
    key = write_test_public_key(base / "id.pub")
    run_dir = base / f"{backend}-{replicas}"
    with backend_args(backend, run_dir) as (extra, providers):
        with Fleet(run_dir, url, replicas, extra_args=extra, boot_delay=args.boot_delay) as vccs:
            config = vccs.write_config(run_dir / "cfg")
            tokens = vccs.create_tokens([f"user{i}" for i in range(args.clients)])
            clients = [MixClient(i, t, config, key, providers) for i, t in enumerate(tokens)]
            start = time.time()
            until = start + args.seconds
            with ThreadPoolExecutor(len(clients)) as pool:
                list(pool.map(lambda client: client.run(until), clients))
            elapsed = time.time() - start
            operations = sum(c.result.operations for c in clients)
            latencies = [x for c in clients for x in c.result.latencies]
            server_errors = sum(len(c.result.server_errors) for c in clients)
            failures = [f for c in clients for f in c.result.failures]
            for client in clients:
                try:
                    client.cleanup()
                except Exception as error:  # reported, the next row still runs
                    failures.append(f"cleanup: {error}")
    for failure in failures[:3]:
        print(f"  {backend} x{replicas}: {failure[:200]}", file=sys.stderr)
    return (
        backend,
        replicas,
        f"{operations / elapsed:.2f}",
        len(latencies),
        f"{statistics.median(latencies) * 1000:.0f}" if latencies else "-",
        f"{percentile(latencies, 0.99) * 1000:.0f}",
        server_errors,
        len(failures),
    )


def main() -> int:
    """Run the measurements and print the table."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="seconds of load per row (default 30)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent SDK clients (default 8)")
    parser.add_argument("--replicas", default="1,2,3", help="replica counts (default 1,2,3)")
    parser.add_argument("--backends", default="sandbox,aws", help="sandbox and/or aws (default both)")
    parser.add_argument("--boot-delay", type=float, default=0.0, help="sandbox node boot seconds (default 0)")
    args = parser.parse_args()
    counts = [int(n) for n in args.replicas.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp, postgres_server() as server:
        for backend in args.backends.split(","):
            for replicas in counts:
                rows.append(measure(server, backend, replicas, args, Path(tmp)))
                print(f"  done: {backend} x{replicas}", file=sys.stderr, flush=True)
    print(f"{args.clients} clients, {args.seconds:g} s per row, one PostgreSQL")
    widths = [max(len(str(v)) for v in column) for column in zip(COLUMNS, *rows, strict=True)]
    for row in (COLUMNS, *rows):
        print("  ".join(str(v).rjust(w) for v, w in zip(row, widths, strict=True)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
