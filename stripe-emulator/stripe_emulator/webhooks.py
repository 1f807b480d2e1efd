"""Webhook signing (Stripe-Signature: t=…,v1=…) and delivery with retries and backoff."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp

log = logging.getLogger(__name__)


def sign(payload: str, secret: str, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode("utf-8"), f"{t}.{payload}".encode("utf-8"), hashlib.sha256)
    return f"t={t},v1={mac.hexdigest()}"


@dataclass
class Delivery:
    event: dict[str, Any]
    status: str = "pending"  # pending | delivered | failed | disabled | not_enabled
    attempts: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        obj = self.event["data"]["object"]
        return {"id": self.event["id"], "type": self.event["type"],
                "created": self.event["created"], "object_id": obj.get("id"),
                "delivery_status": self.status, "attempt_count": len(self.attempts),
                "attempts": list(self.attempts), "event": self.event}


class Dispatcher:
    """Sends each event to the configured URL in its own task, retrying non-2xx answers."""

    def __init__(self, *, url: str, secret: str, retry_delays: tuple[float, ...],
                 max_attempts: int, timeout: float, events: tuple[str, ...] = ("*",)) -> None:
        self.url, self.secret = url, secret
        self.events = frozenset(events)  # the endpoint's enabled events; "*" is all of them
        self.retry_delays = tuple(retry_delays) or (1.0,)
        self.max_attempts = max(1, max_attempts)
        self.timeout = timeout
        self.deliveries: list[Delivery] = []
        self._tasks: set[asyncio.Task] = set()
        self._client: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        # aiohttp rather than httpx: httpx's pool bookkeeping was most of the emulator's CPU under load
        # (several webhooks per payment), aiohttp's does not grow with the requests in flight.
        self._client = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))

    async def stop(self) -> None:
        self.cancel_all()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.close()
            self._client = None

    def cancel_all(self) -> None:
        for task in list(self._tasks):
            task.cancel()

    def reset(self) -> None:
        self.cancel_all()
        self.deliveries.clear()

    def delay_before(self, attempt: int) -> float:
        """Pause before attempt `attempt` (2, 3, …); the last configured delay repeats."""
        return self.retry_delays[min(attempt - 2, len(self.retry_delays) - 1)]

    def enqueue(self, event: dict[str, Any]) -> None:
        delivery = Delivery(event=event)
        self.deliveries.append(delivery)
        if not self.url:
            delivery.status = "disabled"
            return
        if "*" not in self.events and event["type"] not in self.events:
            delivery.status = "not_enabled"
            return
        task = asyncio.get_running_loop().create_task(self._deliver(delivery, self.url))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, delivery: Delivery, url: str) -> None:
        payload = json.dumps(delivery.event, indent=2)
        evt_id = delivery.event["id"]
        for attempt in range(1, self.max_attempts + 1):
            if attempt > 1:
                await asyncio.sleep(self.delay_before(attempt))
            record: dict[str, Any] = {"at": time.time(), "url": url}
            try:
                assert self._client is not None
                async with self._client.post(url, data=payload.encode("utf-8"), headers={
                    "Content-Type": "application/json; charset=utf-8",
                    "Stripe-Signature": sign(payload, self.secret),
                    "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
                }) as resp:
                    await resp.read()
                record["status"] = resp.status
                ok = 200 <= resp.status < 300
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
                record["error"] = type(exc).__name__
                ok = False
            delivery.attempts.append(record)
            if ok:
                delivery.status = "delivered"
                log.info("webhook %s %s delivered (attempt %d)", evt_id,
                         delivery.event["type"], attempt)
                return
            log.warning("webhook %s attempt %d failed: %s", evt_id, attempt,
                        record.get("status") or record.get("error"))
        delivery.status = "failed"
        log.error("webhook %s gave up after %d attempts", evt_id, self.max_attempts)
