"""A burst of bookings through the gateway (issue 18): 300 guests POST at the same instant for one
hotel, three bursts back to back, each while the previous one's saga work still drains.

Every guest is answered 202, or 429/503 with Retry-After (never a 504, never a bare 5xx); guests
that retry as told with their Idempotency-Key all get their booking, exactly one each; and the
backlog drains: every booking reaches PENDING_PAYMENT (held, Checkout Session open).
Each guest has its own address (the gateway trusts X-Forwarded-For here), so the public
per-address limit applies per guest, as on the internet.
"""

import asyncio
import os
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from hotelmate_devtools.testing import system_fixture

from hotelmate_devtools.flows.booking import Desk
from hotelmate_devtools.flows.burst import burst, count_by_status

NAMES = ["stripe-emulator", "smtp-sink", "inventory", "booking", "payments", "notifications", "gateway"]
HOTEL = "e2e-burst"
GUESTS = 300
DRAIN_SECONDS = float(os.environ.get("HOTELMATE_TEST_BURST_DRAIN_SECONDS", "300"))

system = system_fixture(NAMES, env={"HOTELMATE_GATEWAY_TRUST_FORWARDED_FOR": "true",
                                    "HOTELMATE_LOG_LEVEL": "WARNING"})


@pytest.mark.long
async def test_three_bursts_back_to_back_are_all_booked_without_gateway_timeouts(http, system):
    desk = Desk(http)
    await desk.login()
    await desk.open_hotel(HOTEL, rooms=5)
    today = datetime.now(ZoneInfo("Europe/Paris")).date()
    booked: set[str] = set()
    for k in range(3):
        result = await burst(system.layout.url("gateway"), HOTEL, today, range(k * GUESTS, (k + 1) * GUESTS))
        bad = result.misbehaving()
        assert not bad, f"burst {k + 1}: answers a client may not get: {[(a.status, a.retry_after, a.problem) for a in bad]}"
        assert result.finally_accepted() == 1.0, f"burst {k + 1}: {result.statuses()}"
        assert len(result.booking_ids()) == GUESTS
        booked |= result.booking_ids()
    assert len(booked) == 3 * GUESTS  # one booking per guest, retries included

    deadline = time.monotonic() + DRAIN_SECONDS
    while True:
        counts = await count_by_status(http, HOTEL, desk.headers)
        if counts["PENDING_PAYMENT"] == 3 * GUESTS:
            break
        assert sum(counts.values()) == 3 * GUESTS, counts  # never a booking more than the guests got
        assert time.monotonic() < deadline, f"the backlog did not drain in {DRAIN_SECONDS} s: {dict(counts)}"
        await asyncio.sleep(1)
