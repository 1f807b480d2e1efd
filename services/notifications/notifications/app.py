"""The notifications service: booking events in, emails to guests and staff out, once each."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
from fastapi import FastAPI

from hotelmate_platform.retention import Rule, start_retention
from hotelmate_platform.service import Runtime, create_service_app
from hotelmate_platform.jobs import run_jobs_forever

from .adapters.booking import GuestLinks
from .adapters.repository import DELIVERIES_DUE
from .adapters.smtp import SmtpMailer
from .api.staff import router as staff_router
from .handlers import handlers
from .sender import Sender
from .settings import NotificationsSettings

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def sent_bodies_rule(settings: NotificationsSettings) -> Rule:
    """Sent emails keep their log row (who, what, when) but lose their body: guests' data."""
    return Rule("sent email bodies", "deliveries",
                "status = 'SENT' AND sent_at < :cutoff AND (text_body IS NOT NULL OR html_body IS NOT NULL)",
                timedelta(days=settings.mail_body_retention_days), wipe="text_body = NULL, html_body = NULL")


def create_app(settings: NotificationsSettings, booking_transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    """The app for ``settings`` (tests build their own with a test SMTP server and short retries, and
    may reach a stand-in booking through ``booking_transport``)."""

    async def start_sender(runtime: Runtime) -> None:
        links = runtime.extras["guest_links"] = GuestLinks(settings, booking_transport)
        sender = Sender(runtime.db, settings, SmtpMailer(settings).send, links.token)
        runtime.extras["sender"] = sender
        runtime.start("mail-sender", lambda: run_jobs_forever(sender.send_due, wake=runtime.db.signal(DELIVERIES_DUE),
                                                              poll_seconds=settings.mail_poll_seconds))
        await start_retention(runtime, [sent_bodies_rule(settings)])

    async def stop(runtime: Runtime) -> None:
        if "guest_links" in runtime.extras:
            await runtime.extras["guest_links"].close()

    return create_service_app(settings, migrations_dir=MIGRATIONS, routers=[staff_router], handlers=handlers(settings),
                              on_start=[start_sender], on_stop=[stop])


settings = NotificationsSettings()
app = create_app(settings)
