"""``python -m booking.reconcile``: check SPEC §4.7 across booking, payments and inventory.

Looks only at bookings at rest (unchanged for ``--grace-seconds``), asks payments and inventory
about them in batches, prints every drift, and exits 1 when there is any (2 when a service cannot
be asked). It reports; it does not repair.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import sqlalchemy as sa

from hotelmate_platform.production import service_key
from hotelmate_platform.db import Database
from hotelmate_platform.problems import Problem

from .adapters.tables import bookings
from .adapters.upstream import Upstream
from .domain.states import OVER_BEFORE_CAPTURE as OVER, ROOMS_COMMITTED, SOLD, WAITING, Status
from .settings import BookingSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Drift:
    booking_id: str
    problem: str


def amount(money: dict | None) -> Decimal:
    """The amount of a Money field of payments' view (``{"amount": "120.00", "currency": "EUR"}``;
    ``None`` when payments has no figure)."""
    return Decimal(money["amount"]) if money else Decimal(0)


def payment_drift(booking: dict, payment: dict | None) -> list[str]:
    status = booking["status"]
    pay_status = str((payment or {}).get("status") or "NONE").upper()
    captured = amount((payment or {}).get("captured")) > 0 or pay_status in ("CAPTURED", "PARTIALLY_REFUNDED", "REFUNDED")
    refunded = pay_status in ("REFUNDED", "PARTIALLY_REFUNDED") or amount((payment or {}).get("refunded")) > 0
    found = []
    if status in SOLD and not captured:
        found.append(f"{status} booking without a captured payment (payment {pay_status})")
    if captured and status not in SOLD and pay_status != "REFUNDED":
        owed = Decimal((booking.get("cancellation") or {}).get("refund") or 0)  # booking's own record: "110.00"
        # cancelled after capture: refunded less the fee, or the fee kept everything
        if not (status == Status.CANCELLED and (refunded or owed == 0)):
            found.append(f"captured payment on a {status} booking, not refunded")
    if status in OVER and pay_status == "AUTHORIZED":
        found.append(f"authorisation left open on a {status} booking")
    return found


def hold_drift(booking: dict, hold: dict | None) -> list[str]:
    status = booking["status"]
    hold_status = str((hold or {}).get("status") or "NONE").upper()
    if status in ROOMS_COMMITTED and hold_status != "COMMITTED":
        return [f"{status} booking whose hold is {hold_status}, not COMMITTED"]
    if status in OVER and hold_status in ("HELD", "COMMITTED"):
        return [f"{status} booking still has its rooms {hold_status}"]
    if status in WAITING and hold_status in ("RELEASED", "EXPIRED"):
        return [f"{status} booking waits on a hold that is {hold_status}"]
    return []


async def reconcile(db: Database, upstream: Upstream, *, grace: timedelta, hotels: list[str] | None = None,
                    batch: int = 200) -> list[Drift]:
    """Every drift between booking's records and payments' and inventory's."""
    drifts: list[Drift] = []
    at_rest = datetime.now(timezone.utc) - grace
    after = ""
    while True:
        async with db.sessions() as session:
            rows = (await session.execute(
                sa.select(bookings.c.id, bookings.c.status, bookings.c.cancellation)
                .where(bookings.c.updated_at <= at_rest, bookings.c.status != Status.REQUESTED.value, bookings.c.id > after,
                       bookings.c.hotel.in_(hotels) if hotels else sa.true())
                .order_by(bookings.c.id).limit(batch))).all()
        if not rows:
            return drifts
        ids = [r.id for r in rows]
        payments = {p["booking_id"]: p for p in await upstream.payments_of(ids)}
        holds = {h["booking_id"]: h for h in await upstream.holds_of(ids)}
        for row in rows:
            booking = dict(row._mapping)
            for problem in payment_drift(booking, payments.get(row.id)) + hold_drift(booking, holds.get(row.id)):
                drifts.append(Drift(row.id, problem))
        after = ids[-1]


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m booking.reconcile", description=__doc__.splitlines()[0])
    parser.add_argument("--grace-seconds", type=float, default=300, help="ignore bookings changed this recently")
    parser.add_argument("--hotel", action="append", help="only this hotel's bookings (repeatable)")
    args = parser.parse_args(argv)
    settings = BookingSettings()
    db = Database(settings.database, pool_size=2)
    upstream = Upstream(settings.inventory_url, settings.payments_url, settings.booking_http_timeout_seconds,
                        service_key=service_key(settings))
    try:
        drifts = await reconcile(db, upstream, grace=timedelta(seconds=args.grace_seconds), hotels=args.hotel)
    except Problem as exc:
        sys.stderr.write(f"reconcile: could not ask payments or inventory: {exc}\n")
        return 2
    finally:
        await upstream.close()
        await db.dispose()
    for drift in drifts:
        sys.stdout.write(f"DRIFT {drift.booking_id}: {drift.problem}\n")
    sys.stdout.write(f"{len(drifts)} drift(s)\n")
    return 1 if drifts else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
