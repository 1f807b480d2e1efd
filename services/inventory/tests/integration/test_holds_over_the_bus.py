"""Inventory as separate processes on the real broker: two replicas never oversell; the sweeper runs."""

import asyncio
from datetime import datetime, timedelta, timezone

from sqlalchemy import text

from hotelmate_contracts import HoldPlaced, HoldRefused
from hotelmate_devtools.busprobe import BusProbe
from hotelmate_devtools.waiting import eventually
from inventory.handlers import place_hold

from .conftest import make_hotel
from .test_holds import nightly_peak, place, run


async def test_two_processes_place_exactly_5_holds_out_of_200_bus_commands(client, db, platform_settings, system_factory):
    env = {"HOTELMATE_CONSUMER_PREFETCH": "16", "HOTELMATE_SWEEP_SECONDS": "3600"}
    replicas = [system_factory(["inventory"], env=env), system_factory(["inventory"], env=env)]
    assert all(r.processes["inventory"].alive() for r in replicas)
    slug = await make_hotel(client, rooms=5)
    messages = [place(slug, 1 + i % 3, nights=4 - i % 3) for i in range(200)]
    ours = {m.booking_id for m in messages}

    async with BusProbe(platform_settings.amqp_url, platform_settings.bus_namespace,
                        HoldPlaced.TYPE, HoldRefused.TYPE) as answers:
        await asyncio.gather(*(answers.publish(m) for m in messages))

        def answered() -> dict[str, str]:
            return {e.payload["booking_id"]: e.type for e in answers.seen if e.payload["booking_id"] in ours}

        assert await eventually(lambda: len(answered()) == len(ours), timeout=90), f"{len(answered())} answers"
        seen = answered()
    assert list(seen.values()).count(HoldPlaced.TYPE) == 5
    assert list(seen.values()).count(HoldRefused.TYPE) == 195
    assert await nightly_peak(db, slug) == 5
    assert all(r.processes["inventory"].alive() for r in replicas)


async def test_the_running_service_sweeps_lapsed_holds_and_announces_them(client, db, system_factory):
    # Runs after test_holds.py (which needs lapsed holds left unswept): this replica sweeps every 0.2 s.
    system_factory(["inventory"], env={"HOTELMATE_SWEEP_SECONDS": "0.2"})
    slug = await make_hotel(client, rooms=1)
    msg = place(slug, 2, expires_at=datetime.now(timezone.utc) + timedelta(milliseconds=300))
    await run(db, place_hold, msg)
    async def swept() -> tuple[str, int]:
        async with db.sessions() as s:
            status = (await s.execute(text("SELECT status FROM holds WHERE booking_id = :b"), {"b": msg.booking_id})).scalar_one()
            sent = (await s.execute(text("SELECT count(*) FROM outbox WHERE type = 'inventory.hold_expired' "
                                         "AND envelope->'payload'->>'booking_id' = :b"), {"b": msg.booking_id})).scalar_one()
        return status, sent

    for _ in range(50):
        if (await swept())[0] == "EXPIRED":
            break
        await asyncio.sleep(0.1)
    assert await swept() == ("EXPIRED", 1)
