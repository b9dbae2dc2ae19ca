#!/usr/bin/env python3
"""Load benchmark of a shared controller (issue 14, item 6).

20 concurrent SDK clients (real :class:`vcpsdk.vcpsdk.VcpSDK`, one user and token each,
each in its own process) run create/scale/cleanup loops against one ``vcc serve`` on
SQLite for ``--seconds``: create a UnitGroup, a node unit (2 nodes), a disk unit (2
disks), add a node, then clean up.  Every HTTP call the SDK sends is timed and filed
under its kind (``POST vcs``, ``PUT unit``...).  Prints p50/p99 per call kind (write
calls first), the errors, the controller's memory (RSS, peak and at the end) and its CPU
seconds per call (user + system time of the ``vcc serve`` process over all calls: less
noisy than wall-clock times on a shared machine).  ``--profile`` runs the controller under
yappi (``bench/profiled_vcc.py``) and adds the CPU milliseconds per call of each service
use case (slower: compare profiles only with profiles).
Target: write calls p99 < 250 ms and no errors.

    python bench/bench_load.py [--clients 20] [--seconds 60] [--profile]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import re
import signal
import statistics
import sys
import tempfile
import threading
import time
import traceback
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vcpsdk.controller.runtime import issue_token
from vcpsdk.controller.settings import ControllerSettings
from vcpsdk.core.polling import poll
from vcpsdk.testing import serve, write_test_public_key
from vcpsdk.testing.serve import vcc_serve

WRITES = ("POST", "PUT", "PATCH", "DELETE")
#: where ``--profile`` leaves yappi's whole table (and the callees of what it reports)
PROFILE_TABLE = Path(tempfile.gettempdir()) / "bench_load_profile.txt"
#: what ``--profile`` reports: the use cases the SDK calls, the request plumbing, the worker
PROFILED = (
    "Service.create_vc",
    "Service.add_unit",
    "Service.add_nodes",
    "Service.delete_vc",
    "Service.get_vc",
    "Service.get_unit",
    "Service.list_vcs",
    "authenticate",
    "json_body",
    "Worker._execute",
    "Worker._start_ready_operations",
)
#: a /16 for aws and its disks so that 20 users never run out of addresses
CATALOG = "aws:\n  default:\n    private_network_ipmask: 127.40.0.0/16\n"


def call_kind(method: str, url: str) -> str:
    """``METHOD what`` of one SDK request (``PUT unit`` = add nodes, ``PATCH node``...)."""
    path = url.split("?", 1)[0]
    parts = [p for p in path.split("/vcs", 1)[-1].split("/") if p] if "/vcs" in path else None
    if parts is None:
        return f"{method} {path.rstrip('/').rsplit('/', 1)[-1] or '/'}"
    names = ("vcs", "vc", "unit", "node", "node-op")
    return f"{method} {names[min(len(parts), len(names) - 1)]}"


def client(index: int, token: str, config_dir: str, key: str, until: float, queue: Any) -> None:
    """One user's create/scale/cleanup loop; puts ``(timings, errors, loops)`` on ``queue``."""
    os.environ["VCPSDK_PROGRESS"] = "0"  # 20 clients' progress lines would only cost CPU here
    from vcpsdk.vcpsdk import VcpSDK

    timings: dict[str, list[float]] = defaultdict(list)
    errors: list[str] = []
    loops = 0
    try:
        vcp = VcpSDK(token, config_dir=config_dir)
    except Exception as e:
        queue.put((dict(timings), [f"login: {e}"], 0))
        return
    session = vcp._session.client.session
    send = session.request

    def timed(method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        response = send(method, url, *args, **kwargs)
        timings[call_kind(method, url)].append(time.perf_counter() - start)
        if response.status_code >= 500:
            errors.append(f"{method} {url}: HTTP {response.status_code} {response.text[:200]}")
        return response

    session.request = timed  # type: ignore[method-assign,assignment]
    while time.time() < until:
        try:
            ug = vcp.create_ugroup(f"load-{index}-{loops}")
            spec = vcp.get_spec("aws", "small")
            spec.set_ssh_pubkey(key)
            spec.num_nodes = 2
            unit = ug.create_unit("nodes", spec)
            unit.add_nodes(1)
            disks_ug = vcp.create_ugroup(f"load-{index}-{loops}-d", ugroup_type="storage")
            disk_spec = vcp.get_spec("aws_disk", "small")
            disk_spec.num_disks = 2
            disks_ug.create_unit("disks", disk_spec)
            ug.cleanup()
            disks_ug.cleanup()
            loops += 1
        except Exception as e:
            errors.append(f"{type(e).__name__}: {str(e)[:300]}")
            traceback.print_exc(limit=2)
    queue.put((dict(timings), errors, loops))


def rss_kib(pid: int) -> int:
    """Resident memory of process ``pid`` in KiB (0 once it is gone)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    found = re.search(r"VmRSS:\s+(\d+)", text)
    return int(found.group(1)) if found else 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds process ``pid`` has used so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values``, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--profile", action="store_true", help="run the controller under yappi")
    args = parser.parse_args()
    profile: dict[str, list[float]] = {}
    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        (base / "catalog.yml").write_text(CATALOG)
        key = str(write_test_public_key(base / "id.pub"))
        env: dict[str, str] = {}
        if args.profile:
            serve.VCC = [sys.executable, str(Path(__file__).with_name("profiled_vcc.py"))]
            env = {"VCC_PROFILE_OUT": str(base / "profile.json"), "VCC_PROFILE_FUNCS": ",".join(PROFILED)}
        with vcc_serve(base / "state", "--vpn-catalog", str(base / "catalog.yml"), env=env) as served:
            config_dir = str(served.write_config(base / "cfg"))
            settings = ControllerSettings(state_dir=served.state_dir)
            tokens = [issue_token(settings, f"user{i}") for i in range(args.clients)]
            peak = rss_kib(served.process.pid)
            stop = threading.Event()

            def sample() -> None:
                nonlocal peak
                while not stop.wait(0.2):
                    peak = max(peak, rss_kib(served.process.pid))

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            cpu_start = cpu_seconds(served.process.pid)
            queue: Any = mp.get_context("fork").Queue()
            until = time.time() + args.seconds
            procs = [
                mp.get_context("fork").Process(target=client, args=(i, t, config_dir, key, until, queue))
                for i, t in enumerate(tokens)
            ]
            for p in procs:
                p.start()
            results = [queue.get(timeout=args.seconds + 600) for _ in procs]
            for p in procs:
                p.join()
            cpu = cpu_seconds(served.process.pid) - cpu_start
            if args.profile:
                served.process.send_signal(signal.SIGUSR1)
                output = base / "profile.json"
                poll(output.exists, bool, timeout=300, interval=0.5)
                profile = json.loads(output.read_text())
                (base / "profile.txt").replace(PROFILE_TABLE)
            stop.set()
            sampler.join()
            end_rss = rss_kib(served.process.pid)
    timings: dict[str, list[float]] = defaultdict(list)
    errors: list[str] = []
    loops = 0
    for t, e, n in results:
        for k, v in t.items():
            timings[k].extend(v)
        errors.extend(e)
        loops += n
    print(f"{args.clients} clients, {args.seconds:.0f} s, {loops} create/scale/cleanup loops")
    load_end = os.getloadavg()[0]
    print(f"machine load (1 min): {load_start:.1f} at start, {load_end:.1f} at end, {os.cpu_count()} CPUs")
    print(f"{'call':<16} {'count':>7} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    writes: list[float] = []
    for name in sorted(timings, key=lambda k: (k.split()[0] not in WRITES, k)):
        values = timings[name]
        if name.split()[0] in WRITES:
            writes.extend(values)
        print(
            f"{name:<16} {len(values):>7} {statistics.median(values) * 1000:>8.1f} "
            f"{percentile(values, 0.99) * 1000:>8.1f} {max(values) * 1000:>8.1f}"
        )
    if writes:
        print(
            f"{'all writes':<16} {len(writes):>7} {statistics.median(writes) * 1000:>8.1f} "
            f"{percentile(writes, 0.99) * 1000:>8.1f} {max(writes) * 1000:>8.1f}"
        )
    print(f"errors: {len(errors)}")
    for line in errors[:10]:
        print(f"  {line}")
    print(f"controller RSS: peak {peak / 1024:.0f} MiB, end {end_rss / 1024:.0f} MiB")
    calls = sum(len(v) for v in timings.values())
    print(f"controller CPU: {cpu:.1f} s, {cpu * 1000 / max(1, calls):.2f} ms per call ({calls} calls)")
    if profile:
        print(f"profile (yappi, CPU ms; full table in {PROFILE_TABLE}):")
        print(f"  {'function':<34} {'calls':>7} {'ms/call':>8} {'total s':>8}")
        for name, (count, seconds) in sorted(profile.items(), key=lambda kv: -kv[1][1]):
            print(f"  {name:<34} {count:>7.0f} {seconds * 1000 / max(1, count):>8.2f} {seconds:>8.2f}")
    target = bool(writes) and percentile(writes, 0.99) < 0.25 and not errors
    print(f"target (write p99 < 250 ms, no errors): {'met' if target else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
