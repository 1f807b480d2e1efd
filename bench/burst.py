"""A burst of bookings through the gateway: 300 guests POST at the same instant, for one hotel.

Every service is a separate process on real PostgreSQL and RabbitMQ, with the Stripe emulator and
the SMTP sink, default settings except that the gateway trusts ``X-Forwarded-For`` (each guest
comes from its own address, so the per-address public limit applies per guest). Guests are
well-behaved: on ``429``/``503`` they wait ``Retry-After`` and retry with the same Idempotency-Key.

Prints, per burst: p50/p95/p99 of every POST answer, the answers by status, the share accepted at
the first try and after retries (target at least 99.9 %); and how long the saga backlog took to
drain: until every accepted booking has left REQUESTED (hold decided, Checkout Session created:
PENDING_PAYMENT) and the services' queues are empty (emails sent).
The first burst drains alone; the next ones are sent back to back while the previous still drains.
Run: ``.venv/bin/python bench/burst.py [--guests 300] [--bursts 3] [--profile booking,inventory]``
(``--profile`` records the named services with py-spy, if installed, during the first burst; the
raw stacks go to /tmp/burst-<service>.raw).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

RUN = f"hmburst{os.getpid()}"
# This run's own databases and queues; default settings but one: each guest has its own address.
for name, value in {"DB_PREFIX": f"{RUN}_", "BUS_NAMESPACE": RUN, "ADMIN_EMAIL": "admin@hotelmate.test",
                    "ADMIN_PASSWORD": secrets.token_urlsafe(16), "JWT_SECRET": secrets.token_hex(32),
                    "LOG_LEVEL": "WARNING", "GATEWAY_TRUST_FORWARDED_FOR": "true"}.items():
    os.environ.setdefault(f"HOTELMATE_{name}", value)

import httpx  # noqa: E402
from hotelmate_devtools.flows.booking import Desk  # noqa: E402
from hotelmate_devtools.flows.burst import Watcher, burst, report  # noqa: E402

from hotelmate_devtools.cleanup import remove_run  # noqa: E402
from hotelmate_devtools.system import Layout, System  # noqa: E402
from hotelmate_platform.settings import PlatformSettings  # noqa: E402

HOTEL = "burst-hotel"
NAMES = ["stripe-emulator", "smtp-sink", "inventory", "booking", "payments", "notifications", "gateway"]


def profile(system: System, services: list[str], seconds: int) -> list[subprocess.Popen]:
    pyspy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    return [subprocess.Popen([pyspy, "record", "-p", str(system.processes[name].popen.pid), "-d", str(seconds),
                              "--nonblocking", "--format", "raw", "-o", f"/tmp/burst-{name}.raw"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for name in services]


async def bench(system: System, guests: int, bursts: int, profiled: list[str]) -> None:
    watcher = Watcher()
    await watcher.start()
    gateway = system.layout.url("gateway")
    async with httpx.AsyncClient(base_url=gateway, timeout=30) as http:
        desk = Desk(http)
        await desk.login()
        await desk.open_hotel(HOTEL, rooms=5)
        today = datetime.now(ZoneInfo("Europe/Paris")).date()
        profilers: list[subprocess.Popen] = []
        first = await burst(gateway, HOTEL, today, range(guests),
                            on_start=lambda: profilers.extend(profile(system, profiled, 15)))
        report("burst 1 (on an idle system)", first)
        settled, empty = await watcher.drained(first.booking_ids())
        print(f"  drained: every booking PENDING_PAYMENT {settled - first.began:5.1f} s after the burst, "
              f"queues empty {empty - first.began:5.1f} s after it")
        results = []
        for k in range(1, bursts):
            results.append(await burst(gateway, HOTEL, today, range(k * guests, (k + 1) * guests)))
            report(f"burst {k + 1} (the previous one still draining)", results[-1])
        if results:
            ids = set().union(*(r.booking_ids() for r in results))
            settled, empty = await watcher.drained(ids)
            began = results[0].began
            print(f"bursts 2..{bursts} drained: every booking PENDING_PAYMENT {settled - began:5.1f} s after burst 2 "
                  f"began, queues empty {empty - began:5.1f} s after it")
    await watcher.connection.close()
    for profiler in profilers:
        profiler.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description="a burst of bookings")
    parser.add_argument("--guests", type=int, default=300)
    parser.add_argument("--bursts", type=int, default=3)
    parser.add_argument("--profile", default="", help="services to record with py-spy, comma-separated")
    args = parser.parse_args()
    system = System(Layout.random_ports(), echo=bool(os.environ.get("BENCH_ECHO")))
    try:
        system.start(NAMES)
        asyncio.run(bench(system, args.guests, args.bursts, [n for n in args.profile.split(",") if n]))
        errors = [f"{name} | {line.rstrip()}" for name, p in system.processes.items() for line in p.lines
                  if " ERROR " in line or "Traceback" in line]
        if errors:
            print(f"{len(errors)} error lines in the services' logs, the first ones:", *errors[:10], sep="\n  ")
    finally:
        system.stop()
        remove_run(PlatformSettings())


if __name__ == "__main__":
    main()
