"""Many guests booking one hotel at the same instant, as well-behaved clients (used by test_burst.py,
bench/burst.py and ``bench/load.py --burst``), and how their answers and the backlog's drain are reported.

Each guest comes from its own address (``X-Forwarded-For``; the gateway must trust it) so the
gateway's per-address public limit applies per guest, as it would on the internet. A guest keeps
one ``Idempotency-Key`` for its booking and, on ``429``/``503`` with ``Retry-After``, waits that
long (plus a little jitter) and sends the same request again.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

import aiohttp
import httpx

from hotelmate_contracts import Envelope
from hotelmate_devtools.busprobe import BusProbe
from hotelmate_devtools.cleanup import percentile
from hotelmate_devtools.system import SERVICES
from hotelmate_platform.settings import PlatformSettings

RETRYABLE = (429, 503)
SETTLED = {"PENDING_PAYMENT", "UNAVAILABLE"}  # where a booking's creation saga stops without the guest


@dataclass
class Answer:
    status: int
    seconds: float
    retry_after: str | None
    problem: str = ""  # the problem type's last segment of a refusal, e.g. "over-capacity"

    @property
    def label(self) -> str:
        return f"{self.status} {self.problem}".strip()


@dataclass
class GuestOutcome:
    answers: list[Answer] = field(default_factory=list)
    booking_id: str | None = None

    @property
    def final(self) -> int:
        return self.answers[-1].status


@dataclass
class Burst:
    outcomes: list[GuestOutcome]
    began: float
    ended: float

    def statuses(self) -> Counter:
        """Every answer's status and problem type (first tries and retries)."""
        return Counter(a.label for o in self.outcomes for a in o.answers)

    def first_try_accepted(self) -> float:
        return sum(o.answers[0].status == 202 for o in self.outcomes) / len(self.outcomes)

    def finally_accepted(self) -> float:
        return sum(o.final == 202 for o in self.outcomes) / len(self.outcomes)

    def answer_seconds(self, *, first_only: bool = False) -> list[float]:
        return [a.seconds for o in self.outcomes for a in (o.answers[:1] if first_only else o.answers)]

    def booking_ids(self) -> set[str]:
        return {o.booking_id for o in self.outcomes if o.booking_id}

    def misbehaving(self) -> list[Answer]:
        """Answers a client may not get: any 5xx but a 503 with Retry-After, a 429 without it,
        any other refusal."""
        bad = []
        for o in self.outcomes:
            for a in o.answers:
                if a.status == 202:
                    continue
                if a.status in RETRYABLE and a.retry_after:
                    continue
                bad.append(a)
        return bad


def booking_body(hotel_today: date, n: int) -> dict:
    """Guest ``n``'s request: one night, dates spread so a small hotel never sells out. The first
    night is tomorrow, so a burst that runs across the hotel's midnight asks for no past date."""
    check_in = hotel_today + timedelta(days=1 + n % 540)
    return {"room_type": "DBL", "check_in": check_in.isoformat(),
            "check_out": (check_in + timedelta(days=1)).isoformat(), "adults": 2, "children": 0,
            "booker": {"first_name": "Guest", "last_name": f"N{n}", "email": f"guest{n}@example.test"}}


def problem_type(status: int, content_type: str, body: bytes) -> str:
    if status < 400 or "problem" not in content_type:
        return ""
    problem = json.loads(body)
    kind = str(problem.get("type", "")).rsplit("/", 1)[-1]
    busy = str(problem.get("detail", "")).split(" service ")[0].removeprefix("The ")  # which process refused
    return f"{kind} ({busy})" if kind in ("over-capacity", "service-busy") else kind


def address(n: int) -> str:
    return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


async def book_until_answered(http: aiohttp.ClientSession, hotel: str, body: dict, n: int, *,
                              give_up_after: float, start: asyncio.Event | None = None) -> GuestOutcome:
    headers = {"Idempotency-Key": f"burst-{uuid.uuid4().hex}", "X-Forwarded-For": address(n)}
    outcome = GuestOutcome()
    deadline = time.monotonic() + give_up_after
    if start is not None:
        await start.wait()
    dropped = 0
    while True:
        began = time.perf_counter()
        try:
            async with http.post(f"/api/v1/hotels/{hotel}/bookings", json=body, headers=headers) as response:
                status, answer = response.status, await response.read()
                retry_after = response.headers.get("retry-after")
                content_type = response.headers.get("content-type", "")
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as exc:
            # A pooled keep-alive connection the server closed as we reused it: no answer was given,
            # and the Idempotency-Key makes sending again safe, as any HTTP client library does.
            dropped += 1
            if dropped <= 10:
                continue
            outcome.answers.append(Answer(599, time.perf_counter() - began, None, type(exc).__name__))
            return outcome
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:  # the client's own patience ran out: a 599
            outcome.answers.append(Answer(599, time.perf_counter() - began, None, type(exc).__name__))
            return outcome
        outcome.answers.append(Answer(status, time.perf_counter() - began, retry_after,
                                      problem_type(status, content_type, answer)))
        if status == 202:
            outcome.booking_id = json.loads(answer)["booking_id"]
            return outcome
        if status not in RETRYABLE or not retry_after or time.monotonic() > deadline:
            return outcome
        await asyncio.sleep(float(retry_after) * (1 + random.random() / 2))


