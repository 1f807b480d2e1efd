"""Metrics, traces and structured logs for every HotelMate process (see docs/runbook.md).

:func:`instrument_app` gives an app ``/metrics``, HTTP latency histograms and, when
``OTEL_EXPORTER_OTLP_ENDPOINT`` is set, request tracing; the messaging kit records its own
counters and carries trace context through the outbox and the message headers.
"""

from __future__ import annotations

from fastapi import FastAPI

from .metrics import HttpMetrics, metrics_router, on_scrape
from .tracing import TraceRequests, setup_tracing, shutdown_tracing

__all__ = ["instrument_app", "on_scrape", "setup_tracing", "shutdown_tracing"]


def instrument_app(app: FastAPI, service: str) -> None:
    """Add ``/metrics`` and the HTTP metrics and tracing middlewares (outermost, so they time
    everything, admission waits included). Tracing itself starts with :func:`setup_tracing`."""
    app.include_router(metrics_router())
    app.add_middleware(TraceRequests, service=service)
    app.add_middleware(HttpMetrics, service=service)
