"""What bench/load.py checks at the end of a run: what ``make test`` proves, still true after the
load (no night over capacity, both reconcile commands exit 0, every confirmed booking's emails sent
once each), and inventory's cache hit ratio."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections import Counter, defaultdict
from datetime import date, timedelta

import aiohttp

from hotelmate_devtools.signing import assertion_headers
from hotelmate_devtools.system import System

RECONCILE = ("booking.reconcile", "payments.reconcile")


async def occupancy_over_capacity(http: aiohttp.ClientSession, staff: dict[str, str], hotel: str,
                                  today: date) -> list[str]:
    """The nights of the next 340 days on which a room type is sold or held beyond its rooms."""
    params = {"from": today.isoformat(), "to": (today + timedelta(days=340)).isoformat()}
    async with http.get(f"/api/v1/staff/hotels/{hotel}/reports/occupancy", params=params, headers=staff) as answer:
        assert answer.status == 200, await answer.text()
        report = await answer.json()
    return [f"{row['code']} {night['date']}: sold {night['sold']} + held {night['held']} > {night['sellable']}"
            for row in report["room_types"] for night in row["dates"] if night["sold"] + night["held"] > night["sellable"]]


async def cache_stats(system: System) -> dict:
    """Hits and misses of inventory's availability and quote cache (inventory's own internal endpoint)."""
    async with aiohttp.ClientSession() as http, http.get(f"{system.layout.url('inventory')}/internal/catalog-cache",
                                                          headers=assertion_headers(caller="bench")) as answer:
        return await answer.json() if answer.status == 200 else {"absent": answer.status}


async def email_check(system: System, confirmed: list[str], expected: dict[str, int],
                      deadline_seconds: float = 60) -> dict:
    """Every booking in ``confirmed`` reached the SMTP sink with its emails (``expected``: how many
    each recipient gets), each once: waits up to ``deadline_seconds`` for the last ones to go out,
    then names what is wrong."""
    url = f"http://127.0.0.1:{system.layout.ports['smtp-sink-web']}/api/received"
    wanted, deadline = set(confirmed), time.monotonic() + deadline_seconds
    async with aiohttp.ClientSession() as http:
        while True:
            async with http.get(url) as answer:
                mine = [e for e in (await answer.json())["emails"] if e["booking"] in wanted]
            got: defaultdict[str, Counter] = defaultdict(Counter)  # booking -> recipient -> distinct emails
            for email in {e["message_id"]: e for e in mine}.values():
                got[email["booking"]].update(email["to"])
            short = [b for b in confirmed if any(got[b][to] < n for to, n in expected.items())]
            if not short or time.monotonic() > deadline:
                break
            await asyncio.sleep(1)
    extra = [b for b in confirmed if set(got[b]) - set(expected) or any(got[b][to] > n for to, n in expected.items())]
    twice = [m for m, n in Counter(e["message_id"] for e in mine).items() if n > 1]
    return {"bookings": len(confirmed), "emails_expected": len(confirmed) * sum(expected.values()),
            "lost": len(short), "unexpected": len(extra), "sent_twice": len(twice),
            "examples": [f"{b}: {dict(got[b])}" for b in (short + extra)[:10]] + twice[:10]}


def reconcile(system: System, module: str, deadline_seconds: float = 60) -> tuple[int, str]:
    """Run ``python -m module`` until it exits 0 (in-flight captures settle) or the deadline passes."""
    deadline = time.monotonic() + deadline_seconds
    while True:
        done = subprocess.run([sys.executable, "-m", module, "--grace-seconds", "0"], env=system.layout.shared_env(),
                              capture_output=True, text=True, timeout=120)
        if done.returncode == 0 or time.monotonic() > deadline:
            return done.returncode, (done.stdout + done.stderr)[-2000:]
        time.sleep(2)


def invariant_lines(invariants: dict) -> list[str]:
    """The invariants as printed at the end of a run."""
    mail = invariants["emails"]
    lines = [f"invariants: nights over capacity {len(invariants['nights_over_capacity'])}, "
             + "".join(f"{m} exit {invariants[m]['exit']}, " for m in RECONCILE)
             + f"emails of {mail['bookings']} confirmed bookings: {mail['emails_expected']} expected, "
             f"{mail['lost']} booking(s) short, {mail['unexpected']} with more, {mail['sent_twice']} sent twice"]
    if mail["examples"]:
        lines.append("\n  ".join(["emails:", *mail["examples"]]))
    lines += [f"{m}:\n{invariants[m]['output']}" for m in RECONCILE if invariants[m]["exit"]]
    return lines


def violated(invariants: dict) -> bool:
    mail = invariants["emails"]
    return (bool(invariants["nights_over_capacity"]) or any(invariants[m]["exit"] for m in RECONCILE)
            or bool(mail["lost"] or mail["unexpected"] or mail["sent_twice"]))
