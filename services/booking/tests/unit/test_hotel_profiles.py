"""The hotel-profile cache behind POST /bookings: one inventory call for a burst, fresh for a while,
stale only when inventory does not answer."""

import asyncio

import pytest

from booking.adapters.upstream import HotelProfiles
from hotelmate_platform.problems import Problem


class Inventory:
    """Answers GET /hotels/{hotel} as told; counts the calls."""

    def __init__(self) -> None:
        self.calls = 0
        self.answer: dict | Problem = {"name": "Hotel One", "timezone": "Europe/Paris"}
        self.gate = asyncio.Event()
        self.gate.set()

    async def hotel(self, slug: str) -> dict:
        self.calls += 1
        await self.gate.wait()
        if isinstance(self.answer, Problem):
            raise self.answer
        return dict(self.answer, slug=slug)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def profiles(inventory: Inventory, clock: Clock) -> HotelProfiles:
    return HotelProfiles(inventory.hotel, fresh_seconds=10, stale_seconds=600, clock=clock)


async def test_a_burst_for_one_hotel_asks_inventory_once():
    inventory, clock = Inventory(), Clock()
    cache = profiles(inventory, clock)
    inventory.gate.clear()
    waiting = [asyncio.create_task(cache.get("h1")) for _ in range(300)]
    await asyncio.sleep(0)
    inventory.gate.set()
    answers = await asyncio.gather(*waiting)
    assert inventory.calls == 1 and all(a["slug"] == "h1" for a in answers)


async def test_the_profile_is_asked_again_once_no_longer_fresh():
    inventory, clock = Inventory(), Clock()
    cache = profiles(inventory, clock)
    await cache.get("h1")
    clock.now += 9
    await cache.get("h1")
    assert inventory.calls == 1
    inventory.answer = {"name": "Renamed", "timezone": "Europe/Paris"}
    clock.now += 2
    assert (await cache.get("h1"))["name"] == "Renamed" and inventory.calls == 2


async def test_a_stale_profile_is_used_only_while_inventory_does_not_answer():
    inventory, clock = Inventory(), Clock()
    cache = profiles(inventory, clock)
    await cache.get("h1")
    clock.now += 60
    inventory.answer = Problem(503, "busy")
    assert (await cache.get("h1"))["name"] == "Hotel One"
    inventory.answer = Problem(404, "gone")
    with pytest.raises(Problem) as refused:
        await cache.get("h1")
    assert refused.value.status == 404  # an answer, not an outage: never hidden by the cache
    clock.now += 600
    inventory.answer = Problem(503, "busy")
    with pytest.raises(Problem):
        await cache.get("h1")


async def test_an_unknown_hotel_is_not_cached():
    inventory, clock = Inventory(), Clock()
    cache = profiles(inventory, clock)
    inventory.answer = Problem(404, "no such hotel")
    with pytest.raises(Problem):
        await cache.get("h9")
    inventory.answer = {"name": "New", "timezone": "Europe/Paris"}
    assert (await cache.get("h9"))["name"] == "New"
