from datetime import date, timedelta

from booking.domain.links import link_expiry, link_key, link_matches, new_link_token
from booking.domain.model import new_guest_token, token_digest

KEY = link_key("a-service-secret-of-this-installation")
DIGEST = token_digest(new_guest_token())
TODAY = date(2026, 12, 6)


def test_a_link_token_opens_its_booking_until_it_expires():
    token = new_link_token(KEY, "BK-2026-000001", DIGEST, TODAY + timedelta(days=3))
    assert link_matches(KEY, "BK-2026-000001", token, DIGEST, TODAY)
    assert link_matches(KEY, "BK-2026-000001", token, DIGEST, TODAY + timedelta(days=3))
    assert not link_matches(KEY, "BK-2026-000001", token, DIGEST, TODAY + timedelta(days=4))


def test_a_link_token_opens_nothing_else():
    token = new_link_token(KEY, "BK-2026-000001", DIGEST, TODAY + timedelta(days=3))
    day, _, mac = token.partition(".")
    assert not link_matches(KEY, "BK-2026-000002", token, DIGEST, TODAY)  # another booking
    assert not link_matches(link_key("another-secret"), "BK-2026-000001", token, DIGEST, TODAY)
    assert not link_matches(KEY, "BK-2026-000001", token, token_digest("other"), TODAY)  # another guest token
    assert not link_matches(KEY, "BK-2026-000001", f"{int(day) + 300}.{mac}", DIGEST, TODAY)  # a longer life
    assert not link_matches(KEY, "BK-2026-000001", token, None, TODAY)
    for junk in ("", ".", "x.y", "99999999.abc", "not-a-link-token", "²³.abc", "٣.abc"):
        assert not link_matches(KEY, "BK-2026-000001", junk, DIGEST, TODAY)


def test_a_link_lasts_a_month_past_the_stay():
    assert link_expiry(date(2027, 1, 10), TODAY) == date(2027, 2, 9)
    assert link_expiry(date(2026, 1, 10), TODAY) == TODAY + timedelta(days=30)
