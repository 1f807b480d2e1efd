"""Availability and quotes asked at the same moment share their live read, and each answer is still as
fresh as if it had read alone: a hold committed before a request shows in that request's answer."""

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy.exc import OperationalError

from hotelmate_devtools.system import free_port
from hotelmate_platform.db import Database
from inventory.handlers import place_hold
from inventory.live_reads import LiveReads
from inventory.quoting import OneSession, availability

from .conftest import local_today, make_hotel
from .test_holds import place, run


def stay_of(offset: int, nights: int):
    check_in = local_today() + timedelta(days=offset)
    return check_in, check_in + timedelta(days=nights)


async def test_many_requests_at_once_share_reads_and_each_gets_its_own_stay(client, runtime, db):
    slug = await make_hotel(client, rooms=6)
    # Holds on nights 10-12, 11-15 and 20-21: stays overlapping them differently see different counts.
    for offset, nights in ((10, 3), (11, 5), (20, 2), (11, 1)):
        await run(db, place_hold, place(slug, offset, nights))
    stays = [stay_of(offset, nights) for offset in range(5, 25) for nights in (1, 3, 7)]
    async with db.reads() as session:  # each stay read alone, no cache: what every answer must say
        expected = [await availability(OneSession(session), slug, a, b, 2, 0) for a, b in stays]
    assert {answer["room_types"][0]["available"] for answer in expected} == {3, 4, 5, 6}

    live = runtime.extras["live_reads"]
    before = live.stats()
    at_once = asyncio.Semaphore(20)  # within the service's admission limit (24 in flight): none refused

    async def ask(a, b):
        async with at_once:
            answer = await client.get(f"/api/v1/hotels/{slug}/availability",
                                      params={"check_in": str(a), "check_out": str(b), "adults": 2})
        assert answer.status_code == 200, answer.text
        return answer.json()

    for _ in range(2):  # the first round fills the cache, the second is all hits
        assert await asyncio.gather(*(ask(a, b) for a, b in stays)) == expected
    after = live.stats()
    assert after["answers"] - before["answers"] == 2 * len(stays)
    assert after["reads"] - before["reads"] < len(stays)  # shared: fewer statements than answers


async def test_a_request_after_the_read_was_sent_gets_the_next_read(client, db):
    """The second request comes after the first read's statement has run and after a hold committed
    since: it must count that hold, which the first answer (an older snapshot) cannot have."""
    slug = await make_hotel(client, rooms=3)
    a, b = stay_of(30, 2)
    later: list[asyncio.Task] = []

    class HoldAfterTheStatement(LiveReads):
        async def _fetch(self, conn, hotel, stays):
            answer = await super()._fetch(conn, hotel, stays)
            if not later:  # once: while the first read has not answered its requests yet
                await run(db, place_hold, place(slug, 30, 2))
                later.append(asyncio.create_task(self.version_and_busiest_night(hotel, a, b)))
                await asyncio.sleep(0)  # the second request asks now
            return answer

    live = HoldAfterTheStatement(db)
    first = await live.version_and_busiest_night(slug, a, b)
    assert first[1] == {}  # read before the hold
    assert await later[0] == (first[0], {"DBL": 1})  # read after it, by a read of its own
    assert live.stats() == {"reads": 2, "answers": 2, "answers_per_read": 1.0}


async def test_a_request_that_gives_up_leaves_the_shared_read_to_the_others(client, db):
    slug = await make_hotel(client, rooms=3)
    await run(db, place_hold, place(slug, 40, 2))
    live = LiveReads(db)
    a, b = stay_of(40, 2)
    leaving = asyncio.create_task(live.version_and_busiest_night(slug, a, b))
    staying = asyncio.create_task(live.version_and_busiest_night(slug, a, b))
    await asyncio.sleep(0)  # both have joined the read
    leaving.cancel()
    version, taken = await staying
    assert taken == {"DBL": 1} and version > 0
    assert leaving.cancelled()
    assert live.stats()["reads"] == 1


async def test_a_read_that_fails_fails_each_request_that_shared_it_and_the_next_one_reads_again():
    unreachable = Database(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nowhere",  # nobody listens there
                           pool_size=1, pool_timeout=2)
    try:
        live = LiveReads(unreachable)
        a, b = stay_of(5, 1)
        answers = await asyncio.gather(live.version("x"), live.version_and_busiest_night("x", a, b),
                                       return_exceptions=True)
        assert all(isinstance(answer, OperationalError) for answer in answers), answers
        with pytest.raises(OperationalError):
            await live.version("x")
        assert live.stats()["answers"] == 3
    finally:
        await unreachable.dispose()

