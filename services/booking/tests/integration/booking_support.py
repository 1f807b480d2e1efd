"""Helpers of the booking integration tests: a probe on the bus that plays inventory's and payments'
part in the saga, and the booking app run in-process on the run's real PostgreSQL and RabbitMQ."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import httpx

from hotelmate_contracts import Message
from hotelmate_devtools.busprobe import BusProbe as _Probe
from hotelmate_devtools.signing import as_gateway

from booking.app import create_app
from booking.settings import BookingSettings

from .standins import HOTELS, StandIn, make_quote

STAFF = {"X-HotelMate-Staff-Id": "42", "X-HotelMate-Staff-Role": "MANAGER"}


def hotel_today(hotel: str = "h1") -> date:
    return datetime.now(ZoneInfo(HOTELS[hotel]["timezone"])).date()


class BusProbe(_Probe):
    """Publishes inventory's and payments' events; records every message booking sends."""

    def __init__(self, amqp_url: str, namespace: str) -> None:
        super().__init__(amqp_url, namespace, "inventory.*", "payments.*", "booking.*")

    def sent(self, booking_id: str, cls: type[Message]) -> list[dict]:
        return self.payloads(cls, booking_id=booking_id)

    async def expect(self, booking_id: str, cls: type[Message], *, count: int = 1, timeout: float = 10) -> dict:
        return await super().expect(cls, count=count, timeout=timeout, booking_id=booking_id)

    async def status_change(self, booking_id: str, to_status: str, timeout: float = 10) -> dict:
        from hotelmate_contracts import BookingStatusChanged
        return await super().expect(BookingStatusChanged, timeout=timeout, booking_id=booking_id,
                                    to_status=to_status)


@asynccontextmanager
async def running_booking(standin: StandIn, **overrides):
    settings = BookingSettings(inventory_url=standin.url, payments_url=standin.url, sweep_seconds=0.3,
                               outbox_poll_seconds=0.2, **overrides)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://booking",
                                     timeout=60, event_hooks={"request": [as_gateway()]}) as client:
            yield client


def booking_body(hotel: str = "h1", *, days_ahead: int = 0, nights: int = 2, **overrides) -> dict:
    check_in = hotel_today(hotel) + timedelta(days=days_ahead)
    body = {"room_type": "DBL", "check_in": check_in.isoformat(),
            "check_out": (check_in + timedelta(days=nights)).isoformat(), "adults": 2, "children": 0,
            "booker": {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.test"}}
    body.update(overrides)
    return body


class Saga:
    """Drives a booking through the saga, playing inventory and payments on the bus."""

    def __init__(self, client: httpx.AsyncClient, bus: BusProbe) -> None:
        self.client, self.bus = client, bus

    async def book(self, hotel: str = "h1", **overrides) -> tuple[str, str]:
        response = await self.client.post(f"/api/v1/hotels/{hotel}/bookings", json=booking_body(hotel, **overrides))
        assert response.status_code == 202, response.text
        return response.json()["booking_id"], response.json()["guest_token"]

    async def view(self, booking_id: str, token: str, hotel: str = "h1") -> dict:
        response = await self.client.get(f"/api/v1/hotels/{hotel}/bookings/{booking_id}",
                                         headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.text
        return response.json()

    async def staff_view(self, booking_id: str, hotel: str = "h1") -> dict:
        response = await self.client.get(f"/api/v1/staff/hotels/{hotel}/bookings/{booking_id}", headers=STAFF)
        assert response.status_code == 200, response.text
        return response.json()

    async def wait_status(self, booking_id: str, status: str, hotel: str = "h1", timeout: float = 10) -> dict:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            view = await self.staff_view(booking_id, hotel)
            if view["status"] == status:
                return view
            assert asyncio.get_running_loop().time() < deadline, f"{booking_id} is {view['status']}, not {status}"
            await asyncio.sleep(0.1)

    async def hold(self, booking_id: str, hotel: str = "h1", *, expires_in: float = 1800, **quote_kw) -> dict:
        from hotelmate_contracts import HoldPlaced, HotelProfile, PlaceHold
        place = await self.bus.expect(booking_id, PlaceHold)
        quote = make_quote(hotel, place["room_type"], date.fromisoformat(place["check_in"]),
                           date.fromisoformat(place["check_out"]), **quote_kw)
        info = HOTELS[hotel]
        profile = HotelProfile(slug=hotel, **{k: v for k, v in info.items() if k != "room_types"})
        await self.bus.publish(HoldPlaced(booking_id=booking_id, hotel=hotel, quote=quote, hotel_profile=profile,
                                          expires_at=datetime.now(timezone.utc) + timedelta(seconds=expires_in)))
        return quote.model_dump(mode="json")

    async def pending_payment(self, hotel: str = "h1", *, expires_in: float = 1800, **kw) -> tuple[str, str, dict]:
        from hotelmate_contracts import CheckoutCreated, RequestCheckout
        booking_id, token = await self.book(hotel, **kw)
        quote = await self.hold(booking_id, hotel, expires_in=expires_in)
        checkout = await self.bus.expect(booking_id, RequestCheckout)
        await self.bus.publish(CheckoutCreated(booking_id=booking_id, checkout_url=f"https://pay.test/c/cs_test_{booking_id}",
                                               expires_at=checkout["expires_at"]))
        await self.wait_status(booking_id, "PENDING_PAYMENT", hotel)
        return booking_id, token, quote

    async def authorise(self, booking_id: str, quote: dict, *, authorized_at: datetime | None = None) -> None:
        from hotelmate_contracts import PaymentAuthorized
        await self.bus.publish(PaymentAuthorized(booking_id=booking_id, amount=quote["total"],
                                                 authorized_at=authorized_at or datetime.now(timezone.utc)))

    async def pending_approval(self, hotel: str = "h1", **kw) -> tuple[str, str, dict]:
        booking_id, token, quote = await self.pending_payment(hotel, **kw)
        await self.authorise(booking_id, quote)
        await self.wait_status(booking_id, "PENDING_APPROVAL", hotel)
        return booking_id, token, quote

    async def approved(self, booking_id: str, hotel: str = "h1") -> None:
        """Staff approve; inventory (played here) sells the rooms; booking asks for the capture."""
        from hotelmate_contracts import CapturePayment, CommitHold, HoldCommitted
        response = await self.client.post(f"/api/v1/staff/hotels/{hotel}/bookings/{booking_id}/approve", headers=STAFF)
        assert response.status_code == 202, response.text
        await self.bus.expect(booking_id, CommitHold)
        await self.bus.publish(HoldCommitted(booking_id=booking_id, hotel=hotel))
        await self.bus.expect(booking_id, CapturePayment)

    async def confirmed(self, hotel: str = "h1", **kw) -> tuple[str, str, dict]:
        from hotelmate_contracts import PaymentCaptured
        booking_id, token, quote = await self.pending_approval(hotel, **kw)
        await self.approved(booking_id, hotel)
        await self.bus.publish(PaymentCaptured(booking_id=booking_id, amount=quote["total"]))
        await self.wait_status(booking_id, "CONFIRMED", hotel)
        return booking_id, token, quote
