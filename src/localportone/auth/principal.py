"""Who is calling, and which store a request acts on."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Principal:
    secret_id: str
    merchant_id: str
    default_store_id: str
    #: A pinned secret acts on its own store only; otherwise it is a merchant-level principal.
    pinned: bool


@dataclass(frozen=True)
class StoreContext:
    """The store a request acts on, resolved and authorised."""

    merchant_id: str
    store_id: str
