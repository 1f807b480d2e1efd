"""Every branch of SPEC §3, with booking's app on the real bus; the tests play inventory and payments."""

import asyncio
from datetime import datetime, timedelta, timezone

from .booking_support import STAFF

from hotelmate_contracts import (
    ApprovalDeadlineNear, BookingStatusChanged, CapturePayment, CheckoutCreated, CommitHold, ExtendHold, HoldCommitted,
    HoldExpired, HoldRefused,
    PaymentCaptured, PaymentFailed, PaymentRefunded, PaymentVoided, PlaceHold, RefundPayment, ReleaseHold,
    RequestCheckout, VoidPayment,
)

RECEPTION = {"X-HotelMate-Staff-Id": "7", "X-HotelMate-Staff-Role": "RECEPTIONIST"}


def staff_post(client, booking_id, action, json=None, headers=STAFF, hotel="h1"):
    return client.post(f"/api/v1/staff/hotels/{hotel}/bookings/{booking_id}/{action}", json=json, headers=headers)


async def test_happy_path_to_checked_out(saga, bus, client, standin):
    booking_id, token = await saga.book()
    place = await bus.expect(booking_id, PlaceHold)
    assert place["room_type"] == "DBL" and place["adults"] == 2
    received = await bus.expect(booking_id, BookingStatusChanged)
    assert received["to_status"] == "REQUESTED" and token not in received["portal_url"]  # minted at send time
    assert received["guest"]["email"] == "ada@example.test"
    quote = await saga.hold(booking_id)
    checkout = await bus.expect(booking_id, RequestCheckout)
    assert checkout["amount"] == quote["total"] and checkout["customer_email"] == "ada@example.test"
    assert token not in checkout["return_url"]
    # the emailed link and Stripe's return open the guest's booking page, not an API answer
    assert received["portal_url"].endswith(f"/book/{received['hotel']}/bookings/{booking_id}")
    assert checkout["return_url"].endswith(f"/book/{received['hotel']}/bookings/{booking_id}")
    await bus.publish(CheckoutCreated(booking_id=booking_id, checkout_url="https://pay.test/c/cs_test_1",
                                      expires_at=checkout["expires_at"]))
    view = await saga.wait_status(booking_id, "PENDING_PAYMENT")
    guest = await saga.view(booking_id, token)
    assert guest["payment"] == {"status": "CHECKOUT_OPEN", "checkout_url": "https://pay.test/c/cs_test_1"}
    assert guest["price"]["total"] == quote["total"] and guest["hold_expires_at"]
    await saga.authorise(booking_id, quote)
    view = await saga.wait_status(booking_id, "PENDING_APPROVAL")
    extend = await bus.expect(booking_id, ExtendHold)
    deadline = datetime.fromisoformat(view["approval_deadline"])
    assert datetime.fromisoformat(extend["expires_at"]) > deadline
    assert timedelta(hours=23) < deadline - datetime.now(timezone.utc) <= timedelta(hours=24)
    assert (await staff_post(client, booking_id, "approve")).status_code == 202
    view = await saga.staff_view(booking_id)
    assert view["status"] == "PENDING_APPROVAL" and view["decision"]["decision"] == "APPROVED"
    assert (await staff_post(client, booking_id, "approve")).status_code == 202  # same decision: no-op
    await bus.expect(booking_id, CommitHold)  # the rooms are sold first
    assert not bus.sent(booking_id, CapturePayment)
    await bus.publish(HoldCommitted(booking_id=booking_id, hotel="h1"))
    await bus.expect(booking_id, CapturePayment)  # then the card is captured
    await bus.publish(PaymentCaptured(booking_id=booking_id, amount=quote["total"]))
    await saga.wait_status(booking_id, "CONFIRMED")
    assert len(bus.sent(booking_id, CapturePayment)) == 1
    assert (await staff_post(client, booking_id, "check-in", headers=RECEPTION)).status_code == 409  # no room yet
    put = await client.put(f"/api/v1/staff/hotels/h1/bookings/{booking_id}/room", json={"room_number": "101"},
                           headers=RECEPTION)
    assert put.status_code == 200 and put.json()["room_number"] == "101"
    assert standin.state["assignments"][booking_id] == "101"
    assert (await staff_post(client, booking_id, "check-in", headers=RECEPTION)).status_code == 200
    assert (await staff_post(client, booking_id, "check-out", headers=RECEPTION)).status_code == 200
    view = await saga.staff_view(booking_id)
    assert view["status"] == "CHECKED_OUT"
    assert [t["to"] for t in view["timeline"] if t["from"] != t["to"]] == [
        "REQUESTED", "PENDING_PAYMENT", "PENDING_APPROVAL", "CONFIRMED", "CHECKED_IN", "CHECKED_OUT"]
    await bus.status_change(booking_id, "CHECKED_OUT")  # published after the confirmation's
    assert len(bus.sent(booking_id, CommitHold)) == 1  # the rooms were sold once: inventory is not asked again
    assert {"staff:42", "staff:7", "stripe", "system", "guest"} <= {t["actor"] for t in view["timeline"]}
    changes = bus.sent(booking_id, BookingStatusChanged)
    assert all(token not in (c["portal_url"] or "") for c in changes)


