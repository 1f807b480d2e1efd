"""OpenTelemetry tracing across HTTP and RabbitMQ.

Off by default: :func:`setup_tracing` installs an SDK tracer provider exporting over OTLP/HTTP only
when ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) is set. Without
it the OpenTelemetry API is a no-op: no span is recorded and no header is added.

* HTTP server: :class:`TraceRequests` continues the caller's ``traceparent`` in a SERVER span named
  after the route template. HTTP clients (httpx, and the gateway's aiohttp proxy through
  :func:`inject_headers`) send the current context on.
* Bus: the context of the span that wrote an outbox row is saved with the row
  (:func:`current_carrier`); the relay publishes it in a PRODUCER span that continues that trace
  and puts its own context in the message headers; the consumer's CONSUMER span is the child of
  the producer span *and* carries a link to it (the bus hop).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from opentelemetry import context, propagate, trace

log = logging.getLogger(__name__)

TRACER_NAME = "hotelmate"
_configured = False


def tracing_enabled() -> bool:
    return bool(os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))


def setup_tracing(service: str) -> bool:
    """Install the OTLP exporter when configured (once per process). Returns True when tracing is on."""
    global _configured
    if _configured:
        return True
    if not tracing_enabled():
        return False
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", service)}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    _instrument_httpx()
    _configured = True
    log.info("tracing on: spans exported over OTLP")
    return True


def shutdown_tracing() -> None:
    """Flush the spans still buffered (at process stop)."""
    provider = trace.get_tracer_provider()
    if hasattr(provider, "force_flush"):
        provider.force_flush(5000)


def tracer() -> trace.Tracer:
    return trace.get_tracer(TRACER_NAME)


def current_carrier() -> dict[str, str]:
    """The current trace context as W3C headers (empty when there is none)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def inject_headers() -> list[tuple[str, str]]:
    """The current trace context as a list of header pairs (for the gateway's proxy)."""
    return list(current_carrier().items())


@contextmanager
def producer_span(message_type: str, carrier: Mapping[str, str] | None, headers: dict) -> Iterator[None]:
    """Publish inside a PRODUCER span that continues ``carrier`` (the outbox row's saved context),
    and put that span's context into the AMQP ``headers``."""
    if not carrier:
        yield
        return
    parent = propagate.extract(dict(carrier))
    with tracer().start_as_current_span(
        f"publish {message_type}", context=parent, kind=trace.SpanKind.PRODUCER,
        attributes={"messaging.system": "rabbitmq", "messaging.destination.name": message_type,
                    "messaging.operation.type": "publish"},
    ):
        propagate.inject(headers)
        yield


@contextmanager
def consumer_span(message_type: str, service: str, headers: Mapping | None) -> Iterator[None]:
    """Handle a delivery inside a CONSUMER span, child of and linked to the producer's span."""
    carrier = {k: v.decode() if isinstance(v, bytes) else str(v) for k, v in (headers or {}).items()
               if k in ("traceparent", "tracestate")}
    if "traceparent" not in carrier:
        yield
        return
    parent = propagate.extract(carrier)
    producer = trace.get_current_span(parent).get_span_context()
    links = [trace.Link(producer, {"messaging.hop": "rabbitmq"})] if producer.is_valid else []
    with tracer().start_as_current_span(
        f"process {message_type}", context=parent, kind=trace.SpanKind.CONSUMER, links=links,
        attributes={"messaging.system": "rabbitmq", "messaging.destination.name": message_type,
                    "messaging.consumer.group.name": service, "messaging.operation.type": "process"},
    ):
        yield


class TraceRequests:
    """Pure ASGI middleware: a SERVER span per request, continuing the caller's ``traceparent``;
    the span is renamed to the route template once routing has matched."""

    def __init__(self, app, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or not _configured or scope.get("path") in ("/metrics", "/healthz", "/readyz"):
            return await self.app(scope, receive, send)
        carrier = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]
                   if k in (b"traceparent", b"tracestate")}
        parent = propagate.extract(carrier)
        method = scope.get("method", "-")
        with tracer().start_as_current_span(
            f"{method} {scope.get('path', '')}", context=parent, kind=trace.SpanKind.SERVER,
            attributes={"http.request.method": method, "url.path": scope.get("path", ""),
                        "hotelmate.service": self.service},
        ) as span:
            async def send_status(message) -> None:
                if message["type"] == "http.response.start":
                    span.set_attribute("http.response.status_code", message["status"])
                    if message["status"] >= 500:
                        span.set_status(trace.StatusCode.ERROR)
                await send(message)

            try:
                await self.app(scope, receive, send_status)
            finally:
                route = getattr(scope.get("route"), "path", None)
                if route:
                    span.update_name(f"{method} {route}")
                    span.set_attribute("http.route", route)


def _instrument_httpx() -> None:
    """Every httpx request made while tracing is on sends the current context and gets a CLIENT span."""
    import httpx

    original = httpx.AsyncClient.send
    if getattr(original, "_hotelmate_traced", False):
        return

    async def send(self, request, *args, **kwargs):
        with tracer().start_as_current_span(f"{request.method} {request.url.host}", kind=trace.SpanKind.CLIENT,
                                            attributes={"http.request.method": request.method,
                                                        "server.address": request.url.host or ""}) as span:
            propagate.inject(request.headers)
            response = await original(self, request, *args, **kwargs)
            span.set_attribute("http.response.status_code", response.status_code)
            return response

    send._hotelmate_traced = True  # type: ignore[attr-defined]
    httpx.AsyncClient.send = send  # type: ignore[method-assign]


def attach(carrier: Mapping[str, str] | None):
    """Make ``carrier`` the current context (returns a token for :func:`detach`)."""
    return context.attach(propagate.extract(dict(carrier or {})))


def detach(token) -> None:
    context.detach(token)
