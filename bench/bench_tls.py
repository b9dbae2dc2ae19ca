#!/usr/bin/env python3
"""Latency of one read on the controller as the original client makes it, over http and HTTPS.

The original SDK opens a new connection for every request (``requests.get``, no session);
over HTTPS each request then pays a TLS handshake.  This prints, side by side in one run
against one in-process controller per scheme (127.0.0.1 only), the median latency of
``GET /vcs`` on a fresh connection and on a kept-alive session, and the HTTPS/http ratios.

    python bench/bench_tls.py [--requests 200]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import requests

from vcpsdk.core.protocol import BASE_PATH, TOKEN_HEADER
from vcpsdk.testing import running_controller


def median_ms(send: Callable[[], requests.Response], count: int) -> float:
    """Median milliseconds of ``count`` calls of ``send`` (each must answer 200)."""
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        response = send()
        samples.append(time.perf_counter() - start)
        assert response.status_code == 200, response.text
    return statistics.median(samples) * 1000


def measure(tls: bool, count: int) -> tuple[float, float]:
    """(fresh connection, kept-alive session) median ms of ``GET /vcs``."""
    with tempfile.TemporaryDirectory() as state, running_controller(Path(state), tls=tls) as vcc:
        url = vcc.base_url + "/vcs"
        assert BASE_PATH in url
        headers = {TOKEN_HEADER: vcc.create_token("bench")}
        fresh = median_ms(lambda: requests.get(url, headers=headers, verify=False, timeout=30), count)
        with requests.Session() as session:
            kept = median_ms(lambda: session.get(url, headers=headers, verify=False, timeout=30), count)
    return fresh, kept


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="requests per measurement")
    count = parser.parse_args().requests
    warnings.simplefilter("ignore")  # verify=False, as the original client with a self-signed controller
    plain_fresh, plain_kept = measure(False, count)
    tls_fresh, tls_kept = measure(True, count)
    print(f"GET /vcs, median of {count} requests (ms)    fresh connection   kept alive")
    print(f"http                                        {plain_fresh:16.2f} {plain_kept:12.2f}")
    print(f"https (self-signed)                         {tls_fresh:16.2f} {tls_kept:12.2f}")
    print(
        f"ratio https/http                            {tls_fresh / plain_fresh:16.2f}"
        f" {tls_kept / plain_kept:12.2f}"
    )


if __name__ == "__main__":
    main()
