"""Staff catalogue endpoints: idempotent upserts answering the stored object, and the occupancy report.

The gateway has already checked the caller's role and hotel scope; these trust it. The SQL is in the
repository; the domain's errors become problem documents once, for the whole app (``schemas``).
"""

from __future__ import annotations

import re
from datetime import date

from fastapi import APIRouter, Depends, Query

from hotelmate_platform.service import Runtime, get_runtime

from ..adapters import repository as repo
from ..domain.errors import InvalidInput
from ..domain.pricing import validate_money
from ..quoting import require_hotel
from .public import hotel_view
from .schemas import CODE, HotelIn, PolicyIn, PromoIn, RateIn, RoomIn, RoomTypeIn, TaxIn, invalid_input

router = APIRouter(prefix="/api/v1/staff/hotels", tags=["staff"])


def _check_code(value: str, field: str) -> None:
    if not re.match(CODE, value):
        raise invalid_input([(field, "letters, digits, '_', '.', '-' (at most 64)")])


@router.put("/{hotel}")
async def put_hotel(hotel: str, body: HotelIn, runtime: Runtime = Depends(get_runtime)) -> dict:
    _check_code(hotel, "hotel")
    async with runtime.db.unit_of_work() as uow:
        await repo.upsert_hotel(uow.session, hotel, body.model_dump())
        row = await require_hotel(uow.session, hotel)
        return hotel_view(row, await repo.room_types(uow.session, hotel), await repo.taxes(uow.session, hotel))


@router.put("/{hotel}/room-types/{code}")
async def put_room_type(hotel: str, code: str, body: RoomTypeIn, runtime: Runtime = Depends(get_runtime)) -> dict:
    _check_code(code, "code")
    async with runtime.db.unit_of_work() as uow:
        row = await require_hotel(uow.session, hotel)
        validate_money(body.base_rate, row.currency.strip(), "base_rate", allow_zero=True)
        await repo.upsert_room_type(uow.session, hotel, code, body.model_dump())
    return {"code": code, **body.model_dump(mode="json"), "base_rate": str(body.base_rate)}


@router.put("/{hotel}/rooms/{number}")
async def put_room(hotel: str, number: str, body: RoomIn, runtime: Runtime = Depends(get_runtime)) -> dict:
    _check_code(number, "number")
    async with runtime.db.unit_of_work() as uow:
        await require_hotel(uow.session, hotel)
        if await repo.lock_room_type(uow.session, hotel, body.room_type) is None:
            raise InvalidInput([("room_type", f"unknown room type {body.room_type}")])
        await repo.upsert_room(uow.session, hotel, number, body.model_dump())
    return {"number": number, **body.model_dump()}


@router.put("/{hotel}/rates")
async def put_rates(hotel: str, body: list[RateIn], runtime: Runtime = Depends(get_runtime)) -> list[dict]:
    async with runtime.db.unit_of_work() as uow:
        row = await require_hotel(uow.session, hotel)
        known = {t.code for t in await repo.room_types(uow.session, hotel)}
        errors = []
        for i, rate in enumerate(body):
            if rate.room_type not in known:
                errors.append((f"{i}.room_type", f"unknown room type {rate.room_type}"))
            try:
                validate_money(rate.price, row.currency.strip(), f"{i}.price", allow_zero=True)
            except InvalidInput as exc:
                errors.extend(exc.errors)
        if errors:
            raise InvalidInput(errors)
        for rate in body:  # later ranges win where they overlap earlier ones
            await repo.set_rates(uow.session, hotel, rate.room_type, rate.from_, rate.to, rate.price)
    return [{"room_type": r.room_type, "from": r.from_.isoformat(), "to": r.to.isoformat(), "price": str(r.price)} for r in body]


@router.put("/{hotel}/taxes")
async def put_taxes(hotel: str, body: list[TaxIn], runtime: Runtime = Depends(get_runtime)) -> list[dict]:
    codes = [t.code for t in body]
    if len(set(codes)) != len(codes):
        raise invalid_input([("code", "tax codes must be unique")])
    async with runtime.db.unit_of_work() as uow:
        await require_hotel(uow.session, hotel)
        await repo.replace_taxes(uow.session, hotel, [t.model_dump() for t in body])
    return [{**t.model_dump(), "value": str(t.value)} for t in body]


@router.put("/{hotel}/promo-codes/{code}")
async def put_promo(hotel: str, code: str, body: PromoIn, runtime: Runtime = Depends(get_runtime)) -> dict:
    _check_code(code, "code")
    async with runtime.db.unit_of_work() as uow:
        row = await require_hotel(uow.session, hotel)
        if body.amount_off is not None:
            validate_money(body.amount_off, row.currency.strip(), "amount_off")
        known = {t.code for t in await repo.room_types(uow.session, hotel)}
        unknown = [rt for rt in body.room_types or [] if rt not in known]
        if unknown:
            raise InvalidInput([("room_types", f"unknown room types {', '.join(unknown)}")])
        await repo.upsert_promo(uow.session, hotel, code, body.model_dump())
    return {"code": code, **body.model_dump(mode="json")}


@router.put("/{hotel}/cancellation-policy")
async def put_policy(hotel: str, body: PolicyIn, runtime: Runtime = Depends(get_runtime)) -> dict:
    async with runtime.db.unit_of_work() as uow:
        row = await require_hotel(uow.session, hotel)
        if body.penalty == "FIXED":
            validate_money(body.value, row.currency.strip(), "value", allow_zero=True)
        value = body.value if body.penalty in ("PERCENT", "FIXED") else None
        await repo.set_cancellation_policy(uow.session, hotel, body.free_until_hours, body.penalty, value)
        return repo.cancellation_policy(await require_hotel(uow.session, hotel)).model_dump(mode="json")


@router.get("/{hotel}/reports/occupancy")
async def occupancy_report(hotel: str, from_: date = Query(alias="from"), to: date = Query(),
                           runtime: Runtime = Depends(get_runtime)) -> dict:
    """Per room type and date (both ends included): sellable, sold (committed), held (live), free."""
    if to < from_ or (to - from_).days > 366:
        raise invalid_input([("to", "must be on or after 'from', at most 366 days later")])
    async with runtime.db.sessions() as session:
        await require_hotel(session, hotel)
        rows = await repo.occupancy(session, hotel, from_, to)
    report: dict[str, list[dict]] = {}
    for r in rows:
        report.setdefault(r.room_type, []).append({
            "date": r.date.isoformat(), "sellable": r.sellable, "sold": r.sold, "held": r.held,
            "free": max(r.sellable - r.sold - r.held, 0),
        })
    return {"hotel": hotel, "from": from_.isoformat(), "to": to.isoformat(),
            "room_types": [{"code": code, "dates": dates} for code, dates in report.items()]}
