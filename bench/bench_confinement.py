#!/usr/bin/env python3
"""What confining sandbox nodes with bubblewrap costs per command (issue 14).

Prints, side by side for a confined node (bwrap) and an unconfined one (plain
subprocess): the median of ``ssh_exec("echo ok")`` (shared SSH connection, so it is
the per-command cost), of one ``sftp`` session (``ls``, new connection), and the
bare spawn time of ``sh -c true`` with and without the bwrap wrapper.

    python bench/bench_confinement.py [--calls 30]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vcpsdk.controller.backends.sandbox.confine import Confinement, NodeView
from vcpsdk.testing import running_controller
from vcpsdk.testing.keys import make_ssh_keypair, public_key_of
from vcpsdk.testing.units import connect_sdk, create_running_unit

OPTIONS = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes"]


def median_ms(action: Callable[[], object], calls: int) -> float:
    """Median wall time of ``action`` in milliseconds (one warm-up call first)."""
    action()
    timings = []
    for _ in range(calls):
        start = time.perf_counter()
        action()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings) * 1000


def node_timings(tmp: Path, label: str, bwrap: str, calls: int) -> tuple[float, float, bool]:
    """(ssh_exec median ms, sftp session median ms, confined?) on a controller with ``bwrap``."""
    with running_controller(tmp / f"state-{label}", sandbox_bwrap=bwrap) as controller:
        confined = controller.controller.backends["sandbox"].confinement.confined  # type: ignore[attr-defined]
        key = make_ssh_keypair(tmp)
        sdk = connect_sdk(controller, tmp / f"cfg-{label}", "bench")
        _, _, [node] = create_running_unit(sdk, public_key_of(key), "bench", "n")
        exec_ms = median_ms(lambda: node.ssh_exec("echo ok", private_key_path=str(key)), calls)
        sftp = ["sftp", "-P", str(node.ssh_port), *OPTIONS, "-i", str(key), "-b", "-"]
        target = f"root@{node.cloud_instance_address}"
        sftp_ms = median_ms(
            lambda: subprocess.run([*sftp, target], input=b"ls\n", capture_output=True, check=True), calls
        )
        return exec_ms, sftp_ms, confined


def spawn_timings(tmp: Path, calls: int) -> tuple[float, float]:
    """(plain ``sh -c true`` ms, the same inside a node view ms)."""
    confinement = Confinement()
    if not confinement.probe():
        return median_ms(lambda: subprocess.run(["sh", "-c", "true"], check=True), calls), float("nan")
    for name in ("home", "tmp"):
        (tmp / name).mkdir(exist_ok=True)
    (tmp / "hostname").write_text("bench\n")
    # a root controller's sessions drop to a host uid of their own (as a node's would)
    view = NodeView("bench", tmp / "home", tmp / "tmp", tmp / "hostname", host_uid=200001)

    def confined() -> None:
        subprocess.run(confinement.argv(view, ["sh", "-c", "true"]), check=True)

    plain = median_ms(lambda: subprocess.run(["sh", "-c", "true"], check=True), calls)
    return plain, median_ms(confined, calls)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        tmp = Path(directory)
        plain_spawn, bwrap_spawn = spawn_timings(tmp, args.calls)
        confined = node_timings(tmp, "confined", "bwrap", args.calls)
        unconfined = node_timings(tmp, "plain", "/nonexistent/bwrap", args.calls)
    if not confined[2]:
        print("bubblewrap cannot confine on this host: run scripts/setup.sh (bubblewrap)")
    print(f"{'per command':<34}{'confined (bwrap)':>18}{'plain':>12}{'overhead':>12}")
    rows = [
        ("spawn sh -c true", bwrap_spawn, plain_spawn),
        ("ssh_exec('echo ok'), shared conn", confined[0], unconfined[0]),
        ("sftp session (ls), new conn", confined[1], unconfined[1]),
    ]
    for label, with_bwrap, plain in rows:
        print(f"{label:<34}{with_bwrap:>15.1f} ms{plain:>9.1f} ms{with_bwrap - plain:>+9.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
