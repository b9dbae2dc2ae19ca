"""Persistent state of the controller (SQLAlchemy; SQLite file by default).

``models`` holds the tables, ``database`` the :class:`Store` that opens them, and
``schema`` the schema version: Alembic revisions under ``migrations/versions/`` that
bring a database made by any earlier release to the newest schema when it is opened.
"""

from __future__ import annotations

from vcpsdk.controller.store.database import Store
from vcpsdk.controller.store.models import (
    AddressClaim,
    Base,
    Lease,
    Meta,
    Node,
    Operation,
    Replica,
    Token,
    Unit,
    VaultSecret,
    Vc,
    format_date,
    utcnow,
)
from vcpsdk.controller.store.schema import SchemaError, head_revision, upgrade_to_head

__all__ = [
    "AddressClaim",
    "Base",
    "Lease",
    "Meta",
    "Node",
    "Operation",
    "Replica",
    "SchemaError",
    "Store",
    "Token",
    "Unit",
    "VaultSecret",
    "Vc",
    "format_date",
    "head_revision",
    "upgrade_to_head",
    "utcnow",
]
