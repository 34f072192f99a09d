"""The sandbox PG's decline codes (``pgCode``) and messages (``pgMessage``).

The codes are the sandbox's own and identical on every profile, so a test written against one profile holds on
all of them. They are part of the public contract documented in ``docs/sandbox-pg.md``: never rename one.
"""

from __future__ import annotations

from ..connector import NOT_SUPPORTED, Declined

__all__ = [
    "CANCEL_REJECTED",
    "EXCEED_MAX_AMOUNT",
    "EXPIRED_CARD",
    "FORCED_DECLINE",
    "INSUFFICIENT_FUNDS",
    "INVALID_AMOUNT",
    "INVALID_BILLING_KEY",
    "INVALID_BIRTH_OR_BUSINESS_NUMBER",
    "INVALID_CARD_EXPIRATION",
    "INVALID_CARD_NUMBER",
    "INVALID_FIXED_ACCOUNT",
    "INVALID_INSTALLMENT_PLAN",
    "INVALID_PASSWORD",
    "INVALID_VIRTUAL_ACCOUNT_EXPIRY",
    "LOST_OR_STOLEN_CARD",
    "MESSAGES",
    "MISSING_CARD_OWNER_AUTH",
    "NOT_SUPPORTED",
    "REFUND_ACCOUNT_REQUIRED",
    "REJECT_CARD_COMPANY",
    "UNSUPPORTED_BANK",
    "UNSUPPORTED_CURRENCY",
    "VIRTUAL_ACCOUNT_ISSUE_REJECTED",
    "decline",
]

REJECT_CARD_COMPANY = "REJECT_CARD_COMPANY"
INSUFFICIENT_FUNDS = "INSUFFICIENT_FUNDS"
EXPIRED_CARD = "EXPIRED_CARD"
LOST_OR_STOLEN_CARD = "LOST_OR_STOLEN_CARD"
INVALID_CARD_EXPIRATION = "INVALID_CARD_EXPIRATION"
INVALID_PASSWORD = "INVALID_PASSWORD"
INVALID_BIRTH_OR_BUSINESS_NUMBER = "INVALID_BIRTH_OR_BUSINESS_NUMBER"
INVALID_CARD_NUMBER = "INVALID_CARD_NUMBER"
INVALID_INSTALLMENT_PLAN = "INVALID_INSTALLMENT_PLAN"
EXCEED_MAX_AMOUNT = "EXCEED_MAX_AMOUNT"
INVALID_AMOUNT = "INVALID_AMOUNT"
INVALID_BILLING_KEY = "INVALID_BILLING_KEY"
MISSING_CARD_OWNER_AUTH = "MISSING_CARD_OWNER_AUTH"
UNSUPPORTED_CURRENCY = "UNSUPPORTED_CURRENCY"
UNSUPPORTED_BANK = "UNSUPPORTED_BANK"
INVALID_VIRTUAL_ACCOUNT_EXPIRY = "INVALID_VIRTUAL_ACCOUNT_EXPIRY"
INVALID_FIXED_ACCOUNT = "INVALID_FIXED_ACCOUNT"
VIRTUAL_ACCOUNT_ISSUE_REJECTED = "VIRTUAL_ACCOUNT_ISSUE_REJECTED"
CANCEL_REJECTED = "CANCEL_REJECTED"
REFUND_ACCOUNT_REQUIRED = "REFUND_ACCOUNT_REQUIRED"
FORCED_DECLINE = "SANDBOX_FORCED_DECLINE"

MESSAGES: dict[str, str] = {
    REJECT_CARD_COMPANY: "The card company declined the transaction.",
    INSUFFICIENT_FUNDS: "Insufficient funds or credit limit on the card.",
    EXPIRED_CARD: "The card has expired.",
    LOST_OR_STOLEN_CARD: "The card has been reported lost or stolen.",
    INVALID_CARD_EXPIRATION: "The card expiry date is invalid.",
    INVALID_PASSWORD: "The card password is incorrect.",
    INVALID_BIRTH_OR_BUSINESS_NUMBER: "The birth date or business registration number does not match the card.",
    INVALID_CARD_NUMBER: "The card number is invalid.",
    INVALID_INSTALLMENT_PLAN: "The installment plan is not available for this card or amount.",
    EXCEED_MAX_AMOUNT: "The amount exceeds the card's transaction limit.",
    INVALID_AMOUNT: "The amount is invalid.",
    INVALID_BILLING_KEY: "The billing key is invalid or was not issued by this PG.",
    MISSING_CARD_OWNER_AUTH: "The birth date (or business registration number) and card password are required.",
    UNSUPPORTED_CURRENCY: "The currency is not supported by this PG.",
    UNSUPPORTED_BANK: "Virtual accounts cannot be issued for this bank.",
    INVALID_VIRTUAL_ACCOUNT_EXPIRY: "The virtual account expiry is invalid.",
    INVALID_FIXED_ACCOUNT: "A fixed virtual account needs an account number or a PG account id.",
    VIRTUAL_ACCOUNT_ISSUE_REJECTED: "The bank refused to issue the virtual account.",
    CANCEL_REJECTED: "The PG refused the cancellation.",
    REFUND_ACCOUNT_REQUIRED: "A refund account is required to refund a virtual account payment.",
    FORCED_DECLINE: "Declined by a forced sandbox outcome.",
    NOT_SUPPORTED: "This operation is not supported by this PG.",
}


def decline(pg_code: str, detail: str | None = None) -> Declined:
    """A :class:`Declined` with the code's standard message (``detail`` appended in parentheses)."""
    message = MESSAGES.get(pg_code, "Declined by the sandbox PG.")
    if detail:
        message = f"{message} ({detail})"
    return Declined(pg_code=pg_code, pg_message=message)
