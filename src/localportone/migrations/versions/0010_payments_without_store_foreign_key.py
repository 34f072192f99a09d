"""payments: on PostgreSQL, no foreign key from payments.store_id to stores (a hot parent row)

Revision ID: 0010_payments_without_store_fk
Revises: 0009_payment_indexes

See docs/decisions/0006-payments-without-a-store-foreign-key-on-postgresql.md. SQLite keeps the constraint: it
costs one index lookup there, and dropping it would rebuild the payments table, which its attempts refer to.
"""

from __future__ import annotations

from alembic import op

revision = "0010_payments_without_store_fk"
down_revision = "0009_payment_indexes"
branch_labels = None
depends_on = None

_FK = "fk_payments_store_id_stores"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(_FK, "payments", type_="foreignkey")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.create_foreign_key(_FK, "payments", "stores", ["store_id"], ["id"])
