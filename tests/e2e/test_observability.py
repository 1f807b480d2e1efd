"""Observability end to end: one booking's trace crosses the gateway, booking, inventory and payments,
with the RabbitMQ hops as linked spans; /metrics moves as a booking goes through the saga; the
services' JSON log lines name the booking and never its guest token.

Every service is its own process exporting over OTLP/HTTP to a collector this module runs (the
same protocol a real collector speaks); tracing is on only because the module sets
``OTEL_EXPORTER_OTLP_ENDPOINT``.
"""

import asyncio
import gzip
import json
import secrets
import threading
import time
from collections import defaultdict
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from prometheus_client.parser import text_string_to_metric_families

from hotelmate_devtools.flows.booking import Guest, module_desk

NAMES = ["stripe-emulator", "smtp-sink", "inventory", "booking", "payments", "notifications", "gateway"]
HOTEL = "obs-lyon"
SPAN_KIND = {1: "INTERNAL", 2: "SERVER", 3: "CLIENT", 4: "PRODUCER", 5: "CONSUMER"}


class Collector:
    """An OTLP/HTTP trace receiver: keeps every span it is sent, with its service's name."""

    def __init__(self) -> None:
        self.spans: list[dict] = []
        self.lock = threading.Lock()
        collector = self

        class Receive(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                if self.headers.get("content-encoding") == "gzip":
                    body = gzip.decompress(body)
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                collector.add(request)
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Receive)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def add(self, request: ExportTraceServiceRequest) -> None:
        for resource_spans in request.resource_spans:
            service = next((a.value.string_value for a in resource_spans.resource.attributes
                            if a.key == "service.name"), "?")
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    with self.lock:
                        self.spans.append({
                            "service": service, "name": span.name, "kind": SPAN_KIND.get(span.kind, "?"),
                            "trace_id": span.trace_id.hex(), "span_id": span.span_id.hex(),
                            "parent": span.parent_span_id.hex(),
                            "links": [(link.trace_id.hex(), link.span_id.hex()) for link in span.links],
                        })

    def trace(self, trace_id: str) -> list[dict]:
        with self.lock:
            return [s for s in self.spans if s["trace_id"] == trace_id]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def collector():
    running = Collector()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def system(system_factory, collector):
    started = system_factory(NAMES, env={
        "OTEL_EXPORTER_OTLP_ENDPOINT": collector.url, "OTEL_BSP_SCHEDULE_DELAY": "200", "HOTELMATE_LOG_FORMAT": "json",
        "HOTELMATE_SWEEP_SECONDS": "0.5", "HOTELMATE_GATEWAY_PUBLIC_RATE_PER_MINUTE": "100000"})
    yield started
    started.stop()


_LOGIN: dict = {}


@pytest.fixture
async def desk(http):
    return await module_desk(http, HOTEL, _LOGIN, rooms=5)


async def through_the_saga(http, desk, guest: Guest) -> None:
    view = await guest.wait_for("PENDING_PAYMENT", checkout=True)
    await guest.pay(view["payment"]["checkout_url"])
    await guest.wait_for("PENDING_APPROVAL")
    assert (await desk.act(HOTEL, guest.booking_id, "approve")).status_code == 202
    await guest.wait_for("CONFIRMED")


async def wait_until(check, *, timeout: float = 60, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.2)


async def test_one_booking_is_one_trace_across_services_with_linked_bus_hops(http, desk, collector):
    trace_id, parent_id = secrets.token_hex(16), secrets.token_hex(8)
    guest = Guest(http, HOTEL)
    http.headers["traceparent"] = f"00-{trace_id}-{parent_id}-01"
    try:
        await guest.book()
    finally:
        del http.headers["traceparent"]
    await through_the_saga(http, desk, guest)

    wanted = {"gateway", "booking", "inventory", "payments"}

    def complete():
        spans = collector.trace(trace_id)
        services = {s["service"] for s in spans}
        consumers = [s for s in spans if s["kind"] == "CONSUMER" and s["links"]]
        return spans if wanted <= services and {s["service"] for s in consumers} >= {"payments"} else None

    spans = await wait_until(complete, what=f"trace {trace_id} to reach {sorted(wanted)}")
    by_id = {s["span_id"]: s for s in spans}
    # The gateway's server span continues the caller's context.
    gateway_root = [s for s in spans if s["service"] == "gateway" and s["kind"] == "SERVER"]
    assert gateway_root and gateway_root[0]["parent"] == parent_id
    assert gateway_root[0]["name"].startswith("POST ")
    # Booking's request span is the child of the gateway (HTTP hop, context in traceparent).
    booking_server = [s for s in spans if s["service"] == "booking" and s["kind"] == "SERVER"]
    assert booking_server and booking_server[0]["parent"] in by_id
    # Each bus hop: a CONSUMER span in another process linked to the PRODUCER span that published it.
    producers = {s["span_id"]: s for s in spans if s["kind"] == "PRODUCER"}
    hops = defaultdict(set)
    for consumer in (s for s in spans if s["kind"] == "CONSUMER"):
        for link_trace, link_span in consumer["links"]:
            assert link_trace == trace_id
            producer = producers.get(link_span)
            if producer is not None:
                assert consumer["parent"] == producer["span_id"]
                hops[producer["service"]].add(consumer["service"])
    assert "payments" in hops.get("booking", set()), dict(hops)  # booking asks payments over the bus
    assert any(consumers for publisher, consumers in hops.items() if "booking" in consumers), dict(hops)
    # Outbox rows carried the context: the relay's publish continues the span that wrote the row.
    assert all(p["parent"] in by_id for p in producers.values() if p["parent"])


