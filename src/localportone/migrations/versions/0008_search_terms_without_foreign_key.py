"""payments: search terms without a foreign key; payment documents compressed with lz4 where PostgreSQL has it

Revision ID: 0008_search_terms_without_fk
Revises: 0007_payment_documents

See docs/decisions/0003-search-terms-without-foreign-key.md.
"""

from __future__ import annotations

from alembic import op

revision = "0008_search_terms_without_fk"
down_revision = "0007_payment_documents"
branch_labels = None
depends_on = None

_FK = "fk_payment_search_terms_transaction_id_payment_transactions"


def upgrade() -> None:
    with op.batch_alter_table("payment_search_terms", schema=None) as batch_op:
        batch_op.drop_constraint(_FK, type_="foreignkey")
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        has_lz4 = bind.exec_driver_sql(
            "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'").scalar()
        if has_lz4:
            op.execute("ALTER TABLE payments ALTER COLUMN document SET COMPRESSION lz4")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("ALTER TABLE payments ALTER COLUMN document SET COMPRESSION default")
    with op.batch_alter_table("payment_search_terms", schema=None) as batch_op:
        batch_op.create_foreign_key(_FK, "payment_transactions", ["transaction_id"], ["id"])
