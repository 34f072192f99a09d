"""webhooks: the delivery outbox and its attempts

Revision ID: 0004_webhooks
Revises: 0001_foundation
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql, sqlite

import localportone.kernel.db

revision = '0004_webhooks'
down_revision = '0001_foundation'
branch_labels = None
depends_on = None

_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql').with_variant(sqlite.JSON(), 'sqlite')


def upgrade() -> None:
    op.create_table('webhook_deliveries',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('store_id', sa.String(length=100), nullable=False),
    sa.Column('payment_id', sa.String(length=200), nullable=True),
    sa.Column('billing_key', sa.String(length=200), nullable=True),
    sa.Column('event_type', sa.String(length=64), nullable=False),
    sa.Column('version', sa.String(length=20), nullable=False),
    sa.Column('is_test', sa.Boolean(), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('payment_status', sa.String(length=30), nullable=True),
    sa.Column('trigger', sa.String(length=40), nullable=True),
    sa.Column('is_async', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('last_result', sa.String(length=32), nullable=True),
    sa.Column('execution_count', sa.Integer(), nullable=False),
    sa.Column('max_executions', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', localportone.kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('lease_until', localportone.kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('claimed_by', sa.String(length=100), nullable=True),
    sa.Column('resend_of', sa.String(length=64), nullable=True),
    sa.Column('created_at', localportone.kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', localportone.kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_deliveries'))
    )
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_webhook_deliveries_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index('ix_webhook_deliveries_payment', ['store_id', 'payment_id'], unique=False)
        batch_op.create_index('ix_webhook_deliveries_resend_of', ['resend_of'], unique=False)

    op.create_table('webhook_attempts',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('delivery_id', sa.String(length=64), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('worker', sa.String(length=100), nullable=False),
    sa.Column('result', sa.String(length=32), nullable=False),
    sa.Column('request_headers', _DOCUMENT, nullable=False),
    sa.Column('requested_at', localportone.kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('responded_at', localportone.kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('response_status', sa.Integer(), nullable=True),
    sa.Column('response_headers', _DOCUMENT, nullable=True),
    sa.Column('response_body', sa.Text(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['delivery_id'], ['webhook_deliveries.id'], name=op.f('fk_webhook_attempts_delivery_id_webhook_deliveries'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_attempts')),
    sa.UniqueConstraint('delivery_id', 'number', name=op.f('uq_webhook_attempts_delivery_id_number'))
    )


def downgrade() -> None:
    op.drop_table('webhook_attempts')
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_webhook_deliveries_resend_of')
        batch_op.drop_index('ix_webhook_deliveries_payment')
        batch_op.drop_index('ix_webhook_deliveries_due')
    op.drop_table('webhook_deliveries')
