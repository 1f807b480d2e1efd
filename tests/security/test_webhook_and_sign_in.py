"""Webhook and sign-in abuse (issue 14): unsigned floods cannot starve Stripe's deliveries, events
dated in the future are refused, an attacker cannot lock the owner out, and only the last
X-Forwarded-For entry (the one our proxy wrote) names the client."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import os
import time
import uuid

from hotelmate_devtools.system import WEBHOOK_SECRET

WEBHOOK = "/api/v1/webhooks/stripe"
_addresses = itertools.count(1)


def address() -> str:
    n = next(_addresses)
    return f"10.77.{n // 256 % 256}.{n % 256}"


def signed_event(*, signed_at: float | None = None, created: float | None = None) -> tuple[bytes, dict]:
    now = time.time()
    body = json.dumps({"id": f"evt_sec_{uuid.uuid4().hex}", "object": "event", "type": "customer.created",
                       "created": int(created if created is not None else now),
                       "data": {"object": {"id": "cus_x", "object": "customer"}}}).encode()
    stamp = int(signed_at if signed_at is not None else now)
    mac = hmac.new(WEBHOOK_SECRET.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return body, {"Stripe-Signature": f"t={stamp},v1={mac}", "Content-Type": "application/json"}


async def test_an_unsigned_flood_does_not_starve_signed_deliveries(http, direct):
    for client in (direct("payments"), http):
        for _ in range(12):  # the test system allows a burst of 8 deliveries
            answer = await client.post(WEBHOOK, content=b'{"id": "evt_forged", "type": "x"}',
                                       headers={"Stripe-Signature": "t=1,v1=00", "Content-Type": "application/json"})
            assert answer.status_code == 400
        body, headers = signed_event()
        answer = await client.post(WEBHOOK, content=body, headers=headers)
        assert answer.status_code == 200, answer.text


async def test_events_dated_in_the_future_are_refused(http, direct):
    for client in (direct("payments"), http):
        for when in ({"signed_at": time.time() + 600}, {"created": time.time() + 600}):
            body, headers = signed_event(**when)
            answer = await client.post(WEBHOOK, content=body, headers=headers)
            assert answer.status_code == 400, f"{when}: {answer.status_code}"
        body, headers = signed_event(signed_at=time.time() + 30)  # a clock a little ahead is fine
        assert (await client.post(WEBHOOK, content=body, headers=headers)).status_code == 200


async def test_an_attacker_cannot_lock_the_owner_out(http):
    email, password = os.environ["HOTELMATE_ADMIN_EMAIL"], os.environ["HOTELMATE_ADMIN_PASSWORD"]
    for _ in range(3):  # an attacker from several addresses spends more than the account's burst (5)
        attacker = address()
        for _ in range(3):
            answer = await http.post("/api/v1/auth/token", json={"email": email, "password": "guess-guess"},
                                     headers={"X-Forwarded-For": attacker})
            assert answer.status_code == 401
    owner = await http.post("/api/v1/auth/token", json={"email": email, "password": password},
                            headers={"X-Forwarded-For": address()})
    assert owner.status_code == 200, owner.text


async def test_only_the_last_forwarded_for_entry_names_the_client(http):
    proxy_saw = address()  # our proxy appends the address it saw; what comes before is the client's
    codes = []
    for i in range(25):  # the address burst is 20; a new invented first entry each time
        answer = await http.post("/api/v1/auth/token", json={"email": f"nobody{i}@sec.test", "password": "x"},
                                 headers={"X-Forwarded-For": f"203.0.113.{i}, {proxy_saw}"})
        codes.append(answer.status_code)
    assert codes[:20] == [401] * 20 and 429 in codes[20:]
