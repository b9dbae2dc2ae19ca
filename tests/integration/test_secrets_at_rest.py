"""Literal cloud credentials are sealed in the store and opened only for the backend."""

from __future__ import annotations

import base64
import sqlite3
from pathlib import Path

import yaml

from vcpsdk.testing import running_controller
from vcpsdk.vcpsdk import VcpSDK

SECRET = "s3cr3t-AT-REST-value"


def test_credentials_are_sealed_in_the_database_but_reach_the_backend(tmp_path: Path, vcp_pubkey) -> None:
    with running_controller(tmp_path / "vcc") as vcc:
        config = vcc.write_config(tmp_path / "cfg")
        with (config / "vcp_config.yml").open("a") as f:
            f.write(f"aws:\n  access_key: vault://cubbyhole/aws/access_key\n  secret_key: {SECRET}\n")
        seen: list[dict] = []
        backend = vcc.controller.backend
        original = backend.create_nodes

        def spy(unit, nodes):
            seen.append(dict(unit.cloud_params))
            return original(unit, nodes)

        backend.create_nodes = spy  # type: ignore[method-assign]
        vcp = VcpSDK(vcc.create_token("keeper"), config_dir=str(config))
        spec = vcp.get_spec("aws", "small")
        spec.set_ssh_pubkey(str(vcp_pubkey))
        unit = vcp.create_ugroup("sealed").create_unit("web", spec)
        assert unit.state == "RUNNING"

        assert seen[0]["secret_key"] == SECRET  # the backend gets the real value
        assert seen[0]["access_key"] == "vault://cubbyhole/aws/access_key"
        database = (vcc.state_dir / "vcc.db").read_bytes()
        wal = vcc.state_dir / "vcc.db-wal"
        stored = database + (wal.read_bytes() if wal.exists() else b"")
        assert SECRET.encode() not in stored
        assert base64.b64encode(SECRET.encode())[:16] not in stored
        rows = sqlite3.connect(vcc.state_dir / "vcc.db").execute("SELECT info FROM units").fetchall()
        [[info]] = rows
        served = yaml.safe_load(base64.b64decode(info))[0]["unit"]["cloud_params"]
        assert served["secret_key"] == "(stored encrypted on the controller)"
        assert served["access_key"] == "vault://cubbyhole/aws/access_key"
        assert ((vcc.state_dir / "secrets.key").stat().st_mode & 0o777) == 0o600
