"""billing keys (and their per-channel results) and remembered Idempotency-Key requests

Revision ID: 0003_billing_keys
Revises: 0001_foundation
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql, sqlite

import localportone.kernel.db

revision = '0003_billing_keys'
down_revision = '0001_foundation'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('billing_keys',
    sa.Column('billing_key', sa.String(length=100), nullable=False),
    sa.Column('merchant_id', sa.String(length=100), nullable=False),
    sa.Column('store_id', sa.String(length=100), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('is_test', sa.Boolean(), nullable=False),
    sa.Column('method_type', sa.String(length=16), nullable=False),
    sa.Column('easy_pay_provider', sa.String(length=40), nullable=True),
    sa.Column('card', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql').with_variant(sqlite.JSON(), 'sqlite'), nullable=True),
    sa.Column('card_bin', sa.String(length=16), nullable=True),
    sa.Column('card_number', sa.String(length=32), nullable=True),
    sa.Column('customer', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql').with_variant(sqlite.JSON(), 'sqlite'), nullable=False),
    sa.Column('customer_id', sa.String(length=200), nullable=True),
    sa.Column('customer_name', sa.String(length=400), nullable=True),
    sa.Column('customer_email', sa.String(length=400), nullable=True),
    sa.Column('customer_phone_number', sa.String(length=100), nullable=True),
    sa.Column('customer_address', sa.Text(), nullable=True),
    sa.Column('customer_zipcode', sa.String(length=40), nullable=True),
    sa.Column('custom_data', sa.Text(), nullable=True),
    sa.Column('issue_id', sa.String(length=200), nullable=True),
    sa.Column('issue_name', sa.String(length=400), nullable=True),
    sa.Column('channel_group_id', sa.String(length=100), nullable=True),
    sa.Column('channel_group_name', sa.String(length=200), nullable=True),
    sa.Column('channel_group_is_for_test', sa.Boolean(), nullable=True),
    sa.Column('platform_type', sa.String(length=16), nullable=False),
    sa.Column('user_agent', sa.Text(), nullable=True),
    sa.Column('notice_urls', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql').with_variant(sqlite.JSON(), 'sqlite'), nullable=True),
    sa.Column('requested_at', localportone.kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('issued_at', localportone.kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('deleted_at', localportone.kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('status_at', localportone.kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('delete_reason', sa.Text(), nullable=True),
    sa.Column('delete_requester', sa.String(length=16), nullable=True),
    sa.Column('billing_issue_token', sa.String(length=200), nullable=True),
    sa.Column('pending_payment', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql').with_variant(sqlite.JSON(), 'sqlite'), nullable=True),
    sa.Column('confirmed_at', localportone.kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('billing_key', name=op.f('pk_billing_keys')),
    sa.UniqueConstraint('billing_issue_token', name=op.f('uq_billing_keys_billing_issue_token'))
    )
    with op.batch_alter_table('billing_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_billing_keys_merchant_id'), ['merchant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_billing_keys_store_id'), ['store_id'], unique=False)
        batch_op.create_index('ix_billing_keys_store_id_requested_at', ['store_id', 'requested_at'], unique=False)

    op.create_table('idempotency_keys',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('scope', sa.String(length=100), nullable=False),
    sa.Column('key', sa.String(length=256), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('owner', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('created_at', localportone.kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', localportone.kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('lease_until', localportone.kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('response_status', sa.Integer(), nullable=True),
    sa.Column('response_content_type', sa.String(length=200), nullable=True),
    sa.Column('response_body', sa.LargeBinary(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotency_keys')),
    sa.UniqueConstraint('scope', 'key', name=op.f('uq_idempotency_keys_scope_key'))
    )
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_idempotency_keys_expires_at'), ['expires_at'], unique=False)

    op.create_table('billing_key_channels',
    sa.Column('billing_key', sa.String(length=100), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('channel_id', sa.String(length=100), nullable=False),
    sa.Column('channel_key', sa.String(length=100), nullable=False),
    sa.Column('channel_name', sa.String(length=200), nullable=False),
    sa.Column('channel_type', sa.String(length=10), nullable=False),
    sa.Column('pg_provider', sa.String(length=50), nullable=False),
    sa.Column('pg_company', sa.String(length=50), nullable=True),
    sa.Column('pg_merchant_id', sa.String(length=100), nullable=False),
    sa.Column('store_id', sa.String(length=100), nullable=False),
    sa.Column('manual_confirm', sa.Boolean(), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('pg_billing_key', sa.Text(), nullable=True),
    sa.Column('pg_tx_id', sa.String(length=200), nullable=True),
    sa.Column('method', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql').with_variant(sqlite.JSON(), 'sqlite'), nullable=True),
    sa.Column('failure', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql').with_variant(sqlite.JSON(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['billing_key'], ['billing_keys.billing_key'], name=op.f('fk_billing_key_channels_billing_key_billing_keys')),
    sa.PrimaryKeyConstraint('billing_key', 'position', name=op.f('pk_billing_key_channels'))
    )
    with op.batch_alter_table('billing_key_channels', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_billing_key_channels_pg_provider'), ['pg_provider'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('billing_key_channels', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_billing_key_channels_pg_provider'))

    op.drop_table('billing_key_channels')
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_idempotency_keys_expires_at'))

    op.drop_table('idempotency_keys')
    with op.batch_alter_table('billing_keys', schema=None) as batch_op:
        batch_op.drop_index('ix_billing_keys_store_id_requested_at')
        batch_op.drop_index(batch_op.f('ix_billing_keys_store_id'))
        batch_op.drop_index(batch_op.f('ix_billing_keys_merchant_id'))

    op.drop_table('billing_keys')