async def test_sold_out_is_unavailable(saga, bus):
    booking_id, _ = await saga.book()
    await bus.expect(booking_id, PlaceHold)
    await bus.publish(HoldRefused(booking_id=booking_id, hotel="h1", reason="SOLD_OUT"))
    await saga.wait_status(booking_id, "UNAVAILABLE")


async def test_unpaid_hold_expires_and_is_released(saga, bus):
    booking_id, _, _ = await saga.pending_payment(expires_in=1)
    await saga.wait_status(booking_id, "EXPIRED", timeout=5)
    assert (await bus.expect(booking_id, VoidPayment))
    assert (await bus.expect(booking_id, ReleaseHold))


async def test_hold_expired_by_inventory_expires_the_booking(saga, bus):
    booking_id, _, _ = await saga.pending_payment()
    await bus.publish(HoldExpired(booking_id=booking_id, hotel="h1"))
    await saga.wait_status(booking_id, "EXPIRED")
    await bus.expect(booking_id, ReleaseHold)


async def test_decline_voids_and_releases(saga, bus, client):
    booking_id, _, _ = await saga.pending_approval()
    decline = {"reason_code": "OVERBOOKED", "note": "sorry"}
    assert (await staff_post(client, booking_id, "decline", decline)).status_code == 202
    view = await saga.wait_status(booking_id, "DECLINED")
    assert view["decision"]["reason_code"] == "OVERBOOKED"
    await bus.expect(booking_id, VoidPayment)
    await bus.expect(booking_id, ReleaseHold)
    assert (await staff_post(client, booking_id, "decline", decline)).status_code == 202
    assert (await staff_post(client, booking_id, "approve")).status_code == 409


async def test_approval_deadline_expires_and_voids(saga, bus):
    booking_id, _, quote = await saga.pending_payment()
    # authorised almost six days ago: the deadline is two seconds away, and the warning is due at once
    await saga.authorise(booking_id, quote, authorized_at=datetime.now(timezone.utc) - timedelta(days=6, seconds=-2))
    await saga.wait_status(booking_id, "PENDING_APPROVAL")
    near = await bus.expect(booking_id, ApprovalDeadlineNear)
    assert near["hotel_profile"]["staff_email"] == "desk@h1.test"
    await saga.wait_status(booking_id, "EXPIRED", timeout=8)
    await bus.expect(booking_id, VoidPayment)
    await bus.expect(booking_id, ReleaseHold)
    assert len(bus.sent(booking_id, ApprovalDeadlineNear)) == 1


