"""Pricing: stay validation, promo codes, taxes and the quote. Pure Python, no I/O.

Order of computation (SPEC §2), every computed amount rounded half-up to the currency's minor unit
where it is computed:

1. each night's rate (the nightly rate for that date, else the room type's base rate);
2. ``subtotal`` = sum of the nights;
3. ``discount`` = ``percent_off`` % of the subtotal, or ``amount_off`` (never more than the subtotal);
4. taxes on the discounted stay (``subtotal - discount``):
   ``PERCENT`` = value % of the discounted stay; ``PER_NIGHT`` = value x nights;
   ``PER_PERSON_PER_NIGHT`` = value x (adults + children) x nights — children count as persons;
5. ``total`` = discounted stay + taxes.

``first_night_with_taxes`` (what a ``FIRST_NIGHT`` cancellation fee charges) is the first night's
rate, less the promo's percentage if any (an ``amount_off`` is not spread over nights), with the
taxes of one night on it; never more than the total.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from hotelmate_contracts import CancellationPolicy, Money, NightRate, Quote, TaxLine, round_money

from .errors import InvalidInput

MAX_NIGHTS = 30
MAX_DAYS_AHEAD = 550
MAX_AMOUNT = Decimal(10) ** 8
TAX_KINDS = ("PERCENT", "PER_NIGHT", "PER_PERSON_PER_NIGHT")


@dataclass(frozen=True)
class Tax:
    code: str
    name: str
    kind: str
    value: Decimal


@dataclass(frozen=True)
class Promo:
    code: str
    percent_off: Decimal | None = None
    amount_off: Decimal | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    min_nights: int | None = None
    room_types: tuple[str, ...] | None = None
    max_redemptions: int | None = None
    active: bool = True


@dataclass(frozen=True)
class Stay:
    room_type: str
    check_in: date
    check_out: date
    adults: int
    children: int

    @property
    def nights(self) -> list[date]:
        return [self.check_in + timedelta(days=i) for i in range((self.check_out - self.check_in).days)]

    @property
    def persons(self) -> int:
        return self.adults + self.children


@dataclass(frozen=True)
class RoomTypeRules:
    code: str
    max_adults: int
    max_children: int
    base_rate: Decimal
    rates: dict[date, Decimal] = field(default_factory=dict)


def validate_stay_dates(check_in: date, check_out: date, today: date) -> None:
    """SPEC §2 stay dates, ``today`` being the hotel's local date. Raises :class:`InvalidInput`."""
    errors = []
    if check_out <= check_in:
        errors.append(("check_out", "must be after check_in"))
    elif (check_out - check_in).days > MAX_NIGHTS:
        errors.append(("check_out", f"a stay is at most {MAX_NIGHTS} nights"))
    if check_in < today:
        errors.append(("check_in", "must not be before the hotel's local today"))
    elif check_in > today + timedelta(days=MAX_DAYS_AHEAD):
        errors.append(("check_in", f"must be at most {MAX_DAYS_AHEAD} days ahead"))
    if errors:
        raise InvalidInput(errors)


def validate_party(rules: RoomTypeRules, adults: int, children: int) -> None:
    errors = []
    if adults < 1:
        errors.append(("adults", "at least one adult"))
    elif adults > rules.max_adults:
        errors.append(("adults", f"room type {rules.code} takes at most {rules.max_adults} adults"))
    if children < 0:
        errors.append(("children", "must not be negative"))
    elif children > rules.max_children:
        errors.append(("children", f"room type {rules.code} takes at most {rules.max_children} children"))
    if errors:
        raise InvalidInput(errors)


def fits_party(rules: RoomTypeRules, adults: int, children: int) -> bool:
    return 1 <= adults <= rules.max_adults and 0 <= children <= rules.max_children


