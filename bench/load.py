"""Load through the gateway, the whole system on this machine: how throughput grows with clients.

Starts every process (as ``make run`` does, on random ports, in its own databases and bus namespace),
raises the gateway's rate limits, opens one hotel of 5 room types x 20 rooms, then plays guests:

* closed loop (``--clients 1,10,50,100``): at each level, N clients do availability for a while, then
  quotes, then full sagas with staff approval (request, pay on the Stripe emulator's checkout page, the
  desk approves, CONFIRMED), each guest watching its booking (long poll ``?wait_for=`` when the booking
  service offers it, else polling every 50 ms);
* open loop (``--rate 10``): a new saga starts every 1/rate seconds, whatever the answers' speed.

Clients behave as the burst's guests do: a refusal with ``Retry-After`` (429/503, admission control)
is retried after it (a booking POST keeps its Idempotency-Key) and counted as refused, not as an error.

For each level it prints (and writes as JSON) throughput and p50/p95/p99 per operation and per saga
leg (POST -> PENDING_PAYMENT, card -> PENDING_APPROVAL, approve -> CONFIRMED), errors by kind, the CPU
share of each process and the load average. At the end it checks the invariants (bench/load_checks.py):
both reconcile commands exit 0, no night is over capacity, and no email is lost or sent twice (every
booking a guest saw CONFIRMED reached the SMTP sink with its four emails, each once). Each phase starts
once the system is quiet again (its processes and servers under 15 % of one core for half a second, at
most 30 s of waiting): the tail of the phase before (emails still going out, queues draining) is not
counted against the next one.

* burst (``--burst 300``, first, on the idle system): that many guests POST a booking at the same instant,
  each from its own address, retrying ``429``/``503`` after ``Retry-After`` with the same Idempotency-Key
  (hotelmate_devtools/flows/burst.py, shared with bench/burst.py and the e2e test): p50/p95/p99 of the POST answer,
  creation success at the first try and after retries, and how long the saga backlog took to drain.

Run: ``.venv/bin/python bench/load.py [--clients 1,10,50,100] [--seconds 24] [--rate 10] [--burst 300] [--json out.json]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from hotelmate_devtools.system import Layout, System, bench_environment

bench_environment("hmload")
os.environ.setdefault("HOTELMATE_JWT_TTL_SECONDS", "86400")  # one staff login for the whole run
os.environ.setdefault("HOTELMATE_GATEWAY_TRUST_FORWARDED_FOR", "true")  # a burst's guests each have an address
os.environ.setdefault("SMTP_SINK_KEEP", "1000000")  # every email of the run, to check that none was lost

import aiohttp  # noqa: E402
from hotelmate_devtools.flows.burst import Watcher, burst, report  # noqa: E402

from hotelmate_devtools.cleanup import percentile, remove_run  # noqa: E402
from hotelmate_platform.settings import PlatformSettings  # noqa: E402
from load_checks import (RECONCILE, cache_stats, email_check, occupancy_over_capacity,  # noqa: E402
                         invariant_lines, reconcile, violated)  # (bench/load_checks.py)
from load_report import CpuMeter, Recorder, growth, summary, table  # noqa: E402  (bench/load_report.py)

HOTEL = "load-hotel"
TZ = "Europe/Paris"
ROOM_TYPES = ("DBL", "TWN", "SGL", "FAM", "STE")
ROOMS_PER_TYPE = 20
STAY_NIGHTS = 14  # what availability and quotes ask about
SEARCH_DAYS = 28  # ... arriving within the next four weeks (bookings spread over the year, for capacity)
FULL = ["stripe-emulator", "smtp-sink", "inventory", "booking", "payments", "notifications", "gateway"]
GOOD_CARD = "4242424242424242"
GUEST_EMAIL = "ada@example.test"
STAFF_EMAIL = f"desk@{HOTEL}.test"
# A confirmed booking's emails: received, payment authorised, confirmed (guest), approval needed (staff).
EMAILS_PER_CONFIRMED = {GUEST_EMAIL: 3, STAFF_EMAIL: 1}
POLL_SECONDS = 0.05
WAIT_SECONDS = 60  # a saga leg slower than this counts as an error


class Failed(Exception):
    """One operation answered something else than expected (its kind is counted, the client goes on)."""


class Client:
    """What guests and the desk do through the gateway, each call timed into the recorder."""

    def __init__(self, http: aiohttp.ClientSession, staff_headers: dict[str, str], long_poll: bool) -> None:
        self.http, self.staff, self.long_poll = http, staff_headers, long_poll
        self.today = datetime.now(ZoneInfo(TZ)).date()
        self.confirmed: list[str] = []  # every booking a guest saw CONFIRMED, for the email check

    async def call(self, rec: Recorder, op: str, method: str, url: str, *, expect=(200,), **kwargs) -> dict:
        """One operation; a refusal with Retry-After (admission control) is retried after it, as a
        well-behaved client does, and counted apart from errors."""
        while True:
            began = time.perf_counter()
            try:
                async with self.http.request(method, url, **kwargs) as answer:
                    body = await answer.read()
                    status, retry_after = answer.status, answer.headers.get("Retry-After")
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                rec.error(f"{op}: {type(exc).__name__}")
                raise Failed(op) from None
            rec.op(op, time.perf_counter() - began)
            if status not in (429, 503) or not retry_after:
                break
            rec.refused[f"{op}: HTTP {status}"] += 1
            await asyncio.sleep(float(retry_after) * (1 + random.random() / 2))
        if status not in expect:
            rec.error(f"{op}: HTTP {status}")
            raise Failed(op)
        return json.loads(body) if body and body[:1] in (b"{", b"[") else {}

    def stay(self, rng: random.Random, nights: int, *, within_days: int = 330) -> tuple[date, date]:
        check_in = self.today + timedelta(days=rng.randint(1, within_days))
        return check_in, check_in + timedelta(days=nights)

    async def availability(self, rec: Recorder, rng: random.Random) -> None:
        check_in, check_out = self.stay(rng, STAY_NIGHTS, within_days=SEARCH_DAYS)
        await self.call(rec, "availability", "GET", f"/api/v1/hotels/{HOTEL}/availability",
                        params={"check_in": check_in.isoformat(), "check_out": check_out.isoformat(), "adults": "2"})

    async def quote(self, rec: Recorder, rng: random.Random) -> None:
        check_in, check_out = self.stay(rng, STAY_NIGHTS, within_days=SEARCH_DAYS)
        await self.call(rec, "quote", "POST", f"/api/v1/hotels/{HOTEL}/quotes",
                        json={"room_type": rng.choice(ROOM_TYPES), "check_in": check_in.isoformat(),
                              "check_out": check_out.isoformat(), "adults": 2, "children": 0})

    async def saga(self, rec: Recorder, rng: random.Random) -> None:
        """Request, pay, approve; each leg timed until the guest sees the next status."""
        check_in, check_out = self.stay(rng, rng.randint(1, 3))
        began = time.perf_counter()
        key = {"Idempotency-Key": f"load-{rng.getrandbits(64):016x}-{time.monotonic_ns()}"}  # retried as one booking
        placed = await self.call(rec, "POST booking", "POST", f"/api/v1/hotels/{HOTEL}/bookings", expect=(202,),
                                 headers=key, json={
            "room_type": rng.choice(ROOM_TYPES), "check_in": check_in.isoformat(), "check_out": check_out.isoformat(),
            "adults": 2, "children": 0,
            "booker": {"first_name": "Ada", "last_name": "Lovelace", "email": GUEST_EMAIL}})
        booking_id, token = placed["booking_id"], placed["guest_token"]
        view = await self.wait_for(rec, booking_id, token, "PENDING_PAYMENT", checkout=True)
        rec.leg("POST -> PENDING_PAYMENT", time.perf_counter() - began)
        began = time.perf_counter()
        await self.call(rec, "pay (emulator)", "POST", view["payment"]["checkout_url"], expect=(200, 302, 303),
                        data={"card_number": GOOD_CARD}, allow_redirects=False)
        await self.wait_for(rec, booking_id, token, "PENDING_APPROVAL")
        rec.leg("card -> PENDING_APPROVAL", time.perf_counter() - began)
        began = time.perf_counter()
        await self.call(rec, "staff approve", "POST", f"/api/v1/staff/hotels/{HOTEL}/bookings/{booking_id}/approve",
                        expect=(202,), headers=self.staff)
        await self.wait_for(rec, booking_id, token, "CONFIRMED")
        rec.leg("approve -> CONFIRMED", time.perf_counter() - began)
        rec.sagas += 1
        self.confirmed.append(booking_id)

    async def wait_for(self, rec: Recorder, booking_id: str, token: str, status: str, *, checkout: bool = False) -> dict:
        deadline = time.monotonic() + WAIT_SECONDS
        url = f"/api/v1/hotels/{HOTEL}/bookings/{booking_id}"
        headers = {"Authorization": f"Bearer {token}"}
        params = {"wait_for": status, "timeout": "10"} if self.long_poll else None
        op = "GET booking (long poll)" if self.long_poll else "GET booking (poll)"
        while True:
            view = await self.call(rec, op, "GET", url, headers=headers, params=params)
            if view["status"] == status and (not checkout or view["payment"].get("checkout_url")):
                return view
            if view["status"] in ("CANCELLED", "EXPIRED", "REJECTED", "FAILED"):
                rec.error(f"saga ended {view['status']} before {status}")
                raise Failed(status)
            if time.monotonic() > deadline:
                rec.error(f"not {status} after {WAIT_SECONDS}s")
                raise Failed(status)
            if not self.long_poll or view["status"] == status:  # (the status without its checkout URL yet)
                await asyncio.sleep(POLL_SECONDS)


async def quiet(cpu: CpuMeter, *, busy_below: float = 0.15, window: float = 0.5, timeout: float = 30.0) -> None:
    """Wait until the system's processes and servers (not this driver) together use less than
    ``busy_below`` of one core over ``window`` seconds, or ``timeout``: the phase before leaves a
    tail (emails still going out, queues draining) that would otherwise be counted against the next."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = cpu.sample()
        await asyncio.sleep(window)
        used = CpuMeter.used(before, cpu.sample())
        if sum(v for k, v in used.items() if k not in ("load driver", "whole machine")) < busy_below * window:
            return


