"""Several replicas start at once on one fresh PostgreSQL database: one migrates, the others
wait for it (an advisory lock around the Alembic upgrade, vcpsdk/controller/store/schema.py)."""

from __future__ import annotations

import subprocess
import sys
import threading

from sqlalchemy import create_engine, inspect

from vcpsdk.controller.store.schema import (
    MIGRATION_LOCK_KEY,
    current_revision,
    head_revision,
    upgrade_to_head,
)
from vcpsdk.core.polling import poll
from vcpsdk.testing.postgres import PostgresServer

# a replica's start, reduced to the schema step; Alembic says "Running upgrade" per revision run
MIGRATE = """
import logging, sys
from sqlalchemy import create_engine
from vcpsdk.controller.store.schema import upgrade_to_head
logging.basicConfig(stream=sys.stdout, level=logging.WARNING, format="%(message)s")
logging.getLogger("alembic").setLevel(logging.INFO)
engine = create_engine(sys.argv[1])
engine.connect().close()   # connected: the race starts on the parent's word
sys.stdin.readline()
upgrade_to_head(engine)
print("migrated")
"""


def revisions() -> int:
    from alembic.script import ScriptDirectory

    from vcpsdk.controller.store.schema import alembic_config

    return len(list(ScriptDirectory.from_config(alembic_config()).walk_revisions()))


def test_two_replicas_migrate_a_fresh_database_once(pg_server: PostgresServer) -> None:
    url = pg_server.create_database("two_replicas")
    replicas = [
        subprocess.Popen(
            [sys.executable, "-c", MIGRATE, url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    for replica in replicas:  # both are connected and waiting: let them go together
        assert replica.stdin is not None
        replica.stdin.write("go\n")
        replica.stdin.flush()
    outputs = [replica.communicate(timeout=120)[0] for replica in replicas]
    assert [replica.returncode for replica in replicas] == [0, 0], outputs
    assert all("migrated" in output for output in outputs)
    runs = sum(output.count("Running upgrade") for output in outputs)
    assert runs == revisions()  # each revision ran once, in one of the two
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            assert current_revision(connection) == head_revision()
            assert {"vcs", "units", "nodes", "operations"} <= set(inspect(connection).get_table_names())
    finally:
        engine.dispose()


def test_a_replica_waits_while_another_holds_the_migration_lock(pg_server: PostgresServer) -> None:
    url = pg_server.create_database("waiting_replica")
    engine = create_engine(url)
    outcome: list[BaseException | None] = []

    def start() -> None:
        try:
            upgrade_to_head(engine)
            outcome.append(None)
        except BaseException as error:  # reported by the assertion below
            outcome.append(error)

    with pg_server.connect("waiting_replica") as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK_KEY,))
        replica = threading.Thread(target=start)
        replica.start()
        waiting = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        poll(lambda: holder.execute(waiting).fetchone()[0], lambda n: n == 1, timeout=60, interval=0.1)
        with engine.connect() as connection:  # nothing migrated while the lock is held
            assert current_revision(connection) is None
        holder.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK_KEY,))
        replica.join(timeout=120)
    try:
        assert outcome == [None]
        with engine.connect() as connection:
            assert current_revision(connection) == head_revision()
    finally:
        engine.dispose()