async def test_guest_cancel_before_capture_voids(saga, bus, client):
    booking_id, token, _ = await saga.pending_approval()
    auth = {"Authorization": f"Bearer {token}"}
    quote = (await client.get(f"/api/v1/hotels/h1/bookings/{booking_id}/cancellation-quote", headers=auth)).json()
    assert quote["fee"] == {"amount": "0.00", "currency": "EUR"} and quote["refund"]["amount"] == "0.00"
    assert (await client.post(f"/api/v1/hotels/h1/bookings/{booking_id}/cancel", headers=auth)).status_code == 202
    await saga.wait_status(booking_id, "CANCELLED")
    await bus.expect(booking_id, VoidPayment)
    await bus.expect(booking_id, ReleaseHold)
    assert not bus.sent(booking_id, RefundPayment)


async def test_guest_cancel_after_capture_refunds_total_less_fee(saga, bus, client):
    booking_id, token, quote = await saga.confirmed()  # arrival today: inside 48 h, FIRST_NIGHT is due
    auth = {"Authorization": f"Bearer {token}"}
    terms = (await client.get(f"/api/v1/hotels/h1/bookings/{booking_id}/cancellation-quote", headers=auth)).json()
    assert terms == {"fee": {"amount": "110.00", "currency": "EUR"}, "refund": {"amount": "110.00", "currency": "EUR"},
                     "captured": True, "free_until": terms["free_until"]}  # 2 nights × 100 + 10 % = 220
    response = await client.post(f"/api/v1/hotels/h1/bookings/{booking_id}/cancel", headers=auth)
    assert response.status_code == 202 and response.json()["cancellation"]["fee"] == "110.00"
    refund = await bus.expect(booking_id, RefundPayment)
    assert refund["amount"] == {"amount": "110.00", "currency": "EUR"}
    await bus.expect(booking_id, ReleaseHold)
    changed = await bus.status_change(booking_id, "CANCELLED")
    assert changed["fee"]["amount"] == "110.00" and changed["refund"]["amount"] == "110.00"
    await bus.publish(PaymentRefunded(booking_id=booking_id, amount=refund["amount"], fully_refunded=False))
    for _ in range(50):
        if (await saga.view(booking_id, token))["payment"]["status"] == "PARTIALLY_REFUNDED":
            break
        await asyncio.sleep(0.1)
    assert (await saga.view(booking_id, token))["payment"]["status"] == "PARTIALLY_REFUNDED"
    assert (await client.post(f"/api/v1/hotels/h1/bookings/{booking_id}/cancel", headers=auth)).status_code == 202
    assert len(bus.sent(booking_id, RefundPayment)) == 1


async def test_staff_cancel_with_waived_fee_refunds_everything(saga, bus, client):
    booking_id, _, quote = await saga.confirmed()
    response = await staff_post(client, booking_id, "cancel", {"reason": "guest fell ill", "waive_fee": True})
    assert response.status_code == 202
    refund = await bus.expect(booking_id, RefundPayment)
    assert refund["amount"] == quote["total"]
    assert (await staff_post(client, booking_id, "cancel", {"reason": "x"}, headers=RECEPTION)).status_code == 403


async def test_capture_failure_is_payment_failed_voided_and_released(saga, bus, client):
    booking_id, _, _ = await saga.pending_approval()
    await saga.approved(booking_id)
    await bus.publish(PaymentFailed(booking_id=booking_id, stage="CAPTURE", reason="authorisation expired"))
    view = await saga.wait_status(booking_id, "PAYMENT_FAILED")
    assert view["payment"]["status"] == "FAILED"
    await bus.expect(booking_id, ReleaseHold)
    await bus.expect(booking_id, VoidPayment)  # whatever is left of the authorisation is released
    await bus.publish(PaymentVoided(booking_id=booking_id, reason="capture failed"))
    for _ in range(100):
        if (await saga.staff_view(booking_id))["timeline"][-1]["reason"] == "authorisation voided":
            break
        await asyncio.sleep(0.1)
    view = await saga.staff_view(booking_id)
    assert view["timeline"][-1]["reason"] == "authorisation voided" and view["status"] == "PAYMENT_FAILED"


