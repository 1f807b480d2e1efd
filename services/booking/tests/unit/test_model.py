from datetime import date, datetime, timezone

from booking.domain.model import (
    format_booking_id, new_guest_token, party_errors, stay_date_errors, token_digest, token_matches,
)


def test_booking_id_format():
    assert format_booking_id(2026, 123) == "BK-2026-000123"
    assert format_booking_id(2026, 999999) == "BK-2026-999999"
    assert format_booking_id(2026, 1_000_000) == "BK-2026-1000000"  # the sequence has no maximum


def test_guest_token_is_32_random_bytes_stored_as_a_digest():
    token = new_guest_token()
    assert len(token) == 43 and token != new_guest_token()
    assert token_matches(token, token_digest(token))
    assert not token_matches(token + "x", token_digest(token))
    assert not token_matches(token, None)


def test_today_is_the_hotels_today():
    # 23:30 UTC on 1 July is already 2 July in Tokyo: a 1 July arrival is in the past there.
    now = datetime(2026, 7, 1, 23, 30, tzinfo=timezone.utc)
    assert stay_date_errors(date(2026, 7, 1), date(2026, 7, 2), now=now, timezone="America/New_York") == []
    errors = stay_date_errors(date(2026, 7, 1), date(2026, 7, 2), now=now, timezone="Asia/Tokyo")
    assert [e.field for e in errors] == ["check_in"]


def test_stay_limits():
    now = datetime(2026, 7, 1, 12, tzinfo=timezone.utc)
    tz = "Europe/Paris"
    assert [e.field for e in stay_date_errors(date(2026, 7, 5), date(2026, 7, 5), now=now, timezone=tz)] == ["check_out"]
    assert stay_date_errors(date(2026, 7, 5), date(2026, 8, 4), now=now, timezone=tz) == []  # 30 nights
    assert [e.field for e in stay_date_errors(date(2026, 7, 5), date(2026, 8, 5), now=now, timezone=tz)] == ["check_out"]
    assert [e.field for e in stay_date_errors(date(2028, 1, 5), date(2028, 1, 6), now=now, timezone=tz)] == ["check_in"]


def test_party_needs_exactly_one_primary():
    assert party_errors([], adults=2, children=0) == []
    assert party_errors(["PRIMARY", "COMPANION"], adults=2, children=0) == []
    assert party_errors(["COMPANION"], adults=2, children=0)
    assert party_errors(["PRIMARY", "PRIMARY"], adults=2, children=0)
    assert party_errors(["PRIMARY", "COMPANION", "COMPANION"], adults=2, children=0)
    assert party_errors(["PRIMARY", "CHILD"], adults=2, children=0)
