"""Booking saga latency through the gateway, every service a separate process.

Prints, at 1 and 50 concurrent clients, p50/p95/p99 of
  * POST /bookings → PENDING_PAYMENT with a checkout URL (hold placed, Checkout Session created), and
  * authorisation → PENDING_APPROVAL (from the moment the card is authorised to the guest seeing it),
and bookings per second (the whole way to PENDING_APPROVAL).

Payment: by default the real payments service and the Stripe emulator (the guest submits the test card
on the emulator's checkout page; the clock starts when that POST returns). With ``--play-payments``,
or when payments does not start, this script plays payments on the bus instead (it answers
RequestCheckout with CheckoutCreated and publishes PaymentAuthorized itself); the mode is printed.
A status is observed when its BookingStatusChanged (published in the same transaction as the status
and the checkout URL) reaches this script's queue on the bus: no polling load on the services.
Run: ``.venv/bin/python bench/booking_saga.py [--play-payments] [--bookings-at-50 500]``
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import datetime, timezone

from hotelmate_devtools.system import Layout, System, bench_environment  # noqa: E402

bench_environment("hmbench")

import httpx  # noqa: E402
from hotelmate_devtools.flows.booking import Desk, Guest, PaymentsOnTheBus  # noqa: E402

from hotelmate_devtools.cleanup import percentile, remove_run  # noqa: E402
from hotelmate_contracts import CheckoutCreated, Envelope, PaymentAuthorized  # noqa: E402
from hotelmate_devtools.busprobe import BusProbe  # noqa: E402
from hotelmate_platform.settings import PlatformSettings  # noqa: E402

HOTEL = "bench-hotel"
FULL = ["stripe-emulator", "smtp-sink", "inventory", "booking", "payments", "notifications", "gateway"]
WITHOUT_PAYMENTS = ["inventory", "booking", "notifications", "gateway"]




class StatusWatcher(BusProbe):
    """Resolves a future when a booking reaches a status (from booking.status_changed on the bus)."""

    def __init__(self) -> None:
        settings = PlatformSettings()
        super().__init__(settings.amqp_url, settings.bus_namespace, "booking.status_changed")
        self.waiting: dict[tuple[str, str], asyncio.Future] = {}
        self.reached: dict[tuple[str, str], float] = {}

    async def _received(self, message) -> None:
        payload = Envelope.model_validate_json(message.body).payload
        key = (payload["booking_id"], payload["to_status"])
        self.reached[key] = time.perf_counter()
        if key in self.waiting and not self.waiting[key].done():
            self.waiting[key].set_result(None)

    async def wait(self, booking_id: str, status: str, timeout: float = 60) -> float:
        key = (booking_id, status)
        if key not in self.reached:
            self.waiting[key] = asyncio.get_running_loop().create_future()
            await asyncio.wait_for(self.waiting[key], timeout)
        return self.reached[key]


class Run:
    def __init__(self, http: httpx.AsyncClient, payments: PaymentsOnTheBus | None, watcher: StatusWatcher) -> None:
        self.http, self.payments, self.watcher = http, payments, watcher
        self.to_pending_payment: list[float] = []
        self.to_pending_approval: list[float] = []
        self.post: list[float] = []

    async def one(self, n: int) -> None:
        guest = Guest(self.http, HOTEL)
        began = time.perf_counter()
        await guest.book(days_ahead=n % 500, nights=1)
        start = began
        self.post.append(time.perf_counter() - began)
        if self.payments:
            checkout = await self.payments.command(guest.booking_id, "payments.request_checkout", timeout=60)
            await self.payments.publish(CheckoutCreated(booking_id=guest.booking_id, expires_at=checkout["expires_at"],
                                                        checkout_url=f"https://pay.bench/c/{guest.booking_id}"))
        self.to_pending_payment.append(await self.watcher.wait(guest.booking_id, "PENDING_PAYMENT") - start)
        view = await guest.view()
        if self.payments:
            await self.payments.publish(PaymentAuthorized(booking_id=guest.booking_id, amount=view["price"]["total"],
                                                          authorized_at=datetime.now(timezone.utc)))
        else:
            await guest.pay(view["payment"]["checkout_url"])
        authorised = time.perf_counter()
        self.to_pending_approval.append(await self.watcher.wait(guest.booking_id, "PENDING_APPROVAL") - authorised)

    async def clients(self, concurrency: int, bookings: int) -> float:
        counter = iter(range(bookings))

        async def client() -> None:
            for n in counter:
                await self.one(n + concurrency * 1000)

        began = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(concurrency)))
        return bookings / (time.perf_counter() - began)


def report(label: str, run: Run, rate: float) -> None:
    ms = lambda xs, q: f"{percentile(xs, q) * 1000:7.1f}"  # noqa: E731
    print(f"{label}: {len(run.to_pending_payment)} bookings, {rate:.1f} bookings/s")
    for name, xs in (("POST answered (202)           ", run.post),
                     ("POST → PENDING_PAYMENT+checkout", run.to_pending_payment),
                     ("authorised → PENDING_APPROVAL ", run.to_pending_approval)):
        print(f"  {name}  p50 {ms(xs, 50)} ms  p95 {ms(xs, 95)} ms  p99 {ms(xs, 99)} ms")


async def bench(system: System, play_payments: bool, at_one: int, at_fifty: int) -> None:
    payments = None
    if play_payments:
        settings = PlatformSettings()
        payments = PaymentsOnTheBus(settings.amqp_url, settings.bus_namespace)
        await payments.start()
    watcher = StatusWatcher()
    await watcher.start()
    limits = httpx.Limits(max_connections=100)
    async with httpx.AsyncClient(base_url=system.layout.url("gateway"), timeout=60, limits=limits) as http:
        desk = Desk(http)
        await desk.login()
        await desk.open_hotel(HOTEL, rooms=20)
        await Run(http, payments, watcher).clients(1, 5)  # warm-up
        for concurrency, bookings in ((1, at_one), (50, at_fifty)):
            run = Run(http, payments, watcher)
            rate = await run.clients(concurrency, bookings)
            report(f"{concurrency} concurrent client(s)", run, rate)
    if payments:
        await payments.stop()
    await watcher.connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description="booking saga latency")
    parser.add_argument("--play-payments", action="store_true")
    parser.add_argument("--bookings-at-1", type=int, default=100)
    parser.add_argument("--bookings-at-50", type=int, default=1000)
    args = parser.parse_args()
    play = args.play_payments
    system = System(Layout.random_ports(), echo=False)
    try:
        try:
            system.start(WITHOUT_PAYMENTS if play else FULL)
        except RuntimeError as exc:
            if play:
                raise
            print(f"the full system does not start ({str(exc).splitlines()[0]}); playing payments on the bus")
            system.stop()
            system = System(Layout.random_ports(), echo=False)
            system.start(WITHOUT_PAYMENTS)
            play = True
        print("mode:", "payments played on the bus" if play else "real payments + Stripe emulator")
        asyncio.run(bench(system, play, args.bookings_at_1, args.bookings_at_50))
    finally:
        system.stop()
        remove_run(PlatformSettings())


if __name__ == "__main__":
    main()
