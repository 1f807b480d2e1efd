"""Desk reports: arrivals, departures and in-house lists for a day; revenue, ADR and RevPAR per day
or month; each as JSON or, with ``?format=csv``, as a CSV download.

Revenue is room revenue before taxes, counted per night stayed from each booking's quote, for bookings
that hold their room (CONFIRMED, CHECKED_IN, CHECKED_OUT, NO_SHOW). ADR = revenue / room-nights sold;
RevPAR = revenue / room-nights available (in-service rooms, from inventory's occupancy report)."""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Annotated, Literal
from urllib.parse import quote as escape

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from hotelmate_platform import trust
from hotelmate_platform.problems import Problem
from hotelmate_platform.production import service_key
from hotelmate_platform.service import Runtime, get_runtime

from ..adapters.tables import bookings, party
from ..domain.states import SOLD, Status
from .staff import staff

router = APIRouter(prefix="/api/v1/staff/hotels/{hotel}/reports", tags=["reports"])
Format = Literal["json", "csv"]


def _bad(field: str, message: str) -> Problem:
    return Problem(422, "The report's parameters are invalid.", code="invalid-input",
                   errors=[{"field": field, "message": message}])


async def _guests(runtime: Runtime, hotel: str, condition) -> list[dict]:
    primary = party.alias("primary_guest")
    query = (sa.select(bookings.c.id, bookings.c.status, bookings.c.room_type, bookings.c.room_number,
                       bookings.c.check_in, bookings.c.check_out, bookings.c.adults, bookings.c.children,
                       primary.c.first_name, primary.c.last_name, primary.c.email)
             .select_from(bookings.outerjoin(primary, sa.and_(primary.c.booking_id == bookings.c.id,
                                                              primary.c.role == "PRIMARY")))
             .where(bookings.c.hotel == hotel, condition).order_by(bookings.c.room_number, bookings.c.id))
    async with runtime.db.reads() as session:
        rows = (await session.execute(query)).mappings().all()
    return [{"booking_id": r["id"], "status": r["status"], "guest": f"{r['first_name'] or ''} {r['last_name'] or ''}".strip(),
             "email": r["email"], "room_type": r["room_type"], "room_number": r["room_number"],
             "check_in": r["check_in"].isoformat(), "check_out": r["check_out"].isoformat(),
             "adults": r["adults"], "children": r["children"]} for r in rows]


def _answer(kind: str, hotel: str, on: date, items: list[dict], fmt: str):
    if fmt == "csv":
        return _csv(f"{hotel}-{kind}-{on.isoformat()}.csv",
                    ["booking_id", "status", "guest", "email", "room_type", "room_number", "check_in", "check_out",
                     "adults", "children"], items)
    return {"hotel": hotel, "date": on.isoformat(), "items": items}


def _csv(name: str, columns: list[str], rows: list[dict]) -> Response:
    name = re.sub(r"[^A-Za-z0-9._-]", "_", name)  # a header is latin-1, and a file name nothing odd
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        # A cell a spreadsheet would run as a formula is quoted as text.
        writer.writerow({k: ("'" + v if isinstance(v, str) and v[:1] in "=+-@" else v) for k, v in row.items()})
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


Day = Annotated[date | None, Query(alias="date")]


async def _on_day(runtime: Runtime, hotel: str, report: str, day: date | None, format: Format, on, statuses):
    """The guests whose stay's ``on`` column (check-in or check-out) is ``day`` (today by default)."""
    day = day or date.today()
    items = await _guests(runtime, hotel, sa.and_(on == day, bookings.c.status.in_(tuple(statuses))))
    return _answer(report, hotel, day, items, format)


@router.get("/arrivals")
async def arrivals(hotel: str, on: Day = None, format: Format = "json", runtime: Runtime = Depends(get_runtime),
                   _: str = Depends(staff("RECEPTIONIST"))):
    return await _on_day(runtime, hotel, "arrivals", on, format, bookings.c.check_in,
                         (Status.CONFIRMED, Status.CHECKED_IN))


@router.get("/departures")
async def departures(hotel: str, on: Day = None, format: Format = "json", runtime: Runtime = Depends(get_runtime),
                     _: str = Depends(staff("RECEPTIONIST"))):
    return await _on_day(runtime, hotel, "departures", on, format, bookings.c.check_out,
                         (Status.CHECKED_IN, Status.CHECKED_OUT))


