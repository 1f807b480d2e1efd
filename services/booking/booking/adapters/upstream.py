"""HTTP calls to inventory and payments (only where a client waits for the answer).

Never called inside an open unit of work. An upstream 4xx problem passes through as ours;
an upstream that cannot be reached is a 503 problem.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote as escape

import httpx

from hotelmate_contracts.internal import HoldList, PaymentList
from hotelmate_platform import trust
from hotelmate_platform.problems import Problem

log = logging.getLogger(__name__)


def passthrough(response: httpx.Response) -> Problem:
    """The upstream's 4xx problem document as our own."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    code = str(body.get("type", "")).rsplit("/", 1)[-1] or None
    return Problem(response.status_code, body.get("detail") or body.get("title"),
                   code=None if code == "about:blank" else code, errors=body.get("errors"))


@dataclass
class _Cached:
    value: dict
    fresh_until: float
    usable_until: float


class HotelProfiles:
    """Hotel profiles from inventory, kept ``fresh_seconds`` and fetched once for all concurrent callers.

    A burst of bookings for one hotel costs inventory one request, not one per booking. Staleness is
    harmless: the booking's stored profile is replaced by the one inventory sends with HoldPlaced, and
    the hold checks the room type and party again. When inventory does not answer, a profile up to
    ``stale_seconds`` old is used rather than refusing the booking.
    """

    def __init__(self, fetch, *, fresh_seconds: float, stale_seconds: float, clock=time.monotonic) -> None:
        self.fetch = fetch
        self.fresh_seconds = fresh_seconds
        self.stale_seconds = stale_seconds
        self.clock = clock
        self._cached: dict[str, _Cached] = {}
        self._fetching: dict[str, asyncio.Future] = {}

    async def get(self, hotel: str) -> dict:
        cached = self._cached.get(hotel)
        if cached is not None and self.clock() < cached.fresh_until:
            return cached.value
        try:
            return await self._shared_fetch(hotel)
        except Problem as problem:
            if problem.status >= 500 and cached is not None and self.clock() < cached.usable_until:
                log.warning("inventory did not answer; using hotel %s's profile from the cache", hotel)
                return cached.value
            raise

    async def _shared_fetch(self, hotel: str) -> dict:
        running = self._fetching.get(hotel)
        if running is None:
            running = self._fetching[hotel] = asyncio.ensure_future(self._fetch_and_keep(hotel))
            running.add_done_callback(lambda _: self._fetching.pop(hotel, None))
        return await asyncio.shield(running)  # one caller giving up must not cancel the others' fetch

    async def _fetch_and_keep(self, hotel: str) -> dict:
        value = await self.fetch(hotel)
        now = self.clock()
        self._cached[hotel] = _Cached(value, now + self.fresh_seconds, now + self.stale_seconds)
        return value


