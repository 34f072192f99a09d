"""The sandbox PG: scenario engine, PG profiles and forced outcomes (see ``docs/sandbox-pg.md``)."""

from .billing_keys import BillingKeyData, decode_billing_key
from .connector import DEFAULT_RECEIPT_BASE_URL, SandboxPgConnector, virtual_account_expiry
from .overrides import ForcedOutcome, SandboxOutcomeOverrides
from .profiles import PG_PROVIDERS, PROFILES, SandboxProfile, generic_profile
from .scenarios import MAGIC_CARDS, SLOW_MS_ENV, MagicAmounts, SandboxCards, Scenario

__all__ = [
    "DEFAULT_RECEIPT_BASE_URL",
    "MAGIC_CARDS",
    "PG_PROVIDERS",
    "PROFILES",
    "SLOW_MS_ENV",
    "BillingKeyData",
    "ForcedOutcome",
    "MagicAmounts",
    "SandboxCards",
    "SandboxOutcomeOverrides",
    "SandboxPgConnector",
    "SandboxProfile",
    "Scenario",
    "decode_billing_key",
    "generic_profile",
    "virtual_account_expiry",
]
