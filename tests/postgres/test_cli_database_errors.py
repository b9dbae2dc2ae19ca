"""``vcc`` with a database it cannot open (wrong password, no such database, server down):
one line ``vcc: cannot open the database <URL, password hidden>: <reason>``, exit 1, no
traceback and never the password."""

from __future__ import annotations

from pathlib import Path

import pytest

from vcpsdk.controller.cli import main
from vcpsdk.testing.network import free_port
from vcpsdk.testing.postgres import PostgresServer

WRONG = "Wr0ng-Passw0rd"


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("password", "password authentication failed"),
        ("database", 'database "nosuchdb" does not exist'),
        ("down", "refused"),
    ],
)
@pytest.mark.parametrize("command", [["token", "list"], ["token", "create", "--user", "u"]])
def test_a_database_that_cannot_be_opened_is_one_line(
    pg_server: PostgresServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    case: str,
    reason: str,
    command: list[str],
) -> None:
    port = free_port() if case == "down" else pg_server.port
    name = "nosuchdb" if case == "database" else "postgres"
    password = pg_server.password if case == "database" else WRONG
    url = f"postgresql+psycopg://vcp:{password}@127.0.0.1:{port}/{name}"
    assert main([*command, "--state-dir", str(tmp_path), "--database-url", url]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    [line] = err.splitlines()
    assert line.startswith(
        f"vcc: cannot open the database postgresql+psycopg://vcp:***@127.0.0.1:{port}/{name}: "
    )
    assert reason in line
    assert password not in out + err and "Traceback" not in err
