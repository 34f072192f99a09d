"""Rows → wire dicts (``BillingKeyInfo``, ``IssueBillingKeyResponse``, ...). Absent fields are omitted."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from localportone.billing_keys import state
from localportone.billing_keys.models import BillingKey, BillingKeyChannel
from localportone.kernel.clock import to_wire
from localportone.pg.connector import CardInfo


def card_wire(card: CardInfo) -> dict[str, Any]:
    out: dict[str, Any] = {"brand": card.brand, "type": card.type, "ownerType": card.owner_type,
                           "bin": card.bin, "number": card.number}
    for key, value in (("issuer", card.issuer), ("publisher", card.publisher), ("name", card.name)):
        if value is not None:
            out[key] = value
    return out


def card_info(card: dict[str, Any] | None) -> CardInfo | None:
    """The stored ``Card`` wire dict back as the PG layer's ``CardInfo``."""
    if not card:
        return None
    return CardInfo(
        brand=card.get("brand", "LOCAL"), type=card.get("type", "CREDIT"), owner_type=card.get("ownerType", "PERSONAL"),
        bin=card.get("bin", ""), number=card.get("number", ""), issuer=card.get("issuer"),
        publisher=card.get("publisher"), name=card.get("name"),
    )


def method_wire(card: CardInfo | None, easy_pay_provider: str | None) -> dict[str, Any]:
    """``BillingKeyPaymentMethod``: a card, or a wallet (easy pay) holding a card."""
    card_method: dict[str, Any] = {"type": "BillingKeyPaymentMethodCard"}
    if card is not None:
        card_method["card"] = card_wire(card)
    if easy_pay_provider is None:
        return card_method
    return {"type": "BillingKeyPaymentMethodEasyPay", "provider": easy_pay_provider, "method": card_method}


def channel_wire(channel: BillingKeyChannel) -> dict[str, Any]:
    return {
        "type": channel.channel_type,
        "id": channel.channel_id,
        "key": channel.channel_key,
        "name": channel.channel_name,
        "pgProvider": channel.pg_provider,
        "pgMerchantId": channel.pg_merchant_id,
    }


def channel_specific_failure(channel: BillingKeyChannel) -> dict[str, Any]:
    failure = channel.failure or {}
    return {
        "type": "PG_PROVIDER",
        "channel": channel_wire(channel),
        "message": failure.get("message", "the PG refused to issue the billing key"),
        "pgCode": failure.get("pgCode", ""),
        "pgMessage": failure.get("pgMessage", ""),
    }


def issued_channels(channels: Sequence[BillingKeyChannel]) -> list[BillingKeyChannel]:
    return [c for c in channels if c.outcome == state.ISSUED]


def methods_wire(channels: Sequence[BillingKeyChannel]) -> list[dict[str, Any]]:
    methods: list[dict[str, Any]] = []
    for channel in issued_channels(channels):
        if channel.method is not None and channel.method not in methods:
            methods.append(channel.method)
    return methods


def pg_issue_response(channel: BillingKeyChannel) -> dict[str, Any]:
    if channel.outcome == state.ISSUED:
        out: dict[str, Any] = {"type": "ISSUED", "channel": channel_wire(channel)}
        if channel.pg_tx_id is not None:
            out["pgTxId"] = channel.pg_tx_id
        if channel.method is not None:
            out["method"] = channel.method
        return out
    return {"type": "FAILED", "channel": channel_wire(channel), "failure": dict(channel.failure or {})}


def billing_key_info(row: BillingKey, channels: Sequence[BillingKeyChannel]) -> dict[str, Any]:
    """``BillingKeyInfo`` (ISSUED or DELETED)."""
    assert row.issued_at is not None
    out: dict[str, Any] = {
        "status": row.status,
        "billingKey": row.billing_key,
        "merchantId": row.merchant_id,
        "storeId": row.store_id,
        "methods": methods_wire(channels),
        "channels": [channel_wire(c) for c in issued_channels(channels)],
        "customer": dict(row.customer or {}),
        "requestedAt": to_wire(row.requested_at),
        "issuedAt": to_wire(row.issued_at),
    }
    for key, value in (("customData", row.custom_data), ("issueId", row.issue_id), ("issueName", row.issue_name)):
        if value is not None:
            out[key] = value
    if row.channel_group_id is not None:
        out["channelGroup"] = {
            "id": row.channel_group_id,
            "name": row.channel_group_name or "",
            "isForTest": bool(row.channel_group_is_for_test),
        }
        out["pgBillingKeyIssueResponses"] = [pg_issue_response(c) for c in channels]
    if row.status == state.DELETED:
        assert row.deleted_at is not None
        out["deletedAt"] = to_wire(row.deleted_at)
    return out


def issue_response(row: BillingKey, channels: Sequence[BillingKeyChannel]) -> dict[str, Any]:
    """``IssueBillingKeyResponse``: the key, and the channels of a group that refused (partial success)."""
    assert row.issued_at is not None
    out: dict[str, Any] = {
        "billingKeyInfo": {
            "billingKey": row.billing_key,
            "issuedAt": to_wire(row.issued_at),
            "channels": [channel_wire(c) for c in issued_channels(channels)],
        }
    }
    failures = [channel_specific_failure(c) for c in channels if c.outcome == state.FAILED]
    if failures:
        out["channelSpecificFailures"] = failures
    return out
