#!/usr/bin/env python3
"""``vcc`` under yappi (CPU clock, every thread): ``bench_load.py --profile`` runs the
controller with this.  On SIGUSR1 (sent once the clients are done) the CPU seconds of the
functions named in ``VCC_PROFILE_FUNCS`` are written as JSON to ``VCC_PROFILE_OUT``
(``{name: [calls, inclusive CPU seconds]}``), and the full table to ``<out>.txt``.
yappi is not a dependency of vcpsdk: ``pip install yappi`` first.

    VCC_PROFILE_OUT=p.json python bench/profiled_vcc.py serve ...
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

import yappi  # type: ignore[import-untyped]  # not a dependency: pip install yappi

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vcpsdk.controller.cli import main


def _dump(*_args: object) -> None:
    yappi.stop()
    out = Path(os.environ["VCC_PROFILE_OUT"])
    stats = yappi.get_func_stats()
    wanted = set(filter(None, os.environ.get("VCC_PROFILE_FUNCS", "").split(",")))
    found: dict[str, list[float]] = {}
    for stat in stats:
        key = f"{Path(stat.module).stem}.{stat.name}"
        if key in wanted or stat.name in wanted:
            calls, seconds = found.get(key, [0, 0.0])
            found[key] = [calls + stat.ncall, seconds + stat.ttot]
    with out.with_suffix(".txt").open("w") as f:
        for stat in stats:  # where the reported functions spend their time
            if f"{Path(stat.module).stem}.{stat.name}" in wanted or stat.name in wanted:
                f.write(f"{stat.name}: {stat.ttot:.3f} s in {stat.ncall} calls; callees by CPU:\n")
                for child in sorted(stat.children, key=lambda c: -c.ttot)[:12]:
                    f.write(f"    {child.ttot:8.3f} s {child.ncall:7d}  {child.full_name[-100:]}\n")
        stats.sort("ttot").print_all(
            out=f, columns={0: ("name", 110), 1: ("ncall", 9), 2: ("tsub", 9), 3: ("ttot", 9), 4: ("tavg", 9)}
        )
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(found))
    tmp.replace(out)  # complete once it exists


if __name__ == "__main__":
    yappi.set_clock_type("cpu")
    yappi.start(builtins=False, profile_threads=True)
    signal.signal(signal.SIGUSR1, _dump)
    sys.exit(main(sys.argv[1:]))
