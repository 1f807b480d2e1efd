"""Stand-ins for inventory's and payments' HTTP endpoints (the real services are built alongside).

Only the synchronous calls booking makes; the saga's bus messages are played by the tests themselves.
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from decimal import Decimal

import uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from hotelmate_contracts import CancellationPolicy, Money, NightRate, Quote
from hotelmate_contracts.internal import HoldList, HoldView, PaymentList, PaymentView
from hotelmate_devtools.system import free_port

HOTELS = {
    "h1": {"name": "Hôtel Un", "timezone": "Europe/Paris", "currency": "EUR", "check_in_time": "15:00",
           "check_out_time": "11:00", "hold_minutes": 30, "approval_hours": 24, "staff_email": "desk@h1.test",
           "room_types": [{"code": "DBL", "name": "Double", "max_adults": 2, "max_children": 1},
                          {"code": "SGL", "name": "Single", "max_adults": 1, "max_children": 0}]},
    "h2": {"name": "Hotel Two", "timezone": "America/New_York", "currency": "USD", "check_in_time": "16:00",
           "check_out_time": "11:00", "hold_minutes": 30, "approval_hours": 24, "staff_email": "desk@h2.test",
           "room_types": [{"code": "DBL", "name": "Double", "max_adults": 2, "max_children": 2}]},
}


def make_quote(hotel: str, room_type: str, check_in: date, check_out: date, *, rate: str = "100.00",
               penalty: str = "FIRST_NIGHT", hours: int | None = 48, value: str | None = None) -> Quote:
    cur = HOTELS[hotel]["currency"]
    n = (check_out - check_in).days
    subtotal = Decimal(rate) * n
    tax = (subtotal * Decimal("0.10")).quantize(Decimal("0.01"))
    return Quote(room_type=room_type, check_in=check_in, check_out=check_out,
                 nights=[NightRate(date=check_in + timedelta(days=i), rate=Money.of(rate, cur)) for i in range(n)],
                 subtotal=Money.of(subtotal, cur), discount=Money.of(0, cur),
                 taxes=[{"code": "VAT", "name": "VAT", "amount": Money.of(tax, cur)}], total=Money.of(subtotal + tax, cur),
                 cancellation_policy=CancellationPolicy(free_until_hours=hours, penalty=penalty, value=value),
                 first_night_with_taxes=Money.of(Decimal(rate) * Decimal("1.10"), cur))


def problem(status: int, detail: str, errors=None) -> JSONResponse:
    return JSONResponse({"type": "https://hotelmate.dev/problems/test", "title": "x", "status": status,
                         "detail": detail, "errors": errors}, status_code=status, media_type="application/problem+json")


def standin_app(state: dict) -> FastAPI:
    app = FastAPI()

    @app.get("/internal/hotels/{hotel}")
    @app.get("/api/v1/hotels/{hotel}")
    async def hotel_info(hotel: str):
        if hotel not in HOTELS:
            return problem(404, "no such hotel")
        return HOTELS[hotel]

    @app.post("/api/v1/hotels/{hotel}/quotes")
    async def quote(hotel: str, body: dict):
        if body.get("promo_code") == "SLOW":  # inventory too busy to quote in time
            await asyncio.sleep(3)
        if body.get("promo_code") in ("BAD", "SLOW"):
            return problem(422, "unknown promo code", [{"field": "promo_code", "message": "unknown"}])
        q = make_quote(hotel, body["room_type"], date.fromisoformat(body["check_in"]), date.fromisoformat(body["check_out"]))
        return q.model_dump(mode="json")

    @app.put("/internal/hotels/{hotel}/assignments/{booking_id}")
    async def assign(hotel: str, booking_id: str, body: dict):
        if body["room_number"] == "999":
            return problem(409, "room taken")
        state.setdefault("assignments", {})[booking_id] = body["room_number"]
        return {"booking_id": booking_id, "room_number": body["room_number"]}

    @app.delete("/internal/hotels/{hotel}/assignments/{booking_id}")
    async def unassign(hotel: str, booking_id: str):
        state.setdefault("assignments", {}).pop(booking_id, None)
        return JSONResponse(None, status_code=204)

    # Payments' and inventory's internal views, in their real shapes (hotelmate_contracts.internal):
    # a test stores only the fields it cares about, the rest take the real services' defaults.
    def payment_view(booking_id: str) -> PaymentView:
        known = state.get("payments", {}).get(booking_id)
        return PaymentView.model_validate(known or {"booking_id": booking_id, "status": "NONE"})

    @app.get("/internal/payments/{booking_id}")
    async def payment(booking_id: str):
        return payment_view(booking_id).model_dump(mode="json")

    @app.get("/internal/payments")
    async def payments(booking_ids: str):
        views = [payment_view(b) for b in booking_ids.split(",") if b]
        return PaymentList(payments=views).model_dump(mode="json")

    @app.get("/internal/holds")
    async def holds(booking_ids: str):
        known = state.get("holds", {})
        views = [HoldView.model_validate({"hotel": "h1", **known[b]}) for b in booking_ids.split(",") if b in known]
        return HoldList(holds=views).model_dump(mode="json")

    return app


class StandIn:
    def __init__(self) -> None:
        self.state: dict = {}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(standin_app(self.state), host="127.0.0.1", port=self.port,
                                                    log_level="warning", access_log=False))
        self.task: asyncio.Task | None = None

    async def start(self) -> None:
        self.task = asyncio.create_task(self.server.serve())
        while not self.server.started:
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        self.server.should_exit = True
        if self.task:
            await self.task
