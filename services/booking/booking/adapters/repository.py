"""Reading and writing bookings, their party and timeline. No business rules here."""

from __future__ import annotations

import base64
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import aggregate_order_by, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from hotelmate_platform.statements import ColumnStatements, Statement

from ..domain.model import format_booking_id
from .tables import bookings, party, timeline

BookingRow = dict[str, Any]  # a bookings row plus "party": list of party rows (the aggregate: domain.booking)


async def next_booking_id(session: AsyncConnection, year: int) -> str:
    """The next id of ``year`` from its own sequence (created on first use after 2040)."""
    name = f"booking_number_{year:04d}"
    if year > 2040:  # the migration made 2024-2040
        await session.execute(sa.text(f"CREATE SEQUENCE IF NOT EXISTS {name} AS bigint MINVALUE 1 NO CYCLE"))
    number = (await session.execute(sa.text(f"SELECT nextval('{name}')"))).scalar_one()
    return format_booking_id(year, number)


async def insert_booking(session: AsyncConnection, values: dict, party_rows: list[dict]) -> bool:
    """Insert a new booking; False when its (hotel, Idempotency-Key) already exists."""
    stmt = insert(bookings).values(**values)
    if values.get("idempotency_key"):
        stmt = stmt.on_conflict_do_nothing(index_elements=["hotel", "idempotency_key"],
                                           index_where=sa.text("idempotency_key IS NOT NULL"))
    inserted = (await session.execute(stmt.returning(bookings.c.id))).first()
    if inserted is None:
        return False
    await session.execute(sa.insert(party), [{"booking_id": values["id"], **row} for row in party_rows])
    return True


async def find_by_idempotency_key(session: AsyncConnection, hotel: str, key: str) -> BookingRow | None:
    row = (await session.execute(_BY_IDEMPOTENCY_KEY, {"b_hotel": hotel, "b_key": key})).first()
    return dict(row._mapping) if row else None


_BY_IDEMPOTENCY_KEY = sa.select(bookings).where(bookings.c.hotel == sa.bindparam("b_hotel"),
                                                bookings.c.idempotency_key == sa.bindparam("b_key"))


async def load(session: AsyncConnection, booking_id: str, *, hotel: str | None = None,
               for_update: bool = False) -> BookingRow | None:
    """The booking with its party, in one query."""
    return await _LOAD[hotel is not None, for_update].first(session, {"b_id": booking_id, "b_hotel": hotel})


async def link_facts(session: AsyncConnection, booking_id: str, hotel: str) -> BookingRow | None:
    """What a guest link is made of (id, check-out day, the guest token's digest): no party, no quote."""
    row = (await session.execute(_LINK_FACTS, {"b_id": booking_id, "b_hotel": hotel})).first()
    return dict(row._mapping) if row else None


_PARTY_JSON = (
    sa.select(sa.func.coalesce(sa.func.json_agg(aggregate_order_by(
        sa.func.json_build_object(*[x for c in party.c for x in (sa.literal_column(f"'{c.name}'"), c)]), party.c.position)),
        sa.text("'[]'::json")))
    .where(party.c.booking_id == bookings.c.id)
    .scalar_subquery()
)


def _load_query(by_hotel: bool, for_update: bool) -> sa.Select:
    query = sa.select(bookings, _PARTY_JSON.label("party")).where(bookings.c.id == sa.bindparam("b_id"))
    if by_hotel:
        query = query.where(bookings.c.hotel == sa.bindparam("b_hotel"))
    return query.with_for_update(of=bookings) if for_update else query


# The hot statements are built once, with bound parameters: SQLAlchemy then finds their compiled form
# by a cache key it has already computed, where building one per call and keying it cost 50-120 us each.
# Those of every saga step (a booking's load, update and timeline line) are compiled once and run on
# the driver (hotelmate_platform.statements.Statement).
_LOAD = {(by_hotel, for_update): Statement(_load_query(by_hotel, for_update))
         for by_hotel in (False, True) for for_update in (False, True)}
_LINK_FACTS = sa.select(bookings.c.id, bookings.c.check_out, bookings.c.token_digest).where(
    bookings.c.id == sa.bindparam("b_id"), bookings.c.hotel == sa.bindparam("b_hotel"))
