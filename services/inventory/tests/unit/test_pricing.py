"""Pricing with worked figures: rounding half-up where computed, promo then taxes, every tax kind."""

from datetime import date, timedelta
from decimal import Decimal as D

import pytest

from hotelmate_contracts import CancellationPolicy
from inventory.domain.errors import InvalidInput
from inventory.domain.pricing import (
    Promo, RoomTypeRules, Stay, Tax, check_promo, price_stay, validate_money, validate_party, validate_stay_dates,
)

POLICY = CancellationPolicy(free_until_hours=24, penalty="FIRST_NIGHT")
DOUBLE = RoomTypeRules(code="DBL", max_adults=2, max_children=1, base_rate=D("100.50"),
                       rates={date(2027, 3, 2): D("80.00")})
TAXES = [
    Tax("VAT", "VAT", "PERCENT", D("10")),
    Tax("CITY", "City tax", "PER_PERSON_PER_NIGHT", D("1.25")),
    Tax("CLEAN", "Cleaning", "PER_NIGHT", D("3.333")),
]


def stay(ci=date(2027, 3, 1), nights=2, adults=2, children=1, room_type="DBL") -> Stay:
    return Stay(room_type, ci, ci + timedelta(days=nights), adults, children)


def amounts(quote) -> dict:
    return {"subtotal": quote.subtotal.amount, "discount": quote.discount.amount, "total": quote.total.amount,
            **{t.code: t.amount.amount for t in quote.taxes}}


def test_nightly_rate_overrides_the_base_rate():
    quote = price_stay(DOUBLE, stay(nights=3), currency="EUR", taxes=[], policy=POLICY)
    assert [n.rate.amount for n in quote.nights] == [D("100.50"), D("80.00"), D("100.50")]
    assert quote.total.amount == D("281.00")


def test_promo_then_taxes_rounded_half_up_at_each_amount():
    # 2 x 100.50 = 201.00; 12.5 % off = 25.125 -> 25.13 (half-even would give 25.12); stay 175.87
    # VAT 10 % of 175.87 = 17.587 -> 17.59; city 1.25 x 3 persons x 2 nights = 7.50;
    # cleaning 3.333 x 2 = 6.666 -> 6.67; total 175.87 + 17.59 + 7.50 + 6.67 = 207.63
    rules = RoomTypeRules(code="DBL", max_adults=2, max_children=1, base_rate=D("100.50"))
    quote = price_stay(rules, stay(), currency="EUR", taxes=TAXES, policy=POLICY,
                       promo=Promo(code="SPRING", percent_off=D("12.5")))
    assert amounts(quote) == {"subtotal": D("201.00"), "discount": D("25.13"), "VAT": D("17.59"),
                              "CITY": D("7.50"), "CLEAN": D("6.67"), "total": D("207.63")}
    assert quote.promo_code == "SPRING"
    # first night: 100.50 - 12.56 = 87.94; + 8.79 VAT + 3.75 city + 3.33 cleaning = 103.81
    assert quote.first_night_with_taxes.amount == D("103.81")


def test_half_up_on_a_percent_tax():
    rules = RoomTypeRules(code="S", max_adults=1, max_children=0, base_rate=D("1.00"))
    quote = price_stay(rules, stay(nights=1, adults=1, children=0, room_type="S"), currency="EUR",
                       taxes=[Tax("T", "T", "PERCENT", D("12.5"))], policy=POLICY)
    assert quote.taxes[0].amount.amount == D("0.13")  # 0.125 -> 0.13
    assert quote.total.amount == D("1.13")


def test_amount_off_before_percent_tax_and_never_below_zero():
    quote = price_stay(DOUBLE, stay(nights=1), currency="EUR", taxes=[TAXES[0]], policy=POLICY,
                       promo=Promo(code="TEN", amount_off=D("10.00")))
    assert amounts(quote) == {"subtotal": D("100.50"), "discount": D("10.00"), "VAT": D("9.05"), "total": D("99.55")}
    huge = price_stay(DOUBLE, stay(nights=1), currency="EUR", taxes=[], policy=POLICY,
                      promo=Promo(code="BIG", amount_off=D("500")))
    assert huge.discount.amount == D("100.50") and huge.total.amount == D("0.00")