class Upstream:
    def __init__(self, inventory_url: str, payments_url: str, timeout: float, *, place_timeout: float = 1.0,
                 profile_fresh_seconds: float = 10.0, profile_stale_seconds: float = 600.0,
                 service_key: str = "") -> None:
        self.inventory_url = inventory_url.rstrip("/")
        self.payments_url = payments_url.rstrip("/")
        # Every call carries booking's signed assertion: inventory's and payments' /internal need it.
        self.client = httpx.AsyncClient(timeout=timeout, limits=httpx.Limits(max_connections=200),
                                        event_hooks={"request": [trust.httpx_signer(service_key, "booking")]})
        # What placing a booking waits for inventory at most: far below the gateway's timeout.
        self.place_timeout = place_timeout
        self.profiles = HotelProfiles(self._hotel_for_placing, fresh_seconds=profile_fresh_seconds,
                                      stale_seconds=profile_stale_seconds)

    async def close(self) -> None:
        await self.client.aclose()

    async def _call(self, method: str, url: str, **kwargs) -> httpx.Response:
        # Every call here is safe to repeat (GET, PUT, DELETE, and quotes change nothing): one retry
        # absorbs a pooled connection the other side had just closed.
        for attempt in (1, 2):
            try:
                return await self.client.request(method, url, **kwargs)
            except httpx.TimeoutException as exc:  # a slow service is not helped by asking twice
                log.warning("%s %s timed out: %r", method, url, exc)
                raise Problem(503, "A service this request needs is busy; try again.", code="upstream-unavailable",
                              headers={"Retry-After": "1"}) from None
            except httpx.TransportError as exc:
                log.warning("%s %s failed (attempt %s): %r", method, url, attempt, exc)
                if attempt == 1:
                    await asyncio.sleep(0.05)
        raise Problem(503, "A service this request needs is not reachable; try again.", code="upstream-unavailable",
                      headers={"Retry-After": "1"})

    async def _json(self, method: str, url: str, *, passthrough_codes=(400, 404, 409, 422), **kwargs) -> Any:
        response = await self._call(method, url, **kwargs)
        if response.status_code in passthrough_codes:
            raise passthrough(response)
        if response.status_code in (429, 503):  # over capacity: the caller may come back when it says
            raise Problem(503, "A service this request needs is busy; try again.", code="upstream-unavailable",
                          headers={"Retry-After": response.headers.get("retry-after", "1")})
        if response.status_code >= 300:
            log.warning("%s %s answered %s", method, url, response.status_code)
            raise Problem(503, "A service this request needs answered with an error.", code="upstream-error")
        return response.json() if response.content else None

    async def hotel(self, hotel: str) -> dict:
        """The hotel's public profile (room types included), from the cache when fresh."""
        return await self.profiles.get(hotel)

    async def _hotel_for_placing(self, hotel: str) -> dict:
        # The internal view: the public one leaves out the staff email the notifications need.
        return await self._json("GET", f"{self.inventory_url}/internal/hotels/{escape(hotel, safe='')}",
                                timeout=self.place_timeout)

    async def quote(self, hotel: str, body: dict) -> dict:
        """A price quote, waiting at most the placing timeout (``503`` with ``Retry-After`` beyond it)."""
        url = f"{self.inventory_url}/api/v1/hotels/{escape(hotel, safe='')}/quotes"
        return await self._json("POST", url, json=body, timeout=self.place_timeout)

    def _assignment_url(self, hotel: str, booking_id: str) -> str:
        return f"{self.inventory_url}/internal/hotels/{escape(hotel, safe='')}/assignments/{escape(booking_id, safe='')}"

    async def assign_room(self, hotel: str, booking_id: str, room_number: str) -> dict | None:
        return await self._json("PUT", self._assignment_url(hotel, booking_id), json={"room_number": room_number})

    async def unassign_room(self, hotel: str, booking_id: str) -> None:
        await self._json("DELETE", self._assignment_url(hotel, booking_id))

    async def payment_details(self, booking_id: str) -> dict:
        """Staff-only payment view; a payments outage gives ``{"unavailable": true}``, not an error."""
        try:
            response = await self.client.get(f"{self.payments_url}/internal/payments/{escape(booking_id, safe='')}", timeout=2.0)
        except httpx.HTTPError:
            return {"unavailable": True}
        if response.status_code == 404:
            return {"status": "NONE"}
        if response.status_code != 200:
            return {"unavailable": True}
        return response.json()

    async def payments_of(self, booking_ids: list[str]) -> list[dict]:
        answer = await self._json("GET", f"{self.payments_url}/internal/payments",
                                  params={"booking_ids": ",".join(booking_ids)})
        return [p.model_dump(mode="json") for p in PaymentList.model_validate(answer).payments]

    async def holds_of(self, booking_ids: list[str]) -> list[dict]:
        answer = await self._json("GET", f"{self.inventory_url}/internal/holds",
                                  params={"booking_ids": ",".join(booking_ids)})
        return [h.model_dump(mode="json") for h in HoldList.model_validate(answer).holds]