async def burst(base_url: str, hotel: str, hotel_today: date, guests: range, *, give_up_after: float = 120,
                on_start: Callable[[], object] | None = None) -> Burst:
    """Every guest of ``guests`` sends its POST at the same instant, then retries as told.

    One aiohttp session with no connection limit: each guest in flight has its own connection, and
    the client's own cost per request stays small. (Per-guest httpx clients spent about a second of
    this machine's CPU sending a burst of 300: the figures measured the client as much as the
    system.)"""
    # Idle connections are dropped by the client before uvicorn's 5 s keep-alive closes them, so a
    # guest retrying after its Retry-After rarely picks a connection the server has just closed.
    connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=3)
    async with aiohttp.ClientSession(base_url=base_url, connector=connector,
                                     timeout=aiohttp.ClientTimeout(total=30)) as http:
        start = asyncio.Event()
        tasks = [asyncio.create_task(book_until_answered(http, hotel, booking_body(hotel_today, n), n,
                                                         give_up_after=give_up_after, start=start))
                 for n in guests]
        await asyncio.sleep(0)  # every task is waiting on the start line
        if on_start is not None:
            on_start()
        began = time.perf_counter()
        start.set()
        try:
            outcomes = await asyncio.gather(*tasks)
        finally:
            ended = time.perf_counter()
    return Burst(list(outcomes), began, ended)


async def count_by_status(client: httpx.AsyncClient, hotel: str, staff_headers: dict) -> Counter:
    """The hotel's bookings per status, through the staff list (paged)."""
    counts: Counter = Counter()
    cursor = None
    while True:
        params = {"limit": 200, **({"cursor": cursor} if cursor else {})}
        answer = await client.get(f"/api/v1/staff/hotels/{hotel}/bookings", params=params, headers=staff_headers)
        answer.raise_for_status()
        page = answer.json()
        counts.update(item["status"] for item in page["items"])
        cursor = page.get("next_cursor")
        if not cursor:
            return counts


class Watcher(BusProbe):
    """Hears booking.status_changed on the bus (no load on the services) and reads queue depths."""

    def __init__(self) -> None:
        settings = PlatformSettings()
        super().__init__(settings.amqp_url, settings.bus_namespace, "booking.status_changed")
        self.settled: dict[str, float] = {}
        self.deepest: dict[str, int] = {}

    async def _received(self, message) -> None:
        payload = Envelope.model_validate_json(message.body).payload
        if payload["to_status"] in SETTLED:
            self.settled.setdefault(payload["booking_id"], time.perf_counter())

    async def queued(self) -> int:
        """Messages waiting in the services' queues (the deepest seen per service is kept)."""
        total = 0
        channel = await self.connection.channel()
        for service in SERVICES:
            queue = await channel.declare_queue(f"{self.namespace}.{service}", passive=True)
            depth = queue.declaration_result.message_count
            self.deepest[service] = max(self.deepest.get(service, 0), depth)
            total += depth
        await channel.close()
        return total

    async def drained(self, booking_ids: set[str], timeout: float = 900) -> tuple[float, float]:
        """When every booking settled, and when the queues were first seen empty after that."""
        deadline = time.perf_counter() + timeout
        while not booking_ids <= self.settled.keys():
            await self.queued()
            if time.perf_counter() > deadline:
                raise TimeoutError(f"{len(booking_ids - self.settled.keys())} bookings never settled")
            await asyncio.sleep(0.2)
        settled = max(self.settled[b] for b in booking_ids)
        while await self.queued() and time.perf_counter() < deadline:
            await asyncio.sleep(0.2)
        deepest, self.deepest = self.deepest, {}
        print(f"  deepest queues while draining: {deepest}")
        return settled, time.perf_counter()


def report(label: str, result: Burst) -> None:
    def ms(q: int, first_only: bool = False) -> str:
        return f"{percentile(result.answer_seconds(first_only=first_only), q) * 1000:7.0f}"

    answers = dict(sorted(result.statuses().items()))
    print(f"{label}: {len(result.outcomes)} guests, answered in {result.ended - result.began:5.1f} s")
    print(f"  POST answer (every try)  p50 {ms(50)} ms  p95 {ms(95)} ms  p99 {ms(99)} ms   answers {answers}")
    print(f"  POST answer (first try)  p50 {ms(50, True)} ms  p95 {ms(95, True)} ms  p99 {ms(99, True)} ms")
    print(f"  accepted: first try {result.first_try_accepted():7.2%}   after retries {result.finally_accepted():7.2%}"
          f"   distinct bookings {len(result.booking_ids())}")
    bad = result.misbehaving()
    if bad:
        print(f"  answers a client may not get: {len(bad)} ({sorted({a.status for a in bad})})")
