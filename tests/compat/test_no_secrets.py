"""No secret leaves the SDK through logs, tables, printed objects or exceptions.

A realistic flow (credentials in ``vcp_config.yml``, ``set_ssh_pubkey``, ``verbose=3``,
privileged calls, a bad token, refused requests, a unit in ERROR) runs while every
log record of every logger is captured at DEBUG; every DataFrame, printed or
repr'ed object and exception text is collected too.  None may contain a full
token, a credential from ``vcp_config.yml`` or the ``AUTHORIZED_KEYS`` value.
"""

from __future__ import annotations

import base64
import contextlib
import io
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from vcpsdk.errors import VcpSDKError
from vcpsdk.testing import RunningController, write_test_public_key
from vcpsdk.vcpsdk import VcpSDK

from .support import create_failed_unit, unique

ACCESS_KEY = "AKIAEXAMPLESECRET1"
SECRET_KEY = "s3cr3t-EXAMPLE-value"
AZURE_SECRET = "azure-EXAMPLE-client-secret-42"
BAD_TOKEN = "5f0c3a1e-9b7d-4c2a-8e6f-0123456789ab"


class _Collector(logging.Handler):
    """Keeps (logger name, formatted text incl. exception) of every record it sees."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[tuple[str, str]] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append((record.name, self.format(record)))


@contextlib.contextmanager
def every_log_record() -> Iterator[_Collector]:
    """Every record of every logger at DEBUG (levels lowered, non-propagating loggers too)."""
    collector = _Collector()
    root = logging.getLogger()
    loggers = [root] + [
        logger for logger in logging.root.manager.loggerDict.values() if isinstance(logger, logging.Logger)
    ]
    saved = [(logger, logger.level) for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
        if logger is root or not logger.propagate:
            logger.addHandler(collector)
    try:
        yield collector
    finally:
        for logger, level in saved:
            logger.setLevel(level)
            logger.removeHandler(collector)


def _config(vcc: RunningController, directory: Path) -> Path:
    vcc.write_config(directory)
    path = directory / "vcp_config.yml"
    config = yaml.safe_load(path.read_text())
    config["aws"] = {"access_key": ACCESS_KEY, "secret_key": SECRET_KEY, "private_network": "default"}
    config["azure"] = {
        "subscription_id": "sub-1",
        "client_id": "client-1",
        "client_secret": AZURE_SECRET,
        "tenant_id": "tenant-1",
    }
    path.write_text(yaml.safe_dump(config))
    return directory


@dataclass
class Flow:
    """What the realistic flow left behind."""

    secrets: dict[str, str]
    records: list[tuple[str, str]]  # (logger name, text) of every log record
    shown: list[str]  # DataFrames, prints, reprs, exception texts, stdout


def _run_flow(vcc: RunningController, tmp: Path, pubkey: Path) -> list[str]:
    token = vcc.create_token(unique("secretive"))
    su_token = vcc.create_token(unique("root"), superuser=True)
    shown: list[str] = []

    def show(*objects: Any) -> None:
        for obj in objects:
            print(obj)
            shown.append(repr(obj))

    def failing(action: Callable[[], Any]) -> None:
        try:
            action()
        except Exception as e:
            shown.extend([str(e), repr(e), repr(e.args), str(getattr(e, "server_message", "") or "")])
        else:
            raise AssertionError("expected a failure")

    failing(lambda: VcpSDK(BAD_TOKEN, config_dir=str(_config(vcc, tmp / "bad"))))
    sdk = VcpSDK(token, config_dir=str(_config(vcc, tmp / "cfg")), verbose=3)
    su = VcpSDK(su_token, config_dir=str(_config(vcc, tmp / "su")), verbose=3)

    group = sdk.create_ugroup(unique("secret-group"))
    spec = sdk.get_spec("aws", "small")
    spec.set_ssh_pubkey(str(pubkey))
    show(spec)
    unit = group.create_unit("web", spec)
    unit.add_nodes()
    azure = sdk.get_spec("azure", "small")
    azure.set_ssh_pubkey(str(pubkey))
    show(azure)
    group.create_unit("azweb", azure)
    disks = sdk.create_ugroup(unique("secret-disks"), "storage")
    disk_unit = disks.create_unit("data", sdk.get_spec("aws_disk", "small"))
    [node, *_] = unit.find_nodes()
    show(group, unit, node, disks, disk_unit, *disk_unit.find_nodes(), sdk, su)
    shown.extend(
        [
            sdk.df_ugroups().data.to_string(),
            group.df_units().to_string(),
            group.df_nodes().data.to_string(),
            unit.df_nodes().data.to_string(),
            sdk.df_nodes().data.to_string(),
            disks.df_nodes().data.to_string(),
            sdk.df_flavors("aws").to_string(),
            repr(sdk.vcc_info()),
            repr(sdk.authority()),
        ]
    )
    sdk.version()

    # privileged mode
    watched = su.get_ugroup(group.name, privileged=True)
    shown.extend(
        [
            su.df_ugroups(privileged=True).data.to_string(),
            watched.df_nodes().data.to_string(),
            su.df_nodes(privileged=True).data.to_string(),
            str(watched),
        ]
    )
    watched.get_unit("web").power_off_nodes(privileged=True)
    watched.get_unit("web").power_on_nodes(privileged=True)
    failing(lambda: sdk.df_ugroups(privileged=True))  # regular user: refused

    # refused requests and a unit in ERROR
    failing(node.resume)
    failing(lambda: group.create_unit("web", spec))  # name in use
    outside = sdk.get_spec("aws", "small")
    outside.set_ssh_pubkey(str(pubkey))
    outside.ip_addresses = ["127.99.0.5"]
    failing(lambda: group.create_unit("outside", outside))  # controller 400
    failing(lambda: setattr(spec, "secret_key_typo", "x"))
    failure = create_failed_unit(sdk, group, pubkey, "broken", 210, node.ssh_port)
    assert isinstance(failure, VcpSDKError)
    shown.extend([str(failure), repr(failure), str(group), str(group.get_unit("broken"))])

    group.cleanup()
    disks.cleanup()
    return [token, su_token, *shown]


@pytest.fixture(scope="module")
def flow(live_controller: RunningController, tmp_path_factory: pytest.TempPathFactory) -> Flow:
    tmp = tmp_path_factory.mktemp("secrets")
    pubkey = write_test_public_key(tmp / "id.pub")
    stdout = io.StringIO()
    with every_log_record() as collector, contextlib.redirect_stdout(stdout):
        token, su_token, *shown = _run_flow(live_controller, tmp, pubkey)
    secrets = {
        "token": token,
        "superuser token": su_token,
        "bad token": BAD_TOKEN,
        "aws access_key": ACCESS_KEY,
        "aws secret_key": SECRET_KEY,
        "azure client_secret": AZURE_SECRET,
        "AUTHORIZED_KEYS value": base64.b64encode(pubkey.read_bytes()).decode(),
    }
    return Flow(secrets, collector.records, [*shown, stdout.getvalue()])


def leaks(flow: Flow, texts: list[tuple[str, str]]) -> list[str]:
    """``<secret> in <where>: ...context...`` for each secret found in a text."""
    found = []
    for where, text in texts:
        for secret, value in flow.secrets.items():
            at = text.find(value)
            if at >= 0:
                found.append(f"{secret} in {where}: ...{text[max(0, at - 60) : at + 60]}...")
    return found


def test_the_flow_was_captured(flow: Flow) -> None:
    loggers = {name for name, _ in flow.records}
    assert {"vcp.sdk", "urllib3.connectionpool"} <= loggers
    assert sum(1 for name, _ in flow.records if name == "vcp.sdk") > 100  # verbose=3
    everything = "\n".join(flow.shown)
    assert "AUTHORIZED_KEYS=" in everything  # print(spec) shows the entry (redacted)
    assert "vcname" in everything and "node_state" in everything  # the tables
    assert "VCPAuthException" in everything and "VCPStateConflictException" in everything
    assert "[VcNode]" in everything and "vc_controller:" in everything


def test_no_secret_in_tables_prints_or_errors(flow: Flow) -> None:
    found = leaks(flow, [("shown objects", text) for text in flow.shown])
    assert not found, "\n".join(found[:10])


def test_no_secret_in_sdk_http_and_server_logs(flow: Flow) -> None:
    """Every logger except the controller's SQLAlchemy engine (see the next test)."""
    found = leaks(flow, [(name, text) for name, text in flow.records if not name.startswith("sqlalchemy")])
    assert not found, "\n".join(found[:10])


def test_no_secret_in_any_log_record(flow: Flow) -> None:
    found = leaks(flow, flow.records)
    assert not found, "\n".join(found[:10])