def test_per_person_tax_counts_children_and_per_night_tax_counts_nights():
    per_person = [Tax("CITY", "City", "PER_PERSON_PER_NIGHT", D("2.50"))]
    one = price_stay(DOUBLE, stay(nights=3, adults=1, children=0), currency="EUR", taxes=per_person, policy=POLICY)
    three = price_stay(DOUBLE, stay(nights=3, adults=2, children=1), currency="EUR", taxes=per_person, policy=POLICY)
    assert one.taxes[0].amount.amount == D("7.50") and three.taxes[0].amount.amount == D("22.50")
    per_night = price_stay(DOUBLE, stay(nights=4), currency="EUR", taxes=[Tax("N", "N", "PER_NIGHT", D("2"))], policy=POLICY)
    assert per_night.taxes[0].amount.amount == D("8.00")


def test_zero_decimal_currency_rounds_to_whole_units():
    rules = RoomTypeRules(code="W", max_adults=2, max_children=0, base_rate=D("15000"))
    quote = price_stay(rules, stay(nights=1, children=0, room_type="W"), currency="JPY",
                       taxes=[Tax("C", "C", "PERCENT", D("3.3"))], policy=POLICY)
    assert quote.taxes[0].amount.amount == D("495") and quote.total.amount == D("15495")


@pytest.mark.parametrize("promo, message", [
    (None, "unknown promo code"),
    (Promo(code="P", percent_off=D(10), active=False), "unknown promo code"),
    (Promo(code="P", percent_off=D(10), valid_from=date(2027, 3, 2)), "not valid for these dates"),
    (Promo(code="P", percent_off=D(10), valid_to=date(2027, 3, 1)), "not valid for these dates"),
    (Promo(code="P", percent_off=D(10), min_nights=3), "at least 3 nights"),
    (Promo(code="P", percent_off=D(10), room_types=("SUITE",)), "does not apply to room type DBL"),
    (Promo(code="P", percent_off=D(10), max_redemptions=4), "fully redeemed"),
])
def test_promo_refused(promo, message):
    with pytest.raises(InvalidInput) as err:
        check_promo(promo, "P", stay(), redeemed=4)
    assert err.value.errors[0][0] == "promo_code" and message in err.value.errors[0][1]


def test_promo_valid_on_every_night_of_the_stay():
    promo = Promo(code="P", percent_off=D(10), valid_from=date(2027, 3, 1), valid_to=date(2027, 3, 2), min_nights=2,
                  room_types=("DBL",), max_redemptions=5)
    assert check_promo(promo, "P", stay(), redeemed=4) is promo


@pytest.mark.parametrize("ci, co, field", [
    (date(2027, 1, 10), date(2027, 1, 10), "check_out"),
    (date(2027, 1, 10), date(2027, 1, 9), "check_out"),
    (date(2027, 1, 9), date(2027, 1, 12), "check_in"),
    (date(2027, 1, 10), date(2027, 2, 10), "check_out"),
    (date(2027, 1, 10) + timedelta(days=551), date(2027, 1, 10) + timedelta(days=552), "check_in"),
])
def test_bad_stay_dates(ci, co, field):
    with pytest.raises(InvalidInput) as err:
        validate_stay_dates(ci, co, today=date(2027, 1, 10))
    assert err.value.errors[0][0] == field


def test_good_stay_dates_today_thirty_nights_and_550_days_ahead():
    today = date(2027, 1, 10)
    validate_stay_dates(today, today + timedelta(days=30), today)
    validate_stay_dates(today + timedelta(days=550), today + timedelta(days=551), today)


def test_party_too_large():
    with pytest.raises(InvalidInput) as err:
        validate_party(DOUBLE, 3, 2)
    assert [f for f, _ in err.value.errors] == ["adults", "children"]


@pytest.mark.parametrize("value", [D("-1"), D("10.001"), D("NaN"), D("1e400"), D("100000000")])
def test_malformed_money(value):
    with pytest.raises(InvalidInput):
        validate_money(value, "EUR", "price")
