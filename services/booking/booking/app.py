"""The booking service: bookings, the saga orchestrator, its timeouts, the guest portal and staff desk."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from hotelmate_platform.service import Runtime, create_service_app
from hotelmate_platform.tasks import every

from .adapters.upstream import Upstream
from .api import public, staff
from .handlers import SagaHandlers
from .settings import BookingSettings
from .sweeper import Sweeper
from .watch import StatusWatch

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def create_app(settings: BookingSettings) -> FastAPI:
    async def start(runtime: Runtime) -> None:
        runtime.extras["upstream"] = Upstream(settings.inventory_url, settings.payments_url,
                                              settings.booking_http_timeout_seconds)
        sweeper = Sweeper(runtime.db, settings)
        runtime.extras["sweeper"] = sweeper
        runtime.start("sweeper", lambda: every(settings.sweep_seconds, sweeper.sweep))
        watch = runtime.extras["status_watch"] = StatusWatch()
        runtime.start("status-listener", lambda: watch.listen(settings.database))

    async def stop(runtime: Runtime) -> None:
        await runtime.extras["upstream"].close()

    return create_service_app(settings, migrations_dir=MIGRATIONS, routers=[public.router, staff.router],
                              handlers=SagaHandlers(settings).mapping(), on_start=[start], on_stop=[stop])


settings = BookingSettings()
app = create_app(settings)
