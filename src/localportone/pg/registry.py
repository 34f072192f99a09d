"""Which connector serves a channel's ``pgProvider``.

Every channel of localportone is a sandbox channel today: :func:`get_connector` returns the sandbox PG with the
provider's profile. A real integration would plug in here (e.g. choose it for LIVE channels of its provider).

``SANDBOX_PROFILES`` is the tuple of profiles the foundation seeds one TEST channel for (``channel_name``,
``pg_merchant_id``); :func:`sandbox_profile` finds the profile of any ``pgProvider`` (a generic card-PG profile
for providers without their own).
"""

from __future__ import annotations

from typing import Final

from .connector import PgConnector
from .sandbox.connector import DEFAULT_RECEIPT_BASE_URL, SandboxPgConnector
from .sandbox.overrides import SandboxOutcomeOverrides
from .sandbox.profiles import PG_PROVIDERS, PROFILES, SandboxProfile, generic_profile

__all__ = [
    "PG_PROVIDERS",
    "SANDBOX_OVERRIDES",
    "SANDBOX_PROFILES",
    "SandboxProfile",
    "UnknownPgProvider",
    "get_connector",
    "sandbox_profile",
]

#: The profiles with their own behaviour, in a stable order; one seeded TEST channel each.
SANDBOX_PROFILES: Final[tuple[SandboxProfile, ...]] = tuple(PROFILES.values())

#: The process-wide forced-outcome store shared by every connector :func:`get_connector` returns; the sandbox
#: control API sets outcomes here and the sandbox reset clears it.
SANDBOX_OVERRIDES: Final = SandboxOutcomeOverrides()


class UnknownPgProvider(ValueError):
    """The string is not one of the spec's ``PgProvider`` values."""


def sandbox_profile(pg_provider: str) -> SandboxProfile:
    """The profile of ``pg_provider``: its own, or the generic card-PG profile for other providers."""
    profile = PROFILES.get(pg_provider)
    if profile is not None:
        return profile
    if pg_provider not in PG_PROVIDERS:
        raise UnknownPgProvider(pg_provider)
    return generic_profile(pg_provider)


def get_connector(
    pg_provider: str,
    *,
    overrides: SandboxOutcomeOverrides | None = None,
    receipt_base_url: str | None = None,
) -> PgConnector:
    """The connector for a channel's ``pgProvider`` (raises :class:`UnknownPgProvider` for unknown strings).

    ``overrides`` defaults to :data:`SANDBOX_OVERRIDES`; ``receipt_base_url`` (the server's public URL plus a
    receipts path) defaults to a non-resolvable ``.invalid`` address. Connectors are cheap and stateless.
    """
    return SandboxPgConnector(
        sandbox_profile(pg_provider),
        SANDBOX_OVERRIDES if overrides is None else overrides,
        receipt_base_url=receipt_base_url or DEFAULT_RECEIPT_BASE_URL,
    )
