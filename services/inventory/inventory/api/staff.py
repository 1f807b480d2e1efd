"""Staff catalogue endpoints: idempotent upserts answering the stored object, and the occupancy report.

The gateway has already checked the caller's role and hotel scope; these trust it.
"""

from __future__ import annotations

import re
from datetime import date

from fastapi import APIRouter, Depends, Query
from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import Text

from hotelmate_platform.service import Runtime, get_runtime

from ..adapters import repository as repo
from ..domain.errors import InvalidInput
from ..domain.pricing import validate_money
from ..quoting import require_hotel
from .public import hotel_view
from .schemas import CODE, HotelIn, PolicyIn, PromoIn, RateIn, RoomIn, RoomTypeIn, TaxIn, invalid_input, problems

router = APIRouter(prefix="/api/v1/staff/hotels", tags=["staff"])


def _check_code(value: str, field: str) -> None:
    if not re.match(CODE, value):
        raise invalid_input([(field, "letters, digits, '_', '.', '-' (at most 64)")])


@router.put("/{hotel}")
async def put_hotel(hotel: str, body: HotelIn, runtime: Runtime = Depends(get_runtime)) -> dict:
    _check_code(hotel, "hotel")
    async with runtime.db.unit_of_work() as uow:
        await uow.session.execute(text("""
            INSERT INTO hotels (slug, name, timezone, currency, check_in_time, check_out_time, hold_minutes,
                                approval_hours, staff_email, free_until_hours, penalty)
            VALUES (:slug, :name, :timezone, :currency, :check_in_time, :check_out_time, :hold_minutes,
                    :approval_hours, :staff_email, 24, 'FIRST_NIGHT')
            ON CONFLICT (slug) DO UPDATE SET name = excluded.name, timezone = excluded.timezone,
                currency = excluded.currency, check_in_time = excluded.check_in_time,
                check_out_time = excluded.check_out_time, hold_minutes = excluded.hold_minutes,
                approval_hours = excluded.approval_hours, staff_email = excluded.staff_email"""),
            {"slug": hotel, **body.model_dump()})
        row = await require_hotel(uow.session, hotel)
        return hotel_view(row, await repo.room_types(uow.session, hotel), await repo.taxes(uow.session, hotel))


@router.put("/{hotel}/room-types/{code}")
async def put_room_type(hotel: str, code: str, body: RoomTypeIn, runtime: Runtime = Depends(get_runtime)) -> dict:
    _check_code(code, "code")
    async with problems(), runtime.db.unit_of_work() as uow:
        row = await require_hotel(uow.session, hotel)
        validate_money(body.base_rate, row.currency.strip(), "base_rate", allow_zero=True)
        await uow.session.execute(text("""
            INSERT INTO room_types (hotel, code, name, max_adults, max_children, base_rate)
            VALUES (:hotel, :code, :name, :max_adults, :max_children, :base_rate)
            ON CONFLICT (hotel, code) DO UPDATE SET name = excluded.name, max_adults = excluded.max_adults,
                max_children = excluded.max_children, base_rate = excluded.base_rate"""),
            {"hotel": hotel, "code": code, **body.model_dump()})
    return {"code": code, **body.model_dump(mode="json"), "base_rate": str(body.base_rate)}


@router.put("/{hotel}/rooms/{number}")
async def put_room(hotel: str, number: str, body: RoomIn, runtime: Runtime = Depends(get_runtime)) -> dict:
    _check_code(number, "number")
    async with problems(), runtime.db.unit_of_work() as uow:
        await require_hotel(uow.session, hotel)
        if await repo.lock_room_type(uow.session, hotel, body.room_type) is None:
            raise InvalidInput([("room_type", f"unknown room type {body.room_type}")])
        await uow.session.execute(text("""
            INSERT INTO rooms (hotel, number, room_type, floor, in_service)
            VALUES (:hotel, :number, :room_type, :floor, :in_service)
            ON CONFLICT (hotel, number) DO UPDATE SET room_type = excluded.room_type, floor = excluded.floor,
                in_service = excluded.in_service"""),
            {"hotel": hotel, "number": number, **body.model_dump()})
    return {"number": number, **body.model_dump()}