def sample(text: str, name: str, **labels) -> float:
    """The sum of ``name``'s samples whose labels include ``labels`` (0 when none)."""
    total = 0.0
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                total += s.value
    return total


async def scrape(system) -> dict[str, str]:
    async with httpx.AsyncClient(timeout=30) as client:
        pages = {}
        for name in ("gateway", "booking", "inventory", "payments", "notifications"):
            answer = await client.get(f"{system.layout.url(name)}/metrics")
            assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
            pages[name] = answer.text
        return pages


async def test_metrics_move_as_a_booking_goes_through_the_saga(http, desk, system):
    before = await scrape(system)
    guest = Guest(http, HOTEL)
    stay = {"check_in": guest.today().isoformat(), "check_out": (guest.today() + timedelta(days=2)).isoformat()}
    for _ in range(2):  # the guest looks twice: the second answer comes from the availability cache
        assert (await http.get(f"/api/v1/hotels/{HOTEL}/availability", params=stay)).status_code == 200
    await guest.book()
    await through_the_saga(http, desk, guest)

    async def moved():
        after = await scrape(system)
        checks = {
            "gateway booking POST latency observed": sample(
                after["gateway"], "hotelmate_http_request_duration_seconds_count", method="POST")
            > sample(before["gateway"], "hotelmate_http_request_duration_seconds_count", method="POST"),
            "gateway labels proxied requests by service": 'route="/api/v1/* -> booking"' in after["gateway"],
            "booking labels by route template": 'route="/api/v1/hotels/{hotel}/bookings"' in after["booking"]
            and 'route="/api/v1/hotels/{hotel}/bookings/{booking_id}"' in after["booking"]
            and f"/bookings/{guest.booking_id}" not in after["booking"],
            "one more CONFIRMED booking": sample(after["booking"], "hotelmate_bookings", status="CONFIRMED")
            == sample(before["booking"], "hotelmate_bookings", status="CONFIRMED") + 1,
            "booking published": sample(after["booking"], "hotelmate_messages_published_total")
            > sample(before["booking"], "hotelmate_messages_published_total"),
            "payments consumed": sample(after["payments"], "hotelmate_messages_consumed_total", outcome="ok")
            > sample(before["payments"], "hotelmate_messages_consumed_total", outcome="ok"),
            "booking consumed": sample(after["booking"], "hotelmate_messages_consumed_total", outcome="ok")
            > sample(before["booking"], "hotelmate_messages_consumed_total", outcome="ok"),
            "webhook stored": sample(after["payments"], "hotelmate_webhooks_total", outcome="stored")
            > sample(before["payments"], "hotelmate_webhooks_total", outcome="stored"),
            "stripe calls timed": sample(after["payments"], "hotelmate_stripe_request_duration_seconds_count")
            > sample(before["payments"], "hotelmate_stripe_request_duration_seconds_count"),
            "emails sent": sample(after["notifications"], "hotelmate_emails_total", outcome="sent")
            > sample(before["notifications"], "hotelmate_emails_total", outcome="sent"),
            "cache lookups": sample(after["inventory"], "hotelmate_availability_cache_lookups")
            > sample(before["inventory"], "hotelmate_availability_cache_lookups"),
            "cache hit ratio": 0 < sample(after["inventory"], "hotelmate_availability_cache_hit_ratio") <= 1,
        }
        return [what for what, ok in checks.items() if not ok], after

    deadline = time.monotonic() + 60
    while True:
        missing, after = await moved()
        if not missing:
            break
        assert time.monotonic() < deadline, f"metrics that did not move: {missing}"
        await asyncio.sleep(0.5)
    # Gauges read at scrape time are there and sane.
    assert sample(after["booking"], "hotelmate_outbox_lag_seconds") >= 0
    assert "hotelmate_dead_letters" in after["payments"]
    assert sample(after["booking"], "hotelmate_bookings_past_deadline") == 0


async def test_json_logs_name_the_booking_and_never_its_token(http, desk, system):
    guest = Guest(http, HOTEL)
    await guest.book()
    await through_the_saga(http, desk, guest)

    def about_the_booking():
        found = {}
        for name in ("booking", "payments", "inventory", "notifications"):
            for line in system.processes[name].lines:
                if guest.booking_id in line and line.lstrip().startswith("{"):
                    found.setdefault(name, []).append(json.loads(line))
        return found if {"booking", "payments", "notifications"} <= set(found) else None

    found = await wait_until(about_the_booking, what=f"log lines about {guest.booking_id}")
    for name, docs in found.items():
        for doc in docs:
            assert doc["service"] == name and doc["level"] and doc["logger"]
            assert guest.booking_id in (doc["booking_id"], doc["correlation_id"]), (name, doc)
    for name in ("booking", "payments", "inventory", "notifications", "gateway"):
        lines = system.processes[name].lines
        assert not any(guest.token in line for line in lines), f"{name} logged a guest token"
        service_lines = [line for line in lines if line.strip()]
        not_json = [line for line in service_lines[-50:] if not line.lstrip().startswith("{")]
        assert not not_json, f"{name}: not JSON lines: {not_json[:3]}"
