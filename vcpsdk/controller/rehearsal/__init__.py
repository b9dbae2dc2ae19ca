"""Rehearsal mode: ``vcc fake-cloud CLOUD``, a local stand-in of a cloud for the controller.

``vcc fake-cloud aws --port PORT --backends-out FILE`` runs EC2 on moto (server mode) in the
foreground on 127.0.0.1, creates what a VPN catalog entry names (VPC, subnet, security
group, AMI) with a private network in 127.0.0.0/8, and writes a backends file whose ``aws``
section points the controller's AWS backend at it (``vcc serve --backends FILE``).  Nothing
off this machine is ever contacted: the endpoint is 127.0.0.1, the credentials are fake and
the addresses the stand-in hands out are loopback addresses.

``vcc fake-cloud azure`` serves the fake ARM (:mod:`vcpsdk.testing.fakes.azure`) over HTTPS
instead, with a resource group, virtual network and subnet in 127.78.0.0/24, and writes an
``azure`` section (``authority``/``base_url`` on 127.0.0.1, ``connection_verify`` naming its
own certificate, the fake service principal).

``vcc fake-cloud sakura`` serves the fake Sakura Cloud IaaS API 1.1
(:mod:`vcpsdk.testing.fakes.sakura`) over HTTP, with a local switch on 127.81.0.0/24, and
writes a ``sakura`` section (``api_root`` on 127.0.0.1, fake token and secret).

On SIGTERM or SIGINT it prints one JSON line on stdout, the resources still in the stand-in,
and exits 0::

    {"cloud": "aws", "endpoint": "http://127.0.0.1:5000", "leftovers": [
        {"type": "instance", "id": "i-...", "state": "running"}, ...]}

Example::

    vcc fake-cloud aws --port 5000 --backends-out aws-rehearsal.yml &
    vcc serve --state-dir state --backends aws-rehearsal.yml
"""

from __future__ import annotations

import importlib
import json
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

#: the extra that brings the stand-ins' packages
EXTRA = "rehearsal"


class RehearsalError(Exception):
    """A stand-in cannot start (unknown cloud, missing extra)."""


@dataclass
class FakeCloud:
    """A running stand-in: its endpoint, the backends file sections, and how to ask it
    for leftovers and stop it."""

    cloud: str
    endpoint: str
    backends: dict[str, dict[str, Any]]
    leftovers: Callable[[], list[dict[str, Any]]]
    stop: Callable[[], None]


#: cloud name → the module of :mod:`vcpsdk.controller.rehearsal` whose ``start(port, state_dir)``
#: starts its stand-in (imported only when that cloud is asked for)
STARTERS: dict[str, str] = {
    "aws": "aws",
    "azure": "azure",
    "oracle": "oracle",
    "sakura": "sakura",
    "vmware": "vmware",
}


def missing_extra(cloud: str, error: ImportError) -> str:
    package = (error.name or "its stand-in packages").split(".")[0]
    return f'vcc fake-cloud {cloud} needs {package}: pip install "vcpsdk[{EXTRA}]"'


def start_fake_cloud(cloud: str, port: int, state_dir: Path | None = None) -> FakeCloud:
    """Start the stand-in of ``cloud`` on 127.0.0.1.

    Args:
        cloud: the cloud's name (``aws``).
        port: the TCP port, 0 for any free port.
        state_dir: a directory for the stand-in's files (created; the AWS stand-in keeps
            its state in memory and writes only ``fake-cloud.json`` there).

    Returns:
        The running stand-in.

    Raises:
        RehearsalError: the cloud is unknown or its packages are not installed.
    """
    module = STARTERS.get(cloud)
    if module is None:
        raise RehearsalError(
            f"unknown cloud {cloud!r}: vcc fake-cloud supports {', '.join(sorted(STARTERS))}"
        )
    start: Callable[[int, Path | None], FakeCloud] = importlib.import_module(f"{__name__}.{module}").start
    return start(port, state_dir)


def write_backends(path: Path, backends: dict[str, dict[str, Any]]) -> None:
    """Write a backends file (YAML) for ``vcc serve --backends``, atomically.

    Args:
        path: the file to write (its directory is created).
        backends: the sections, ``{backend name: settings}``.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    header = "# written by vcc fake-cloud: a rehearsal on 127.0.0.1, fake credentials\n"
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(header + yaml.safe_dump(backends, sort_keys=False), encoding="utf-8")
    partial.replace(path)  # appears complete or not at all


def run_fake_cloud(cloud: str, port: int, backends_out: Path, state_dir: Path | None = None) -> int:
    """Serve the stand-in in the foreground until SIGTERM/SIGINT, then print the leftovers.

    Args:
        cloud: the cloud's name.
        port: the TCP port on 127.0.0.1, 0 for any free port.
        backends_out: where to write the backends file.
        state_dir: a directory for the stand-in's files.

    Returns:
        0 after a signal.

    Raises:
        RehearsalError: the cloud is unknown or its packages are not installed.
    """
    stopping = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stopping.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    fake = start_fake_cloud(cloud, port, state_dir)
    try:
        if state_dir is not None:
            state_dir.mkdir(parents=True, exist_ok=True)
            info = {"cloud": cloud, "endpoint": fake.endpoint, "backends": str(backends_out)}
            (state_dir / "fake-cloud.json").write_text(json.dumps(info), encoding="utf-8")
        write_backends(backends_out, fake.backends)  # last: its appearance means "ready"
        print(
            f"vcc fake-cloud {cloud}: serving {fake.endpoint}, backends file {backends_out}", file=sys.stderr
        )
        stopping.wait()
        report = {"cloud": cloud, "endpoint": fake.endpoint, "leftovers": fake.leftovers()}
        print(json.dumps(report), flush=True)
    finally:
        fake.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
