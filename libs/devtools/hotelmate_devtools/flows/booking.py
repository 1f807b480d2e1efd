"""A guest and a hotel desk talking to HotelMate through the gateway (used by e2e tests and bench)."""

from __future__ import annotations

import asyncio
import os
import time
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx

from hotelmate_devtools.busprobe import BusProbe

GOOD_CARD, BAD_CARD = "4242424242424242", "4000000000000002"


class Desk:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.headers: dict[str, str] = {}

    async def login(self) -> None:
        answer = await self.client.post("/api/v1/auth/token", json={
            "email": os.environ.get("HOTELMATE_ADMIN_EMAIL", "admin@hotelmate.test"),
            "password": os.environ.get("HOTELMATE_ADMIN_PASSWORD", "admin-password-for-tests")})
        answer.raise_for_status()
        self.headers = {"Authorization": f"Bearer {answer.json()['access_token']}"}

    async def put(self, path: str, body) -> dict:
        answer = await self.client.put(f"/api/v1/staff/hotels/{path}", json=body, headers=self.headers)
        assert answer.status_code < 300, f"{path}: {answer.status_code} {answer.text}"
        return answer.json() if answer.content else {}

    async def open_hotel(self, hotel: str, *, rooms: int = 5, tz: str = "Europe/Paris", hold_minutes: int = 30) -> None:
        await self.put(hotel, {"name": f"Hotel {hotel}", "timezone": tz, "currency": "EUR", "check_in_time": "15:00",
                               "check_out_time": "11:00", "hold_minutes": hold_minutes, "approval_hours": 24,
                               "staff_email": f"desk@{hotel}.test"})
        await self.put(f"{hotel}/room-types/DBL", {"name": "Double", "max_adults": 2, "max_children": 1,
                                                   "base_rate": "100.00"})
        for n in range(rooms):
            await self.put(f"{hotel}/rooms/{101 + n}", {"room_type": "DBL", "in_service": True})
        await self.put(f"{hotel}/cancellation-policy", {"free_until_hours": 48, "penalty": "FIRST_NIGHT"})

    async def act(self, hotel: str, booking_id: str, action: str, body=None) -> httpx.Response:
        return await self.client.post(f"/api/v1/staff/hotels/{hotel}/bookings/{booking_id}/{action}", json=body,
                                      headers=self.headers)

    async def detail(self, hotel: str, booking_id: str) -> dict:
        answer = await self.client.get(f"/api/v1/staff/hotels/{hotel}/bookings/{booking_id}", headers=self.headers)
        answer.raise_for_status()
        return answer.json()


async def module_desk(client: httpx.AsyncClient, hotel: str, login: dict[str, str], *, rooms: int) -> Desk:
    """A desk whose first use in a module logs in and opens ``hotel``; ``login`` (a module-level dict)
    keeps the token for the module's other tests, since the gateway rate-limits logins."""
    desk = Desk(client)
    if not login:
        await desk.login()
        login.update(desk.headers)
        await desk.open_hotel(hotel, rooms=rooms)
    desk.headers = dict(login)
    return desk


