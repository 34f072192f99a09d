"""payments: the rendered Payment document, for the fast GET path

Revision ID: 0007_payment_documents
Revises: 0006_payment_disputes
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from localportone.kernel.db import UTCDateTime

revision = "0007_payment_documents"
down_revision = "0006_payment_disputes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("document", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("document_expires_at", UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_column("document_expires_at")
        batch_op.drop_column("document")
