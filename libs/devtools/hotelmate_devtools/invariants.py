"""``python -m hotelmate_devtools.invariants``: check the system's invariants at rest.

An operator's tool (and the end of every saga or chaos test): it reads each service's database
read-only and asks the broker for dead-letter depths, prints one line per violation, and exits 0
when everything holds, 1 when something does not, 2 when a database, the broker or Stripe cannot
be asked. It checks that:

- no night is over capacity, and no room is on two overlapping stays (inventory);
- every CONFIRMED-or-later booking has a committed hold and one full capture, and payments agree
  with bookings (SPEC §4.7, the rules of ``booking.reconcile``), and with Stripe (``payments.reconcile``);
- every booking is final or within its deadline plus one sweep interval (an approved booking
  within ``--decided-grace-seconds`` of its decision);
- every outbox is drained and every dead-letter queue is empty.

Rows changed in the last ``--grace-seconds`` are left out: they may still be on their way.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import dataclass

import aio_pika
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from hotelmate_contracts.internal import PaymentView
from hotelmate_contracts.money import Money, from_minor
from hotelmate_platform.db import Database
from hotelmate_platform.settings import ServiceSettings

SERVICES = ("inventory", "booking", "payments", "notifications")
SOLD = ("CONFIRMED", "CHECKED_IN", "CHECKED_OUT", "NO_SHOW")
IN_HOTELS = "(CAST(:hotels AS text[]) IS NULL OR hotel = ANY(:hotels))"


@dataclass(frozen=True)
class Violation:
    check: str
    subject: str
    detail: str

    def __str__(self) -> str:
        return f"VIOLATION {self.check} {self.subject}: {self.detail}"


class Unreachable(Exception):
    """A database, the broker or Stripe could not be asked."""


def read_only(url: str) -> str:
    """``url`` with every transaction read-only: the checker can never change what it checks."""
    return url + ("&" if "?" in url else "?") + "options=-c%20default_transaction_read_only%3Don"


async def rows(db: Database, sql: str, **params) -> list[dict]:
    async with db.sessions() as session:
        return [dict(r) for r in (await session.execute(text(sql), params)).mappings()]


async def inventory_violations(inventory: Database, hotels: list[str] | None) -> list[Violation]:
    from inventory.adapters.repository import TAKES_ROOM

    over = await rows(inventory, f"""
        SELECT h.hotel, h.room_type, d.night::date AS night, count(*) AS taken,
               (SELECT count(*) FROM rooms r WHERE r.hotel = h.hotel AND r.room_type = h.room_type
                AND r.in_service) AS sellable
        FROM holds h JOIN LATERAL generate_series(h.check_in, h.check_out - 1, interval '1 day') AS d(night) ON true
        WHERE {TAKES_ROOM} AND (CAST(:hotels AS text[]) IS NULL OR h.hotel = ANY(:hotels))
        GROUP BY h.hotel, h.room_type, d.night HAVING count(*) > (SELECT count(*) FROM rooms r
            WHERE r.hotel = h.hotel AND r.room_type = h.room_type AND r.in_service)""", hotels=hotels)
    twice = await rows(inventory, """
        SELECT a.hotel, a.room_number, a.booking_id AS first, b.booking_id AS second FROM room_assignments a
        JOIN room_assignments b ON a.hotel = b.hotel AND a.room_number = b.room_number
             AND a.booking_id < b.booking_id AND a.stay && b.stay
        WHERE CAST(:hotels AS text[]) IS NULL OR a.hotel = ANY(:hotels)""", hotels=hotels)
    return ([Violation("capacity", f"{r['hotel']}/{r['room_type']}/{r['night']}",
                       f"{r['taken']} rooms taken, {r['sellable']} in service") for r in over]
            + [Violation("double-assignment", f"{r['hotel']}/{r['room_number']}",
                         f"{r['first']} and {r['second']} overlap") for r in twice])


async def booking_violations(booking: Database, inventory: Database, payments: Database, *, grace: float,
                             sweep: float, decided_grace: float, hotels: list[str] | None) -> list[Violation]:
    from booking.reconcile import hold_drift, payment_drift

    found = [Violation("deadline", r["id"], r["problem"]) for r in await rows(booking, f"""
        SELECT id, CASE
            WHEN status IN ('REQUESTED', 'PENDING_PAYMENT') THEN status || ' past its hold expiry'
            WHEN decision IS NULL THEN 'PENDING_APPROVAL past its approval deadline'
            ELSE 'approved, still not confirmed' END AS problem
        FROM bookings WHERE {IN_HOTELS} AND (
            (status IN ('REQUESTED', 'PENDING_PAYMENT') AND hold_expires_at < now() - make_interval(secs => :late))
            OR (status = 'PENDING_APPROVAL' AND decision IS NULL
                AND approval_deadline < now() - make_interval(secs => :late))
            OR (status = 'PENDING_APPROVAL' AND decision IS NOT NULL
                AND CAST(decision_json->>'at' AS timestamptz) < now() - make_interval(secs => :decided)))""",
        late=sweep + grace, decided=decided_grace, hotels=hotels)]
    at_rest = await rows(booking, f"""
        SELECT id, status, cancellation FROM bookings
        WHERE {IN_HOTELS} AND status <> 'REQUESTED' AND updated_at < now() - make_interval(secs => :g)""",
        g=grace, hotels=hotels)
    ids = [b["id"] for b in at_rest]
    holds = {h["booking_id"]: h for h in await rows(
        inventory, "SELECT booking_id, status FROM holds WHERE booking_id = ANY(:ids)", ids=ids)}
    pays = {p["booking_id"]: p for p in await rows(payments, """
        SELECT booking_id, status, amount_minor, captured_minor, refunded_minor, currency FROM payments
        WHERE booking_id = ANY(:ids)""", ids=ids)}
    for b in at_rest:
        pay, hold = pays.get(b["id"]), holds.get(b["id"])
        # the shape payments' internal view answers (hotelmate_contracts.internal.PaymentView), which is all
        # booking's reconcile rules read
        view = pay and PaymentView(booking_id=b["id"], status=pay["status"],
                                   captured=Money.of(from_minor(pay["captured_minor"], pay["currency"]), pay["currency"]),
                                   refunded=Money.of(from_minor(pay["refunded_minor"], pay["currency"]), pay["currency"]),
                                   ).model_dump(mode="json")
        problems = payment_drift(b, view) + hold_drift(b, hold)
        if b["status"] in SOLD and (hold or {}).get("status") != "COMMITTED" and not hold_drift(b, hold):
            problems.append(f"{b['status']} booking whose hold is {(hold or {}).get('status')}, not COMMITTED")
        if b["status"] in SOLD and pay and pay["captured_minor"] != pay["amount_minor"]:
            problems.append(f"captured {pay['captured_minor']} of {pay['amount_minor']} (one full capture expected)")
        found += [Violation("alignment", b["id"], problem) for problem in problems]
    return found


async def stripe_violations(payments: Database, grace: float, hotels: list[str] | None) -> list[Violation]:
    from payments.adapters.stripe_api import StripeApi, StripeRefused, StripeUnavailable
    from payments.reconcile import find_drift
    from payments.settings import PaymentsSettings

    stripe_api = StripeApi.from_settings(PaymentsSettings())
    try:
        drifts = await find_drift(payments, stripe_api, grace, hotels)
    except (StripeUnavailable, StripeRefused) as exc:
        raise Unreachable(f"Stripe: {exc}") from None
    finally:
        await stripe_api.close()
    return [Violation("stripe", d.booking_id, d.problem) for d in drifts]


async def outbox_violations(databases: dict[str, Database], grace: float) -> list[Violation]:
    found = []
    for service, db in databases.items():
        left = await rows(db, """SELECT count(*) AS n FROM outbox
                                 WHERE published_at IS NULL AND created_at < now() - make_interval(secs => :g)""", g=grace)
        if left[0]["n"]:
            found.append(Violation("outbox", service, f"{left[0]['n']} message(s) not published"))
    return found


async def dead_letter_violations(amqp_url: str, namespace: str) -> list[Violation]:
    found = []
    try:
        connection = await aio_pika.connect(amqp_url, timeout=10)
    except Exception as exc:  # noqa: BLE001 - any failure: the broker cannot be asked
        raise Unreachable(f"RabbitMQ: {type(exc).__name__}") from None
    async with connection:
        for service in SERVICES:
            name = f"{namespace}.{service}.dlq"
            channel = await connection.channel()
            try:
                queue = await channel.declare_queue(name, passive=True)
            except aio_pika.exceptions.ChannelClosed:
                continue  # that service never started: no dead letters either
            depth = queue.declaration_result.message_count
            if depth:
                found.append(Violation("dead-letters", name, f"{depth} message(s)"))
            await channel.close()
    return found


async def existing(settings: ServiceSettings) -> list[str]:
    """The services whose database exists (a service never started has none, and nothing to check)."""
    server = Database(read_only(f"{settings.postgres_url.rstrip('/')}/postgres"), pool_size=1, max_overflow=0)
    try:
        names = {r["datname"] for r in await rows(server, "SELECT datname FROM pg_database")}
    finally:
        await server.dispose()
    return [s for s in SERVICES if settings.database_url(s).rsplit("/", 1)[1] in names]


async def check(settings: ServiceSettings, *, grace: float = 5.0, decided_grace: float = 600.0,
                with_stripe: bool = True, hotels: list[str] | None = None) -> list[Violation]:
    """Every violation of the invariants in the system ``settings`` point at (``hotels``: only theirs)."""
    try:
        services = await existing(settings)
        if not {"inventory", "booking", "payments"} <= set(services):
            raise Unreachable(f"databases: only {', '.join(services) or 'none'} exist")
        dbs = {name: Database(read_only(settings.database_url(name)), pool_size=1, max_overflow=1) for name in services}
        try:
            found = await inventory_violations(dbs["inventory"], hotels)
            found += await booking_violations(dbs["booking"], dbs["inventory"], dbs["payments"], grace=grace,
                                              sweep=settings.sweep_seconds, decided_grace=decided_grace, hotels=hotels)
            if with_stripe:
                found += await stripe_violations(dbs["payments"], grace, hotels)
            found += await outbox_violations(dbs, grace)
        finally:
            for db in dbs.values():
                await db.dispose()
    except (OSError, DBAPIError) as exc:
        raise Unreachable(f"database: {type(exc).__name__}") from None
    return found + await dead_letter_violations(settings.amqp_url, settings.bus_namespace)


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hotelmate_devtools.invariants",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--grace-seconds", type=float, default=5.0, help="ignore rows changed this recently")
    parser.add_argument("--decided-grace-seconds", type=float, default=600.0,
                        help="how long an approved booking may wait for its capture")
    parser.add_argument("--no-stripe", action="store_true", help="do not compare payments with Stripe")
    parser.add_argument("--hotel", action="append", help="only this hotel's rooms and bookings (repeatable)")
    args = parser.parse_args(argv)
    try:
        found = await check(ServiceSettings(), grace=args.grace_seconds, decided_grace=args.decided_grace_seconds,
                            with_stripe=not args.no_stripe, hotels=args.hotel)
    except Unreachable as exc:
        sys.stderr.write(f"invariants: could not check: {exc}\n")
        return 2
    for violation in found:
        sys.stdout.write(f"{violation}\n")
    sys.stdout.write(f"{len(found)} violation(s)\n")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
