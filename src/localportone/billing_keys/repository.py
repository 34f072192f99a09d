"""Every query of the billing-keys domain. The lookup behind every billing-key payment is hand-written SQL."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from localportone.billing_keys import state
from localportone.billing_keys.models import BillingKey, BillingKeyChannel
from localportone.kernel.records import RecordTable
from localportone.kernel.sql import Sql


def add(session: AsyncSession, row: BillingKey, channels: Sequence[BillingKeyChannel]) -> None:
    session.add(row)
    session.add_all(channels)


async def get(session: AsyncSession, store_id: str, billing_key: str, *, for_update: bool = False) -> BillingKey | None:
    query = select(BillingKey).where(BillingKey.billing_key == billing_key, BillingKey.store_id == store_id)
    if for_update:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


@dataclass
class ChargeableKey:
    """The columns of ``billing_keys`` a payment with the key needs."""

    billing_key: str
    store_id: str
    status: str
    method_type: str
    easy_pay_provider: str | None
    card: dict[str, Any] | None
    customer: dict[str, Any] | None
    channel_group_id: str | None


@dataclass
class ChargeableChannel:
    """The columns of ``billing_key_channels`` a payment with the key needs."""

    channel_id: str
    channel_key: str
    channel_name: str
    pg_provider: str
    pg_merchant_id: str
    channel_type: str
    store_id: str
    manual_confirm: bool
    pg_billing_key: str | None


_KEYS = RecordTable("billing_keys", ChargeableKey, kinds={"card": "json", "customer": "json"}, key=("billing_key",))
_CHANNELS = RecordTable("billing_key_channels", ChargeableChannel, kinds={"manual_confirm": "bool"}, rank=1,
                        key=("billing_key", "position"))
_CHANNEL_OFFSET = len(_KEYS.columns)

Chargeable = tuple[ChargeableKey, list[ChargeableChannel]]

#: The columns of a key and of its ISSUED channels, as :func:`load_chargeable` reads them.
CHARGEABLE_COLUMNS = f"{_KEYS.select('k')}, {_CHANNELS.select('c')}"
#: For a statement of another domain (one row, then one row per channel): the store's key (parameters: the key,
#: the store) and its ISSUED channels (parameter: ``ISSUED``), ordered by ``c.position``.
CHARGEABLE_JOINS = ("LEFT JOIN billing_keys k ON k.billing_key = ? AND k.store_id = ? "
                    "LEFT JOIN billing_key_channels c ON c.billing_key = k.billing_key AND c.outcome = ?")


async def chargeable(sql: Sql, store_id: str, billing_key: str) -> Chargeable | None:
    """The store's key and its ISSUED channels in issue order, in one statement; ``None`` without such a key."""
    return (await chargeable_many(sql, store_id, [billing_key])).get(billing_key)


async def chargeable_many(sql: Sql, store_id: str, billing_keys: Sequence[str]) -> dict[str, Chargeable]:
    """:func:`chargeable` for many keys of one store, in one statement per 500 keys."""
    out: dict[str, Chargeable] = {}
    keys = list(dict.fromkeys(billing_keys))
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        rows = await sql.all(
            f"SELECT {CHARGEABLE_COLUMNS} FROM billing_keys k "
            "LEFT JOIN billing_key_channels c ON c.billing_key = k.billing_key AND c.outcome = ? "
            f"WHERE k.billing_key IN ({', '.join('?' for _ in chunk)}) AND k.store_id = ? "
            "ORDER BY k.billing_key, c.position", state.ISSUED, *chunk, store_id)
        _load_into(out, sql, rows, 0)
    return out


def load_chargeable(sql: Sql, rows: Sequence[Sequence[Any]], offset: int) -> Chargeable | None:
    """The key and channels that :data:`CHARGEABLE_JOINS` added to ``rows`` from column ``offset`` on."""
    found: dict[str, Chargeable] = {}
    _load_into(found, sql, [row for row in rows if row[offset] is not None], offset)
    return next(iter(found.values()), None)


def _load_into(out: dict[str, Chargeable], sql: Sql, rows: Sequence[Sequence[Any]], offset: int) -> None:
    for row in rows:
        key = _KEYS.load(sql, row, offset)
        entry = out.setdefault(key.billing_key, (key, []))
        if row[offset + _CHANNEL_OFFSET] is not None:
            entry[1].append(_CHANNELS.load(sql, row, offset + _CHANNEL_OFFSET))


async def by_issue_token(session: AsyncSession, token: str, *, for_update: bool = False) -> BillingKey | None:
    query = select(BillingKey).where(BillingKey.billing_issue_token == token)
    if for_update:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def channels_of(session: AsyncSession, billing_key: str) -> list[BillingKeyChannel]:
    query = (select(BillingKeyChannel).where(BillingKeyChannel.billing_key == billing_key)
             .order_by(BillingKeyChannel.position))
    return list((await session.execute(query)).scalars())


