"""Placing bookings: validation, ids, Idempotency-Key, guest tokens, the staff list."""

import asyncio
import re
from datetime import timedelta

from .booking_support import STAFF, booking_body, hotel_today

URL = "/api/v1/hotels/h1/bookings"


def fields(response) -> set[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return {e["field"] for e in response.json()["errors"]}


async def test_answer_is_202_with_id_token_and_location(client):
    response = await client.post(URL, json=booking_body())
    assert response.status_code == 202
    body = response.json()
    assert re.fullmatch(r"BK-\d{4}-\d{6,}", body["booking_id"]) and body["status"] == "REQUESTED"
    assert len(body["guest_token"]) == 43
    assert response.headers["location"] == f"{URL}/{body['booking_id']}"


async def test_invalid_requests_are_422_with_fields(client):
    today = hotel_today()
    assert fields(await client.post(URL, json=booking_body(days_ahead=-1))) == {"check_in"}
    assert fields(await client.post(URL, json=booking_body(nights=0))) == {"check_out"}
    assert fields(await client.post(URL, json=booking_body(nights=31))) == {"check_out"}
    assert fields(await client.post(URL, json=booking_body(days_ahead=551))) == {"check_in"}
    assert fields(await client.post(URL, json=booking_body(room_type="SUITE"))) == {"room_type"}
    assert fields(await client.post(URL, json=booking_body(adults=3))) == {"adults"}
    bad_email = booking_body(booker={"first_name": "A", "last_name": "B", "email": "not-an-email"})
    assert fields(await client.post(URL, json=bad_email)) == {"booker.email"}
    two_primaries = booking_body(guests=[{"first_name": "A", "last_name": "B", "role": "PRIMARY"},
                                         {"first_name": "C", "last_name": "D", "role": "PRIMARY"}])
    assert fields(await client.post(URL, json=two_primaries)) == {"guests"}
    no_primary = booking_body(guests=[{"first_name": "A", "last_name": "B", "role": "COMPANION"}])
    assert fields(await client.post(URL, json=no_primary)) == {"guests"}
    assert fields(await client.post(URL, json={**booking_body(), "check_in": "July"})) == {"check_in"}
    assert fields(await client.post(URL, json=booking_body(promo_code="BAD"))) == {"promo_code"}  # inventory's 422
    assert today  # the dates above are the hotel's local today


async def test_a_promo_code_inventory_cannot_quote_in_time_is_left_to_the_hold(saga, bus):
    from hotelmate_contracts import HoldRefused, PlaceHold
    booking_id, _ = await saga.book(promo_code="SLOW")  # accepted: the guest is not kept waiting
    assert (await bus.expect(booking_id, PlaceHold))["promo_code"] == "SLOW"
    await bus.publish(HoldRefused(booking_id=booking_id, hotel="h1", reason="INVALID",
                                  detail="unknown promo code SLOW"))
    view = await saga.wait_status(booking_id, "UNAVAILABLE")
    assert view["timeline"][-1]["reason"] == "hold refused: INVALID unknown promo code SLOW"
    assert view["payment"]["status"] == "NONE"  # nothing charged


async def test_unknown_hotel_is_404(client):
    response = await client.post("/api/v1/hotels/nowhere/bookings", json=booking_body())
    assert response.status_code == 404 and response.headers["content-type"] == "application/problem+json"


async def test_party_is_the_record_of_the_primary_guest(saga, client):
    body = booking_body(guests=[{"first_name": "Grace", "last_name": "Hopper", "email": "grace@example.test",
                                 "role": "PRIMARY"},
                                {"first_name": "Ada", "last_name": "Lovelace", "role": "COMPANION"}])
    placed = (await client.post(URL, json=body)).json()
    view = await saga.view(placed["booking_id"], placed["guest_token"])
    assert [g["role"] for g in view["guests"]] == ["PRIMARY", "COMPANION"]
    assert view["booker"]["email"] == "ada@example.test"
    from hotelmate_contracts import RequestCheckout
    await saga.hold(placed["booking_id"])
    checkout = await saga.bus.expect(placed["booking_id"], RequestCheckout)
    assert checkout["customer_email"] == "grace@example.test"


async def test_idempotency_key_replays_the_same_booking_without_the_token(client):
    headers = {"Idempotency-Key": "retry-1"}
    first = await client.post(URL, json=booking_body(), headers=headers)
    again = await client.post(URL, json=booking_body(), headers=headers)
    assert first.status_code == again.status_code == 202
    assert again.json()["booking_id"] == first.json()["booking_id"] and again.json()["guest_token"] is None
    other = await client.post(URL, json=booking_body(adults=1), headers=headers)
    assert other.status_code == 422 and other.json()["code" if "code" in other.json() else "type"].endswith(
        "idempotency-key-reused")


async def test_twenty_identical_requests_at_once_make_one_booking(client):
    headers = {"Idempotency-Key": "storm-1"}
    answers = await asyncio.gather(*(client.post(URL, json=booking_body(), headers=headers) for _ in range(20)))
    assert {a.status_code for a in answers} == {202}
    assert len({a.json()["booking_id"] for a in answers}) == 1
    assert sum(1 for a in answers if a.json()["guest_token"]) == 1
    listed = await client.get("/api/v1/staff/hotels/h1/bookings", params={"q": answers[0].json()["booking_id"]},
                              headers=STAFF)
    assert len(listed.json()["items"]) == 1


async def accepted(client, body: dict):
    """POST as a well-behaved client: a 503 (over capacity, nothing done) is retried after Retry-After."""
    while (answer := await client.post(URL, json=body)).status_code == 503:
        await asyncio.sleep(float(answer.headers["retry-after"]))
    return answer


async def test_five_hundred_concurrent_bookings_get_five_hundred_ids(client):
    answers = await asyncio.gather(*(accepted(client, booking_body(days_ahead=3)) for _ in range(500)))
    assert [a.status_code for a in answers].count(202) == 500
    ids = {a.json()["booking_id"] for a in answers}
    assert len(ids) == 500
    listed, cursor = [], None
    while True:
        params = {"arrival_from": (hotel_today() + timedelta(days=3)).isoformat(), "limit": 200,
                  "arrival_to": (hotel_today() + timedelta(days=3)).isoformat()}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/api/v1/staff/hotels/h1/bookings", params=params, headers=STAFF)).json()
        listed += [i["booking_id"] for i in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    assert ids <= set(listed) and len(listed) == len(set(listed))


async def test_guest_token_opens_only_its_own_booking(saga, client):
    booking_id, token = await saga.book()
    other_id, other_token = await saga.book()
    h2_id, h2_token = await saga.book("h2")
    path = f"{URL}/{booking_id}"
    assert (await client.get(path)).status_code == 401
    assert (await client.get(path, headers={"Authorization": "Basic abc"})).status_code == 401
    for bad in ("wrong", other_token, token[:-1], h2_token):
        response = await client.get(path, headers={"Authorization": f"Bearer {bad}"})
        assert response.status_code == 404 and "Lovelace" not in response.text and "REQUESTED" not in response.text
    other_hotel = await client.get(f"/api/v1/hotels/h2/bookings/{booking_id}", headers={"Authorization": f"Bearer {token}"})
    assert other_hotel.status_code == 404
    for action in ("cancel",):
        response = await client.post(f"{path}/{action}", headers={"Authorization": f"Bearer {other_token}"})
        assert response.status_code == 404
    assert (await saga.view(booking_id, token))["status"] == "REQUESTED"
    assert (await saga.view(h2_id, h2_token, "h2"))["hotel"] == "h2"
    assert other_id != booking_id


async def test_no_stripe_ids_in_the_guest_view(saga):
    booking_id, token, _ = await saga.pending_approval()
    view = await saga.view(booking_id, token)
    text = str({k: v for k, v in view.items()})
    assert not re.search(r"\b(pi|ch|re)_", text) and "checkout_url" not in view["payment"]


async def test_staff_list_filters_and_searches(saga, client):
    booking_id, _ = await saga.book(days_ahead=9, booker={"first_name": "Émile", "last_name": "Zola-Search",
                                                          "email": "emile@example.test"})
    base = "/api/v1/staff/hotels/h1/bookings"
    by_name = (await client.get(base, params={"q": "zola-sea"}, headers=STAFF)).json()["items"]
    assert [i["booking_id"] for i in by_name] == [booking_id]
    by_email = (await client.get(base, params={"q": "EMILE@example"}, headers=STAFF)).json()["items"]
    assert [i["booking_id"] for i in by_email] == [booking_id]
    by_status = (await client.get(base, params={"status": "CONFIRMED", "q": "zola"}, headers=STAFF)).json()["items"]
    assert by_status == []
    either = (await client.get(base, params={"status": "CONFIRMED,REQUESTED", "q": "zola"}, headers=STAFF)).json()
    assert [i["booking_id"] for i in either["items"]] == [booking_id]
    assert (await client.get(base, params={"status": "SLEEPING"}, headers=STAFF)).status_code == 422
    assert (await client.get(base, headers={})).status_code == 401
    assert (await client.get(base, params={"cursor": "!!"}, headers=STAFF)).status_code == 422
    other_hotel = await client.get(f"/api/v1/staff/hotels/h2/bookings/{booking_id}", headers=STAFF)
    assert other_hotel.status_code == 404


async def test_staff_detail_shows_payment_details_and_tolerates_payments_down(saga, standin):
    booking_id, _ = await saga.book()
    standin.state.setdefault("payments", {})[booking_id] = {"booking_id": booking_id, "status": "AUTHORIZED",
                                                            "stripe_ref": "pi_123"}
    view = await saga.staff_view(booking_id)
    assert view["payment"]["details"]["stripe_ref"] == "pi_123" and view["timeline"][0]["actor"] == "guest"