@router.put("/{hotel}/rates")
async def put_rates(hotel: str, body: list[RateIn], runtime: Runtime = Depends(get_runtime)) -> list[dict]:
    async with problems(), runtime.db.unit_of_work() as uow:
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
            await uow.session.execute(text("""
                INSERT INTO nightly_rates (hotel, room_type, night, price)
                SELECT :h, :rt, d::date, :p FROM generate_series(CAST(:a AS date), CAST(:b AS date), interval '1 day') d
                ON CONFLICT (hotel, room_type, night) DO UPDATE SET price = excluded.price"""),
                {"h": hotel, "rt": rate.room_type, "a": rate.from_, "b": rate.to, "p": rate.price})
    return [{"room_type": r.room_type, "from": r.from_.isoformat(), "to": r.to.isoformat(), "price": str(r.price)} for r in body]


@router.put("/{hotel}/taxes")
async def put_taxes(hotel: str, body: list[TaxIn], runtime: Runtime = Depends(get_runtime)) -> list[dict]:
    codes = [t.code for t in body]
    if len(set(codes)) != len(codes):
        raise invalid_input([("code", "tax codes must be unique")])
    async with problems(), runtime.db.unit_of_work() as uow:
        await require_hotel(uow.session, hotel)
        # Serialise replacements of one hotel's list (two concurrent PUTs would both insert).
        await uow.session.execute(text("SELECT 1 FROM hotels WHERE slug = :h FOR UPDATE"), {"h": hotel})
        await uow.session.execute(text("DELETE FROM taxes WHERE hotel = :h"), {"h": hotel})
        for position, tax in enumerate(body):
            await uow.session.execute(text(
                "INSERT INTO taxes (hotel, code, position, name, kind, value) VALUES (:h, :c, :p, :n, :k, :v)"),
                {"h": hotel, "c": tax.code, "p": position, "n": tax.name, "k": tax.kind, "v": tax.value})
    return [{**t.model_dump(), "value": str(t.value)} for t in body]


@router.put("/{hotel}/promo-codes/{code}")
async def put_promo(hotel: str, code: str, body: PromoIn, runtime: Runtime = Depends(get_runtime)) -> dict:
    _check_code(code, "code")
    async with problems(), runtime.db.unit_of_work() as uow:
        row = await require_hotel(uow.session, hotel)
        if body.amount_off is not None:
            validate_money(body.amount_off, row.currency.strip(), "amount_off")
        known = {t.code for t in await repo.room_types(uow.session, hotel)}
        unknown = [rt for rt in body.room_types or [] if rt not in known]
        if unknown:
            raise InvalidInput([("room_types", f"unknown room types {', '.join(unknown)}")])
        stmt = text("""
            INSERT INTO promo_codes (hotel, code, percent_off, amount_off, valid_from, valid_to, min_nights,
                                     room_types, max_redemptions, active)
            VALUES (:hotel, :code, :percent_off, :amount_off, :valid_from, :valid_to, :min_nights, :room_types,
                    :max_redemptions, :active)
            ON CONFLICT (hotel, code) DO UPDATE SET percent_off = excluded.percent_off,
                amount_off = excluded.amount_off, valid_from = excluded.valid_from, valid_to = excluded.valid_to,
                min_nights = excluded.min_nights, room_types = excluded.room_types,
                max_redemptions = excluded.max_redemptions, active = excluded.active""").bindparams(
            bindparam("room_types", type_=ARRAY(Text)))
        await uow.session.execute(stmt, {"hotel": hotel, "code": code, **body.model_dump()})
    return {"code": code, **body.model_dump(mode="json")}


@router.put("/{hotel}/cancellation-policy")
async def put_policy(hotel: str, body: PolicyIn, runtime: Runtime = Depends(get_runtime)) -> dict:
    async with problems(), runtime.db.unit_of_work() as uow:
        row = await require_hotel(uow.session, hotel)
        if body.penalty == "FIXED":
            validate_money(body.value, row.currency.strip(), "value", allow_zero=True)
        value = body.value if body.penalty in ("PERCENT", "FIXED") else None
        await uow.session.execute(text(
            "UPDATE hotels SET free_until_hours = :f, penalty = :p, penalty_value = :v WHERE slug = :h"),
            {"f": body.free_until_hours, "p": body.penalty, "v": value, "h": hotel})
        return repo.cancellation_policy(await require_hotel(uow.session, hotel)).model_dump(mode="json")


@router.get("/{hotel}/reports/occupancy")
async def occupancy_report(hotel: str, from_: date = Query(alias="from"), to: date = Query(),
                           runtime: Runtime = Depends(get_runtime)) -> dict:
    """Per room type and date (both ends included): sellable, sold (committed), held (live), free."""
    if to < from_ or (to - from_).days > 366:
        raise invalid_input([("to", "must be on or after 'from', at most 366 days later")])
    async with problems(), runtime.db.sessions() as session:
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
