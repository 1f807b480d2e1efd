"""Each booking event, published on the real bus, produces the right email to the right address
with the right figures, delivered to a real SMTP server in the test process."""

from datetime import date, datetime, timezone

import pytest

from hotelmate_contracts import ApprovalDeadlineNear, BookingRoomAssigned, HotelProfile, Money
from hotelmate_devtools.busprobe import BusProbe
from hotelmate_devtools.waiting import eventually
from hotelmate_devtools.support.notifications import (
    GUEST, HOTEL, SmtpServer, fast_settings, isolated_env, new_booking_id, running_app, status_changed,
)

STAFF = HOTEL.staff_email
ARRIVAL = "Friday 11 December 2026, from 15:00"
# 21:30 UTC on 26 November is 22:30 in Paris: deadlines are told in the hotel's zone.
DEADLINE = "Thursday 26 November 2026, 22:30 (Europe/Paris)"


@pytest.fixture(scope="module")
async def system(platform_settings):
    server = SmtpServer().start()
    async with running_app(fast_settings(server.port)) as (app, client):
        async with BusProbe(platform_settings.amqp_url, isolated_env()["HOTELMATE_BUS_NAMESPACE"]) as bus:
            yield server.mailbox, bus, client
    server.stop()


async def emails_for(system, message, count: int):
    mailbox, bus, _ = system
    await bus.publish(message)
    received = await eventually(lambda: len(mailbox.for_booking(message.booking_id)) >= count and
                                mailbox.for_booking(message.booking_id))
    assert received, f"no email for {message.booking_id}"
    return {r.rcpt_tos[0]: r for r in received}


async def test_booking_received_tells_the_guest_with_their_portal_link(system):
    bid = new_booking_id()
    plain = f"http://127.0.0.1:8000/book/aurora/bookings/{bid}"
    emails = await emails_for(system, status_changed(bid, "REQUESTED", portal_url=plain), 1)
    portal = f"{plain}#guest_token=link-token-of-{bid}"  # the token booking minted at send time
    assert list(emails) == [GUEST.email]
    email = emails[GUEST.email].email
    assert email["Subject"] == f"Hotel Aurora: we received your booking {bid}"
    assert email["From"] == "Hotel Aurora <no-reply@hotelmate.local>"
    assert email["Reply-To"] == STAFF
    text, html = emails[GUEST.email].part("plain"), emails[GUEST.email].part("html")
    assert portal in text and f'href="{portal}"' in html
    assert "Dear Ana" in text and ARRIVAL in text and "EUR 361.80" in text and "Nights:    3" in text


async def test_payment_authorised_tells_the_guest_and_asks_the_staff_to_decide(system):
    bid = new_booking_id()
    event = status_changed(bid, "PENDING_APPROVAL", from_status="PENDING_PAYMENT",
                           total=Money.of("1234.5", "EUR"))
    emails = await emails_for(system, event, 2)
    assert set(emails) == {GUEST.email, STAFF}
    guest = emails[GUEST.email].part("plain")
    assert "authorised for EUR 1,234.50" in guest and DEADLINE in guest
    staff = emails[STAFF]
    assert staff.email["Subject"] == f"Approval needed: booking {bid} (Ana Lima, 2026-12-11)"
    assert staff.email["From"] == "HotelMate <no-reply@hotelmate.local>"
    assert "EUR 1,234.50" in staff.part("plain") and DEADLINE in staff.part("html")
    assert "guest_token" not in staff.part("plain") + guest


async def test_confirmation_tells_the_guest_what_was_charged(system):
    bid = new_booking_id()
    emails = await emails_for(system, status_changed(bid, "CONFIRMED", from_status="PENDING_APPROVAL"), 1)
    received = emails[GUEST.email]
    assert received.email["Subject"] == f"Hotel Aurora: your booking {bid} is confirmed"
    assert "EUR 361.80 has been charged" in received.part("plain")
    assert "/bookings/" not in received.part("plain")  # the portal link goes in the first email only


async def test_decline_tells_the_guest_the_reason(system):
    bid = new_booking_id()
    event = status_changed(bid, "DECLINED", from_status="PENDING_APPROVAL", reason="NO_AVAILABILITY")
    received = (await emails_for(system, event, 1))[GUEST.email]
    assert "declined" in received.email["Subject"]
    assert "Reason: No availability" in received.part("plain")


async def test_cancellation_tells_the_guest_fee_and_refund(system):
    bid = new_booking_id()
    event = status_changed(bid, "CANCELLED", from_status="CONFIRMED", reason="guest", actor="guest",
                           fee=Money.of("120.60", "EUR"), refund=Money.of("241.20", "EUR"))
    received = (await emails_for(system, event, 1))[GUEST.email]
    text = received.part("plain")
    assert "Cancellation fee: EUR 120.60" in text and "Refund:           EUR 241.20" in text
    assert "EUR 120.60" in received.part("html") and "EUR 241.20" in received.part("html")