@router.get("/in-house")
async def in_house(hotel: str, format: Format = "json", runtime: Runtime = Depends(get_runtime),
                   _: str = Depends(staff("RECEPTIONIST"))):
    items = await _guests(runtime, hotel, bookings.c.status == Status.CHECKED_IN)
    return _answer("in-house", hotel, date.today(), items, format)


@router.get("/revenue")
async def revenue(request: Request, hotel: str, from_: Annotated[date, Query(alias="from")], to: date,
                  period: Literal["day", "month"] = "day", format: Format = "json",
                  runtime: Runtime = Depends(get_runtime), _: str = Depends(staff("MANAGER"))):
    """Per period between ``from`` and ``to`` (both included): revenue, room-nights sold and available,
    occupancy, ADR and RevPAR."""
    if to < from_ or (to - from_).days > 366:
        raise _bad("to", "on or after 'from', at most 366 days later")
    async with runtime.db.reads() as session:
        rows = (await session.execute(sa.select(bookings.c.quote).where(
            bookings.c.hotel == hotel, bookings.c.status.in_(tuple(SOLD)),
            bookings.c.check_in <= to, bookings.c.check_out > from_))).all()
    key = (lambda d: d.isoformat()) if period == "day" else (lambda d: d.strftime("%Y-%m"))
    sold: dict[str, int] = defaultdict(int)
    earned: dict[str, Decimal] = defaultdict(Decimal)
    currency = ""
    for (quote,) in rows:
        if not quote:
            continue
        for night in quote.get("nights", []):
            day = date.fromisoformat(night["date"])
            if from_ <= day <= to:
                sold[key(day)] += 1
                earned[key(day)] += Decimal(night["rate"]["amount"])
                currency = night["rate"]["currency"]
    available = await _available(request, runtime, hotel, from_, to, key)
    periods = []
    day = from_
    seen: list[str] = []
    while day <= to:
        if key(day) not in seen:
            seen.append(key(day))
        day += timedelta(days=1)
    for name in seen:
        rev, nights, rooms = earned[name], sold[name], available.get(name, 0)
        periods.append({
            "period": name, "revenue": f"{rev:.2f}", "currency": currency, "room_nights_sold": nights,
            "room_nights_available": rooms,
            "occupancy": f"{(Decimal(nights) / rooms * 100):.1f}" if rooms else None,
            "adr": f"{(rev / nights):.2f}" if nights else None,
            "revpar": f"{(rev / rooms):.2f}" if rooms else None,
        })
    if format == "csv":
        return _csv(f"{hotel}-revenue-{from_.isoformat()}-{to.isoformat()}.csv",
                    ["period", "revenue", "currency", "room_nights_sold", "room_nights_available", "occupancy",
                     "adr", "revpar"], periods)
    return {"hotel": hotel, "from": from_.isoformat(), "to": to.isoformat(), "period": period, "periods": periods}


async def _available(request: Request, runtime: Runtime, hotel: str, from_: date, to: date, key) -> dict[str, int]:
    """Sellable room-nights per period, from inventory's occupancy report (a staff route: asked for
    the staff member who asked for this report, with their identity)."""
    upstream = runtime.extras["upstream"]
    url = (f"{upstream.inventory_url}/api/v1/staff/hotels/{escape(hotel, safe='')}/reports/occupancy"
           f"?from={from_.isoformat()}&to={to.isoformat()}")
    headers = trust.on_behalf_of(service_key(runtime.settings), "booking", request.state.assertion)
    answer = await upstream.client.get(url, headers=headers)
    if answer.status_code == 404:
        raise Problem(404, "No such hotel.", code="not-found")
    if answer.status_code != 200:
        raise Problem(503, "The inventory service did not answer; try again shortly.", code="service-unavailable",
                      headers={"Retry-After": "5"})
    totals: dict[str, int] = defaultdict(int)
    for room_type in answer.json()["room_types"]:
        for day in room_type["dates"]:
            totals[key(date.fromisoformat(day["date"]))] += day["sellable"]
    return totals
