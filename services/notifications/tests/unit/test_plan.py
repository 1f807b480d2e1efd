"""Which email each event causes, to whom, and how its figures read (no I/O)."""

from datetime import date, datetime, timezone

import pytest

from hotelmate_contracts import BookingRoomAssigned, BookingStatusChanged, GuestContact, HotelProfile, Money
from notifications.domain.emails import GUEST_EMAIL_BY_STATUS, plan
from notifications.domain.formatting import format_local_datetime, format_money, humanize_reason, redact
from notifications.domain.retries import after_failure
from notifications.rendering import render

HOTEL = HotelProfile(slug="aurora", name="Hotel Aurora", timezone="Europe/Paris", currency="EUR",
                     check_in_time="15:00", check_out_time="11:00", hold_minutes=30, approval_hours=24,
                     staff_email="desk@aurora.test")
GUEST = GuestContact(first_name="Ana", last_name="Lima", email="ana@guest.test")


def changed(to_status: str, **fields) -> BookingStatusChanged:
    values = dict(booking_id="BK-2026-000001", hotel="aurora", hotel_profile=HOTEL, from_status=None,
                  to_status=to_status, actor="system", guest=GUEST, room_type="DBL", check_in=date(2026, 12, 11),
                  check_out=date(2026, 12, 13), total=Money.of("200", "EUR"),
                  portal_url="http://x/api/v1/hotels/aurora/bookings/BK-2026-000001#guest_token=tok-secret",
                  approval_deadline=datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc))
    values.update(fields)
    return BookingStatusChanged(**values)


@pytest.mark.parametrize("status", sorted(GUEST_EMAIL_BY_STATUS))
def test_every_told_status_renders_both_bodies_for_the_guest(status):
    [guest, *staff] = plan(changed(status))
    rendered = render(guest)
    assert guest.recipient == GUEST.email and rendered.text.strip() and "<html" in rendered.html
    assert ("guest_token" in rendered.text) == (status == "REQUESTED")
    assert [e.recipient for e in staff] == (["desk@aurora.test"] if status == "PENDING_APPROVAL" else [])


@pytest.mark.parametrize("status", ["PENDING_PAYMENT", "CHECKED_IN", "CHECKED_OUT", "NO_SHOW"])
def test_other_statuses_tell_nobody(status):
    assert plan(changed(status)) == []


def test_a_guest_without_email_gets_nothing_but_staff_still_do():
    event = changed("PENDING_APPROVAL", guest=GuestContact(first_name="A", last_name="B", email=""))
    assert [e.audience for e in plan(event)] == ["STAFF"]


def test_an_unassigned_room_tells_nobody():
    event = BookingRoomAssigned(booking_id="BK-2026-000001", hotel="aurora", hotel_profile=HOTEL, guest=GUEST,
                                room_number=None, check_in=date(2026, 12, 11), check_out=date(2026, 12, 13))
    assert plan(event) == []


def test_html_escapes_what_guests_typed():
    event = changed("CONFIRMED", guest=GuestContact(first_name="<b>Ana</b>", last_name="L", email="a@g.test"))
    rendered = render(plan(event)[0])
    assert "&lt;b&gt;Ana&lt;/b&gt;" in rendered.html and "<b>Ana</b>" in rendered.text


def test_money_reads_with_its_currency_and_minor_units():
    assert format_money(Money.of("1234.5", "EUR")) == "EUR 1,234.50"
    assert format_money(Money.of("48000", "JPY")) == "JPY 48,000"
    assert format_money(Money.of("12.3456", "KWD")) == "KWD 12.346"


def test_times_read_in_the_hotels_zone():
    moment = datetime(2026, 7, 1, 22, 15, tzinfo=timezone.utc)
    assert format_local_datetime(moment, "Europe/Paris") == "Thursday 2 July 2026, 00:15 (Europe/Paris)"
    assert format_local_datetime(moment, "America/New_York") == "Wednesday 1 July 2026, 18:15 (America/New_York)"


def test_secrets_never_reach_a_reason():
    assert redact("capture of pi_3Nabcdef12345 failed, card 4242424242424242") == (
        "capture of [redacted] failed, card [redacted]")
    assert humanize_reason("GUEST_REQUEST") == "Guest request"
    assert humanize_reason("guest_token=abc123 leaked") == "[redacted] leaked"


def test_retries_follow_the_schedule_then_give_up():
    delays = (10, 60)
    assert after_failure(1, delays, permanent=False).retry_in == 10
    assert after_failure(2, delays, permanent=False).retry_in == 60
    assert after_failure(3, delays, permanent=False).gives_up
    assert after_failure(1, delays, permanent=True).gives_up
