"""Card credential format rules shared by key-in payments and billing-key issuance.

Pure format errors are the API's (400 ``INVALID_REQUEST``); whether the card itself is good is the PG's call
(502 ``PG_PROVIDER``).
"""

from __future__ import annotations

from localportone.wire.errors import InvalidRequestError


def check_card_format(number: str, expiry_year: str, expiry_month: str,
                      field: str = "method.card.credential") -> None:
    if not number or not (number.isascii() and number.isdigit()):
        raise InvalidRequestError(f"{field}.number must contain digits only")
    if len(expiry_year) != 2 or not (expiry_year.isascii() and expiry_year.isdigit()):
        raise InvalidRequestError(f"{field}.expiryYear must be two digits")
    if (len(expiry_month) != 2 or not (expiry_month.isascii() and expiry_month.isdigit())
            or not 1 <= int(expiry_month) <= 12):
        raise InvalidRequestError(f"{field}.expiryMonth must be two digits from 01 to 12")
