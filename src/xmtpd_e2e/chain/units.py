"""Amounts with their units made explicit.

The fee token (xUSD) and its underlying (mUSD) have 6 decimals, so one base unit is a
micro-dollar; the protocol prices messages in picodollars (1e-12 USD), so one base unit is
1,000,000 picodollars.  Chain methods take and return base units; these helpers convert.
"""

from __future__ import annotations

from decimal import Decimal

__all__ = ["FEE_TOKEN_DECIMALS", "PICODOLLARS_PER_BASE_UNIT", "xusd", "format_xusd", "picodollars_to_base_units"]

FEE_TOKEN_DECIMALS = 6
PICODOLLARS_PER_BASE_UNIT = 10**6
_SCALE = Decimal(10) ** FEE_TOKEN_DECIMALS


def xusd(amount: int | str | Decimal) -> int:
    """Base units for ``amount`` dollars of xUSD (``xusd(10)`` == 10_000_000)."""
    scaled = Decimal(amount) * _SCALE
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} xUSD has more than {FEE_TOKEN_DECIMALS} decimals")
    return int(scaled)


def format_xusd(base_units: int) -> str:
    return f"{Decimal(base_units) / _SCALE:f} xUSD"


def picodollars_to_base_units(picodollars: int) -> Decimal:
    return Decimal(picodollars) / PICODOLLARS_PER_BASE_UNIT