_UPDATE = sa.update(bookings).where(bookings.c.id == sa.bindparam("b_id")).values(updated_at=sa.func.now())
_UPDATES = ColumnStatements(lambda columns: _UPDATE.values(**{c: sa.bindparam(c) for c in columns}))
_ADD_TIMELINE = Statement(sa.insert(timeline).inline().values(
    **{name: sa.bindparam(name) for name in ("booking_id", "from_status", "to_status", "actor", "reason")}))


async def update(session: AsyncConnection, booking_id: str, changes: dict) -> None:
    await _UPDATES[changes].later(session, {**changes, "b_id": booking_id})


async def add_timeline(session: AsyncConnection, booking_id: str, from_status: str | None, to_status: str,
                       actor: str, reason: str | None) -> None:
    await _ADD_TIMELINE.later(session, {"booking_id": booking_id, "from_status": from_status,
                                      "to_status": to_status, "actor": actor, "reason": reason})


async def load_timeline(session: AsyncConnection, booking_id: str) -> list[dict]:
    rows = await session.execute(sa.select(timeline).where(timeline.c.booking_id == booking_id)
                                 .order_by(timeline.c.at, timeline.c.id))
    return [dict(r._mapping) for r in rows]


async def due_ids(session: AsyncConnection, condition, *, limit: int = 100) -> list[str]:
    """Ids of up to ``limit`` bookings matching ``condition`` (not locked: see :func:`lock_if_due`)."""
    rows = await session.execute(sa.select(bookings.c.id).where(condition).order_by(bookings.c.id).limit(limit))
    return [r.id for r in rows]


async def lock_if_due(session: AsyncConnection, booking_id: str, condition) -> bool:
    """Lock the booking if it still matches ``condition``; False when it no longer does or another
    replica holds it (``SKIP LOCKED``)."""
    row = await session.execute(sa.select(bookings.c.id).where(bookings.c.id == booking_id, condition)
                                .with_for_update(skip_locked=True))
    return row.first() is not None


async def postpone_sweep(session: AsyncConnection, booking_id: str, seconds: float) -> None:
    """The sweeper leaves this booking alone for ``seconds`` (its deadline handling failed)."""
    await session.execute(sa.update(bookings).where(bookings.c.id == booking_id)
                          .values(sweep_after=sa.func.now() + timedelta(seconds=seconds)))


def encode_cursor(check_in: date, booking_id: str) -> str:
    return base64.urlsafe_b64encode(f"{check_in.isoformat()}|{booking_id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[date, str]:
    raw = base64.urlsafe_b64decode(cursor.encode()).decode()
    day, booking_id = raw.split("|", 1)
    return date.fromisoformat(day), booking_id


async def search(session: AsyncConnection, hotel: str, *, status: list[str] | None, arrival_from: date | None,
                 arrival_to: date | None, q: str | None, limit: int, after: tuple[date, str] | None) -> list[BookingRow]:
    """Staff list: ordered by arrival then id; keyset pagination after ``after``."""
    query = sa.select(bookings).where(bookings.c.hotel == hotel)
    if status:
        query = query.where(bookings.c.status.in_(status))
    if arrival_from:
        query = query.where(bookings.c.check_in >= arrival_from)
    if arrival_to:
        query = query.where(bookings.c.check_in <= arrival_to)
    if q:
        escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        like = f"%{escaped}%"
        in_party = sa.select(party.c.booking_id).where(
            party.c.booking_id == bookings.c.id,
            sa.or_(party.c.email.ilike(like), (party.c.first_name + " " + party.c.last_name).ilike(like),
                   party.c.last_name.ilike(like))).exists()
        query = query.where(sa.or_(bookings.c.id.ilike(like), in_party))
    if after:
        query = query.where(sa.tuple_(bookings.c.check_in, bookings.c.id) > sa.tuple_(sa.literal(after[0]), sa.literal(after[1])))
    rows = (await session.execute(query.order_by(bookings.c.check_in, bookings.c.id).limit(limit))).all()
    found = [dict(r._mapping) for r in rows]
    if found:
        members = await session.execute(sa.select(party).where(party.c.booking_id.in_([b["id"] for b in found]))
                                        .order_by(party.c.position))
        by_id: dict[str, list] = {}
        for m in members:
            by_id.setdefault(m.booking_id, []).append(dict(m._mapping))
        for b in found:
            b["party"] = by_id.get(b["id"], [])
    return found
