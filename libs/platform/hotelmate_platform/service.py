"""Building a service's FastAPI app: start-up (migrations, bus, relay, consumer, sweepers),
health endpoints, request ids and problem documents. Each service calls :func:`create_service_app`.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

from hotelmate_contracts import Message

from .admission import install_admission
from .db import Database, prepare_database
from .limits import RequestLimits
from .logs import booking_id_var, configure_logging, correlation_id_var, request_id_var
from .messaging import Bus, Consumer, Handler, OutboxRelay
from .observability import instrument_app, setup_tracing, shutdown_tracing
from .observability.metrics import dead_letter_hook, outbox_hook
from .problems import install_problem_handlers
from .production import check_production, service_key
from .settings import ServiceSettings
from .tasks import supervise
from .trust import TrustGate

log = logging.getLogger(__name__)

# Net allocations between two collections of the youngest generation (CPython's default is 700).
YOUNG_COLLECTION_THRESHOLD = 20_000


def tune_garbage_collector() -> None:
    """Called once start-up is over. What start-up built (modules, models, tables, compiled
    statements: a few hundred thousand objects that live as long as the process) is frozen out of
    every later collection, and the youngest generation is collected after 20,000 net allocations
    instead of 700: a request or a message allocates and frees thousands of objects, nearly all
    gone before a collection could find them. Under 100 clients the collector had been about 4 %
    of each service's CPU (booking 560 ms of 12.9 s), most of it full collections walking the
    start-up objects again; garbage in reference cycles is still collected, a little later. A frozen
    object is never collected: what start-up built and later drops in a cycle (a broker connection
    replaced after a reconnect) stays, at most once and at most what start-up built."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, middle, old)


@dataclass
class Runtime:
    """What a running service holds: settings, database, bus, and its background tasks."""

    settings: ServiceSettings
    db: Database
    bus: Bus
    consumer: Consumer | None = None
    tasks: list[asyncio.Task] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)
    # Run before each /metrics answer to set gauges (hotelmate_platform.observability.metrics.on_scrape).
    scrape_hooks: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    def start(self, name: str, run: Callable[[], Awaitable[None]]) -> None:
        self.tasks.append(asyncio.create_task(supervise(name, run), name=name))


async def get_runtime(request: Request) -> Runtime:
    """FastAPI dependency: the running service's :class:`Runtime` (async: a plain ``def`` dependency
    would cost a worker-thread hop on every request)."""
    return request.app.state.runtime


Starter = Callable[[Runtime], Awaitable[None]]


