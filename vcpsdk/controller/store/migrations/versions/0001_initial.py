"""The schema of vcpsdk 26.11.0, the last release without migrations.

Revision ID: 0001
Revises:
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

#: column types by the short names used below; ``sN`` is VARCHAR(N)
_TYPES: dict[str, Callable[[], sa.types.TypeEngine[Any]]] = {
    "int": sa.Integer,
    "text": sa.Text,
    "bool": sa.Boolean,
    "date": sa.DateTime,
    "json": sa.JSON,
}


def _columns(spec: str, nullable: bool = False) -> list[sa.Column[Any]]:
    """Columns from ``"name:type name:type ..."`` (types: int, text, bool, date, json, sN)."""
    columns: list[sa.Column[Any]] = []
    for item in spec.split():
        name, kind = item.split(":")
        type_: sa.types.TypeEngine[Any] = sa.String(int(kind[1:])) if kind.startswith("s") else _TYPES[kind]()
        columns.append(sa.Column(name, type_, nullable=nullable))
    return columns


def _indexes(table: str, *columns: str) -> None:
    for column in columns:
        op.create_index(f"ix_{table}_{column}", table, [column])


def upgrade() -> None:
    """Create every table of the controller."""
    op.create_table("meta", sa.Column("key", sa.String(64), primary_key=True), *_columns("value:text"))
    op.create_table(
        "tokens",
        sa.Column("id", sa.Integer(), primary_key=True),
        *_columns("token_hash:s64 user_name:s128 superuser:bool created_at:date"),
    )
    _indexes("tokens", "user_name")
    op.create_index("ix_tokens_token_hash", "tokens", ["token_hash"], unique=True)
    op.create_table(
        "vcs",
        sa.Column("vcid", sa.String(32), primary_key=True),
        sa.Column("vcno", sa.Integer(), nullable=False, unique=True),
        *_columns("name:s255 description:text owner:s128 type:s16 deleting:bool cdate:date revision:int"),
    )
    _indexes("vcs", "owner")
    op.create_table(
        "operations",
        sa.Column("id", sa.Integer(), primary_key=True),
        *_columns("vcid:s32 unit_id:int kind:s32 node_ids:json status:s16 error:text created_at:date"),
    )
    _indexes("operations", "vcid", "unit_id", "status")
    op.create_table(
        "vault_secrets",
        sa.Column("id", sa.Integer(), primary_key=True),
        *_columns("token_hash:s64 path:s512 sealed:text"),
        sa.UniqueConstraint("token_hash", "path"),
    )
    _indexes("vault_secrets", "token_hash")
    op.create_table(
        "units",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("vcid", sa.String(32), sa.ForeignKey("vcs.vcid"), nullable=False),
        *_columns("name:s255 type:s16 provider:s32 state:s32 processing:bool error_message:text"),
        *_columns("info:text spec:json cdate:date mdate:date"),
        sa.UniqueConstraint("vcid", "name"),
    )
    _indexes("units", "vcid")
    op.create_table(
        "nodes",
        sa.Column("node_id", sa.String(32), primary_key=True),
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("units.id"), nullable=False),
        *_columns("vcid:s32 kind:s16 node_no:int provider:s32 state:s32"),
        *_columns("address:s64", nullable=True),
        *_columns("instance_id:s128"),
        *_columns("boot_date:date container_date:date", nullable=True),
        *_columns("watch_mode:bool error_message:text volumes:json disk_refs:json"),
        *_columns("disk_size:int attached_to:s32 ssh_port:int", nullable=True),
        *_columns("backend_data:json cdate:date"),
    )
    _indexes("nodes", "unit_id", "address", "vcid", "attached_to")


def downgrade() -> None:
    """Drop every table (only for tests of the migrations themselves)."""
    for table in ("nodes", "units", "vault_secrets", "operations", "vcs", "tokens", "meta"):
        op.drop_table(table)
