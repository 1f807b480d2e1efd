"""The booking service: bookings, the saga orchestrator, its timeouts, the guest portal and staff desk."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from hotelmate_platform.production import service_key
from hotelmate_platform.retention import start_retention
from hotelmate_platform.observability.domain import booking_hook
from hotelmate_platform.service import Runtime, create_service_app
from hotelmate_platform.tasks import every

from .adapters.upstream import Upstream
from .api import internal, pre_check_in, public, reports, staff
from .archive import archive_rule
from .handlers import SagaHandlers
from .settings import BookingSettings
from .sweeper import Sweeper
from .watch import StatusWatch

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def create_app(settings: BookingSettings) -> FastAPI:
    async def start(runtime: Runtime) -> None:
        runtime.extras["upstream"] = Upstream(
            settings.inventory_url, settings.payments_url, settings.booking_http_timeout_seconds,
            place_timeout=settings.booking_place_timeout_seconds,
            profile_fresh_seconds=settings.booking_hotel_cache_seconds,
            profile_stale_seconds=settings.booking_hotel_cache_stale_seconds, service_key=service_key(settings))
        sweeper = Sweeper(runtime.db, settings)
        runtime.extras["sweeper"] = sweeper
        runtime.start("sweeper", lambda: every(settings.sweep_seconds, sweeper.sweep))
        await start_retention(runtime, [archive_rule(settings)])
        watch = runtime.extras["status_watch"] = StatusWatch()
        runtime.start("status-listener", lambda: watch.listen(settings.database))
        runtime.scrape_hooks.append(booking_hook(runtime.db))  # /metrics: bookings per status, past deadline

    async def stop(runtime: Runtime) -> None:
        await runtime.extras["upstream"].close()

    routers = [public.router, staff.router, pre_check_in.router, reports.router, internal.router]
    return create_service_app(settings, migrations_dir=MIGRATIONS, routers=routers,
                              handlers=SagaHandlers(settings).mapping(), on_start=[start], on_stop=[stop])


settings = BookingSettings()
app = create_app(settings)
