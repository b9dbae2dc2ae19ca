"""The documented deployment (deploy/, docs/deployment.md): the files parse, and every
command line they run is one ``vcc serve`` accepts, on PostgreSQL, behind a load balancer."""

from __future__ import annotations

import configparser
import json
import re
import shlex
from pathlib import Path

import pytest
import yaml

from vcpsdk.controller.cli import DATABASE_URL_ENV, build_parser
from vcpsdk.core.protocol import BASE_PATH, HEALTH

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
REPLICAS = 3


def serve_args(argv: list[str], environment: dict[str, str] | None = None) -> object:
    """``argv`` (from ``vcc serve``) parsed by vcc's own parser in ``environment`` (only it:
    the test's own ``VCC_DATABASE_URL`` does not count); unknown options fail the test."""
    assert argv[:2] == ["vcc", "serve"], argv
    assert "--database-url" not in argv, "the database password must not be on the command line"
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv(DATABASE_URL_ENV, raising=False)
        for name, value in (environment or {}).items():
            patch.setenv(name, value)
        try:
            return build_parser().parse_args(argv[1:])
        except SystemExit as exit:
            pytest.fail(f"vcc does not accept {shlex.join(argv)} (exit {exit.code})")


def env_file(path: Path) -> dict[str, str]:
    """The ``NAME=value`` lines of an environment file (systemd's ``EnvironmentFile``)."""
    lines = (line.strip() for line in path.read_text().splitlines())
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def substituted(text: str) -> str:
    """``${VAR}`` (compose, systemd) and ``%i`` (systemd instance) replaced by sample values."""
    return re.sub(r"\$\{\w+\}", "secret", text).replace("%i", "8081")


def compose() -> dict[str, object]:
    document = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    assert isinstance(document, dict)
    return document


def test_compose_runs_three_replicas_on_postgres_behind_a_load_balancer() -> None:
    services = compose()["services"]
    assert isinstance(services, dict)
    replicas = {name: s for name, s in services.items() if s.get("command", [None])[0] == "vcc"}
    assert len(replicas) == REPLICAS
    for service in replicas.values():
        environment = {name: substituted(str(value)) for name, value in service["environment"].items()}
        args = serve_args([substituted(str(part)) for part in service["command"]], environment)
        assert args.database_url.startswith("postgresql+psycopg://")  # type: ignore[attr-defined]
        assert "${VCC_DB_PASSWORD}@postgres:5432/vcc" in service["environment"][DATABASE_URL_ENV]
        assert args.metrics == "superuser"  # type: ignore[attr-defined]
        # one state dir for all: the sandbox's node files move with its lease
        assert "vcc-state:/var/lib/vcc" in service["volumes"]
    assert services["postgres"]["image"].startswith("postgres:")
    assert "haproxy.cfg" in " ".join(services["lb"]["volumes"])


def test_haproxy_checks_health_and_sends_to_every_replica() -> None:
    config = (DEPLOY / "haproxy.cfg").read_text()
    assert f"option httpchk GET {BASE_PATH}{HEALTH.path}" in config
    servers = re.findall(r"^\s*server (\S+) (\S+):8080 check$", config, re.M)
    replicas = {n for n, s in compose()["services"].items() if s.get("command", [None])[0] == "vcc"}  # type: ignore[attr-defined]
    assert {name for name, _host in servers} == replicas
    assert "deny" in config and "/metrics" in config  # metrics are scraped per replica, not via the LB


def test_systemd_unit_runs_vcc_serve_on_postgres() -> None:
    unit = configparser.ConfigParser(interpolation=None, strict=False)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read_string((DEPLOY / "systemd" / "vcc@.service").read_text())
    argv = shlex.split(substituted(unit["Service"]["ExecStart"]))
    assert Path(argv[0]).name == "vcc"
    assert "VCC_DATABASE_URL" not in unit["Service"]["ExecStart"]  # systemd would expand it into argv
    assert unit["Service"]["EnvironmentFile"] == "/etc/vcc/vcc.env"
    environment = env_file(DEPLOY / "vcc.env.example")  # what the EnvironmentFile sets
    args = serve_args(["vcc", *argv[1:]], environment)
    assert args.port == 8081  # type: ignore[attr-defined]
    assert args.state_dir == "/var/lib/vcc/shared"  # type: ignore[attr-defined]  # shared by the instances
    assert args.database_url.startswith("postgresql+psycopg://")  # type: ignore[attr-defined]


def test_container_image_default_command_is_vcc_serve() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    [cmd] = re.findall(r"^CMD (\[.*\])$", dockerfile, re.M)
    serve_args(json.loads(cmd))
    assert '"/src[postgres]"' in dockerfile  # the PostgreSQL driver is installed
