"""A throwaway PostgreSQL server for tests: Debian's ``postgresql`` run from a temporary directory.

The server listens on 127.0.0.1 only, on a free port, with its unix socket inside its own
temporary directory (never in a shared one such as ``/var/run/postgresql``), and with the
settings of a test database (no ``fsync``, no synchronous commit: a crash loses the data,
which is thrown away anyway).  Logins need the random password of the superuser ``vcp``,
so other users of the machine cannot use the server while it runs.

``initdb`` and ``pg_ctl`` refuse to run as root: as root they run as the ``postgres`` OS
user (Debian's package creates it) and the temporary directory belongs to that user; as
anyone else they run as the current user.  The server is stopped and its directory removed
when the ``with`` block ends, also on an error.

Missing server binaries are a failure that names what to install (``postgresql``, which
``scripts/setup.sh`` installs), never a silent skip.  The binaries are looked up in
``$VCPSDK_POSTGRES_BIN``, then ``/usr/lib/postgresql/<newest version>/bin`` (Debian), then
``$PATH``.

Example::

    from vcpsdk.testing.postgres import postgres_server

    with postgres_server() as server:
        url = server.create_database("vcc")   # postgresql+psycopg://vcp:...@127.0.0.1:PORT/vcc
        with running_controller(tmp_path / "vcc", database_url=url) as vcc:
            ...

:func:`throwaway_database` is the short form for one database.  The test session of this
project uses it through ``pytest --vcp-database postgres`` (tests/conftest.py).
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vcpsdk.testing.network import free_port

#: the superuser of a throwaway server
SUPERUSER = "vcp"
#: environment variable naming the directory of ``initdb``/``pg_ctl`` (overrides the search)
BIN_ENV = "VCPSDK_POSTGRES_BIN"
#: what to install when the binaries are missing
INSTALL_HINT = (
    "install Debian's PostgreSQL server (apt-get install postgresql; scripts/setup.sh does it) "
    f"or set {BIN_ENV} to the directory holding initdb and pg_ctl"
)
#: settings of a test server: fast, private, loopback only
TEST_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "300",
    "shared_buffers": "32MB",
    "max_locks_per_transaction": "128",
    "log_min_messages": "warning",
    "log_min_error_statement": "panic",
}
#: database names this module creates: letters, digits and underscores
_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
#: seconds pg_ctl waits for the server to start or stop
PG_CTL_TIMEOUT = 60


class PostgresUnavailable(RuntimeError):
    """A throwaway PostgreSQL cannot be started here (the message says what is missing)."""


def find_bin_dir() -> Path:
    """The directory of PostgreSQL's server programs (``initdb``, ``pg_ctl``).

    Returns:
        ``$VCPSDK_POSTGRES_BIN``, else Debian's newest ``/usr/lib/postgresql/<ver>/bin``,
        else the directory of ``initdb`` on ``$PATH``.

    Raises:
        PostgresUnavailable: none of them has both programs.
    """
    candidates: list[Path] = []
    if os.environ.get(BIN_ENV):
        candidates.append(Path(os.environ[BIN_ENV]))
    debian = glob.glob("/usr/lib/postgresql/*/bin")
    candidates += sorted((Path(d) for d in debian), key=_version_of, reverse=True)
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    for directory in candidates:
        if all(os.access(directory / program, os.X_OK) for program in ("initdb", "pg_ctl")):
            return directory
    raise PostgresUnavailable(f"PostgreSQL's initdb and pg_ctl were not found; {INSTALL_HINT}")


def _version_of(bin_dir: Path) -> tuple[int, ...]:
    """``(15,)`` for ``/usr/lib/postgresql/15/bin`` (non-numeric versions sort first)."""
    return tuple(int(part) for part in re.findall(r"\d+", bin_dir.parent.name)) or (0,)


def _psycopg() -> Any:
    """The psycopg module, or a failure naming the extra to install."""
    try:
        import psycopg
    except ImportError:
        raise PostgresUnavailable(
            "the PostgreSQL driver psycopg is not installed; pip install 'vcpsdk[postgres]'"
        ) from None
    return psycopg


@dataclass
class PostgresServer:
    """A running throwaway PostgreSQL server.

    Attributes:
        port: its TCP port on 127.0.0.1.
        password: the password of :data:`SUPERUSER`.
        directory: its temporary directory (data, socket, log).
        bin_dir: where its programs are.
        os_user: the OS user it runs as (``None``: the current user).
    """

    port: int
    password: str
    directory: Path
    bin_dir: Path
    os_user: str | None = None
    host: str = "127.0.0.1"

    @property
    def data_dir(self) -> Path:
        """The cluster's data directory."""
        return self.directory / "data"

    @property
    def log_file(self) -> Path:
        """The server's log (read it when a test fails)."""
        return self.directory / "server.log"

    def url(self, database: str = "postgres", driver: str = "postgresql+psycopg") -> str:
        """The SQLAlchemy URL of ``database`` on this server.

        Args:
            database: the database name.
            driver: the URL's scheme (``postgresql`` for libpq's own form).

        Returns:
            ``postgresql+psycopg://vcp:<password>@127.0.0.1:<port>/<database>``.
        """
        return f"{driver}://{SUPERUSER}:{self.password}@{self.host}:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Create an empty database (e.g. one per test session or xdist worker).

        Args:
            name: lower-case letters, digits and underscores.

        Returns:
            The database's SQLAlchemy URL.

        Raises:
            ValueError: an unusable name.

        Example::

            url = server.create_database(f"vcc_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}")
        """
        if not _NAME.fullmatch(name):
            raise ValueError(f"database name {name!r}: use lower-case letters, digits and _")
        psycopg = _psycopg()
        with psycopg.connect(self.url(driver="postgresql"), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def connect(self, database: str = "postgres") -> Any:
        """A psycopg connection (autocommit) to ``database``, for checks in tests."""
        return _psycopg().connect(self.url(database, driver="postgresql"), autocommit=True)


def _run_as(os_user: str | None) -> dict[str, Any]:
    """``subprocess`` arguments that run a program as ``os_user`` (none: as ourselves)."""
    if os_user is None:
        return {}
    entry = pwd.getpwnam(os_user)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def _server_user() -> str | None:
    """``postgres`` when running as root (initdb refuses root), else None."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise PostgresUnavailable(
            "running as root, and there is no 'postgres' OS user to run the server as; " + INSTALL_HINT
        ) from None
    return "postgres"


