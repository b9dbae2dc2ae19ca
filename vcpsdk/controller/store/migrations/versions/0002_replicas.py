"""Replicas on one database: operation claims, replica leases, address claims.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the claim columns of ``operations`` and the ``replicas``, ``leases`` and
    ``address_claims`` tables; claim the addresses existing nodes already have."""
    with op.batch_alter_table("operations") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(32), nullable=True))
        batch.add_column(sa.Column("attempt", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("started_at", sa.DateTime(), nullable=True))
        batch.create_index("ix_operations_claimed_by", ["claimed_by"])
    op.create_table(
        "replicas",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("lease_until", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_replicas_lease_until", "replicas", ["lease_until"])
    op.create_table(
        "leases",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("holder", sa.String(32), nullable=True),
        sa.Column("since", sa.DateTime(), nullable=True),
    )
    op.create_table(
        "address_claims",
        sa.Column("address", sa.String(64), primary_key=True),
        sa.Column("node_id", sa.String(32), nullable=False),
    )
    op.create_index("ix_address_claims_node_id", "address_claims", ["node_id"])
    # nodes made before this revision keep their addresses (one claim per address)
    op.execute(
        "INSERT INTO address_claims (address, node_id) "
        "SELECT address, MIN(node_id) FROM nodes "
        "WHERE kind = 'compute' AND address IS NOT NULL GROUP BY address"
    )


def downgrade() -> None:
    """Drop what :func:`upgrade` added (only for tests of the migrations themselves)."""
    op.drop_table("address_claims")
    op.drop_table("leases")
    op.drop_index("ix_replicas_lease_until", "replicas")
    op.drop_table("replicas")
    with op.batch_alter_table("operations") as batch:
        batch.drop_index("ix_operations_claimed_by")
        batch.drop_column("started_at")
        batch.drop_column("attempt")
        batch.drop_column("claimed_by")
