"""Prometheus metrics: what every process exposes at ``/metrics``.

Counters and histograms are updated where things happen (HTTP middleware, bus, consumer, Stripe
adapter, mail sender); gauges that describe the database or the broker (outbox lag, dead letters,
bookings per status) are read when Prometheus scrapes, by the *scrape hooks* a service registers
with :func:`on_scrape`. Label values are bounded: route templates (never raw paths), message types,
queue names, statuses.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

log = logging.getLogger(__name__)

HTTP_LATENCY = Histogram(
    "hotelmate_http_request_duration_seconds", "HTTP requests by route template, method and status",
    ["service", "method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
PUBLISHED = Counter("hotelmate_messages_published_total", "Messages the broker confirmed, by type",
                    ["service", "type"])
CONSUMED = Counter("hotelmate_messages_consumed_total",
                   "Deliveries handled, by type and outcome (ok, duplicate, retried, dead_lettered, outage)",
                   ["service", "type", "outcome"])
HANDLER_FAILURES = Counter("hotelmate_handler_failures_total", "Handlers that raised, by message type",
                           ["service", "type"])
OUTBOX_LAG = Gauge("hotelmate_outbox_lag_seconds", "Age of the oldest unpublished outbox row (0 when empty)",
                   ["service"])
OUTBOX_PENDING = Gauge("hotelmate_outbox_pending", "Unpublished outbox rows", ["service"])
DEAD_LETTERS = Gauge("hotelmate_dead_letters", "Messages waiting in a dead-letter queue", ["queue"])
BOOKINGS = Gauge("hotelmate_bookings", "Bookings per status", ["status"])
BOOKINGS_PAST_DEADLINE = Gauge("hotelmate_bookings_past_deadline",
                               "Bookings still waiting after their deadline (what the sweeper should have acted on)",
                               ["status"])
WEBHOOKS = Counter("hotelmate_webhooks_total", "Stripe webhooks received, by outcome", ["outcome"])
STRIPE_LATENCY = Histogram("hotelmate_stripe_request_duration_seconds", "Stripe API calls, by operation and result",
                           ["operation", "result"],
                           buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30))
STRIPE_ERRORS = Counter("hotelmate_stripe_errors_total", "Stripe API calls that failed, by operation and error",
                        ["operation", "error"])
EMAILS = Counter("hotelmate_emails_total", "E-mails handed to the SMTP relay, by outcome (sent, failed)",
                 ["outcome"])
CACHE_LOOKUPS = Gauge("hotelmate_availability_cache_lookups", "Availability cache lookups since start, by result",
                      ["result"])
CACHE_HIT_RATIO = Gauge("hotelmate_availability_cache_hit_ratio", "Availability cache hits / lookups since start")

ScrapeHook = Callable[[], Awaitable[None]]


def on_scrape(app: FastAPI, hook: ScrapeHook) -> None:
    """Run ``hook`` (which sets gauges) before each ``/metrics`` answer; a failing or slow hook is
    logged and skipped, never fails the scrape."""
    hooks = getattr(app.state, "scrape_hooks", None)
    if hooks is None:
        hooks = app.state.scrape_hooks = []
    hooks.append(hook)


async def _run_hook(hook: ScrapeHook) -> None:
    try:
        await asyncio.wait_for(hook(), timeout=3)
    except Exception as exc:  # noqa: BLE001 - a scrape shows what it can
        log.debug("metrics hook %s failed: %s", getattr(hook, "__name__", hook), type(exc).__name__)


def metrics_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/metrics")
    async def metrics(request: Request) -> Response:
        runtime = getattr(request.app.state, "runtime", None)
        hooks = [*getattr(request.app.state, "scrape_hooks", []), *getattr(runtime, "scrape_hooks", [])]
        await asyncio.gather(*(_run_hook(h) for h in hooks))
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


class HttpMetrics:
    """Pure ASGI middleware: one latency observation per request, labelled by route *template*
    (``/api/v1/bookings/{booking_id}``), so label values stay few. Unmatched paths are ``unmatched``."""

    def __init__(self, app, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope.get("path") == "/metrics":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        status = {"code": 500}

        async def send_status(message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            # A route may name itself (the gateway's proxy: by target service); else its template.
            template = scope.get("hotelmate.route") or getattr(scope.get("route"), "path", None) or "unmatched"
            HTTP_LATENCY.labels(self.service, scope.get("method", "-"), template, str(status["code"])).observe(
                time.perf_counter() - started)


def outbox_hook(service: str, db: Any) -> ScrapeHook:
    """Outbox lag and pending rows of ``db`` (a :class:`~hotelmate_platform.db.Database`)."""
    from sqlalchemy import text

    query = text("SELECT count(*), COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0) "
                 "FROM outbox WHERE published_at IS NULL")

    async def outbox_lag() -> None:
        async with db.reads() as session:
            pending, lag = (await session.execute(query)).one()
        OUTBOX_PENDING.labels(service).set(pending)
        OUTBOX_LAG.labels(service).set(float(lag))

    return outbox_lag


def dead_letter_hook(bus: Any, queue: str) -> ScrapeHook:
    """Depth of the dead-letter queue ``queue`` (a passive declare on a short-lived channel)."""

    async def dead_letters() -> None:
        if bus.connection is None or not bus.is_connected:
            return
        channel = await bus.connection.channel()
        try:
            declared = await channel.declare_queue(queue, passive=True)
            DEAD_LETTERS.labels(queue).set(declared.declaration_result.message_count)
        finally:
            await channel.close()

    return dead_letters


def observe_stripe(operation: str):
    """Context manager timing one Stripe call: ``with observe_stripe("capture"): ...``."""
    return _StripeTimer(operation)


class _StripeTimer:
    def __init__(self, operation: str) -> None:
        self.operation = operation

    def __enter__(self) -> None:
        self.started = time.perf_counter()

    def __exit__(self, exc_type, exc, tb) -> None:
        result = "ok" if exc_type is None else "error"
        STRIPE_LATENCY.labels(self.operation, result).observe(time.perf_counter() - self.started)
        if exc_type is not None:
            STRIPE_ERRORS.labels(self.operation, exc_type.__name__).inc()