def _run(command: list[str], server: PostgresServer, what: str) -> None:
    """Run a server program as the server's user; a failure shows its output."""
    result = subprocess.run(
        command,
        cwd=server.directory,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "TZ": "UTC"},
        capture_output=True,
        text=True,
        timeout=PG_CTL_TIMEOUT + 30,
        check=False,
        **_run_as(server.os_user),
    )
    if result.returncode != 0:
        log = server.log_file.read_text(errors="replace")[-2000:] if server.log_file.exists() else ""
        raise PostgresUnavailable(
            f"{what} failed (exit {result.returncode}): {result.stdout[-1000:]}{result.stderr[-1000:]}{log}"
        )


def _init_cluster(server: PostgresServer) -> None:
    """``initdb`` a cluster with a password-protected superuser and the test settings."""
    password_file = server.directory / "password"
    password_file.write_text(server.password)
    if server.os_user:
        entry = pwd.getpwnam(server.os_user)
        os.chown(password_file, entry.pw_uid, entry.pw_gid)
    os.chmod(password_file, 0o600)
    try:
        _run(
            [
                str(server.bin_dir / "initdb"),
                "--pgdata",
                str(server.data_dir),
                "--username",
                SUPERUSER,
                "--pwfile",
                str(password_file),
                "--auth",
                "scram-sha-256",
                "--encoding",
                "UTF8",
                "--no-locale",
                "--no-sync",
            ],
            server,
            "initdb",
        )
    finally:
        password_file.unlink(missing_ok=True)
    settings = dict(TEST_SETTINGS, port=str(server.port), unix_socket_directories=f"'{server.directory}'")
    with open(server.data_dir / "postgresql.conf", "a", encoding="utf-8") as conf:
        conf.write("\n# vcpsdk.testing.postgres: a throwaway test server\n")
        conf.writelines(f"{key} = {value}\n" for key, value in settings.items())


def _pg_ctl(server: PostgresServer, *args: str) -> None:
    _run(
        [
            str(server.bin_dir / "pg_ctl"),
            "--pgdata",
            str(server.data_dir),
            "--timeout",
            str(PG_CTL_TIMEOUT),
            *args,
        ],
        server,
        f"pg_ctl {args[0]}",
    )


@contextmanager
def postgres_server(base_dir: Path | None = None) -> Iterator[PostgresServer]:
    """Run a throwaway PostgreSQL server for the ``with`` block.

    Args:
        base_dir: where its temporary directory is made (default: the system's temp dir); as
            root, the ``postgres`` OS user must be able to enter it.

    Yields:
        The running server (create databases with :meth:`PostgresServer.create_database`).

    Raises:
        PostgresUnavailable: the server programs, the ``postgres`` OS user (as root) or
            psycopg are missing, or the server did not start (the message has its log).
    """
    bin_dir = find_bin_dir()
    _psycopg()
    os_user = _server_user()
    directory = Path(tempfile.mkdtemp(prefix="vcp-pg-", dir=base_dir))
    try:
        if os_user:
            entry = pwd.getpwnam(os_user)
            os.chown(directory, entry.pw_uid, entry.pw_gid)
        os.chmod(directory, 0o700)
        if (
            os_user
            and subprocess.run(["test", "-x", str(directory)], check=False, **_run_as(os_user)).returncode
        ):
            raise PostgresUnavailable(
                f"the {os_user} OS user cannot reach {directory}: pass a base_dir it may enter (e.g. /tmp)"
            )
        server = PostgresServer(free_port(), secrets.token_hex(16), directory, bin_dir, os_user)
        _init_cluster(server)
        _pg_ctl(server, "start", "--wait", "--log", str(server.log_file))
        try:
            yield server
        finally:
            _pg_ctl(server, "stop", "--wait", "--mode", "immediate")
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@contextmanager
def throwaway_database(name: str = "vcc", base_dir: Path | None = None) -> Iterator[str]:
    """A fresh database on its own throwaway server, for the ``with`` block.

    Args:
        name: the database's name.
        base_dir: where the server's temporary directory is made.

    Yields:
        Its SQLAlchemy URL, ``postgresql+psycopg://vcp:...@127.0.0.1:<port>/<name>``.

    Example::

        with throwaway_database() as url:
            store = Store(url)
    """
    with postgres_server(base_dir) as server:
        yield server.create_database(name)
