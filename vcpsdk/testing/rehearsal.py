"""``vcc fake-cloud CLOUD`` as a subprocess of a test: the process, the backends file it
wrote, and the leftovers line it prints on SIGTERM (rehearsal mode, docs/backends.md)."""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from vcpsdk.core.polling import poll
from vcpsdk.testing.serve import LOOPBACK_ONLY_ENV, VCC, subprocess_env


@dataclass
class FakeCloudProcess:
    """A running ``vcc fake-cloud CLOUD`` process and the backends file it wrote."""

    cloud: str
    process: subprocess.Popen[str]
    backends_file: Path

    def section(self) -> dict[str, Any]:
        """The cloud's section of the backends file.

        Returns:
            The settings the stand-in wrote for its backend.
        """
        section: dict[str, Any] = yaml.safe_load(self.backends_file.read_text())[self.cloud]
        return section

    def stop(self) -> dict[str, Any]:
        """SIGTERM, then the one JSON line it printed.

        Returns:
            ``{"cloud", "endpoint", "leftovers"}``.
        """
        self.process.send_signal(signal.SIGTERM)
        out, _ = self.process.communicate(timeout=30)
        assert self.process.returncode == 0, f"vcc fake-cloud {self.cloud} exited {self.process.returncode}"
        [line] = out.splitlines()
        report: dict[str, Any] = json.loads(line)
        return report


@contextmanager
def fake_cloud(
    cloud: str, tmp_path: Path, *extra: str, env: Mapping[str, str] | None = None
) -> Iterator[FakeCloudProcess]:
    """Run ``vcc fake-cloud CLOUD --port 0`` until the block ends (killed if still running),
    in the environment of :func:`~vcpsdk.testing.serve.subprocess_env` (no proxies, no cloud
    credentials) with ``VCPSDK_LOOPBACK_ONLY=1``: a connection off 127.0.0.0/8 is refused and
    makes :meth:`FakeCloudProcess.stop` fail.

    Args:
        cloud: the cloud (``aws``, ``azure``, ``oracle``, ``sakura``, ``vmware``).
        tmp_path: where the backends file ``CLOUD.yml`` is written.
        extra: more command-line arguments (``--state-dir DIR``).
        env: variables set for the process on top of the cleaned environment.

    Yields:
        The process, once its backends file exists.

    Example::

        with fake_cloud("azure", tmp_path) as azure:
            with vcc_serve(tmp_path / "state", "--backends", str(azure.backends_file)):
                ...
            assert azure.stop()["leftovers"] == []
    """
    backends_file = tmp_path / f"{cloud}.yml"
    process = subprocess.Popen(
        [*VCC, "fake-cloud", cloud, "--port", "0", "--backends-out", str(backends_file), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=subprocess_env({LOOPBACK_ONLY_ENV: "1", **(env or {})}),
    )
    try:
        poll(lambda: backends_file.exists() or process.poll() is not None, bool, timeout=60, interval=0.1)
        assert process.poll() is None, f"vcc fake-cloud {cloud} exited"
        yield FakeCloudProcess(cloud, process, backends_file)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
