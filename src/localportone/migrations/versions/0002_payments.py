"""payments: payments, attempts, cancellations, events, search terms, pre-registrations

Revision ID: 0002_payments
Revises: 0001_foundation
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql, sqlite

import localportone.kernel.db

revision = "0002_payments"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('payment_pre_registrations',
    sa.Column('store_id', sa.String(length=100), nullable=False),
    sa.Column('payment_id', sa.String(length=200), nullable=False),
    sa.Column('total_amount', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('tax_free_amount', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('updated_at', localportone.kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('store_id', 'payment_id', name=op.f('pk_payment_pre_registrations'))
    )
    op.create_table('payments',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('store_id', sa.String(length=100), nullable=False),
    sa.Column('merchant_id', sa.String(length=100), nullable=False),
    sa.Column('payment_id', sa.String(length=200), nullable=False),
    sa.Column('current_transaction_id', sa.String(length=40), nullable=True),
    sa.Column('transaction_count', sa.Integer(), nullable=False),
    sa.Column('created_at', localportone.kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', localportone.kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_payments_store_id_stores')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payments')),
    sa.UniqueConstraint('store_id', 'payment_id', name=op.f('uq_payments_store_id_payment_id'))
    )
    op.create_index(op.f('ix_payments_merchant_id'), 'payments', ['merchant_id'], unique=False)
    op.create_index('ix_payments_store_id_created_at', 'payments', ['store_id', 'created_at'], unique=False)
    op.create_table('payment_transactions',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('payment_pk', sa.String(length=40), nullable=False),
    sa.Column('store_id', sa.String(length=100), nullable=False),
    sa.Column('merchant_id', sa.String(length=100), nullable=False),
    sa.Column('payment_id', sa.String(length=200), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=30), nullable=False),
    sa.Column('channel', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql').with_variant(sqlite.JSON(), 'sqlite'), nullable=True),
    sa.Column('channel_group', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql').with_variant(sqlite.JSON(), 'sqlite'), nullable=True),
    sa.Column('pg_provider', sa.String(length=50), nullable=True),
    sa.Column('is_test', sa.Boolean(), nullable=False),
    sa.Column('schedule_id', sa.String(length=100), nullable=True),
    sa.Column('billing_key', sa.String(length=200), nullable=True),
    sa.Column('requested_at', localportone.kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', localportone.kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status_changed_at', localportone.kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('paid_at', localportone.kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('failed_at', localportone.kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', localportone.kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('captured_at', localportone.kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('order_name', sa.Text(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('total', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tax_free', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('vat', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('discount', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('cancelled', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('cancelled_tax_free', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('cancelled_vat', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('customer', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql').with_variant(sqlite.JSON(), 'sqlite'), nullable=False),
    sa.Column('custom_data', sa.Text(), nullable=True),
    sa.Column('country', sa.String(length=2), nullable=True),
    sa.Column('products', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql').with_variant(sqlite.JSON(), 'sqlite'), nullable=True),
    sa.Column('product_count', sa.Integer(), nullable=True),
    sa.Column('is_cultural_expense', sa.Boolean(), nullable=True),
    sa.Column('is_escrow', sa.Boolean(), nullable=False),
    sa.Column('escrow_status', sa.String(length=30), nullable=True),
    sa.Column('promotion_id', sa.String(length=200), nullable=True),
    sa.Column('notice_urls', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql').with_variant(sqlite.JSON(), 'sqlite'), nullable=True),
    sa.Column('installment_month', sa.Integer(), nullable=True),
    sa.Column('cash_receipt_type', sa.String(length=20), nullable=True),
    sa.Column('method', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql').with_variant(sqlite.JSON(), 'sqlite'), nullable=True),
    sa.Column('method_type', sa.String(length=30), nullable=True),
    sa.Column('card_brand', sa.String(length=20), nullable=True),
    sa.Column('card_type', sa.String(length=20), nullable=True),
    sa.Column('card_owner_type', sa.String(length=20), nullable=True),
    sa.Column('pg_tx_id', sa.String(length=200), nullable=True),
    sa.Column('pg_response', sa.Text(), nullable=True),
    sa.Column('receipt_url', sa.Text(), nullable=True),
    sa.Column('failure_reason', sa.Text(), nullable=True),
    sa.Column('failure_pg_code', sa.String(length=200), nullable=True),
    sa.Column('failure_pg_message', sa.Text(), nullable=True),
    sa.Column('origin', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql').with_variant(sqlite.JSON(), 'sqlite'), nullable=False),
    sa.Column('platform_type', sa.String(length=10), nullable=False),
    sa.Column('va_expired_at', localportone.kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('payment_token_hash', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['payment_pk'], ['payments.id'], name=op.f('fk_payment_transactions_payment_pk_payments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_transactions'))
    )
    op.create_index(op.f('ix_payment_transactions_payment_pk'), 'payment_transactions', ['payment_pk'], unique=False)
    op.create_index('ix_payment_transactions_status_va_expired_at', 'payment_transactions', ['status', 'va_expired_at'], unique=False)
    op.create_index('ix_payment_transactions_store_id_requested_at', 'payment_transactions', ['store_id', 'requested_at'], unique=False)
    op.create_index('ix_payment_transactions_store_id_status_changed_at', 'payment_transactions', ['store_id', 'status_changed_at'], unique=False)
    op.create_table('payment_cancellations',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('transaction_id', sa.String(length=40), nullable=False),
    sa.Column('store_id', sa.String(length=100), nullable=False),
    sa.Column('payment_id', sa.String(length=200), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('total_amount', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tax_free_amount', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('vat_amount', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('requester', sa.String(length=20), nullable=True),
    sa.Column('trigger', sa.String(length=20), nullable=True),
    sa.Column('requested_at', localportone.kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('cancelled_at', localportone.kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('pg_cancellation_id', sa.String(length=200), nullable=True),
    sa.Column('receipt_url', sa.Text(), nullable=True),
    sa.Column('refund_account', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql').with_variant(sqlite.JSON(), 'sqlite'), nullable=True),
    sa.Column('failure_pg_code', sa.String(length=200), nullable=True),
    sa.Column('failure_pg_message', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['transaction_id'], ['payment_transactions.id'], name=op.f('fk_payment_cancellations_transaction_id_payment_transactions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_cancellations'))
    )
    op.create_index(op.f('ix_payment_cancellations_transaction_id'), 'payment_cancellations', ['transaction_id'], unique=False)
    op.create_table('payment_events',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('store_id', sa.String(length=100), nullable=False),
    sa.Column('merchant_id', sa.String(length=100), nullable=False),
    sa.Column('payment_id', sa.String(length=200), nullable=False),
    sa.Column('transaction_id', sa.String(length=40), nullable=False),
    sa.Column('type', sa.String(length=20), nullable=False),
    sa.Column('created_at', localportone.kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('event_amount', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('amount', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql').with_variant(sqlite.JSON(), 'sqlite'), nullable=False),
    sa.Column('cancellation_id', sa.String(length=40), nullable=True),
    sa.ForeignKeyConstraint(['transaction_id'], ['payment_transactions.id'], name=op.f('fk_payment_events_transaction_id_payment_transactions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_events'))
    )
    op.create_index('ix_payment_events_store_id_created_at', 'payment_events', ['store_id', 'created_at'], unique=False)
    op.create_index(op.f('ix_payment_events_transaction_id'), 'payment_events', ['transaction_id'], unique=False)
    op.create_table('payment_search_terms',
    sa.Column('transaction_id', sa.String(length=40), nullable=False),
    sa.Column('field', sa.String(length=40), nullable=False),
    sa.Column('value', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['transaction_id'], ['payment_transactions.id'], name=op.f('fk_payment_search_terms_transaction_id_payment_transactions')),
    sa.PrimaryKeyConstraint('transaction_id', 'field', 'value', name=op.f('pk_payment_search_terms'))
    )
    op.create_index('ix_payment_search_terms_field_value', 'payment_search_terms', ['field', 'value'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_payment_search_terms_field_value', table_name='payment_search_terms')
    op.drop_table('payment_search_terms')
    op.drop_index(op.f('ix_payment_events_transaction_id'), table_name='payment_events')
    op.drop_index('ix_payment_events_store_id_created_at', table_name='payment_events')
    op.drop_table('payment_events')
    op.drop_index(op.f('ix_payment_cancellations_transaction_id'), table_name='payment_cancellations')
    op.drop_table('payment_cancellations')
    op.drop_index('ix_payment_transactions_store_id_status_changed_at', table_name='payment_transactions')
    op.drop_index('ix_payment_transactions_store_id_requested_at', table_name='payment_transactions')
    op.drop_index('ix_payment_transactions_status_va_expired_at', table_name='payment_transactions')
    op.drop_index(op.f('ix_payment_transactions_payment_pk'), table_name='payment_transactions')
    op.drop_table('payment_transactions')
    op.drop_index('ix_payments_store_id_created_at', table_name='payments')
    op.drop_index(op.f('ix_payments_merchant_id'), table_name='payments')
    op.drop_table('payments')
    op.drop_table('payment_pre_registrations')