async def channels_of_many(session: AsyncSession, billing_keys: Sequence[str]) -> dict[str, list[BillingKeyChannel]]:
    out: dict[str, list[BillingKeyChannel]] = {key: [] for key in billing_keys}
    if not billing_keys:
        return out
    query = (select(BillingKeyChannel).where(BillingKeyChannel.billing_key.in_(billing_keys))
             .order_by(BillingKeyChannel.billing_key, BillingKeyChannel.position))
    for channel in (await session.execute(query)).scalars():
        out[channel.billing_key].append(channel)
    return out


@dataclass(frozen=True)
class ListQuery:
    """A validated ``GetBillingKeyInfosBody`` in column terms. ``store_ids`` None: every store of the merchant."""

    merchant_id: str
    store_ids: list[str] | None
    time_field: str
    since: datetime
    until: datetime
    statuses: list[str] | None
    channel_group_ids: list[str] | None
    customer_id: str | None
    platform_type: str | None
    text_field: str | None
    text_value: str | None
    pg_providers: list[str] | None
    pg_companies: list[str] | None
    methods: list[str] | None
    version: str | None
    sort_by: str
    descending: bool
    offset: int
    limit: int


_TIME_COLUMNS: dict[str, InstrumentedAttribute[datetime | None]] = {
    "REQUESTED_AT": BillingKey.requested_at,
    "ISSUED_AT": BillingKey.issued_at,
    "DELETED_AT": BillingKey.deleted_at,
    "STATUS_TIMESTAMP": BillingKey.status_at,
}

#: textSearch fields stored on the key itself; the others are looked up through its channels.
_TEXT_COLUMNS: dict[str, InstrumentedAttribute[str | None]] = {
    "CARD_BIN": BillingKey.card_bin,
    "CARD_NUMBER": BillingKey.card_number,
    "CUSTOMER_NAME": BillingKey.customer_name,
    "CUSTOMER_EMAIL": BillingKey.customer_email,
    "CUSTOMER_PHONE_NUMBER": BillingKey.customer_phone_number,
    "CUSTOMER_ADDRESS": BillingKey.customer_address,
    "CUSTOMER_ZIPCODE": BillingKey.customer_zipcode,
    "USER_AGENT": BillingKey.user_agent,
    "BILLING_KEY": BillingKey.billing_key,
    "CHANNEL_GROUP_NAME": BillingKey.channel_group_name,
}


def _prefix(column: ColumnElement[str | None] | InstrumentedAttribute[str | None], value: str) -> ColumnElement[bool]:
    """Case-sensitive prefix match on both engines (SQLite's LIKE ignores case)."""
    return func.substr(column, 1, len(value)) == value


def _issued_channel_where(*conditions: ColumnElement[bool]) -> ColumnElement[bool]:
    return exists().where(
        BillingKeyChannel.billing_key == BillingKey.billing_key,
        BillingKeyChannel.outcome == state.ISSUED,
        *conditions,
    )


def _filtered(q: ListQuery) -> Select[BillingKey]:
    query = select(BillingKey).where(BillingKey.merchant_id == q.merchant_id,
                                     BillingKey.status.in_(sorted(state.VISIBLE)))
    if q.store_ids is not None:
        query = query.where(BillingKey.store_id.in_(q.store_ids))
    time_column = _TIME_COLUMNS[q.time_field]
    query = query.where(time_column >= q.since, time_column <= q.until)
    if q.statuses is not None:
        query = query.where(BillingKey.status.in_(q.statuses))
    if q.channel_group_ids is not None:
        query = query.where(BillingKey.channel_group_id.in_(q.channel_group_ids))
    if q.customer_id is not None:
        query = query.where(BillingKey.customer_id == q.customer_id)
    if q.platform_type is not None:
        query = query.where(BillingKey.platform_type == q.platform_type)
    if q.text_field is not None and q.text_value is not None:
        if q.text_field == "PG_MERCHANT_ID":
            query = query.where(_issued_channel_where(_prefix(BillingKeyChannel.pg_merchant_id, q.text_value)))
        else:
            query = query.where(_prefix(_TEXT_COLUMNS[q.text_field], q.text_value))
    if q.pg_providers is not None:
        query = query.where(_issued_channel_where(BillingKeyChannel.pg_provider.in_(q.pg_providers)))
    if q.pg_companies is not None:
        query = query.where(_issued_channel_where(BillingKeyChannel.pg_company.in_(q.pg_companies)))
    if q.methods is not None:
        query = query.where(BillingKey.method_type.in_(q.methods))
    if q.version is not None and q.version != "V2":
        query = query.where(BillingKey.billing_key != BillingKey.billing_key)  # every key here is a V2 key
    return query


async def search(session: AsyncSession, q: ListQuery) -> tuple[list[BillingKey], int]:
    filtered = _filtered(q)
    total = await session.scalar(select(func.count()).select_from(filtered.subquery()))
    sort_column = _TIME_COLUMNS[q.sort_by]
    order = sort_column.desc() if q.descending else sort_column.asc()
    tie = BillingKey.billing_key.desc() if q.descending else BillingKey.billing_key.asc()
    query = filtered.order_by(order.nulls_last(), tie).offset(q.offset).limit(q.limit)
    return list((await session.execute(query)).scalars()), int(total or 0)
