"""Load for the reliability scenarios, and their tally.

Guests book, pay through the Stripe emulator and are approved by the desk, all through the gateway,
retrying as a well-behaved client does (429/503 answered with Retry-After, connection errors) while
a fault is injected. Each scenario fills one ``Row`` of the chaos table; ``rates`` gives the success
rates over all rows against the product's targets."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx

from hotelmate_devtools.flows.booking import Desk, Guest

# CONFIRMED is where an approved booking rests; the others are final (booking's TERMINAL).
SETTLED = {"CONFIRMED", "DECLINED", "CANCELLED", "EXPIRED", "UNAVAILABLE", "PAYMENT_FAILED", "CHECKED_OUT", "NO_SHOW"}
RETRIED = {429, 503}  # the answers a client is told to try again (with Retry-After)
TARGETS = {"booking creation": 99.9, "payment": 99.5, "webhook processing": 99.8}


@dataclass
class Row:
    """One scenario's line of the chaos table."""

    scenario: str
    faults: list[str] = field(default_factory=list)
    attempted: int = 0
    created: int = 0
    create_retries: int = 0
    payments_attempted: int = 0
    payments_ok: int = 0
    webhooks_delivered: int = 0
    webhooks_processed: int = 0
    end_states: Counter = field(default_factory=Counter)
    refusals: Counter = field(default_factory=Counter)  # booking POSTs answered neither 202 nor 429/503
    violations: int | None = None
    dead_letters: int | None = None


ROWS: list[Row] = []


class Load:
    """``guests`` journeys started ``spacing`` seconds apart through ``clients`` (taken in turn).
    With ``approvals`` set, the desk approves only once the event is set."""

    def __init__(self, clients: list[httpx.AsyncClient], desk: Desk, hotel: str, row: Row, *,
                 timeout: float = 180, approvals: asyncio.Event | None = None) -> None:
        self.clients, self.desk, self.hotel, self.row = clients, desk, hotel, row
        self.timeout, self.approvals = timeout, approvals
        self.guests: list[Guest] = []
        self.approved = 0

    def start(self, guests: int, *, spacing: float = 1.0) -> asyncio.Task:
        return asyncio.create_task(self._run(guests, spacing))

    async def _run(self, guests: int, spacing: float) -> list[str]:
        journeys = []
        for n in range(guests):
            journeys.append(asyncio.create_task(self.journey(self.clients[n % len(self.clients)])))
            await asyncio.sleep(spacing)  # pacing the load, not waiting for an outcome
        return await asyncio.gather(*journeys)

    async def journey(self, client: httpx.AsyncClient) -> str:
        guest = Guest(client, self.hotel)
        self.row.attempted += 1
        if not await self.create(guest):
            self.row.end_states["NOT_CREATED"] += 1
            return "NOT_CREATED"
        self.guests.append(guest)
        self.row.created += 1
        view = await self.reach(guest, "PENDING_PAYMENT", checkout=True)
        if view["status"] == "PENDING_PAYMENT":
            self.row.payments_attempted += 1
            checkout_url = view["payment"]["checkout_url"]
            await self.retrying(lambda: guest.pay(checkout_url))
            view = await self.reach(guest, "PENDING_APPROVAL")
            if view["status"] == "PENDING_APPROVAL":
                self.row.payments_ok += 1
                if self.approvals is not None:
                    await self.approvals.wait()
                await self.approve(guest)
                view = await self.reach(guest, "CONFIRMED")
        self.row.end_states[view["status"]] += 1
        return view["status"]

    async def create(self, guest: Guest) -> bool:
        """POST the booking until it is accepted (202), honouring Retry-After; False when refused."""
        deadline = asyncio.get_running_loop().time() + self.timeout
        while True:
            try:
                answer = await guest.request()
                if answer.status_code == 202:
                    return True
                if answer.status_code not in RETRIED:
                    self.row.refusals[answer.status_code] += 1
                    return False
                wait = float(answer.headers.get("Retry-After") or 1)
            except httpx.HTTPError:
                wait = 1.0
            self.row.create_retries += 1
            if asyncio.get_running_loop().time() + wait > deadline:
                return False
            await asyncio.sleep(wait)

    async def approve(self, guest: Guest) -> None:
        async def once() -> None:
            answer = await self.desk.act(self.hotel, guest.booking_id, "approve")
            assert answer.status_code < 500 and answer.status_code != 429, answer.text
        await self.retrying(once)
        self.approved += 1

    async def retrying(self, call: Callable[[], Awaitable[None]]) -> None:
        """``call`` until it neither raises an assertion nor an HTTP error, or the timeout."""
        deadline = asyncio.get_running_loop().time() + self.timeout
        while True:
            try:
                return await call()
            except (AssertionError, httpx.HTTPError):
                if asyncio.get_running_loop().time() > deadline:
                    raise
                await asyncio.sleep(1)

    async def reach(self, guest: Guest, status: str, *, checkout: bool = False) -> dict:
        """The guest's view once it shows ``status`` (or a settled one); the last view seen when
        the timeout passes first. Answers that fail while services come back are polled again."""
        deadline = asyncio.get_running_loop().time() + self.timeout
        view = {"status": "UNKNOWN"}
        while asyncio.get_running_loop().time() < deadline:
            try:
                view = await guest.view()
            except (AssertionError, httpx.HTTPError):
                pass
            else:
                if view["status"] in SETTLED or (
                        view["status"] == status and (not checkout or view["payment"].get("checkout_url"))):
                    return view
            await asyncio.sleep(0.5)
        return view