def create_service_app(
    settings: ServiceSettings,
    *,
    migrations_dir: Path,
    routers: Sequence[APIRouter] = (),
    handlers: dict[type[Message], Handler] | None = None,
    on_start: Sequence[Starter] = (),
    on_stop: Sequence[Starter] = (),
    title: str | None = None,
    secrets: dict[str, str | None] | None = None,
) -> FastAPI:
    """A service app. ``handlers`` map message classes to handlers consumed from the bus;
    ``on_start`` callbacks receive the :class:`Runtime` (start sweepers with ``runtime.start``);
    ``secrets`` (env name → value) are refused in production when weak (docs/SECURITY.md)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings.service_name, settings.log_level, settings.log_format)
        check_production(settings, secrets=secrets or {})
        setup_tracing(settings.service_name)
        await asyncio.to_thread(prepare_database, settings.database, migrations_dir)
        db = Database(settings.database, pool_size=settings.db_pool_size, max_overflow=settings.db_pool_overflow,
                      pool_timeout=settings.db_pool_timeout_seconds)
        runtime = Runtime(settings=settings, db=db, bus=Bus(settings.amqp_url, settings.bus_namespace,
                                                                        service=settings.service_name))
        await runtime.bus.connect()
        relay = OutboxRelay(runtime.db, runtime.bus, poll_seconds=settings.outbox_poll_seconds,
                            batch_size=settings.outbox_batch_size)
        runtime.start("outbox-relay", relay.run)
        if handlers:
            runtime.consumer = Consumer(
                runtime.db, runtime.bus, settings.service_name, handlers,
                retry_delays_ms=settings.retry_delays_ms, max_attempts=settings.consumer_max_attempts,
                prefetch=settings.consumer_prefetch,
            )
            await runtime.consumer.declare()
            runtime.start("consumer", runtime.consumer.run)
            runtime.scrape_hooks.append(dead_letter_hook(runtime.bus, runtime.consumer.names.dead_letter))
        runtime.scrape_hooks.append(outbox_hook(settings.service_name, runtime.db))
        app.state.runtime = runtime
        for starter in on_start:
            await starter(runtime)
        tune_garbage_collector()
        log.info("%s started", settings.service_name)
        try:
            yield
        finally:
            for stopper in on_stop:
                await stopper(runtime)
            for task in runtime.tasks:
                task.cancel()
            await asyncio.gather(*runtime.tasks, return_exceptions=True)
            await runtime.bus.close()
            await runtime.db.dispose()
            shutdown_tracing()
            log.info("%s stopped", settings.service_name)

    if settings.log_format == "json":  # from the server's first line on (uvicorn logs before the lifespan)
        configure_logging(settings.service_name, settings.log_level, settings.log_format)
    app = FastAPI(title=title or f"HotelMate {settings.service_name}", lifespan=lifespan)
    # The message types this service consumes (deploy/rabbitmq/definitions.py builds the broker's
    # definitions from them).
    app.state.message_types = sorted(cls.TYPE for cls in (handlers or {}))
    install_problem_handlers(app)
    app.add_middleware(TrustGate, secret=service_key(settings))  # identity only from a signed assertion
    install_admission(app, settings)
    app.add_middleware(RequestLimits, max_bytes=settings.http_max_body_bytes)  # 413, and 422 for a NUL
    install_request_ids(app)
    instrument_app(app, settings.service_name)
    app.include_router(health_router())
    for router in routers:
        app.include_router(router)
    return app


def install_request_ids(app: FastAPI) -> None:
    """Take ``X-Request-ID`` from the caller (or make one), log with it, and return it."""
    app.add_middleware(RequestIds)


class RequestIds:
    """Pure ASGI (no per-request task and streams as with ``@app.middleware``): sets the request id
    for the logs and adds it to the answer's headers."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        given = next((v for k, v in scope["headers"] if k == b"x-request-id"), b"").decode("latin-1")
        rid = (given or uuid.uuid4().hex)[:64]
        token = request_id_var.set(rid)
        booking = _BOOKING_IN_PATH.search(scope.get("path", ""))
        correlation = next((v for k, v in scope["headers"] if k == b"x-correlation-id"), b"").decode("latin-1")[:64]
        tokens = (booking_id_var.set(booking.group(1) if booking else None),
                  correlation_id_var.set(correlation or (booking.group(1) if booking else None)))

        async def send_with_id(message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"]
                message["headers"] = [*headers, (b"x-request-id", rid.encode("latin-1"))]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)
            booking_id_var.reset(tokens[0])
            correlation_id_var.reset(tokens[1])


# A booking's id in a request path (``.../bookings/<uuid>...``) goes on every log line of the request.
_BOOKING_IN_PATH = re.compile(r"/bookings/([A-Za-z0-9-]{6,64})(?:/|$)")


def health_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/healthz")
    async def healthz() -> dict:
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz(request: Request):
        """Ready only when the database answers, the broker is connected, the service's consumer
        (if it has one) is being delivered its queue, and every background loop is still running."""
        runtime: Runtime = request.app.state.runtime
        checks = {"database": "ok", "rabbitmq": "ok" if runtime.bus.is_connected else "down"}
        try:
            await asyncio.wait_for(runtime.db.ping(), timeout=2)
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            checks["database"] = f"down: {type(exc).__name__}"
        if runtime.consumer is not None:
            checks["consumer"] = "ok" if await runtime.consumer.is_consuming() else "not consuming"
        stopped = [task.get_name() for task in runtime.tasks if task.done()]
        checks["background"] = f"stopped: {', '.join(stopped)}" if stopped else "ok"
        ready = all(v == "ok" for v in checks.values())
        return JSONResponse({"status": "ready" if ready else "not ready", "checks": checks}, status_code=200 if ready else 503)

    return router
