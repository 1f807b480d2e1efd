"""The inventory service: catalogue, availability, quotes, holds and room assignments."""

from functools import partial
from pathlib import Path

from fastapi import FastAPI

from hotelmate_platform.retention import start_retention
from hotelmate_platform.observability.domain import cache_hook
from hotelmate_platform.service import Runtime, create_service_app
from hotelmate_platform.tasks import every

from .api import internal, public, staff
from .api.schemas import install_domain_problems
from .cache import create_catalog_cache
from .live_reads import LiveReads
from .handlers import HANDLERS, expire_lapsed_holds
from .settings import InventorySettings


async def start_sweeper(runtime: Runtime) -> None:
    """Releases lapsed holds durably (they already stopped counting at their expiry instant)."""
    runtime.start("hold-sweeper", partial(every, runtime.settings.sweep_seconds, partial(expire_lapsed_holds, runtime.db)))


async def start_catalog_cache(runtime: Runtime) -> None:
    settings = runtime.settings
    cache = create_catalog_cache(settings.inventory_catalog_cache_url,
                                 ttl_seconds=settings.inventory_catalog_cache_ttl_seconds)
    await cache.open(runtime.db)
    runtime.extras["catalog_cache"] = cache
    runtime.extras["live_reads"] = LiveReads(runtime.db)
    runtime.scrape_hooks.append(cache_hook(cache))  # /metrics: the availability cache's hit ratio


async def stop_catalog_cache(runtime: Runtime) -> None:
    await runtime.extras["catalog_cache"].close()


def create_app(settings: InventorySettings) -> FastAPI:
    app = create_service_app(
        settings,
        migrations_dir=Path(__file__).resolve().parent.parent / "migrations",
        routers=[public.router, staff.router, internal.router],
        handlers=HANDLERS,
        on_start=[start_catalog_cache, start_sweeper, start_retention],
        on_stop=[stop_catalog_cache],
    )
    install_domain_problems(app)
    app.router.routes.insert(0, public.FastAvailability())  # availability's plain form skips FastAPI's machinery
    return app


settings = InventorySettings()
app = create_app(settings)