async def until(condition: Callable[[], bool], timeout: float = 180, what: str = "condition") -> None:
    """Poll ``condition`` until it holds; fails after ``timeout`` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, f"{what} never happened"
        await asyncio.sleep(0.2)


def rates(rows: list[Row]) -> dict[str, dict]:
    """Success rates over ``rows`` (percent), with their counts and targets."""
    def rate(ok: int, total: int) -> float:
        return round(100.0 * ok / total, 3) if total else 100.0
    pairs = {"booking creation": (sum(r.created for r in rows), sum(r.attempted for r in rows)),
             "payment": (sum(r.payments_ok for r in rows), sum(r.payments_attempted for r in rows)),
             "webhook processing": (sum(r.webhooks_processed for r in rows), sum(r.webhooks_delivered for r in rows))}
    return {name: {"ok": ok, "total": total, "rate": rate(ok, total), "target": TARGETS[name],
                   "met": rate(ok, total) >= TARGETS[name]} for name, (ok, total) in pairs.items()}


def table(rows: list[Row]) -> str:
    """The chaos table and the success rates, as printed at the end of ``make reliability``."""
    head = ("scenario", "attempted", "POST retries", "end states", "faults injected", "violations", "dead letters")
    lines = [" | ".join(head), " | ".join("---" for _ in head)]
    for row in rows:
        states = ", ".join(f"{status} {count}" for status, count in sorted(row.end_states.items()))
        cells = [row.scenario, row.attempted, row.create_retries, states, "; ".join(row.faults), row.violations,
                 row.dead_letters]
        lines.append(" | ".join(map(str, cells)))
    lines.append("")
    for name, r in rates(rows).items():
        lines.append(f"{name}: {r['rate']} % ({r['ok']}/{r['total']}), target >= {r['target']} %"
                     f" {'met' if r['met'] else 'MISSED'}")
    return "\n".join(lines)


def write_json(rows: list[Row], path: Path) -> None:
    def plain(row: Row) -> dict:  # asdict() would rebuild each Counter from its items
        return {**asdict(row), "end_states": dict(row.end_states), "refusals": dict(row.refusals)}
    path.write_text(json.dumps({"scenarios": [plain(row) for row in rows], "rates": rates(rows)}, indent=2) + "\n")
