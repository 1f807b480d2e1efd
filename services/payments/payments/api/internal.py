"""Internal views for the booking service (staff view, reconcile). Not routed by the gateway;
Stripe ids appear only shortened."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from hotelmate_platform.problems import Problem
from hotelmate_platform.service import Runtime, get_runtime

from ..adapters import repository as repo
from ..domain.model import short_ref
from ..recording import money

router = APIRouter(prefix="/internal/payments", tags=["internal"])
MAX_IDS = 500


def payment_view(row: dict | None, booking_id: str) -> dict:
    if row is None:
        return {"booking_id": booking_id, "status": "NONE", "amount": None, "captured": None, "refunded": None,
                "flagged": False, "stripe_ref": None}
    currency = row["currency"]
    return {
        "booking_id": row["booking_id"],
        "status": row["status"],
        "amount": money(row["amount_minor"], currency).model_dump(mode="json"),
        "captured": money(row["captured_minor"], currency).model_dump(mode="json"),
        "refunded": money(row["refunded_minor"], currency).model_dump(mode="json"),
        "flagged": row["flagged"],
        "flag_reason": row["flag_reason"],
        "void_requested": row["closed"],
        "authorized_at": row["authorized_at"].isoformat() if row["authorized_at"] else None,
        "stripe_ref": short_ref(row["payment_intent_id"] or row["checkout_session_id"]),
    }


@router.get("")
async def list_payments(booking_ids: str = Query(..., max_length=20000),
                        runtime: Runtime = Depends(get_runtime)) -> dict:
    ids = [b.strip() for b in booking_ids.split(",") if b.strip()]
    if len(ids) > MAX_IDS:
        raise Problem(422, f"At most {MAX_IDS} booking ids.", code="invalid-input",
                      errors=[{"field": "booking_ids", "message": f"at most {MAX_IDS} ids"}])
    async with runtime.db.unit_of_work() as uow:
        rows = {r["booking_id"]: r for r in await repo.list_payments(uow.session, ids)}
    return {"payments": [payment_view(rows.get(b), b) for b in ids]}


@router.get("/{booking_id}")
async def get_payment(booking_id: str, runtime: Runtime = Depends(get_runtime)) -> dict:
    async with runtime.db.unit_of_work() as uow:
        row = await repo.get_payment(uow.session, booking_id)
    return payment_view(row, booking_id)
