#!/usr/bin/env python3
"""Import time of the SDK next to ``import pandas`` alone, measured in the same run.

Each import runs in a fresh interpreter (``python -c 'import X'``), alternating between the
two so that a busy machine slows both alike; the script prints, for each, the median wall time
of ``--repeat`` runs minus the median time of an interpreter that imports nothing, then the
ratio.  Target: importing the SDK costs less than importing pandas alone.

    python bench/bench_import.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

SUBJECTS = {
    "nothing": "pass",
    "vcpsdk.vcpsdk": "import vcpsdk.vcpsdk",
    "pandas": "import pandas",
}


def run_once(code: str) -> float:
    """Seconds a fresh interpreter takes to run ``code``."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="runs of each import (default 7)")
    repeat = parser.parse_args().repeat
    for code in SUBJECTS.values():  # warm the file cache and the bytecode caches
        run_once(code)
    times: dict[str, list[float]] = {name: [] for name in SUBJECTS}
    for _ in range(repeat):
        for name, code in SUBJECTS.items():
            times[name].append(run_once(code))
    base = statistics.median(times["nothing"])
    cost = {name: statistics.median(times[name]) - base for name in SUBJECTS if name != "nothing"}
    print(f"python {sys.version.split()[0]}, {repeat} runs each, median minus an empty interpreter")
    print(f"(empty interpreter: {base * 1000:.0f} ms)")
    for name, seconds in cost.items():
        print(f"import {name:<15} {seconds * 1000:7.0f} ms")
    ratio = cost["vcpsdk.vcpsdk"] / cost["pandas"]
    verdict = "less than" if ratio < 1 else "NOT less than"
    print(f"ratio vcpsdk.vcpsdk / pandas: {ratio:.2f} ({verdict} importing pandas alone)")


if __name__ == "__main__":
    main()
