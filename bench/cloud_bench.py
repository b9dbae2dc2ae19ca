"""What the cloud benches (bench_aws/azure/oracle/sakura/vmware.py) share: their command line's
``--sizes`` and the one-line summary of the requests a step sent."""

from __future__ import annotations

import argparse
from collections import Counter


def cloud_parser(doc: str | None, sizes: list[int]) -> argparse.ArgumentParser:
    """A parser described by the first line of ``doc``, with ``--sizes`` (nodes per create_unit)."""
    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=sizes)
    return parser


def summary(counts: Counter[str]) -> str:
    """``"PUT virtualMachines 100, GET ... 50"``: the requests by kind, most first."""
    return ", ".join(f"{name} {n}" for name, n in counts.most_common())
