"""Integer money rules. KRW has no minor unit; every amount is an int in the currency's minor unit.

Rounding is named, never implied: PortOne's documents describe VAT as 1/11 of the taxable amount rounded half up.
"""

from __future__ import annotations


def round_half_up_div(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half up, in integers (no float ever)."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    if numerator < 0:
        return -round_half_up_div(-numerator, denominator)
    return (2 * numerator + denominator) // (2 * denominator)


def vat_of(taxable: int) -> int:
    """VAT included in a VAT-inclusive taxable amount: ``round_half_up(taxable / 11)``."""
    return round_half_up_div(taxable, 11)


def supply_of(total: int, tax_free: int, vat: int) -> int:
    return total - tax_free - vat
