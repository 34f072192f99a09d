"""payments: drop the indexes no query uses (each was written with every payment)

Revision ID: 0009_payment_indexes
Revises: 0008_search_terms_without_fk

See docs/decisions/0005-postgresql-payment-in-four-round-trips.md.
"""

from __future__ import annotations

from alembic import op

revision = "0009_payment_indexes"
down_revision = "0008_search_terms_without_fk"
branch_labels = None
depends_on = None

#: (index, table, columns)
_DROPPED = (
    ("ix_payment_search_terms_field_value", "payment_search_terms", ["field", "value"]),
    ("ix_payments_merchant_id", "payments", ["merchant_id"]),
    ("ix_payment_events_transaction_id", "payment_events", ["transaction_id"]),
)


def upgrade() -> None:
    for name, table, _columns in _DROPPED:
        op.drop_index(name, table_name=table)


def downgrade() -> None:
    for name, table, columns in _DROPPED:
        op.create_index(name, table, columns, unique=False)
