"""Alembic environment: runs the migrations on the connection ``schema.py`` passes in."""

from __future__ import annotations

from alembic import context

from vcpsdk.controller.store.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "run the controller's migrations through vcpsdk.controller.store.schema (it passes a connection)"
    )
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
