"""Rehearsal mode: ``vcc fake-cloud CLOUD``, a local stand-in of a cloud for the controller.

``vcc fake-cloud aws --port PORT --backends-out FILE`` runs EC2 on moto (server mode) in the
foreground on 127.0.0.1, creates what a VPN catalog entry names (VPC, subnet, security
group, AMI) with a private network in 127.0.0.0/8, and writes a backends file whose ``aws``
section points the controller's AWS backend at it (``vcc serve --backends FILE``).  Nothing
off this machine is ever contacted: the endpoint is 127.0.0.1, the credentials are fake and
the addresses the stand-in hands out are loopback addresses.

``vcc fake-cloud azure`` serves the fake ARM (:mod:`vcpsdk.testing.fakes.azure`) over HTTPS
instead, with a resource group, virtual network and subnet, and writes an ``azure`` section
(``authority``/``base_url`` on 127.0.0.1, ``connection_verify`` naming its own certificate,
the fake service principal).

``vcc fake-cloud oracle`` serves the fake OCI Core API (:mod:`vcpsdk.testing.fakes.oracle`)
over HTTP, with one subnet, and writes an ``oracle`` section (``service_endpoint`` on
127.0.0.1, the fake user and the file of its generated API key, written 0600 to the state
directory).

``vcc fake-cloud sakura`` serves the fake Sakura Cloud IaaS API 1.1
(:mod:`vcpsdk.testing.fakes.sakura`) over HTTP, with a local switch, and writes a ``sakura``
section (``api_root`` on 127.0.0.1, fake token and secret).

``vcc fake-cloud vmware`` runs govmomi's vCenter simulator (:mod:`vcpsdk.testing.fakes.vmware`,
built by ``scripts/build-vcsim.sh``) over HTTPS, and writes a ``vmware`` section (the
simulator's fake user and password, ``ca_file`` naming its certificate in the state directory,
a catalog entry naming its datacenter, network and template VM).

Each cloud's private network, gateway and controller address come from :data:`NETWORKS`, one
table of disjoint loopback networks, so that the stand-ins of several clouds can serve one
controller together.  The backends file holds the fake credentials and is written 0600.

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
import os
import signal
import sys
import tempfile
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


@dataclass(frozen=True)
class RehearsalNetwork:
    """The private network of one cloud's stand-in: loopback addresses only.

    Attributes:
        network: the catalog entry's ``private_network_ipmask`` (a subnet of 127.0.0.0/8).
        controller_address: ``controller_address`` of the backends section (``VCCCTR_IPADDR``).
        gateway: the network's gateway, for clouds whose catalog names one (else empty).
    """

    network: str
    controller_address: str
    gateway: str = ""


#: cloud name → the network its stand-in hands out addresses from; the networks are disjoint
#: (``tests/aws/test_rehearsal.py`` checks it), so several stand-ins can serve one controller
NETWORKS: dict[str, RehearsalNetwork] = {
    "aws": RehearsalNetwork("127.77.0.0/16", controller_address="127.77.0.1"),
    "azure": RehearsalNetwork("127.78.0.0/24", controller_address="127.78.0.1"),
    "vmware": RehearsalNetwork("127.79.0.0/24", controller_address="127.79.0.2", gateway="127.79.0.1"),
    "oracle": RehearsalNetwork("127.80.0.0/24", controller_address="127.80.0.1"),
    "sakura": RehearsalNetwork("127.81.0.0/24", controller_address="127.81.0.2", gateway="127.81.0.1"),
}


def missing_extra(cloud: str, error: ImportError) -> str:
    package = (error.name or "its stand-in packages").split(".")[0]
    return f'vcc fake-cloud {cloud} needs {package}: pip install "vcpsdk[{EXTRA}]"'


def start_fake_cloud(cloud: str, port: int, state_dir: Path | None = None) -> FakeCloud:
    """Start the stand-in of ``cloud`` on 127.0.0.1.

    Args:
        cloud: the cloud's name (``aws``).
        port: the TCP port, 0 for any free port.
        state_dir: a directory for the stand-in's files (created; ``vcc fake-cloud`` writes
            ``fake-cloud.json`` there, the Azure and VMware stand-ins their certificate, the
            Oracle stand-in its API key; see docs/backends.md).

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
    """Write a backends file (YAML) for ``vcc serve --backends``, atomically and readable by
    its owner only (it holds the stand-in's fake credentials).

    The content goes to a new file of an unpredictable name in the same directory (created
    exclusively, mode 0600, never through a symbolic link planted there), which then replaces
    ``path`` (a symbolic link at ``path`` is replaced, not followed).

    Args:
        path: the file to write (its directory is created).
        backends: the sections, ``{backend name: settings}``.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    header = "# written by vcc fake-cloud: a rehearsal on 127.0.0.1, fake credentials\n"
    fd, partial = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(header + yaml.safe_dump(backends, sort_keys=False))
        os.replace(partial, path)  # appears complete or not at all
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise


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
