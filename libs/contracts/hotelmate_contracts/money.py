"""Money as it crosses service boundaries: a decimal string and a currency, never a float."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, PlainSerializer

# ISO 4217 minor units for the currencies that do not use two decimals.
_MINOR_UNITS = {"JPY": 0, "KRW": 0, "ISK": 0, "CLP": 0, "VND": 0, "HUF": 2, "BHD": 3, "KWD": 3, "JOD": 3, "OMR": 3, "TND": 3}

DecimalStr = Annotated[Decimal, PlainSerializer(lambda d: str(d), return_type=str)]


def minor_units(currency: str) -> int:
    """Digits after the decimal point for ``currency``."""
    return _MINOR_UNITS.get(currency.upper(), 2)


def round_money(amount: Decimal, currency: str) -> Decimal:
    """Round half-up to the currency's minor unit."""
    exponent = Decimal(1).scaleb(-minor_units(currency))
    return amount.quantize(exponent, rounding=ROUND_HALF_UP)


def to_minor(amount: Decimal, currency: str) -> int:
    """Amount in the currency's smallest unit (what Stripe counts in)."""
    return int(round_money(amount, currency).scaleb(minor_units(currency)))


def from_minor(value: int, currency: str) -> Decimal:
    """Inverse of :func:`to_minor`."""
    return round_money(Decimal(value).scaleb(-minor_units(currency)), currency)


class Money(BaseModel):
    """``{"amount": "123.45", "currency": "EUR"}``."""

    model_config = ConfigDict(frozen=True)

    amount: DecimalStr
    currency: str

    @classmethod
    def of(cls, amount: Decimal | str | int, currency: str) -> "Money":
        return cls(amount=round_money(Decimal(amount), currency), currency=currency.upper())
