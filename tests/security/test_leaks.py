"""Public answers show only what guests need (issue 14): no internal staff email on the public hotel,
no staff id or free-text reason in the guest's view of a staff cancellation."""

from __future__ import annotations


from hotelmate_devtools.flows.booking import Guest


async def test_the_public_hotel_shows_no_staff_email(http, direct, open_hotel):
    hotel = await open_hotel("sec-leak-1")
    for client in (http, direct("inventory")):
        answer = await client.get(f"/api/v1/hotels/{hotel}")
        assert answer.status_code == 200
        assert "staff_email" not in answer.json() and f"desk@{hotel}.test" not in answer.text


async def test_the_guest_does_not_see_who_cancelled_nor_why(http, desk, open_hotel):
    hotel = await open_hotel("sec-leak-2")
    guest = Guest(http, hotel)
    await guest.book(days_ahead=20)
    await guest.wait_for("PENDING_PAYMENT", timeout=60)
    secret_reason = "guest was rude at the desk; flagged by Joe"
    answer = await desk.act(hotel, guest.booking_id, "cancel", {"reason": secret_reason})
    assert answer.status_code == 202, answer.text
    seen = await guest.wait_for("CANCELLED", timeout=60)
    assert seen["cancellation"] is not None
    assert "by" not in seen["cancellation"] and "reason" not in seen["cancellation"]
    for view in (seen, (await http.get(f"/api/v1/hotels/{hotel}/bookings/{guest.booking_id}",
                                       headers={"Authorization": f"Bearer {guest.token}"})).json()):
        assert secret_reason not in str(view) and "staff:" not in str(view)
    staff = await desk.detail(hotel, guest.booking_id)
    assert staff["cancellation"]["reason"] == secret_reason  # the desk still sees it
