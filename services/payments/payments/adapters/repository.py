"""SQL for payments, their operations and stored Stripe events. Every function takes an open session."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from hotelmate_platform.statements import ColumnStatements, Statement
from hotelmate_platform.jobs import LeasedJobs

from ..domain.model import PaymentState, Status

_STATE_FIELDS = ("status", "closed", "flagged", "flag_reason", "captured_minor", "refunded_minor")


# The statements of every saga step are compiled once and run on the driver (hotelmate_platform.statements.Statement).
_INSERT_PAYMENT = Statement(text("""
    INSERT INTO payments (booking_id, hotel, currency, amount_minor, checkout_expires_at, return_url,
                          description, customer_email)
    VALUES (:booking_id, :hotel, :currency, :amount_minor, :checkout_expires_at, :return_url,
            :description, :customer_email)
    ON CONFLICT (booking_id) DO NOTHING"""))
_GET_PAYMENT = {lock: Statement(text("SELECT * FROM payments WHERE booking_id = :b" + (" FOR UPDATE" if lock else "")))
                for lock in (False, True)}
_UPDATES = ColumnStatements(lambda columns: text(
    f"UPDATE payments SET {', '.join(f'{c} = :{c}' for c in columns)}, updated_at = now() WHERE booking_id = :_b"))


async def insert_payment(session: AsyncConnection, **row: Any) -> bool:
    return await _INSERT_PAYMENT.run(session, row) == 1


async def get_payment(session: AsyncConnection, booking_id: str, *, lock: bool = False) -> dict | None:
    return await _GET_PAYMENT[lock].first(session, {"b": booking_id})


async def list_payments(session: AsyncConnection, booking_ids: list[str]) -> list[dict]:
    rows = await session.execute(text("SELECT * FROM payments WHERE booking_id = ANY(:ids) ORDER BY booking_id"),
                                 {"ids": booking_ids})
    return [dict(r) for r in rows.mappings()]


async def find_booking_id(session: AsyncConnection, *, intent_id: str | None, session_id: str | None) -> str | None:
    row = (await session.execute(text("""
        SELECT booking_id FROM payments
        WHERE (payment_intent_id = :pi AND :pi IS NOT NULL) OR (checkout_session_id = :cs AND :cs IS NOT NULL)
        LIMIT 1"""), {"pi": intent_id, "cs": session_id})).first()
    return row[0] if row else None


def state_of(row: dict) -> PaymentState:
    return PaymentState(status=Status(row["status"]), amount_minor=row["amount_minor"], currency=row["currency"],
                        closed=row["closed"], flagged=row["flagged"], flag_reason=row["flag_reason"],
                        captured_minor=row["captured_minor"], refunded_minor=row["refunded_minor"])


async def update_payment(session: AsyncConnection, booking_id: str, state: PaymentState | None = None,
                         **fields: Any) -> None:
    values = {k: v for k, v in asdict(state).items() if k in _STATE_FIELDS} if state else {}
    values.update(fields)
    if "status" in values:
        values["status"] = str(values["status"])
    await _UPDATES[values].later(session, {**values, "_b": booking_id})


# --- operations ---------------------------------------------------------------------------------

# The operation worker's wake-up (Database.signal): a unit of work that adds or re-arms an
# operation wakes it on commit, so the Stripe call starts at once rather than at the next poll.
OPERATIONS_DUE = "payment-operations"


async def add_operation(session: AsyncConnection, booking_id: str, op_key: str, kind: str, *,
                        amount_minor: int | None = None, reason: str | None = None,
                        retry_failed: bool = False) -> bool:
    """One operation per (booking, op_key); ``retry_failed`` puts a FAILED one back in the queue."""
    return await _ADD_OPERATION[retry_failed].run(
        session, {"b": booking_id, "k": op_key, "kind": kind, "a": amount_minor, "r": reason}) == 1


_ADD_OPERATION = {retry_failed: Statement(text(f"""
    INSERT INTO payment_operations (booking_id, op_key, kind, amount_minor, reason)
    VALUES (:b, :k, :kind, :a, :r) ON CONFLICT (booking_id, op_key) {on_conflict}"""))
    for retry_failed, on_conflict in (
        (False, "DO NOTHING"),
        (True, "DO UPDATE SET status = 'PENDING', attempts = 0, next_attempt_at = now(), finished_at = NULL "
               "WHERE payment_operations.status = 'FAILED'"))}


async def arm_void(session: AsyncConnection, booking_id: str, reason: str) -> None:
    """Make sure a void will run (again): an authorisation may appear after an earlier void finished."""
    await session.execute(text("""
        INSERT INTO payment_operations (booking_id, op_key, kind, reason) VALUES (:b, 'void', 'VOID', :r)
        ON CONFLICT (booking_id, op_key) DO UPDATE
        SET status = 'PENDING', next_attempt_at = now(), attempts = 0, finished_at = NULL
        WHERE payment_operations.status <> 'PENDING'"""), {"b": booking_id, "r": reason})


# The two job tables (hotelmate_platform.jobs): Stripe calls to make, Stripe events to apply.
OPERATIONS = LeasedJobs("payment_operations", due="status = 'PENDING' AND next_attempt_at <= now()")
STRIPE_EVENTS = LeasedJobs("stripe_events", due="processed_at IS NULL AND next_attempt_at <= now()")


async def claim_due(session: AsyncConnection, jobs: LeasedJobs, limit: int, lease_seconds: float) -> list[dict]:
    """Take up to ``limit`` due rows of ``jobs`` for ``lease_seconds``: a worker that dies mid-call
    leaves the row to be taken over, with the same idempotency key."""
    return [r._asdict() for r in await jobs.claim(session, limit=limit, lease_seconds=lease_seconds)]


async def finish_operation(session: AsyncConnection, op_id: int, status: str, error: str | None = None) -> None:
    await OPERATIONS.finish(session, op_id, {"status": status, "last_error": error}, stamp=("finished_at",))


async def operations_of(session: AsyncConnection, booking_id: str) -> list[dict]:
    rows = await session.execute(text("SELECT * FROM payment_operations WHERE booking_id = :b ORDER BY id"),
                                 {"b": booking_id})
    return [dict(r) for r in rows.mappings()]


async def refunded_by_operations(session: AsyncConnection, booking_id: str) -> int:
    row = (await session.execute(text("""
        SELECT coalesce(sum(amount_minor), 0) FROM payment_operations
        WHERE booking_id = :b AND kind = 'REFUND' AND status = 'DONE'"""), {"b": booking_id})).first()
    return int(row[0])


# --- stored Stripe events -----------------------------------------------------------------------

async def store_event(session: AsyncConnection, event_id: str, event_type: str, payload: bytes, *,
                      handled: bool = True) -> bool:
    """Store an event once (False for a repeat); one that is not ``handled`` is stored processed,
    noted ``ignored``, so no worker ever claims it."""
    return await _STORE_EVENT.run(session, {"id": event_id, "t": event_type, "p": payload.decode("utf-8"),
                                            "handled": handled}) == 1


async def mark_event_processed(session: AsyncConnection, event_id: str, note: str | None = None) -> None:
    await _MARK_EVENT_PROCESSED.later(session, {"id": event_id, "n": note})


_STORE_EVENT = Statement(text("""
    INSERT INTO stripe_events (id, type, payload, processed_at, last_error)
    VALUES (:id, :t, CAST(:p AS jsonb), CASE WHEN :handled THEN NULL ELSE now() END,
            CASE WHEN :handled THEN NULL ELSE 'ignored' END)
    ON CONFLICT (id) DO NOTHING"""))
_MARK_EVENT_PROCESSED = Statement(text("UPDATE stripe_events SET processed_at = now(), last_error = :n WHERE id = :id"))
