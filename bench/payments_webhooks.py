"""Stripe webhook throughput and webhook-to-PaymentAuthorized latency of the payments service.

Starts the Stripe emulator and payments as separate processes (real PostgreSQL and RabbitMQ, own
database prefix and bus namespace), turns the emulator's own delivery off, authorises cards on the
emulator, then delivers the resulting signed events itself:
  * latency: one ``checkout.session.completed`` per booking, 10 at a time; the clock runs from
    sending the webhook to PaymentAuthorized reaching this script's queue on the bus (p50/p95/p99);
  * throughput: every event of many bookings (completed, amount_capturable_updated, charge.succeeded,
    plus one duplicate of each) fired 50 at a time: events per second stored (all answered 2xx) and
    processed (all marked processed in payments' database).
Run: ``.venv/bin/python bench/payments_webhooks.py [--latency-bookings 200] [--throughput-bookings 400]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
import uuid
from datetime import datetime, timedelta, timezone

PID = os.getpid()
os.environ.setdefault("HOTELMATE_DB_PREFIX", f"hmbench_{PID}_")
os.environ.setdefault("HOTELMATE_BUS_NAMESPACE", f"hmbench{PID}")

import aio_pika  # noqa: E402
import httpx  # noqa: E402
import stripe  # noqa: E402
from sqlalchemy import text  # noqa: E402

from hotelmate_devtools.cleanup import percentile, remove_run  # noqa: E402
from hotelmate_contracts import Envelope, Money, wrap  # noqa: E402
from hotelmate_contracts.saga import RequestCheckout  # noqa: E402
from hotelmate_devtools.system import WEBHOOK_SECRET, Layout, System  # noqa: E402
from hotelmate_platform.db import Database  # noqa: E402
from hotelmate_platform.messaging import Bus  # noqa: E402
from hotelmate_platform.settings import PlatformSettings  # noqa: E402

ENV = {"HOTELMATE_STRIPE_WEBHOOK_RATE_PER_SECOND": "100000", "HOTELMATE_STRIPE_WEBHOOK_RATE_BURST": "100000",
       "HOTELMATE_OUTBOX_POLL_SECONDS": "0.2", "HOTELMATE_PAYMENTS_WORKER_POLL_SECONDS": "0.05"}


class Bench:
    def __init__(self, system: System, bus: Bus, db: Database) -> None:
        self.system, self.bus, self.db = system, bus, db
        self.emulator = system.layout.url("stripe-emulator")
        self.webhook = f"{system.layout.url('payments')}/webhooks/stripe"
        self.http = httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=100))
        self.seen: dict[tuple[str, str], asyncio.Future] = {}

    def expect(self, booking_id: str, kind: str) -> asyncio.Future:
        return self.seen.setdefault((booking_id, kind), asyncio.get_running_loop().create_future())

    async def on_message(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        async with message.process():
            envelope = Envelope.model_validate_json(message.body)
            future = self.expect(envelope.payload["booking_id"], envelope.type.split(".")[1])
            if not future.done():
                future.set_result((time.perf_counter(), envelope.payload))

    async def authorised_events(self, limit: asyncio.Semaphore) -> tuple[str, list[dict]]:
        """A booking whose card was authorised (webhooks held back): its id and its events."""
        async with limit:
            booking_id = f"BK-2026-{uuid.uuid4().hex[:10]}"
            created = self.expect(booking_id, "checkout_created")
            await self.bus.publish(wrap(RequestCheckout(
                booking_id=booking_id, hotel="bench", hotel_name="Bench", amount=Money.of("240.00", "EUR"),
                description="2 nights", customer_email="guest@example.com", return_url="http://127.0.0.1/return",
                expires_at=datetime.now(timezone.utc) + timedelta(minutes=30))))
            _, payload = await asyncio.wait_for(created, 30)
            session_id = payload["checkout_url"].rstrip("/").rsplit("/", 1)[-1]
            paid = (await self.http.post(f"{self.emulator}/_emulator/checkout/sessions/{session_id}/pay",
                                         json={"card_number": "4242424242424242"})).json()
            return booking_id, paid["payment_intent"]["id"]

    async def events_by_intent(self) -> dict[str, list[dict]]:
        rows = (await self.http.get(f"{self.emulator}/_emulator/events")).json()["data"]
        out: dict[str, list[dict]] = {}
        for row in rows:
            obj = row["event"]["data"]["object"]
            intent = obj.get("payment_intent") if obj.get("object") != "payment_intent" else obj["id"]
            out.setdefault(intent, []).append(row["event"])
        return out

    async def deliver(self, event: dict) -> int:
        body = json.dumps(event)
        header = stripe.WebhookSignature.generate_signature_header(body, WEBHOOK_SECRET)
        for attempt in range(3):  # a keep-alive connection the server closed while idle: send again
            try:
                r = await self.http.post(self.webhook, content=body.encode(), headers={"Stripe-Signature": header})
                return r.status_code
            except httpx.TransportError:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def prepare(self, n: int) -> list[tuple[str, list[dict]]]:
        limit = asyncio.Semaphore(20)
        pairs = await asyncio.gather(*(self.authorised_events(limit) for _ in range(n)))
        events = await self.events_by_intent()
        return [(booking_id, events[intent]) for booking_id, intent in pairs]

    async def latency(self, n: int) -> list[float]:
        bookings = await self.prepare(n)
        limit, samples = asyncio.Semaphore(10), []

        async def one(booking_id: str, events: list[dict]) -> None:
            async with limit:
                completed = next(e for e in events if e["type"] == "checkout.session.completed")
                authorised = self.expect(booking_id, "payment_authorized")
                start = time.perf_counter()
                assert await self.deliver(completed) == 200
                at, _ = await asyncio.wait_for(authorised, 30)
                samples.append((at - start) * 1000)

        await asyncio.gather(*(one(b, e) for b, e in bookings))
        return samples

    async def throughput(self, n: int) -> tuple[int, float, float]:
        bookings = await self.prepare(n)
        wanted = ("checkout.session.completed", "payment_intent.amount_capturable_updated", "charge.succeeded")
        events = [e for _, evs in bookings for e in evs if e["type"] in wanted]
        unique = len(events)
        events = events + events  # Stripe resends: every event twice
        limit = asyncio.Semaphore(50)

        async def send(event: dict) -> None:
            async with limit:
                assert await self.deliver(event) == 200

        start = time.perf_counter()
        await asyncio.gather(*(send(e) for e in events))
        stored = time.perf_counter() - start
        while True:
            async with self.db.unit_of_work() as uow:
                left = (await uow.session.execute(text(
                    "SELECT count(*) FROM stripe_events WHERE processed_at IS NULL"))).scalar_one()
            if not left:
                break
            await asyncio.sleep(0.02)
        processed = time.perf_counter() - start
        return unique, len(events) / stored, unique / processed




async def run(system: System, latency_n: int, throughput_n: int) -> None:
    settings = PlatformSettings()
    bus = Bus(settings.amqp_url, settings.bus_namespace)
    await bus.connect()
    db = Database(settings.database_url("payments"), pool_size=2, max_overflow=0)
    bench = Bench(system, bus, db)
    queue = await bus.channel.declare_queue(exclusive=True, auto_delete=True)
    for kind in ("checkout_created", "payment_authorized"):
        await queue.bind(bus.exchange, routing_key=f"payments.{kind}")
    await queue.consume(bench.on_message)
    await bench.http.post(f"{bench.emulator}/_emulator/config", json={"webhook_url": ""})
    try:
        samples = await bench.latency(latency_n)
        print(f"webhook -> PaymentAuthorized ({len(samples)} bookings, 10 concurrent): "
              f"p50 {percentile(samples, 50):.1f} ms  p95 {percentile(samples, 95):.1f} ms  p99 {percentile(samples, 99):.1f} ms")
        unique, stored_rate, processed_rate = await bench.throughput(throughput_n)
        print(f"throughput ({unique} events + {unique} duplicates, 50 concurrent senders): "
              f"stored {stored_rate:.0f} deliveries/s, processed {processed_rate:.0f} events/s")
    finally:
        await bench.http.aclose()
        await bus.close()
        await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description="payments webhook benchmark")
    parser.add_argument("--latency-bookings", type=int, default=200)
    parser.add_argument("--throughput-bookings", type=int, default=400)
    args = parser.parse_args()
    system = System(Layout.random_ports(ENV), echo=False)
    try:
        system.start(["stripe-emulator", "payments"])
        started = time.perf_counter()
        asyncio.run(run(system, args.latency_bookings, args.throughput_bookings))
        print(f"(benchmark ran {time.perf_counter() - started:.0f} s)")
    finally:
        system.stop()
        remove_run(PlatformSettings())


if __name__ == "__main__":
    main()
