"""The notifications service: booking events in, emails to guests and staff out, once each."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from hotelmate_platform.service import Runtime, create_service_app
from hotelmate_platform.tasks import every

from .adapters.smtp import SmtpMailer
from .api.staff import router as staff_router
from .handlers import HANDLERS
from .sender import Sender
from .settings import NotificationsSettings

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def create_app(settings: NotificationsSettings) -> FastAPI:
    """The app for ``settings`` (tests build their own with a test SMTP server and short retries)."""

    async def start_sender(runtime: Runtime) -> None:
        sender = Sender(runtime.db, settings, SmtpMailer(settings).send)
        runtime.extras["sender"] = sender
        runtime.start("mail-sender", lambda: every(settings.mail_poll_seconds, sender.send_due))

    return create_service_app(settings, migrations_dir=MIGRATIONS, routers=[staff_router], handlers=HANDLERS,
                              on_start=[start_sender])


settings = NotificationsSettings()
app = create_app(settings)
