"""HTTP calls to inventory and payments (only where a client waits for the answer).

Never called inside an open unit of work. An upstream 4xx problem passes through as ours;
an upstream that cannot be reached is a 503 problem.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import quote as escape

import httpx

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


class Upstream:
    def __init__(self, inventory_url: str, payments_url: str, timeout: float) -> None:
        self.inventory_url = inventory_url.rstrip("/")
        self.payments_url = payments_url.rstrip("/")
        self.client = httpx.AsyncClient(timeout=timeout, limits=httpx.Limits(max_connections=200))

    async def close(self) -> None:
        await self.client.aclose()

    async def _call(self, method: str, url: str, **kwargs) -> httpx.Response:
        # Every call here is safe to repeat (GET, PUT, DELETE, and quotes change nothing): one retry
        # absorbs a pooled connection the other side had just closed.
        for attempt in (1, 2):
            try:
                return await self.client.request(method, url, **kwargs)
            except httpx.TransportError as exc:
                log.warning("%s %s failed (attempt %s): %r", method, url, attempt, exc)
                if attempt == 1:
                    await asyncio.sleep(0.05)
        raise Problem(503, "A service this request needs is not reachable; try again.", code="upstream-unavailable")

    async def _json(self, method: str, url: str, *, passthrough_codes=(400, 404, 409, 422), **kwargs) -> Any:
        response = await self._call(method, url, **kwargs)
        if response.status_code in passthrough_codes:
            raise passthrough(response)
        if response.status_code >= 300:
            log.warning("%s %s answered %s", method, url, response.status_code)
            raise Problem(503, "A service this request needs answered with an error.", code="upstream-error")
        return response.json() if response.content else None

    async def hotel(self, hotel: str) -> dict:
        return await self._json("GET", f"{self.inventory_url}/api/v1/hotels/{escape(hotel, safe='')}")

    async def quote(self, hotel: str, body: dict) -> dict:
        return await self._json("POST", f"{self.inventory_url}/api/v1/hotels/{escape(hotel, safe='')}/quotes", json=body)

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
        return listed(await self._json("GET", f"{self.payments_url}/internal/payments",
                                       params={"booking_ids": ",".join(booking_ids)}), "payments")

    async def holds_of(self, booking_ids: list[str]) -> list[dict]:
        return listed(await self._json("GET", f"{self.inventory_url}/internal/holds",
                                       params={"booking_ids": ",".join(booking_ids)}), "holds")


def listed(answer, key: str) -> list[dict]:
    """A bare list, or the list under ``key`` (or ``items``) of an object."""
    if isinstance(answer, dict):
        answer = answer.get(key, answer.get("items", []))
    return list(answer or [])
