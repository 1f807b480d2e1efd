"""The long poll's waiters re-read their booking when the listening connection is back (a NOTIFY
sent while nobody listened is lost), not only at the last-resort recheck."""

import asyncio
import time

from booking.watch import RECHECK_SECONDS, StatusWatch


async def test_waiters_re_read_their_booking_once_listening_again():
    watch = StatusWatch()
    status = {"value": "PENDING_PAYMENT"}
    loads = 0
    first_load = asyncio.Event()

    async def load() -> dict:
        nonlocal loads
        loads += 1
        first_load.set()
        return {"id": "B1", "status": status["value"]}

    waiter = asyncio.create_task(watch.wait_for("B1", {"CONFIRMED"}, 60, load))
    await first_load.wait()
    status["value"] = "CONFIRMED"  # changed while the listener was away: no NOTIFY reached us
    watch.wake_all()  # what the listener does once LISTEN is in place again
    booking = await asyncio.wait_for(waiter, RECHECK_SECONDS - 1)  # well before the last-resort recheck
    assert booking["status"] == "CONFIRMED" and loads == 2
    assert watch.waiting == 0


async def test_a_notify_wakes_only_the_waiters_of_that_booking():
    watch = StatusWatch()
    loads = {"B1": 0, "B2": 0}
    both_loaded = asyncio.Event()

    def loader(booking_id: str):
        async def load() -> dict:
            loads[booking_id] += 1
            if all(loads.values()):
                both_loaded.set()
            return {"id": booking_id, "status": "PENDING_PAYMENT"}
        return load

    waiters = [asyncio.create_task(watch.wait_for(b, {"CONFIRMED"}, 60, loader(b))) for b in ("B1", "B2")]
    await both_loaded.wait()
    watch.wake("B1")

    async def b1_reloaded() -> None:
        while loads["B1"] < 2:
            await asyncio.sleep(0.01)

    await asyncio.wait_for(b1_reloaded(), 10)
    assert loads["B2"] == 1
    for waiter in waiters:
        waiter.cancel()
    await asyncio.gather(*waiters, return_exceptions=True)
    assert watch.waiting == 0


def confirmed_loader(booking_id: str):
    """``load()`` answering the booking CONFIRMED, and the list of its calls."""
    calls: list[None] = []

    async def load() -> dict:
        calls.append(None)
        return {"id": booking_id, "status": "CONFIRMED"}

    return load, calls


async def test_the_booking_just_read_stands_for_the_first_load_unless_a_change_was_heard_since():
    watch = StatusWatch()
    load, loads = confirmed_loader("B1")
    read_at = time.monotonic()
    just_read = {"id": "B1", "status": "PENDING_APPROVAL"}
    waiting = asyncio.create_task(watch.wait_for("B1", {"CONFIRMED"}, 60, load, current=just_read, read_at=read_at))
    while watch.waiting == 0:
        await asyncio.sleep(0.01)
    assert len(loads) == 0  # no second read of what the request has just read
    watch.wake("B1")
    assert (await asyncio.wait_for(waiting, RECHECK_SECONDS - 1))["status"] == "CONFIRMED" and len(loads) == 1

    # A change heard after the request's read began: the read may predate it, so it is read again at once.
    read_at = time.monotonic()
    watch.wake("B1")
    answer = await asyncio.wait_for(
        watch.wait_for("B1", {"CONFIRMED"}, 60, load, current=just_read, read_at=read_at), RECHECK_SECONDS - 1)
    assert answer["status"] == "CONFIRMED" and len(loads) == 2


async def test_a_read_from_before_the_listener_was_back_is_read_again():
    watch = StatusWatch()
    load, loads = confirmed_loader("B9")
    read_at = time.monotonic()
    watch.wake_all()  # LISTEN in place again: what changed meanwhile was not heard
    answer = await asyncio.wait_for(
        watch.wait_for("B9", {"CONFIRMED"}, 60, load, current={"id": "B9", "status": "REQUESTED"}, read_at=read_at),
        RECHECK_SECONDS - 1)
    assert answer["status"] == "CONFIRMED" and len(loads) == 1


async def test_a_change_no_longer_remembered_still_forces_a_read(monkeypatch):
    monkeypatch.setattr("booking.watch.REMEMBERED", 2)
    watch = StatusWatch()
    load, loads = confirmed_loader("B1")
    read_at = time.monotonic()
    for booking_id in ("B1", "B2", "B3"):  # B1's change, heard after the read, is pushed out of memory
        watch.wake(booking_id)
    answer = await asyncio.wait_for(
        watch.wait_for("B1", {"CONFIRMED"}, 60, load, current={"id": "B1", "status": "REQUESTED"}, read_at=read_at),
        RECHECK_SECONDS - 1)
    assert answer["status"] == "CONFIRMED" and len(loads) == 1