class Guest:
    def __init__(self, client: httpx.AsyncClient, hotel: str, tz: str = "Europe/Paris") -> None:
        self.client, self.hotel, self.tz = client, hotel, tz
        self.booking_id = self.token = ""

    def today(self) -> date:
        return datetime.now(ZoneInfo(self.tz)).date()

    async def request(self, *, days_ahead: int = 0, nights: int = 2) -> httpx.Response:
        """POST the booking request once; on 202 the guest keeps its booking id and token."""
        check_in = self.today() + timedelta(days=days_ahead)
        answer = await self.client.post(f"/api/v1/hotels/{self.hotel}/bookings", json={
            "room_type": "DBL", "check_in": check_in.isoformat(),
            "check_out": (check_in + timedelta(days=nights)).isoformat(), "adults": 2, "children": 0,
            "booker": {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.test"}})
        if answer.status_code == 202:
            self.booking_id, self.token = answer.json()["booking_id"], answer.json()["guest_token"]
        return answer

    async def book(self, *, days_ahead: int = 0, nights: int = 2) -> float:
        answer = await self.request(days_ahead=days_ahead, nights=nights)
        assert answer.status_code == 202, answer.text
        return time.perf_counter()

    async def view(self) -> dict:
        answer = await self.client.get(f"/api/v1/hotels/{self.hotel}/bookings/{self.booking_id}",
                                       headers={"Authorization": f"Bearer {self.token}"})
        assert answer.status_code == 200, answer.text
        return answer.json()

    async def wait_for(self, status: str, *, timeout: float = 30, checkout: bool = False) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            view = await self.view()
            if view["status"] == status and (not checkout or view["payment"].get("checkout_url")):
                return view
            assert time.monotonic() < deadline, f"{self.booking_id}: {view['status']} is not {status}"
            await asyncio.sleep(0.02 if timeout <= 30 else 0.5)  # long waits poll gently (rate limits)

    async def pay(self, checkout_url: str, card: str = GOOD_CARD) -> None:
        answer = await self.client.post(checkout_url, data={"card_number": card}, follow_redirects=False)
        assert answer.status_code < 500, answer.text


class PaymentsOnTheBus(BusProbe):
    """Plays the payments service on the bus, for runs where the real one is not started."""

    def __init__(self, amqp_url: str, namespace: str) -> None:
        super().__init__(amqp_url, namespace, "payments.*")

    async def command(self, booking_id: str, type_: str, timeout: float = 15) -> dict:
        return await self.expect(type_, timeout=timeout, booking_id=booking_id)


async def check_invariants(system, hotels: list[str], *, quiet_within: float = 30,
                           env: dict[str, str] | None = None) -> tuple[int, str]:
    """``python -m hotelmate_devtools.invariants`` on ``hotels``, run until it passes or
    ``quiet_within`` seconds have gone (the last messages may still be settling); (exit code, output).
    ``env``: settings of the checker's own (a private database or broker, say)."""
    import sys
    env = {**os.environ, **(env or {}), "HOTELMATE_STRIPE_API_BASE": system.layout.url("stripe-emulator")}
    args = ["--grace-seconds", "1", *[a for hotel in hotels for a in ("--hotel", hotel)]]
    deadline = time.monotonic() + quiet_within
    while True:
        proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "hotelmate_devtools.invariants", *args,
                                                    env=env, stdout=asyncio.subprocess.PIPE,
                                                    stderr=asyncio.subprocess.PIPE)
        out, err = await proc.communicate()
        if proc.returncode == 0 or time.monotonic() > deadline:
            return proc.returncode, (out + err).decode()
        await asyncio.sleep(1)



async def _databases(*services: str):
    from hotelmate_platform.db import Database
    from hotelmate_platform.settings import PlatformSettings
    settings = PlatformSettings()
    return [Database(settings.database_url(service), pool_size=1, max_overflow=0) for service in services]


async def events_handled(booking_id: str, producer: str, consumer: str, types: tuple[str, ...]) -> bool:
    """True once ``producer``'s outbox has published every event of ``booking_id`` of these types and
    ``consumer`` has processed each (its inbox): a barrier for tests proving a reaction did *not* happen."""
    from sqlalchemy import text
    produced, consumed = await _databases(producer, consumer)
    try:
        async with produced.sessions() as s:
            rows = (await s.execute(text(
                "SELECT message_id, published_at IS NOT NULL FROM outbox WHERE type = ANY(:types) "
                "AND envelope->'payload'->>'booking_id' = :b"), {"types": list(types), "b": booking_id})).all()
        if not all(published for _, published in rows):
            return False
        async with consumed.sessions() as s:
            processed = (await s.execute(text("SELECT count(*) FROM inbox WHERE message_id = ANY(:ids)"),
                                         {"ids": [m for m, _ in rows]})).scalar_one()
        return processed == len(rows)
    finally:
        await produced.dispose()
        await consumed.dispose()


EMAILED_EVENTS = ("booking.status_changed", "booking.approval_deadline_near", "booking.room_assigned")


async def emails_settled(booking_id: str) -> bool:
    """True once nothing more can be emailed about ``booking_id`` from what has happened so far: every
    event of it that notifications consumes is handled and every delivery it planned is SENT."""
    from sqlalchemy import text
    if not await events_handled(booking_id, "booking", "notifications", EMAILED_EVENTS):
        return False
    (notifications,) = await _databases("notifications")
    try:
        async with notifications.sessions() as s:
            return (await s.execute(text("SELECT count(*) FROM deliveries WHERE booking_id = :b AND status <> 'SENT'"),
                                    {"b": booking_id})).scalar_one() == 0
    finally:
        await notifications.dispose()
