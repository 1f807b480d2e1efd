"""Admission control: over the limit a request waits briefly for a slot, then gets 503 + Retry-After;
health endpoints always answer; slots go to waiters first come, first served."""

import asyncio

import httpx
from fastapi import FastAPI

from hotelmate_platform.admission import Slots, install_admission
from hotelmate_platform.problems import install_problem_handlers
from hotelmate_platform.settings import ServiceSettings


def busy_app(release: asyncio.Event, *, limit: int = 2, queue_seconds: float = 0.3, max_waiting: int = 10):
    app = FastAPI()
    install_problem_handlers(app)
    settings = ServiceSettings(http_max_in_flight=limit, http_queue_seconds=queue_seconds,
                               http_max_waiting=max_waiting, http_retry_after_seconds=1.5)
    slots = install_admission(app, settings)

    @app.get("/work")
    async def work():
        await release.wait()
        return {"done": True}

    @app.get("/healthz")
    async def healthz():
        return {"status": "ok"}

    return app, slots


async def until(condition) -> None:
    async with asyncio.timeout(10):
        while not condition():
            await asyncio.sleep(0.01)


def client(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://service")


async def test_over_capacity_is_503_with_retry_after_and_health_still_answers():
    release = asyncio.Event()
    app, slots = busy_app(release)
    async with client(app) as http:
        working = [asyncio.create_task(http.get("/work")) for _ in range(2)]
        await until(lambda: slots.in_use == 2)
        refused = await http.get("/work")
        assert refused.status_code == 503 and refused.headers["retry-after"] == "2"  # nothing done yet: the least
        assert refused.headers["content-type"] == "application/problem+json"
        assert (await http.get("/healthz")).status_code == 200
        long_poll = asyncio.create_task(http.get("/work", params={"wait_for": "CONFIRMED"}))
        await until(lambda: slots.in_use == 2 and not slots._waiting)  # not queued: it bypasses the slots
        release.set()
        assert (await long_poll).status_code == 200
        assert [r.status_code for r in await asyncio.gather(*working)] == [200, 200]
        assert (await http.get("/work")).status_code == 200
    assert slots.in_use == 0


async def test_a_waiter_gets_the_next_free_slot():
    release = asyncio.Event()
    app, slots = busy_app(release, limit=1, queue_seconds=5)
    async with client(app) as http:
        first = asyncio.create_task(http.get("/work"))
        await until(lambda: slots.in_use == 1)
        waiting = asyncio.create_task(http.get("/work"))
        await until(lambda: len(slots._waiting) == 1)
        release.set()
        assert (await first).status_code == 200 and (await waiting).status_code == 200
    assert slots.in_use == 0 and not slots._waiting


async def test_no_more_waiters_than_allowed():
    release = asyncio.Event()
    app, slots = busy_app(release, limit=1, queue_seconds=5, max_waiting=1)
    async with client(app) as http:
        first = asyncio.create_task(http.get("/work"))
        await until(lambda: slots.in_use == 1)
        waiting = asyncio.create_task(http.get("/work"))
        await until(lambda: len(slots._waiting) == 1)
        assert (await http.get("/work")).status_code == 503  # at once: the queue is full
        release.set()
        assert (await first).status_code == (await waiting).status_code == 200


def test_retry_after_follows_the_pace_of_the_last_slots_when_load_steps_up():
    now = [100.0]
    slots = Slots(4, queue_seconds=1, max_waiting=1000, clock=lambda: now[0])
    for _ in range(20):  # a quiet time: 2 requests a second for 10 s
        now[0] += 0.5
        slots.in_use += 1
        slots.release()
    for _ in range(40):  # then a hundred clients at once: 400 requests a second
        now[0] += 0.0025
        slots.in_use += 1
        slots.release()
    slots.in_use = 4
    slots._waiting.extend(object() for _ in range(96))  # 100 ahead: a quarter of a second at the new pace
    assert slots.retry_after(1) == 1  # (the ten seconds' pace, 6 a second, said 16 s)


def test_retry_after_is_the_time_the_requests_ahead_need_at_the_measured_pace():
    now = [100.0]
    slots = Slots(2, queue_seconds=1, max_waiting=100, clock=lambda: now[0])
    slots.in_use = 2
    for _ in range(20):  # 20 requests done in 4 s: 5 a second
        now[0] += 0.2
        slots.in_use += 1
        slots.release()
    slots._waiting.extend(object() for _ in range(38))  # 2 in flight + 38 waiting = 8 s at that pace
    assert slots.retry_after(1) == 8
    assert slots.retry_after(1, most=5) == 5
    now[0] += 60  # the pace of a minute ago says nothing: back to the least
    assert slots.retry_after(1) == 1
