"""Shapes of the internal HTTP views booking reads from payments and inventory (reconcile, staff view).

The producing services answer exactly these fields (their tests check it), the booking service parses
the answers with them, and the booking tests' stand-ins build their answers from them, so a stand-in
cannot send a shape the real service never does.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from .money import Money


class _View(BaseModel):
    # a newer producer may add fields: readers ignore them; producers' tests forbid unknown ones
    model_config = ConfigDict(extra="ignore")


class PaymentView(_View):
    """``GET /internal/payments/{booking_id}`` and each item of ``GET /internal/payments``; a booking
    payments never heard of reads ``status: "NONE"`` with no amounts."""

    booking_id: str
    status: str
    amount: Money | None = None
    captured: Money | None = None
    refunded: Money | None = None
    flagged: bool = False
    flag_reason: str | None = None
    void_requested: bool | None = None
    authorized_at: datetime | None = None
    stripe_ref: str | None = None


class PaymentList(_View):
    """``GET /internal/payments?booking_ids=…``: one view per asked id, in the asked order."""

    payments: list[PaymentView]


class HoldView(_View):
    """Each item of inventory's ``GET /internal/holds``."""

    booking_id: str
    hotel: str
    status: str
    room_type: str | None = None
    check_in: date | None = None
    check_out: date | None = None
    expires_at: datetime | None = None
    total: Money | None = None
    quote: dict[str, Any] | None = None


class HoldList(_View):
    """``GET /internal/holds?booking_ids=…``: the holds inventory knows of, in no particular order."""

    holds: list[HoldView]
