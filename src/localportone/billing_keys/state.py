"""Pure rules of billing keys: input checks made before the PG is called, and the status lifecycle.

Statuses: ``PENDING`` (issued through a manual-confirm checkout, waiting for ``/billing-keys/confirm``) →
``ISSUED`` → ``DELETED``. ``FAILED`` records an issuance every channel refused. Only ISSUED and DELETED exist
on the wire (``BillingKeyInfo``); the others answer as if the key did not exist (or ``BILLING_KEY_NOT_ISSUED``
where the spec has that error).
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from localportone.common.cards import check_card_format as common_check_card_format
from localportone.wire import CardCredential
from localportone.wire.errors import (
    BillingKeyAlreadyDeletedError,
    BillingKeyNotFoundError,
    BillingKeyNotIssuedError,
    InvalidRequestError,
)

PENDING: Final = "PENDING"
ISSUED: Final = "ISSUED"
DELETED: Final = "DELETED"
FAILED: Final = "FAILED"

#: Statuses the wire union can show.
VISIBLE: Final = frozenset({ISSUED, DELETED})


def check_card_format(card: CardCredential, field: str = "method.card.credential") -> None:
    """Format errors are the caller's (400); whether the card is good is the PG's call (502 ``PG_PROVIDER``)."""
    common_check_card_format(card.number, card.expiry_year, card.expiry_month, field)


def check_channel_choice(channel_key: str | None, channel_group_id: str | None) -> None:
    if (channel_key is None) == (channel_group_id is None):
        raise InvalidRequestError("give exactly one of channelKey or channelGroupId")


def visible_or_not_found(status: str, billing_key: str) -> None:
    """GET: keys that are not ISSUED/DELETED do not exist for the API."""
    if status not in VISIBLE:
        raise BillingKeyNotFoundError(f"billing key {billing_key} not found")


def require_issued(status: str, billing_key: str) -> None:
    """What deleting, charging and updating a key need: an ISSUED key."""
    if status == PENDING:
        raise BillingKeyNotIssuedError(f"billing key {billing_key} is awaiting confirmation")
    if status == DELETED:
        raise BillingKeyAlreadyDeletedError(f"billing key {billing_key} is already deleted")
    if status != ISSUED:
        raise BillingKeyNotFoundError(f"billing key {billing_key} not found")


def check_page(number: int | None, size: int | None) -> tuple[int, int]:
    number = 0 if number is None else number
    size = 10 if size is None else size
    if number < 0:
        raise InvalidRequestError("page.number must be 0 or more")
    if not 1 <= size <= 1000:
        raise InvalidRequestError("page.size must be from 1 to 1000")
    return number, size


def pending_payment_mismatch(expected: dict[str, object], given: dict[str, object | None]) -> str | None:
    """The first verification field of a confirm-issue-and-pay that disagrees with the pending issue, if any."""
    for name, value in given.items():
        if value is not None and expected.get(name) != value:
            return name
    return None


def to_millis(value: datetime) -> datetime:
    """Stored times are kept to the millisecond the wire shows, so that a ``from``/``until`` copied from a response
    matches the key it came from."""
    return value.replace(microsecond=value.microsecond // 1000 * 1000)