async def closed_loop(client: Client, work, clients: int, seconds: float, cpu: CpuMeter, unit: str) -> dict:
    """``clients`` loops doing ``work`` back to back for ``seconds``; work started is let finish."""
    await quiet(cpu)
    rec = Recorder()
    stop_at = time.monotonic() + seconds

    async def one(n: int) -> None:
        rng = random.Random(n * 7919 + clients)
        while time.monotonic() < stop_at:
            try:
                await work(rec, rng)
            except Failed:
                pass

    before, began = cpu.sample(), time.perf_counter()
    await asyncio.gather(*(one(n) for n in range(clients)))
    elapsed = time.perf_counter() - began
    return summary(rec, elapsed, CpuMeter.used(before, cpu.sample()), unit)


async def open_loop(client: Client, rate: float, seconds: float, cpu: CpuMeter) -> dict:
    """A new saga every 1/rate seconds for ``seconds``, however long the earlier ones take."""
    await quiet(cpu)
    rec = Recorder()
    tasks = []

    async def one(n: int) -> None:
        try:
            await client.saga(rec, random.Random(n))
        except Failed:
            pass

    before, began = cpu.sample(), time.perf_counter()
    for n in range(int(rate * seconds)):
        await asyncio.sleep(max(0.0, began + n / rate - time.perf_counter()))
        tasks.append(asyncio.create_task(one(n)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - began
    return summary(rec, elapsed, CpuMeter.used(before, cpu.sample()), "saga")


async def burst_phase(system: System, guests: int, cpu: CpuMeter) -> dict:
    """``guests`` simultaneous POSTs, well-behaved retries, then the wait until the backlog drained."""
    await quiet(cpu)
    watcher = Watcher()
    await watcher.start()
    try:
        before = cpu.sample()
        result = await burst(system.layout.url("gateway"), HOTEL, datetime.now(ZoneInfo(TZ)).date(), range(guests))
        report(f"burst of {guests} POSTs (loadavg {Path('/proc/loadavg').read_text().split()[0]})", result)
        settled, empty = await watcher.drained(result.booking_ids())
        used = CpuMeter.used(before, cpu.sample())
    finally:
        await watcher.connection.close()
    ms = {f"p{q}_ms": round(percentile(result.answer_seconds(), q) * 1000, 1) for q in (50, 95, 99)}
    first = {f"p{q}_ms": round(percentile(result.answer_seconds(first_only=True), q) * 1000, 1) for q in (50, 95, 99)}
    out = {"guests": guests, "loadavg": Path("/proc/loadavg").read_text().split()[:3], "post_answer": ms,
           "post_answer_first_try": first, "answers": dict(result.statuses()),
           "accepted_first_try": result.first_try_accepted(), "accepted_after_retries": result.finally_accepted(),
           "distinct_bookings": len(result.booking_ids()), "misbehaving_answers": len(result.misbehaving()),
           "all_pending_payment_seconds": round(settled - result.began, 1),
           "queues_empty_seconds": round(empty - result.began, 1),
           "cpu_ms_per_booking": {name: round(1000 * s / guests, 1) for name, s in used.items()}}
    print(f"  drained: every booking PENDING_PAYMENT {out['all_pending_payment_seconds']} s after the burst, "
          f"queues empty {out['queues_empty_seconds']} s after it")
    print("  cpu ms per booking (creation saga): " + ", ".join(
        f"{k} {v}" for k, v in sorted(out["cpu_ms_per_booking"].items(), key=lambda kv: -kv[1])), flush=True)
    return out


async def open_hotel(http: aiohttp.ClientSession) -> dict[str, str]:
    async with http.post("/api/v1/auth/token", json={"email": os.environ["HOTELMATE_ADMIN_EMAIL"],
                                                      "password": os.environ["HOTELMATE_ADMIN_PASSWORD"]}) as answer:
        assert answer.status == 200, await answer.text()
        staff = {"Authorization": f"Bearer {(await answer.json())['access_token']}"}

    async def put(path: str, body) -> None:
        async with http.put(f"/api/v1/staff/hotels/{HOTEL}{path}", json=body, headers=staff) as answer:
            assert answer.status < 300, f"{path}: {answer.status} {await answer.text()}"

    await put("", {"name": "Load Hotel", "timezone": TZ, "currency": "EUR", "check_in_time": "15:00",
                   "check_out_time": "11:00", "hold_minutes": 30, "approval_hours": 24,
                   "staff_email": STAFF_EMAIL})
    for i, code in enumerate(ROOM_TYPES):
        await put(f"/room-types/{code}", {"name": f"Room {code}", "max_adults": 3, "max_children": 2,
                                          "base_rate": f"{100 + 20 * i}.00"})
        for n in range(ROOMS_PER_TYPE):
            await put(f"/rooms/{(i + 1) * 100 + n}", {"room_type": code, "in_service": True})
    await put("/taxes", [{"code": "CITY", "name": "City tax", "kind": "PER_PERSON_PER_NIGHT", "value": "2.50"},
                         {"code": "VAT", "name": "VAT", "kind": "PERCENT", "value": "10"}])
    await put("/cancellation-policy", {"free_until_hours": 48, "penalty": "FIRST_NIGHT"})
    return staff


async def offers_long_poll(http: aiohttp.ClientSession) -> bool:
    """Whether the booking service answers ``wait_for`` (a 422 for a bad status means it reads it)."""
    async with http.get(f"/api/v1/hotels/{HOTEL}/bookings/LOAD-PROBE", params={"wait_for": "NOT_A_STATUS"},
                        headers={"Authorization": "Bearer probe"}) as answer:
        return answer.status == 422


async def bench(system: System, args) -> dict:
    connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=300)
    timeout = aiohttp.ClientTimeout(total=30)
    results: dict = {"levels": {}}
    async with aiohttp.ClientSession(base_url=system.layout.url("gateway"), connector=connector,
                                     timeout=timeout) as http:
        staff = await open_hotel(http)
        long_poll = await offers_long_poll(http)
        print("guests watch their booking by", "long poll (wait_for)" if long_poll else "polling every 50 ms")
        client = Client(http, staff, long_poll)
        cpu = CpuMeter(system)
        await closed_loop(client, client.saga, 2, 3, cpu, "saga")  # warm-up: every path once, pools filled
        await closed_loop(client, client.availability, 4, 2, cpu, "availability")
        if args.burst:
            results["burst"] = await burst_phase(system, args.burst, cpu)
        phase = args.seconds / 4
        for n in args.clients:
            level = {}
            for work, share in (("availability", 1), ("quote", 1), ("saga", 2)):
                if work in args.works:
                    level[work] = await closed_loop(client, getattr(client, work), n, share * phase, cpu, work)
            results["levels"][str(n)] = level
            for work, result in level.items():
                print(table(f"{n} client(s): {work}", result), flush=True)
        if lines := growth(results["levels"]):
            print("== throughput growth", *lines, sep="\n", flush=True)
        if args.rate:
            result = await open_loop(client, args.rate, args.open_seconds, cpu)
            results["open_loop"] = {"rate": args.rate, **result}
            print(table(f"open loop, {args.rate} new bookings/s", result), flush=True)
        over = await occupancy_over_capacity(http, staff, HOTEL, datetime.now(ZoneInfo(TZ)).date())
    results["catalog_cache"] = await cache_stats(system)
    print("inventory catalogue cache:", results["catalog_cache"])
    results["invariants"] = {"nights_over_capacity": over,
                             "emails": await email_check(system, client.confirmed, EMAILS_PER_CONFIRMED)}
    for module in RECONCILE:
        code, output = await asyncio.to_thread(reconcile, system, module)
        results["invariants"][module] = {"exit": code, **({"output": output} if code else {})}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description="throughput and latency at N clients, through the gateway")
    parser.add_argument("--clients", default="1,10,50,100", help="comma-separated client counts (closed loop)")
    parser.add_argument("--seconds", type=float, default=24, help="length of each level (all three phases)")
    parser.add_argument("--rate", type=float, default=0, help="then an open loop at this many new bookings/s")
    parser.add_argument("--works", default="availability,quote,saga",
                        help="which closed-loop phases to play (each keeps its share of --seconds)")
    parser.add_argument("--open-seconds", type=float, default=20)
    parser.add_argument("--burst", type=int, default=0, help="first, this many simultaneous POSTs (issue 18)")
    parser.add_argument("--json", default="", help="write the figures here")
    parser.add_argument("--logs", default="", help="write each process's last log lines into this folder")
    parser.add_argument("--catalog-cache", default="", metavar="URL",
                        help="inventory's availability and quote cache: empty for its memory (the default), "
                             "or redis://host:port/db to measure Redis instead")
    args = parser.parse_args()
    if args.catalog_cache:
        os.environ["HOTELMATE_INVENTORY_CATALOG_CACHE_URL"] = args.catalog_cache
    args.clients = [int(n) for n in args.clients.split(",") if n]
    args.works = {w for w in args.works.split(",") if w}
    system = System(Layout.random_ports(), echo=False)
    failed = True
    try:
        system.start(FULL)
        print("pids:", {name: p.popen.pid for name, p in system.processes.items()}, flush=True)
        results = asyncio.run(bench(system, args))
        print(*invariant_lines(results["invariants"]), sep="\n")
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=1))
        failed = violated(results["invariants"])
    finally:
        if args.logs:
            Path(args.logs).mkdir(parents=True, exist_ok=True)
            for name, process in system.processes.items():
                Path(args.logs, f"{name}.log").write_text("".join(process.lines))
        system.stop()
        remove_run(PlatformSettings())
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
