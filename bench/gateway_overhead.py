"""The gateway's added latency per request and its requests per second.

Starts the real inventory service and the gateway (fresh databases of their own), creates one
hotel, then times ``GET /api/v1/hotels/{hotel}`` sequentially straight to inventory and through
the gateway (p50, p95, and the difference), and measures requests per second through the gateway
with concurrent clients. Rate limits are raised so that they do not shape the figures.
"""

import asyncio
import collections
import os
import secrets
import statistics
import time

import httpx

from hotelmate_devtools.cleanup import percentile, remove_run  # noqa: E402
from hotelmate_devtools.system import Layout, System  # noqa: E402
from hotelmate_platform.settings import PlatformSettings  # noqa: E402

SEQUENTIAL = 1000
CONCURRENCY = 32
THROUGHPUT_SECONDS = 8
HOTEL = "bench-hotel"




def timed_gets(base: str, count: int) -> list[float]:
    out = []
    with httpx.Client(base_url=base, timeout=10) as client:
        for _ in range(50):  # warm-up: connections and caches
            client.get(f"/api/v1/hotels/{HOTEL}")
        for _ in range(count):
            start = time.perf_counter()
            answer = client.get(f"/api/v1/hotels/{HOTEL}")
            out.append((time.perf_counter() - start) * 1000)
            assert answer.status_code == 200, answer.text
    return out


async def throughput(base: str, refused: collections.Counter) -> float:
    done = 0
    deadline = time.perf_counter() + THROUGHPUT_SECONDS

    async def worker(client):
        nonlocal done
        while time.perf_counter() < deadline:
            answer = await client.get(f"/api/v1/hotels/{HOTEL}")
            if answer.status_code == 200:
                done += 1
            else:
                refused[(base, answer.status_code)] += 1

    limits = httpx.Limits(max_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=base, timeout=10, limits=limits) as client:
        start = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(CONCURRENCY)))
        return done / (time.perf_counter() - start)


def main() -> None:
    run = f"hmbench_{os.getpid()}_"
    admin_password = secrets.token_urlsafe(16)
    env = {
        "HOTELMATE_DB_PREFIX": run, "HOTELMATE_BUS_NAMESPACE": run.rstrip("_"),
        "HOTELMATE_ADMIN_EMAIL": "bench@hotelmate.test", "HOTELMATE_ADMIN_PASSWORD": admin_password,
        "HOTELMATE_JWT_SECRET": secrets.token_hex(32), "HOTELMATE_LOG_LEVEL": "WARNING",
        "HOTELMATE_GATEWAY_PUBLIC_BURST": "100000000", "HOTELMATE_GATEWAY_PUBLIC_RATE_PER_MINUTE": "100000000",
    }
    system = System(Layout.random_ports(env), echo=bool(os.environ.get("BENCH_ECHO")))
    try:
        system.start(["inventory", "gateway"])
        gateway, inventory = system.layout.url("gateway"), system.layout.url("inventory")
        token = httpx.post(f"{gateway}/api/v1/auth/token",
                           json={"email": "bench@hotelmate.test", "password": admin_password}).json()["access_token"]
        created = httpx.put(f"{gateway}/api/v1/staff/hotels/{HOTEL}", headers={"Authorization": f"Bearer {token}"},
                            json={"name": "Bench Hotel", "timezone": "Europe/Paris", "currency": "EUR",
                                  "staff_email": "staff@bench.test"})
        assert created.status_code < 300, created.text
        direct = timed_gets(inventory, SEQUENTIAL)
        through = timed_gets(gateway, SEQUENTIAL)
        refused = collections.Counter()
        rps_direct = asyncio.run(throughput(inventory, refused))
        rps_gateway = asyncio.run(throughput(gateway, refused))
        if refused:  # not counted as throughput; show where they came from
            print(f"non-200 answers under load: {dict(refused)}")
            for name, process in system.processes.items():
                for line in process.lines:
                    if "ERROR" in line or "Error" in line:
                        print(f"{name} | {line.rstrip()}")
    finally:
        system.stop()
        remove_run(PlatformSettings(db_prefix=run, bus_namespace=run.rstrip("_")))
    d50, d95 = statistics.median(direct), percentile(direct, 95)
    g50, g95 = statistics.median(through), percentile(through, 95)
    print(f"GET /api/v1/hotels/{{hotel}}, {SEQUENTIAL} sequential requests each, keep-alive:")
    print(f"  direct to inventory : p50 {d50:6.2f} ms  p95 {d95:6.2f} ms")
    print(f"  through the gateway : p50 {g50:6.2f} ms  p95 {g95:6.2f} ms")
    print(f"  added by the gateway: p50 {g50 - d50:6.2f} ms  p95 {g95 - d95:6.2f} ms")
    print(f"requests per second ({CONCURRENCY} concurrent clients, {THROUGHPUT_SECONDS} s, one process each):")
    print(f"  direct to inventory : {rps_direct:8.0f}/s")
    print(f"  through the gateway : {rps_gateway:8.0f}/s")


if __name__ == "__main__":
    main()
