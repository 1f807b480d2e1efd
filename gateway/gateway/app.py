"""The gateway: the one public entry. ``uvicorn gateway.app:app``."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from hotelmate_platform.admission import install_admission
from hotelmate_platform.db import Database, prepare_database
from hotelmate_platform.limits import RequestLimits
from hotelmate_platform.logs import configure_logging
from hotelmate_platform.observability import instrument_app, setup_tracing, shutdown_tracing
from hotelmate_platform.problems import install_problem_handlers
from hotelmate_platform.production import check_production, service_key
from hotelmate_platform.service import install_request_ids, tune_garbage_collector

from . import console, pages, proxy
from .api import admin, auth, meta
from .accounts import TokenStates
from .middleware import SecurityHeaders
from .runtime import GatewayRuntime, Limiters
from .settings import GatewaySettings

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def upstream_client(settings: GatewaySettings) -> aiohttp.ClientSession:
    """The one client to the services. aiohttp's pool costs the same whatever its size (httpx's
    scanned every pooled connection on each request: half the gateway's CPU at 100 clients)."""
    # Idle connections are dropped well before the services' keep-alive (15 s) closes them, so the
    # gateway never sends a request down a connection the service is closing (a spurious 502).
    connector = aiohttp.TCPConnector(limit=400, limit_per_host=0, keepalive_timeout=5.0, ttl_dns_cache=300)
    timeout = aiohttp.ClientTimeout(total=settings.gateway_upstream_timeout_seconds,
                                    sock_connect=settings.gateway_upstream_connect_seconds)
    # Bodies pass byte for byte: no decompression, no Content-Type or User-Agent of our own.
    return aiohttp.ClientSession(connector=connector, timeout=timeout, auto_decompress=False,
                                 skip_auto_headers=("Content-Type", "User-Agent"), cookie_jar=aiohttp.DummyCookieJar())


def create_app(settings: GatewaySettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings.service_name, settings.log_level, settings.log_format)
        check_production(settings, secrets={"HOTELMATE_JWT_SECRET": settings.jwt_secret},
                         passwords={"HOTELMATE_ADMIN_PASSWORD": settings.admin_password or None})
        setup_tracing(settings.service_name)
        await asyncio.to_thread(prepare_database, settings.database, MIGRATIONS)
        secret = settings.jwt_secret
        if not secret:
            log.warning("HOTELMATE_JWT_SECRET is not set: using a random secret for this process only")
            secret = secrets.token_hex(32)
        async with upstream_client(settings) as client:
            gateway = GatewayRuntime(settings=settings, db=Database(settings.database), client=client,
                                     jwt_secret=secret, limiters=Limiters.from_settings(settings),
                                     service_key=service_key(settings),
                                     token_states=TokenStates(settings.gateway_token_check_seconds))
            app.state.gateway = gateway
            await admin.ensure_first_admin(gateway)
            tune_garbage_collector()
            log.info("gateway started")
            try:
                yield
            finally:
                await gateway.db.dispose()
                shutdown_tracing()
                log.info("gateway stopped")

    if settings.log_format == "json":  # from the server's first line on (uvicorn logs before the lifespan)
        configure_logging(settings.service_name, settings.log_level, settings.log_format)
    app = FastAPI(title="HotelMate API", version="1.0.0", lifespan=lifespan,
                  openapi_url=None, docs_url=None, redoc_url=None)
    install_problem_handlers(app)
    install_admission(app, settings)
    app.add_middleware(RequestLimits, max_bytes=settings.gateway_max_body_bytes)  # 413, and 422 for a NUL
    install_request_ids(app)
    app.add_middleware(SecurityHeaders)
    instrument_app(app, settings.service_name)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_credentials=False,
                           allow_methods=proxy.METHODS, allow_headers=["Authorization", "Content-Type",
                                                                       "Idempotency-Key", "X-Request-ID"],
                           expose_headers=["X-Request-ID", "Location", "Retry-After"], max_age=600)
    app.include_router(meta.router)
    app.include_router(auth.router)
    app.include_router(admin.router)
    app.include_router(pages.router)  # guest pages (and a browser opening a booking's API link)
    app.include_router(console.router)
    app.include_router(proxy.router)
    app.router.routes.insert(0, proxy.FastRoute())  # forwarded requests skip the rest (see FastRoute)
    return app


settings = GatewaySettings()
app = create_app(settings)
