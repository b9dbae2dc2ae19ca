"""Schema version of the controller's database, kept by Alembic.

The revisions live in ``migrations/versions/`` (shipped with the package); revision
``0001`` is the schema of vcpsdk 26.11.0, the last release without migrations.  When a
:class:`~vcpsdk.controller.store.Store` opens a database:

- an empty database is created at the newest revision (``head``);
- a database made before migrations existed (tables, but no ``alembic_version``) is
  stamped ``0001`` and upgraded in place;
- a database at a known revision is upgraded to ``head``;
- a database at a revision this vcpsdk does not know (made by a newer release) is
  refused with :class:`SchemaError`, before anything is changed.

On PostgreSQL several replicas may start at once on one database: the check and the
upgrade run in one transaction that first takes the advisory lock
:data:`MIGRATION_LOCK_KEY`, so one replica migrates and the others wait for it, then find
the schema at ``head`` and go on.  SQLite needs no lock (one process owns its file).

Alembic is driven through its API with a configuration built in code: no
``alembic.ini`` is needed.  A developer adds a revision with::

    from vcpsdk.controller.store.schema import alembic_config
    from alembic import command
    command.revision(alembic_config(), message="add nodes.zone")
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine

MIGRATIONS = Path(__file__).parent / "migrations"
#: the revision of the schema vcpsdk 26.11.0 created without Alembic
BASELINE = "0001"
#: a table every pre-migration database has
_LEGACY_TABLE = "vcs"
#: PostgreSQL advisory lock held while one replica checks and upgrades the schema
#: (``pg_advisory_xact_lock``; any 64-bit number no other program on the database uses)
MIGRATION_LOCK_KEY = 0x7663_6373_6368_6D61  # "vccschma"


class SchemaError(RuntimeError):
    """The database cannot be used by this vcpsdk (e.g. a newer release made it)."""


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration for the controller's migrations (no ini file).

    Args:
        connection: the connection ``migrations/env.py`` runs the migrations on.

    Returns:
        The configuration, for ``alembic.command`` functions.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest schema revision this vcpsdk knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(connection: Connection) -> str | None:
    """The revision a database is at (None: no ``alembic_version`` table or row)."""
    return MigrationContext.configure(connection).get_current_revision()


def upgrade_to_head(engine: Engine) -> None:
    """Create or upgrade the schema of the database behind ``engine`` to ``head``.

    Args:
        engine: the store's engine.

    Raises:
        SchemaError: the database is at a revision this vcpsdk does not know.

    Example:
        >>> upgrade_to_head(create_engine("sqlite:///state/vcc.db"))  # doctest: +SKIP
    """
    script = ScriptDirectory.from_config(alembic_config())
    known = {rev.revision for rev in script.walk_revisions()}
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":  # other replicas wait here until we commit
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        current = current_revision(connection)
        if current is not None and current not in known:
            where = engine.url.render_as_string(hide_password=True)
            raise SchemaError(
                f"state dir schema {current} is newer than this vcpsdk knows "
                f"(newest known: {script.get_current_head()}; database {where}); upgrade vcpsdk"
            )
        if current == script.get_current_head():
            return
        config = alembic_config(connection)
        if current is None and _LEGACY_TABLE in inspect(connection).get_table_names():
            command.stamp(config, BASELINE)  # made by 26.11.0, before migrations existed
        command.upgrade(config, "head")
