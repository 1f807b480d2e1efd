"""Fixtures: a real SMTP server (aiosmtpd) in the test process, the notifications app running
in-process on the run's PostgreSQL and RabbitMQ, and a way to put booking events on the bus."""

from __future__ import annotations

import asyncio
import uuid
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from email import message_from_bytes, policy
from email.message import EmailMessage

import httpx
import pytest
from aiosmtpd.controller import Controller
from fastapi import FastAPI

from hotelmate_contracts import (
    BookingStatusChanged, GuestContact, HotelProfile, Money,
)
from hotelmate_devtools.busprobe import BusProbe
from hotelmate_devtools.cleanup import delete_namespace_queues
from hotelmate_devtools.signing import as_gateway
from hotelmate_devtools.system import free_port

from hotelmate_platform.settings import PlatformSettings
from notifications.app import create_app
from notifications.settings import NotificationsSettings


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    email: EmailMessage

    @property
    def booking(self) -> str:
        return self.email["X-HotelMate-Booking"]

    def part(self, subtype: str) -> str:
        return self.email.get_body(preferencelist=(subtype,)).get_content()


class Mailbox:
    """aiosmtpd handler that keeps what it accepted; ``refuse_next`` answers 451 to that many DATA,
    ``stall_next`` hangs on that many, ``accept_after`` slows every acceptance down."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.refuse_next = 0
        self.refused = 0
        self.stall_next = 0
        self.stalled = 0
        self.accept_after = 0.0  # seconds a slow server takes before its 250

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.accept_after:
            await asyncio.sleep(self.accept_after)
        if self.stall_next > 0:  # hang before answering, as a slow server would; never accepted
            self.stall_next -= 1
            self.stalled += 1
            await asyncio.sleep(20)
            return "421 4.4.2 Timeout"
        if self.refuse_next > 0:
            self.refuse_next -= 1
            self.refused += 1
            return "451 4.3.0 Mailbox busy, try again later"
        email = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), email))
        return "250 2.0.0 OK"

    def for_booking(self, booking_id: str) -> list[Received]:
        return [r for r in self.received if r.booking == booking_id]


class SmtpServer:
    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.mailbox = Mailbox()
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port, enable_SMTPUTF8=True)

    def start(self) -> "SmtpServer":
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()


@pytest.fixture
def smtp_server():
    server = SmtpServer().start()
    yield server
    server.stop()


def isolated_env() -> dict[str, str]:
    """This suite's own database prefix and bus namespace, inside the run's: a notifications process
    started by another suite of the same run can neither take our events nor send our rows."""
    run = PlatformSettings()
    return {"HOTELMATE_BUS_NAMESPACE": f"{run.bus_namespace}_notif", "HOTELMATE_DB_PREFIX": f"{run.db_prefix}notif_"}


def fast_settings(smtp_port: int, **overrides) -> NotificationsSettings:
    """Short retries and a fast poll so the suite stays quick."""
    env = isolated_env()
    values = {"smtp_port": smtp_port, "bus_namespace": env["HOTELMATE_BUS_NAMESPACE"],
              "db_prefix": env["HOTELMATE_DB_PREFIX"], "mail_retry_delays_seconds": (0.2, 0.4), "mail_poll_seconds": 0.1,
              "mail_lease_seconds": 30.0, "smtp_timeout_seconds": 5.0, **overrides}
    return NotificationsSettings(**values)


def booking_standin() -> FastAPI:
    """Booking's one route notifications calls: the guest's link token, minted at send time."""
    standin = FastAPI()

    @standin.post("/internal/hotels/{hotel}/bookings/{booking_id}/guest-link")
    async def guest_link(hotel: str, booking_id: str) -> dict:
        return {"guest_token": f"link-token-of-{booking_id}"}

    return standin


@asynccontextmanager
async def running_app(settings: NotificationsSettings):
    """The notifications app with its lifespan (migrations, consumer, sender) and an HTTP client."""
    app = create_app(settings, booking_transport=httpx.ASGITransport(app=booking_standin()))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://notifications",
                                     event_hooks={"request": [as_gateway(admin_by_default=True)]}) as client:
            yield app, client


@pytest.fixture
async def bus(platform_settings):
    async with BusProbe(platform_settings.amqp_url, isolated_env()["HOTELMATE_BUS_NAMESPACE"]) as publisher:  # publishes only
        yield publisher


@pytest.fixture(scope="session", autouse=True)
async def isolated_bus_cleanup(platform_settings):
    """Remove this suite's queues and exchange at the end (its database goes with the run's prefix)."""
    yield
    namespace = isolated_env()["HOTELMATE_BUS_NAMESPACE"]
    await delete_namespace_queues(platform_settings.model_copy(update={"bus_namespace": namespace}))


# --- test data ------------------------------------------------------------------------------------

HOTEL = HotelProfile(slug="aurora", name="Hotel Aurora", timezone="Europe/Paris", currency="EUR",
                     check_in_time="15:00", check_out_time="11:00", hold_minutes=30, approval_hours=24,
                     staff_email="frontdesk@aurora.test")
GUEST = GuestContact(first_name="Ana", last_name="Lima", email="ana.lima@guest.test")


def new_booking_id() -> str:
    return f"BK-2026-{uuid.uuid4().int % 1_000_000:06d}"


def status_changed(booking_id: str, to_status: str, *, from_status: str | None = None, hotel=HOTEL,
                   **fields) -> BookingStatusChanged:
    values = dict(
        booking_id=booking_id, hotel=hotel.slug, hotel_profile=hotel, from_status=from_status,
        to_status=to_status, actor="system", guest=GUEST, room_type="DBL",
        check_in=date(2026, 12, 11), check_out=date(2026, 12, 14), total=Money.of("361.80", hotel.currency),
        portal_url=f"http://127.0.0.1:8000/api/v1/hotels/{hotel.slug}/bookings/{booking_id}",
        approval_deadline=datetime(2026, 11, 26, 21, 30, tzinfo=timezone.utc),
    )
    values.update(fields)
    return BookingStatusChanged(**values)


def utc_in(minutes: int) -> datetime:
    return datetime.now(timezone.utc) + timedelta(minutes=minutes)
