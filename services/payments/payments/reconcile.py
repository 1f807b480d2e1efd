"""``python -m payments.reconcile``: the payments side of SPEC §4.7, checked against Stripe.

Looks at payments at rest (unchanged for ``--grace-seconds``) and reports drift, one line each:
an authorisation left open on a payment asked to void, Stripe and our records disagreeing
(authorised, captured or cancelled on one side only), operations that gave up or are stuck,
stored events that were never processed. Exit code 0 = no drift, 1 = drift, 2 = could not check.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import dataclass

from sqlalchemy import text

from hotelmate_platform.db import Database

from .adapters.stripe_api import StripeApi, StripeRefused, StripeUnavailable
from .domain.model import MONEY_TAKEN, Status, short_ref
from .settings import PaymentsSettings


@dataclass(frozen=True)
class Drift:
    booking_id: str
    problem: str


def operation_label(op_key: str) -> str:
    """``void-intent:pi_…wxyz``: a PaymentIntent id in an operation key, shortened like every id shown."""
    name, _, stripe_id = op_key.partition(":")
    return f"{name}:{short_ref(stripe_id)}" if stripe_id.startswith("pi_") else op_key


def intent_drift(row: dict, stripe_status: str, amount_received: int) -> list[str]:
    """Disagreements between our payment row and Stripe's PaymentIntent."""
    status, found = Status(row["status"]), []
    if stripe_status == "requires_capture" and (row["closed"] or status is not Status.AUTHORIZED):
        found.append(f"authorisation open at Stripe on a {status} payment (void requested: {row['closed']})")
    if stripe_status == "succeeded" and status not in MONEY_TAKEN:
        found.append(f"captured at Stripe but {status} here")
    if stripe_status == "succeeded" and status in MONEY_TAKEN and amount_received != row["captured_minor"]:
        found.append(f"captured {amount_received} at Stripe, {row['captured_minor']} recorded")
    if stripe_status == "canceled" and status is Status.AUTHORIZED:
        found.append("authorisation cancelled at Stripe but AUTHORIZED here")
    if status in MONEY_TAKEN and stripe_status != "succeeded":
        found.append(f"{status} here but the PaymentIntent is {stripe_status}")
    return found


async def find_drift(db: Database, stripe_api: StripeApi, grace_seconds: float,
                     hotels: list[str] | None = None) -> list[Drift]:
    """Drift of payments at rest (of ``hotels`` only, when given) against Stripe."""
    of_hotels = "(CAST(:h AS text[]) IS NULL OR hotel = ANY(:h))"
    async with db.unit_of_work() as uow:
        rows = [dict(r) for r in (await uow.session.execute(text(f"""
            SELECT * FROM payments WHERE updated_at < now() - make_interval(secs => :g) AND {of_hotels}"""),
            {"g": grace_seconds, "h": hotels})).mappings()]
        ops = (await uow.session.execute(text(f"""
            SELECT booking_id, op_key, status, last_error FROM payment_operations
            WHERE ((status = 'FAILED' AND kind = 'VOID')
                   OR (status = 'PENDING' AND created_at < now() - make_interval(secs => :g)))
              AND booking_id IN (SELECT booking_id FROM payments WHERE {of_hotels})"""),
            {"g": grace_seconds, "h": hotels})).all()
        events = (await uow.session.execute(text("""
            SELECT id, type FROM stripe_events
            WHERE processed_at IS NULL AND received_at < now() - make_interval(secs => :g)"""),
            {"g": grace_seconds})).all()
    drift = [Drift(b, f"operation {operation_label(k)} {s}: {e or ''}".strip()) for b, k, s, e in ops]
    drift += [Drift("-", f"stored Stripe event {t} ({short_ref(i)}) never processed") for i, t in events]
    for row in rows:
        if row["closed"] and row["status"] == Status.AUTHORIZED:
            drift.append(Drift(row["booking_id"], "AUTHORIZED although a void was requested"))
        if not row["payment_intent_id"]:
            continue
        intent = await stripe_api.retrieve_intent(row["payment_intent_id"])
        drift += [Drift(row["booking_id"], p) for p in
                  intent_drift(row, intent.get("status"), int(intent.get("amount_received") or 0))]
    return drift


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m payments.reconcile", description=__doc__.splitlines()[0])
    parser.add_argument("--grace-seconds", type=float, default=300.0,
                        help="ignore payments changed more recently than this (in-flight sagas)")
    args = parser.parse_args(argv)
    settings = PaymentsSettings()
    db = Database(settings.database, pool_size=2, max_overflow=0)
    stripe_api = StripeApi.from_settings(settings)
    try:
        drift = await find_drift(db, stripe_api, args.grace_seconds)
    except (StripeUnavailable, StripeRefused, OSError) as exc:
        sys.stderr.write(f"reconcile: could not check: {exc}\n")
        return 2
    finally:
        await stripe_api.close()
        await db.dispose()
    for item in drift:
        sys.stdout.write(f"{item.booking_id}\t{item.problem}\n")
    sys.stdout.write(f"payments reconcile: {len(drift)} drift(s)\n")
    return 1 if drift else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
