"""Price and policy shapes shared by inventory (who computes them) and booking (who keeps them)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict

from .money import Money

PenaltyKind = Literal["NONE", "FIRST_NIGHT", "PERCENT", "FULL_STAY", "FIXED"]


class NightRate(BaseModel):
    model_config = ConfigDict(frozen=True)
    date: date
    rate: Money


class TaxLine(BaseModel):
    model_config = ConfigDict(frozen=True)
    code: str
    name: str
    amount: Money


class CancellationPolicy(BaseModel):
    """``free_until_hours`` counts back from the hotel-local check-in time; ``None`` = never free."""

    model_config = ConfigDict(frozen=True)
    free_until_hours: int | None
    penalty: PenaltyKind
    value: str | None = None


class Quote(BaseModel):
    """SPEC §5 quote answer: what the guest will be charged and under which terms."""

    model_config = ConfigDict(frozen=True)
    room_type: str
    check_in: date
    check_out: date
    nights: list[NightRate]
    subtotal: Money
    discount: Money
    taxes: list[TaxLine]
    total: Money
    cancellation_policy: CancellationPolicy
    promo_code: str | None = None
    first_night_with_taxes: Money | None = None


class HotelProfile(BaseModel):
    """What other services need to know of a hotel to talk about it (names, zone, money, deadlines)."""

    model_config = ConfigDict(frozen=True)
    slug: str
    name: str
    timezone: str
    currency: str
    check_in_time: str
    check_out_time: str
    hold_minutes: int
    approval_hours: int
    staff_email: str
