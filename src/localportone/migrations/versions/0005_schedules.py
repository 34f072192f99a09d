"""schedules: payment_schedules

Revision ID: 0005_schedules
Revises: 0001_foundation
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql, sqlite

import localportone.kernel.db

revision = '0005_schedules'
down_revision = '0001_foundation'
branch_labels = None
depends_on = None

_LIVE = "status IN ('SCHEDULED', 'STARTED', 'PENDING')"


def upgrade() -> None:
    op.create_table('payment_schedules',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('merchant_id', sa.String(length=100), nullable=False),
    sa.Column('store_id', sa.String(length=100), nullable=False),
    sa.Column('payment_id', sa.String(length=200), nullable=False),
    sa.Column('billing_key', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('is_test', sa.Boolean(), nullable=False),
    sa.Column('payment_input', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql').with_variant(sqlite.JSON(), 'sqlite'), nullable=False),
    sa.Column('customer', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql').with_variant(sqlite.JSON(), 'sqlite'), nullable=False),
    sa.Column('order_name', sa.Text(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('total_amount', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tax_free_amount', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('vat_amount', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('time_to_pay', localportone.kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', localportone.kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('started_at', localportone.kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('completed_at', localportone.kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', localportone.kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('status_at', localportone.kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('claim_token', sa.String(length=64), nullable=True),
    sa.Column('lease_until', localportone.kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('run_count', sa.Integer(), nullable=False),
    sa.Column('failure_reason', sa.Text(), nullable=True),
    sa.Column('failure_pg_code', sa.String(length=100), nullable=True),
    sa.Column('failure_pg_message', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_payment_schedules_store_id_stores')),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_payment_schedules')),
    sa.UniqueConstraint('id', name=op.f('uq_payment_schedules_id'))
    )
    with op.batch_alter_table('payment_schedules', schema=None) as batch_op:
        batch_op.create_index('ix_payment_schedules_status_time_to_pay', ['status', 'time_to_pay', 'seq'], unique=False)
        batch_op.create_index('ix_payment_schedules_store_id_time_to_pay', ['store_id', 'time_to_pay'], unique=False)
        batch_op.create_index('ix_payment_schedules_store_id_billing_key_status', ['store_id', 'billing_key', 'status'], unique=False)
        batch_op.create_index('uq_payment_schedules_live_payment', ['store_id', 'payment_id'], unique=True,
                              sqlite_where=sa.text(_LIVE), postgresql_where=sa.text(_LIVE))


def downgrade() -> None:
    with op.batch_alter_table('payment_schedules', schema=None) as batch_op:
        batch_op.drop_index('uq_payment_schedules_live_payment')
        batch_op.drop_index('ix_payment_schedules_store_id_billing_key_status')
        batch_op.drop_index('ix_payment_schedules_store_id_time_to_pay')
        batch_op.drop_index('ix_payment_schedules_status_time_to_pay')
    op.drop_table('payment_schedules')
