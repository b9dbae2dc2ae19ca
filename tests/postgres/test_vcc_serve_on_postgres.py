"""``vcc serve --database-url postgresql+psycopg://...`` as deployed (docs/deployment.md):
the schema is made on start, a token issued elsewhere with the same URL is accepted, and
``--metrics superuser`` serves /metrics to that superuser only."""

from __future__ import annotations

import subprocess
from pathlib import Path

import requests

from vcpsdk.testing.postgres import PostgresServer
from vcpsdk.testing.serve import VCC, subprocess_env, vcc_serve


def token_create(url: str, state_dir: Path, user: str, *extra: str) -> str:
    args = [
        *VCC,
        "token",
        "create",
        "--user",
        user,
        "--state-dir",
        str(state_dir),
        "--database-url",
        url,
        *extra,
    ]
    return subprocess.run(
        args, check=True, capture_output=True, text=True, env=subprocess_env()
    ).stdout.strip()


def test_vcc_serve_on_postgres_with_tokens_from_another_machine(
    pg_server: PostgresServer, tmp_path: Path
) -> None:
    url = pg_server.create_database("served")
    with vcc_serve(tmp_path / "replica", "--database-url", url, "--metrics", "superuser") as served:
        origin = f"http://127.0.0.1:{served.port}"
        # an operator's machine: another state dir, the same database
        user = token_create(url, tmp_path / "operator", "dana")
        admin = token_create(url, tmp_path / "operator", "admin", "--superuser")
        answer = requests.get(f"{origin}/vcp/v1/occtr/vcs", headers={"x-vcc-access-token": user}, timeout=30)
        assert answer.status_code == 200, answer.text
        assert requests.get(f"{origin}/metrics", timeout=30).status_code == 403
        metrics = requests.get(f"{origin}/metrics", headers={"authorization": f"Bearer {admin}"}, timeout=30)
        assert metrics.status_code == 200
        assert (
            'vcc_http_requests_total{method="GET",route="/vcp/v1/occtr/vcs",status="200"} 1.0' in metrics.text
        )
        assert "vcc_store_up 1.0" in metrics.text
    assert not (tmp_path / "replica" / "vcc.db").exists()  # the state is in PostgreSQL