async def test_approval_after_the_rooms_were_taken_voids_and_never_captures(saga, bus, client):
    booking_id, token, _ = await saga.pending_approval()
    assert (await staff_post(client, booking_id, "approve")).status_code == 202
    await bus.expect(booking_id, CommitHold)
    # inventory's answer: the hold had lapsed and the last room went to another guest
    await bus.publish(HoldExpired(booking_id=booking_id, hotel="h1"))
    view = await saga.wait_status(booking_id, "UNAVAILABLE")
    assert "no longer available" in view["timeline"][-1]["reason"]
    await bus.expect(booking_id, VoidPayment)
    await bus.expect(booking_id, ReleaseHold)
    assert (await bus.status_change(booking_id, "UNAVAILABLE"))["from_status"] == "PENDING_APPROVAL"
    await bus.publish(HoldCommitted(booking_id=booking_id, hotel="h1"))  # a late answer changes nothing
    await bus.expect(booking_id, ReleaseHold, count=2)
    assert not bus.sent(booking_id, CapturePayment)
    assert (await saga.view(booking_id, token))["status"] == "UNAVAILABLE"


async def test_payment_after_expiry_is_voided_and_booking_stays_expired(saga, bus):
    booking_id, token, quote = await saga.pending_payment(expires_in=1)
    await saga.wait_status(booking_id, "EXPIRED", timeout=5)
    await saga.authorise(booking_id, quote)
    await bus.expect(booking_id, VoidPayment, count=2)
    view = await saga.staff_view(booking_id)
    assert view["status"] == "EXPIRED"
    assert any("late authorisation voided" in (t["reason"] or "") for t in view["timeline"])


async def test_failed_authorisation_is_only_noted(saga, bus):
    booking_id, _, _ = await saga.pending_payment()
    await bus.publish(PaymentFailed(booking_id=booking_id, stage="AUTHORIZATION", reason="card declined"))
    for _ in range(50):
        view = await saga.staff_view(booking_id)
        if any("card declined" in (t["reason"] or "") for t in view["timeline"]):
            break
        await asyncio.sleep(0.1)
    assert view["status"] == "PENDING_PAYMENT"
    assert any("card declined" in (t["reason"] or "") for t in view["timeline"])


async def test_room_conflict_passes_through_and_wrong_states_are_409(saga, client):
    booking_id, _, _ = await saga.pending_approval()
    room = f"/api/v1/staff/hotels/h1/bookings/{booking_id}/room"
    assert (await client.put(room, json={"room_number": "101"}, headers=RECEPTION)).status_code == 409
    assert (await staff_post(client, booking_id, "check-out", headers=RECEPTION)).status_code == 409
    confirmed_id, _, _ = await saga.confirmed()
    room = f"/api/v1/staff/hotels/h1/bookings/{confirmed_id}/room"
    taken = await client.put(room, json={"room_number": "999"}, headers=RECEPTION)
    assert taken.status_code == 409 and taken.headers["content-type"] == "application/problem+json"
    assert (await client.delete(room, headers=RECEPTION)).json()["room_number"] is None
    assert (await staff_post(client, confirmed_id, "no-show", headers=RECEPTION)).status_code == 200


async def test_authorisation_of_another_amount_is_voided_and_the_booking_waits(saga, bus):
    booking_id, _, quote = await saga.pending_payment()
    await saga.authorise(booking_id, {"total": {"amount": "1.00", "currency": quote["total"]["currency"]}})
    await bus.expect(booking_id, VoidPayment)
    view = await saga.staff_view(booking_id)
    assert view["status"] == "PENDING_PAYMENT" and "is not the total" in view["timeline"][-1]["reason"]
    await saga.authorise(booking_id, quote)
    await saga.wait_status(booking_id, "PENDING_APPROVAL")
