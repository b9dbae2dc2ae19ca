"""The schema of vcpsdk 26.11.0, the last release without migrations.

Revision ID: 0001
Revises:
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create every table of the controller."""
    op.create_table(
        "meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
    )
    op.create_table(
        "tokens",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("user_name", sa.String(128), nullable=False),
        sa.Column("superuser", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_tokens_user_name", "tokens", ["user_name"])
    op.create_index("ix_tokens_token_hash", "tokens", ["token_hash"], unique=True)
    op.create_table(
        "vcs",
        sa.Column("vcid", sa.String(32), primary_key=True),
        sa.Column("vcno", sa.Integer(), nullable=False, unique=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(128), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("deleting", sa.Boolean(), nullable=False),
        sa.Column("cdate", sa.DateTime(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
    )
    op.create_index("ix_vcs_owner", "vcs", ["owner"])
    op.create_table(
        "operations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("vcid", sa.String(32), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("node_ids", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_operations_vcid", "operations", ["vcid"])
    op.create_index("ix_operations_unit_id", "operations", ["unit_id"])
    op.create_index("ix_operations_status", "operations", ["status"])
    op.create_table(
        "vault_secrets",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("path", sa.String(512), nullable=False),
        sa.Column("sealed", sa.Text(), nullable=False),
        sa.UniqueConstraint("token_hash", "path"),
    )
    op.create_index("ix_vault_secrets_token_hash", "vault_secrets", ["token_hash"])
    op.create_table(
        "units",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("vcid", sa.String(32), sa.ForeignKey("vcs.vcid"), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("processing", sa.Boolean(), nullable=False),
        sa.Column("error_message", sa.Text(), nullable=False),
        sa.Column("info", sa.Text(), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("cdate", sa.DateTime(), nullable=False),
        sa.Column("mdate", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("vcid", "name"),
    )
    op.create_index("ix_units_vcid", "units", ["vcid"])
    op.create_table(
        "nodes",
        sa.Column("node_id", sa.String(32), primary_key=True),
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("units.id"), nullable=False),
        sa.Column("vcid", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("node_no", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("address", sa.String(64), nullable=True),
        sa.Column("instance_id", sa.String(128), nullable=False),
        sa.Column("boot_date", sa.DateTime(), nullable=True),
        sa.Column("container_date", sa.DateTime(), nullable=True),
        sa.Column("watch_mode", sa.Boolean(), nullable=False),
        sa.Column("error_message", sa.Text(), nullable=False),
        sa.Column("volumes", sa.JSON(), nullable=False),
        sa.Column("disk_refs", sa.JSON(), nullable=False),
        sa.Column("disk_size", sa.Integer(), nullable=True),
        sa.Column("attached_to", sa.String(32), nullable=True),
        sa.Column("ssh_port", sa.Integer(), nullable=True),
        sa.Column("backend_data", sa.JSON(), nullable=False),
        sa.Column("cdate", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_nodes_unit_id", "nodes", ["unit_id"])
    op.create_index("ix_nodes_address", "nodes", ["address"])
    op.create_index("ix_nodes_vcid", "nodes", ["vcid"])
    op.create_index("ix_nodes_attached_to", "nodes", ["attached_to"])


def downgrade() -> None:
    """Drop every table (only for tests of the migrations themselves)."""
    for table in ("nodes", "units", "vault_secrets", "operations", "vcs", "tokens", "meta"):
        op.drop_table(table)