async def test_expiry_tells_the_guest(system):
    bid = new_booking_id()
    event = status_changed(bid, "EXPIRED", from_status="PENDING_PAYMENT", reason="hold_expired")
    received = (await emails_for(system, event, 1))[GUEST.email]
    assert received.email["Subject"] == f"Hotel Aurora: your booking {bid} has expired"
    assert "expired (Hold expired)" in received.part("plain")


async def test_payment_failure_tells_the_guest_without_stripe_details(system):
    bid = new_booking_id()
    event = status_changed(bid, "PAYMENT_FAILED", from_status="PENDING_APPROVAL",
                           reason="capture failed for pi_3Nxyz123456789 (card 4000000000000002)")
    received = (await emails_for(system, event, 1))[GUEST.email]
    body = received.part("plain") + received.part("html")
    assert "could not take the payment of EUR 361.80" in body
    assert "pi_" not in body and "4000000000000002" not in body


async def test_room_assignment_tells_the_guest_the_room(system):
    bid = new_booking_id()
    event = BookingRoomAssigned(booking_id=bid, hotel="aurora", hotel_profile=HOTEL, guest=GUEST,
                                room_number="204", check_in=date(2026, 12, 11), check_out=date(2026, 12, 14))
    received = (await emails_for(system, event, 1))[GUEST.email]
    assert received.email["Subject"] == f"Hotel Aurora: room 204 is ready for booking {bid}"
    assert "Room:      204" in received.part("plain") and ARRIVAL in received.part("plain")


async def test_approval_deadline_near_tells_the_staff(system):
    bid = new_booking_id()
    event = ApprovalDeadlineNear(booking_id=bid, hotel="aurora", hotel_profile=HOTEL, guest=GUEST,
                                 approval_deadline=datetime(2026, 11, 26, 21, 30, tzinfo=timezone.utc))
    emails = await emails_for(system, event, 1)
    assert list(emails) == [STAFF]
    assert emails[STAFF].email["Subject"] == (
        f"Approval deadline near: booking {bid} must be decided by 22:30 (Europe/Paris)")
    assert DEADLINE in emails[STAFF].part("plain") and "Ana Lima" in emails[STAFF].part("plain")


async def test_money_uses_the_currency_of_the_hotel(system):
    tokyo = HotelProfile(slug="sakura", name="Sakura Inn", timezone="Asia/Tokyo", currency="JPY",
                         check_in_time="16:00", check_out_time="10:00", hold_minutes=30, approval_hours=24,
                         staff_email="desk@sakura.test")
    bid = new_booking_id()
    event = status_changed(bid, "PENDING_APPROVAL", hotel=tokyo, total=Money.of("48000", "JPY"))
    emails = await emails_for(system, event, 2)
    assert "authorised for JPY 48,000;" in emails[GUEST.email].part("plain")
    assert "Friday 27 November 2026, 06:30 (Asia/Tokyo)" in emails["desk@sakura.test"].part("plain")


async def test_names_and_addresses_beyond_ascii_arrive_intact(system):
    etoile = HotelProfile(slug="etoile", name="Hôtel Étoile — Café", timezone="Europe/Paris", currency="EUR",
                          check_in_time="15:00", check_out_time="11:00", hold_minutes=30, approval_hours=24,
                          staff_email="accueil@etoile.test")
    bid = new_booking_id()
    emails = await emails_for(system, status_changed(bid, "CONFIRMED", hotel=etoile), 1)
    email = emails[GUEST.email].email
    assert email["Subject"] == f"Hôtel Étoile — Café: your booking {bid} is confirmed"
    assert email["From"].addresses[0].display_name == "Hôtel Étoile — Café" and "EUR 361.80" in emails[GUEST.email].part("plain")

    zoe = GUEST.model_copy(update={"first_name": "Zoë", "email": "zoë@exemple.test"})  # SMTPUTF8 (RFC 6531)
    bid = new_booking_id()
    emails = await emails_for(system, status_changed(bid, "CONFIRMED", hotel=etoile, guest=zoe), 1)
    assert list(emails) == ["zoë@exemple.test"]
    assert emails["zoë@exemple.test"].email["To"] == "zoë@exemple.test"
    assert "Zoë" in emails["zoë@exemple.test"].part("plain")


async def test_statuses_nobody_is_told_about_send_nothing(system):
    mailbox, bus, _ = system
    quiet = new_booking_id()
    await bus.publish(status_changed(quiet, "PENDING_PAYMENT", from_status="REQUESTED"))
    await bus.publish(status_changed(quiet, "CHECKED_IN", from_status="CONFIRMED"))
    marker = status_changed(quiet, "CONFIRMED", from_status="PENDING_APPROVAL")
    await emails_for(system, marker, 1)  # published after the quiet ones, so they were handled too
    assert [r.email["Subject"] for r in mailbox.for_booking(quiet)] == [
        f"Hotel Aurora: your booking {quiet} is confirmed"]
