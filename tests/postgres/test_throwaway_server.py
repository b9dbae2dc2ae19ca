"""vcpsdk.testing.postgres: a private, loopback-only PostgreSQL that is gone after the block."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from vcpsdk.testing import postgres
from vcpsdk.testing.postgres import PostgresServer, PostgresUnavailable, find_bin_dir, postgres_server


def test_the_server_is_private_fast_and_cleaned_up() -> None:
    with postgres_server() as server:
        url = server.create_database("sample")
        assert url == f"postgresql+psycopg://vcp:{server.password}@127.0.0.1:{server.port}/sample"
        with server.connect("sample") as connection:
            settings = {
                name: connection.execute(f"SHOW {name}").fetchone()[0]
                for name in ("listen_addresses", "fsync", "unix_socket_directories", "password_encryption")
            }
        assert settings == {
            "listen_addresses": "127.0.0.1",
            "fsync": "off",
            "unix_socket_directories": str(server.directory),
            "password_encryption": "scram-sha-256",
        }
        owner = server.data_dir.stat().st_uid
        assert owner == (os.getuid() if os.geteuid() else Path("/var/lib/postgresql").stat().st_uid)
        directory, port = server.directory, server.port
    assert not directory.exists()
    with socket.socket() as probe:  # nothing listens any more
        assert probe.connect_ex(("127.0.0.1", port)) != 0


def test_a_wrong_password_is_refused(pg_server: PostgresServer) -> None:
    import psycopg

    wrong = pg_server.url(driver="postgresql").replace(pg_server.password, "wrong")
    with pytest.raises(psycopg.OperationalError, match="password"):
        psycopg.connect(wrong).close()


def test_missing_binaries_name_what_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(postgres.glob, "glob", lambda _pattern: [])
    monkeypatch.setenv(postgres.BIN_ENV, str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(PostgresUnavailable, match="apt-get install postgresql"):
        find_bin_dir()


@pytest.mark.skipif(os.geteuid() != 0, reason="as root only: the server then runs as the postgres user")
def test_a_directory_the_postgres_user_cannot_enter_is_refused(tmp_path: Path) -> None:
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    with pytest.raises(PostgresUnavailable, match="cannot reach"), postgres_server(private):
        pass
    assert list(private.iterdir()) == []


def test_database_names_are_checked(pg_server: PostgresServer) -> None:
    with pytest.raises(ValueError, match="database name"):
        pg_server.create_database('x"; DROP DATABASE postgres; --')