def check_promo(promo: Promo | None, code: str, stay: Stay, redeemed: int = 0) -> Promo:
    """The promo if it applies to ``stay``; else :class:`InvalidInput` on ``promo_code``."""
    def refuse(message: str) -> InvalidInput:
        return InvalidInput([("promo_code", message)])

    if promo is None or not promo.active:
        raise refuse(f"unknown promo code {code}")
    last_night = stay.check_out - timedelta(days=1)
    if (promo.valid_from and stay.check_in < promo.valid_from) or (promo.valid_to and last_night > promo.valid_to):
        raise refuse(f"promo code {code} is not valid for these dates")
    if promo.min_nights and len(stay.nights) < promo.min_nights:
        raise refuse(f"promo code {code} needs at least {promo.min_nights} nights")
    if promo.room_types and stay.room_type not in promo.room_types:
        raise refuse(f"promo code {code} does not apply to room type {stay.room_type}")
    if promo.max_redemptions is not None and redeemed >= promo.max_redemptions:
        raise refuse(f"promo code {code} has been fully redeemed")
    return promo


def night_rates(rules: RoomTypeRules, stay: Stay, currency: str) -> list[tuple[date, Decimal]]:
    return [(night, round_money(rules.rates.get(night, rules.base_rate), currency)) for night in stay.nights]


def _tax_amount(tax: Tax, base: Decimal, nights: int, persons: int, currency: str) -> Decimal:
    if tax.kind == "PERCENT":
        return round_money(base * tax.value / 100, currency)
    if tax.kind == "PER_NIGHT":
        return round_money(tax.value * nights, currency)
    return round_money(tax.value * persons * nights, currency)


def price_stay(
    rules: RoomTypeRules,
    stay: Stay,
    *,
    currency: str,
    taxes: list[Tax],
    policy: CancellationPolicy,
    promo: Promo | None = None,
) -> Quote:
    """The quote for ``stay`` (validated beforehand): nights, subtotal, discount, taxes, total."""
    nights = night_rates(rules, stay, currency)
    subtotal = round_money(sum((rate for _, rate in nights), Decimal(0)), currency)
    discount = Decimal(0)
    if promo is not None and promo.percent_off is not None:
        discount = round_money(subtotal * promo.percent_off / 100, currency)
    elif promo is not None and promo.amount_off is not None:
        discount = round_money(min(promo.amount_off, subtotal), currency)
    discounted = subtotal - discount
    tax_lines = [
        TaxLine(code=t.code, name=t.name, amount=Money.of(_tax_amount(t, discounted, len(nights), stay.persons, currency), currency))
        for t in taxes
    ]
    total = discounted + sum((Decimal(line.amount.amount) for line in tax_lines), Decimal(0))
    first = nights[0][1]
    if promo is not None and promo.percent_off is not None:
        first = first - round_money(first * promo.percent_off / 100, currency)
    first_taxes = sum((_tax_amount(t, first, 1, stay.persons, currency) for t in taxes), Decimal(0))
    return Quote(
        room_type=stay.room_type,
        check_in=stay.check_in,
        check_out=stay.check_out,
        nights=[NightRate(date=night, rate=Money.of(rate, currency)) for night, rate in nights],
        subtotal=Money.of(subtotal, currency),
        discount=Money.of(discount, currency),
        taxes=tax_lines,
        total=Money.of(total, currency),
        cancellation_policy=policy,
        promo_code=promo.code if promo else None,
        first_night_with_taxes=Money.of(min(first + first_taxes, total), currency),
    )


def validate_money(value: Decimal, currency: str, field_name: str, *, allow_zero: bool = False) -> Decimal:
    """A non-negative amount with no more digits than the currency's minor unit."""
    if not value.is_finite() or value < 0 or (value == 0 and not allow_zero):
        raise InvalidInput([(field_name, "must be a positive amount" if not allow_zero else "must not be negative")])
    if value >= MAX_AMOUNT:
        raise InvalidInput([(field_name, f"must be less than {MAX_AMOUNT}")])
    if round_money(value, currency) != value:
        raise InvalidInput([(field_name, f"too many decimal places for {currency}")])
    return value
