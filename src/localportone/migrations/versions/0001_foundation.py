"""foundation: accounts, auth, clock

Revision ID: 0001_foundation
Revises: -
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql, sqlite

import localportone.kernel.db

revision = '0001_foundation'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('merchants',
    sa.Column('id', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('created_at', localportone.kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_merchants'))
    )
    op.create_table('sandbox_clock',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('offset_us', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', localportone.kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sandbox_clock'))
    )
    op.create_table('server_keys',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('value', sa.String(length=256), nullable=False),
    sa.Column('created_at', localportone.kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_server_keys'))
    )
    op.create_table('stores',
    sa.Column('id', sa.String(length=100), nullable=False),
    sa.Column('merchant_id', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('is_representative', sa.Boolean(), nullable=False),
    sa.Column('webhook_version', sa.String(length=20), nullable=False),
    sa.Column('test_webhook_urls', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql').with_variant(sqlite.JSON(), 'sqlite'), nullable=True),
    sa.Column('live_webhook_urls', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql').with_variant(sqlite.JSON(), 'sqlite'), nullable=True),
    sa.Column('created_at', localportone.kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_stores_merchant_id_merchants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stores'))
    )
    with op.batch_alter_table('stores', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stores_merchant_id'), ['merchant_id'], unique=False)

    op.create_table('api_secrets',
    sa.Column('id', sa.String(length=100), nullable=False),
    sa.Column('merchant_id', sa.String(length=100), nullable=False),
    sa.Column('default_store_id', sa.String(length=100), nullable=False),
    sa.Column('pinned_to_store', sa.Boolean(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('secret_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', localportone.kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', localportone.kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('deleted_at', localportone.kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['default_store_id'], ['stores.id'], name=op.f('fk_api_secrets_default_store_id_stores')),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_api_secrets_merchant_id_merchants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_secrets')),
    sa.UniqueConstraint('secret_hash', name=op.f('uq_api_secrets_secret_hash'))
    )
    with op.batch_alter_table('api_secrets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_secrets_merchant_id'), ['merchant_id'], unique=False)

    op.create_table('channel_groups',
    sa.Column('id', sa.String(length=100), nullable=False),
    sa.Column('store_id', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('is_for_test', sa.Boolean(), nullable=False),
    sa.Column('created_at', localportone.kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_channel_groups_store_id_stores')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_channel_groups'))
    )
    with op.batch_alter_table('channel_groups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_channel_groups_store_id'), ['store_id'], unique=False)

    op.create_table('channels',
    sa.Column('id', sa.String(length=100), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('store_id', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('pg_provider', sa.String(length=50), nullable=False),
    sa.Column('pg_merchant_id', sa.String(length=100), nullable=False),
    sa.Column('type', sa.String(length=10), nullable=False),
    sa.Column('manual_confirm', sa.Boolean(), nullable=False),
    sa.Column('options', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql').with_variant(sqlite.JSON(), 'sqlite'), nullable=False),
    sa.Column('is_deleted', sa.Boolean(), nullable=False),
    sa.Column('created_at', localportone.kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_channels_store_id_stores')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_channels')),
    sa.UniqueConstraint('key', name=op.f('uq_channels_key'))
    )
    with op.batch_alter_table('channels', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_channels_store_id'), ['store_id'], unique=False)

    op.create_table('webhook_secrets',
    sa.Column('id', sa.String(length=100), nullable=False),
    sa.Column('store_id', sa.String(length=100), nullable=False),
    sa.Column('is_test', sa.Boolean(), nullable=False),
    sa.Column('secret', sa.String(length=200), nullable=False),
    sa.Column('created_at', localportone.kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', localportone.kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_webhook_secrets_store_id_stores')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_secrets'))
    )
    with op.batch_alter_table('webhook_secrets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webhook_secrets_store_id'), ['store_id'], unique=False)

    op.create_table('channel_group_members',
    sa.Column('group_id', sa.String(length=100), nullable=False),
    sa.Column('channel_id', sa.String(length=100), nullable=False),
    sa.Column('ratio', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['channel_id'], ['channels.id'], name=op.f('fk_channel_group_members_channel_id_channels')),
    sa.ForeignKeyConstraint(['group_id'], ['channel_groups.id'], name=op.f('fk_channel_group_members_group_id_channel_groups')),
    sa.PrimaryKeyConstraint('group_id', 'channel_id', name=op.f('pk_channel_group_members'))
    )
    op.create_table('refresh_tokens',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('api_secret_id', sa.String(length=100), nullable=False),
    sa.Column('issued_at', localportone.kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', localportone.kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', localportone.kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['api_secret_id'], ['api_secrets.id'], name=op.f('fk_refresh_tokens_api_secret_id_api_secrets')),
    sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_refresh_tokens'))
    )
    with op.batch_alter_table('refresh_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_refresh_tokens_api_secret_id'), ['api_secret_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('refresh_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_refresh_tokens_api_secret_id'))

    op.drop_table('refresh_tokens')
    op.drop_table('channel_group_members')
    with op.batch_alter_table('webhook_secrets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhook_secrets_store_id'))

    op.drop_table('webhook_secrets')
    with op.batch_alter_table('channels', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_channels_store_id'))

    op.drop_table('channels')
    with op.batch_alter_table('channel_groups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_channel_groups_store_id'))

    op.drop_table('channel_groups')
    with op.batch_alter_table('api_secrets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_secrets_merchant_id'))

    op.drop_table('api_secrets')
    with op.batch_alter_table('stores', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stores_merchant_id'))

    op.drop_table('stores')
    op.drop_table('server_keys')
    op.drop_table('sandbox_clock')
    op.drop_table('merchants')
