"""payments: disputes on a payment attempt

Revision ID: 0006_payment_disputes
Revises: 0002_payments
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql, sqlite

revision = "0006_payment_disputes"
down_revision = "0002_payments"
branch_labels = None
depends_on = None


def upgrade() -> None:
    document = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql").with_variant(
        sqlite.JSON(), "sqlite"
    )
    with op.batch_alter_table("payment_transactions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("disputes", document, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("payment_transactions", schema=None) as batch_op:
        batch_op.drop_column("disputes")
