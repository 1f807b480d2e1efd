"""The gateway: the one public entry. ``uvicorn gateway.app:app``."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from hotelmate_platform.admission import install_admission
from hotelmate_platform.db import Database, prepare_database
from hotelmate_platform.logs import configure_logging
from hotelmate_platform.problems import install_problem_handlers
from hotelmate_platform.service import install_request_ids

from . import proxy
from .api import admin, auth, meta
from .middleware import BodyLimit, SecurityHeaders
from .runtime import GatewayRuntime, Limiters
from .settings import GatewaySettings

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def create_app(settings: GatewaySettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings.service_name, settings.log_level)
        await asyncio.to_thread(prepare_database, settings.database, MIGRATIONS)
        secret = settings.jwt_secret
        if not secret:
            log.warning("HOTELMATE_JWT_SECRET is not set: using a random secret for this process only")
            secret = secrets.token_hex(32)
        timeout = httpx.Timeout(settings.gateway_upstream_timeout_seconds,
                                connect=settings.gateway_upstream_connect_seconds)
        # Idle connections are dropped well before the services' keep-alive (15 s) closes them, so the
        # gateway never sends a request down a connection the service is closing (a spurious 502).
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=100, keepalive_expiry=5.0)
        async with httpx.AsyncClient(timeout=timeout, limits=limits, follow_redirects=False) as client:
            gateway = GatewayRuntime(settings=settings, db=Database(settings.database), client=client,
                                     jwt_secret=secret, limiters=Limiters.from_settings(settings))
            app.state.gateway = gateway
            await admin.ensure_first_admin(gateway)
            log.info("gateway started")
            try:
                yield
            finally:
                await gateway.db.dispose()
                log.info("gateway stopped")

    app = FastAPI(title="HotelMate API", version="1.0.0", lifespan=lifespan,
                  openapi_url=None, docs_url=None, redoc_url=None)
    install_problem_handlers(app)
    install_admission(app, settings)
    app.add_middleware(BodyLimit, max_bytes=settings.gateway_max_body_bytes)
    install_request_ids(app)
    app.add_middleware(SecurityHeaders)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_credentials=False,
                           allow_methods=proxy.METHODS, allow_headers=["Authorization", "Content-Type",
                                                                       "Idempotency-Key", "X-Request-ID"],
                           expose_headers=["X-Request-ID", "Location", "Retry-After"], max_age=600)
    app.include_router(meta.router)
    app.include_router(auth.router)
    app.include_router(admin.router)
    app.include_router(proxy.router)
    return app


settings = GatewaySettings()
app = create_app(settings)
