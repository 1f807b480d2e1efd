"""SQL of the inventory service (SQLAlchemy Core text over the async session).

A hold "takes a room" on a night when it is COMMITTED, or HELD with ``expires_at > now()``: an
expired hold stops counting at its expiry instant, whatever the sweeper has done.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from psycopg.rows import namedtuple_row
from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.types import Text

from hotelmate_contracts import CancellationPolicy, HotelProfile
from hotelmate_platform.statements import ColumnStatements, Statement

from ..domain.pricing import Promo, RoomTypeRules, Tax

# statement_timestamp(), not now(): the instant of the count, after any lock wait (now() is the transaction's start).
TAKES_ROOM = "(h.status = 'COMMITTED' OR (h.status = 'HELD' AND h.expires_at > statement_timestamp()))"
# In-service rooms of the room type ``rt``.
SELLABLE = "(SELECT count(*) FROM rooms r WHERE r.hotel = rt.hotel AND r.room_type = rt.code AND r.in_service)"


def hotel_profile(row: Any) -> HotelProfile:
    return HotelProfile(
        slug=row.slug, name=row.name, timezone=row.timezone, currency=row.currency.strip(),
        check_in_time=row.check_in_time, check_out_time=row.check_out_time, hold_minutes=row.hold_minutes,
        approval_hours=row.approval_hours, staff_email=row.staff_email,
    )


def cancellation_policy(row: Any) -> CancellationPolicy:
    value = None if row.penalty_value is None else str(row.penalty_value.normalize())
    return CancellationPolicy(free_until_hours=row.free_until_hours, penalty=row.penalty, value=value)


def _hot(sql: str) -> Statement:
    """A statement of every quote and hold: compiled once, run on the driver, rows read as ``row.column``."""
    return Statement(text(sql), rows=namedtuple_row)


_GET_HOTEL = _hot("SELECT * FROM hotels WHERE slug = :s")
_ROOM_TYPE = {lock: _hot("SELECT * FROM room_types WHERE hotel = :h AND code = :c" + (" FOR UPDATE" if lock else ""))
              for lock in (False, True)}
_RATES = {one: _hot("SELECT room_type, night, price FROM nightly_rates WHERE hotel = :h AND night >= :a AND night < :b"
                    + (" AND room_type = :rt" if one else "")) for one in (False, True)}
_TAXES = _hot("SELECT * FROM taxes WHERE hotel = :h ORDER BY position")


async def get_hotel(session: AsyncConnection, slug: str) -> Any | None:
    return await _GET_HOTEL.first(session, {"s": slug})


async def room_types(session: AsyncConnection, hotel: str) -> list[Any]:
    """Room types of ``hotel`` with their count of in-service rooms."""
    sql = text(f"SELECT rt.*, {SELLABLE} AS sellable FROM room_types rt WHERE rt.hotel = :h ORDER BY rt.code")
    return list((await session.execute(sql, {"h": hotel})).all())


async def room_type(session: AsyncConnection, hotel: str, code: str) -> Any | None:
    return await _ROOM_TYPE[False].first(session, {"h": hotel, "c": code})


async def rates_between(session: AsyncConnection, hotel: str, start: date, end: date, room_type: str | None = None) -> dict[str, dict[date, Decimal]]:
    """Nightly rates on nights ``start`` <= night < ``end``, by room type (one query)."""
    params = {"h": hotel, "a": start, "b": end, "rt": room_type}
    out: dict[str, dict[date, Decimal]] = {}
    for rt, night, price in await _RATES[room_type is not None].all(session, params):
        out.setdefault(rt, {})[night] = price
    return out


def rules_of(row: Any, rates: dict[str, dict[date, Decimal]]) -> RoomTypeRules:
    return RoomTypeRules(code=row.code, max_adults=row.max_adults, max_children=row.max_children,
                         base_rate=row.base_rate, rates=rates.get(row.code, {}))


async def taxes(session: AsyncConnection, hotel: str) -> list[Tax]:
    rows = await _TAXES.all(session, {"h": hotel})
    return [Tax(code=r.code, name=r.name, kind=r.kind, value=r.value) for r in rows]


async def promo(session: AsyncConnection, hotel: str, code: str, *, lock: bool = False) -> Promo | None:
    sql = "SELECT * FROM promo_codes WHERE hotel = :h AND code = :c" + (" FOR UPDATE" if lock else "")
    r = (await session.execute(text(sql), {"h": hotel, "c": code})).first()
    if r is None:
        return None
    return Promo(code=r.code, percent_off=r.percent_off, amount_off=r.amount_off, valid_from=r.valid_from,
                 valid_to=r.valid_to, min_nights=r.min_nights, room_types=tuple(r.room_types) if r.room_types else None,
                 max_redemptions=r.max_redemptions, active=r.active)


async def promo_redemptions(session: AsyncConnection, hotel: str, code: str) -> int:
    sql = text(f"SELECT count(*) FROM holds h WHERE h.hotel = :h AND h.promo_code = :c AND {TAKES_ROOM}")
    return (await session.execute(sql, {"h": hotel, "c": code})).scalar_one()


def _busiest_night_per_type(start: str, end: str) -> str:
    """Per room type, the most rooms taken on one night of [``start``, ``end``) (SQL expressions)."""
    return f"""
    SELECT room_type, max(taken) AS taken FROM (
        SELECT h.room_type, d.night, count(*) AS taken
        FROM holds h
        JOIN LATERAL generate_series(greatest(h.check_in, {start}), least(h.check_out, {end}) - 1, interval '1 day')
             AS d(night) ON true
        WHERE h.hotel = :h AND h.check_in < {end} AND h.check_out > {start} AND {TAKES_ROOM}
        GROUP BY h.room_type, d.night) per_night
    GROUP BY room_type"""


CATALOG_VERSION = "coalesce((SELECT version FROM catalog_versions WHERE hotel = :h), 0)"
# These run on every availability and quote: compiled once, run on the driver.
_CATALOG_VERSION = _hot(f"SELECT {CATALOG_VERSION}")
_VERSION_AND_BUSIEST = _hot(f"SELECT {CATALOG_VERSION} AS version, b.room_type, b.taken "
                             f"FROM (SELECT 1) one LEFT JOIN ({_busiest_night_per_type(':a', ':b')}) b ON true")
# The same for several stays at once (the i-th stay is [a[i], b[i])), one snapshot for all of them. Each
# stay runs the one-stay subquery (LATERAL), so a stay costs what it costs alone: joining every stay to
# the hotel's holds at once cost twice as much per stay once a hotel had thousands of holds.
_VERSION_AND_BUSIEST_OF_STAYS = _hot(f"""
    SELECT {CATALOG_VERSION} AS version, b.a, b.b, b.room_type, b.taken
    FROM (SELECT 1) one LEFT JOIN (
        SELECT s.a, s.b, t.room_type, t.taken
        FROM unnest(CAST(:a AS date[]), CAST(:b AS date[])) AS s(a, b)
        CROSS JOIN LATERAL ({_busiest_night_per_type('s.a', 's.b')}) t) b ON true""")


async def catalog_version(session: AsyncConnection, hotel: str) -> int:
    """The hotel's catalogue version (bumped by a trigger with every change of what prices a stay)."""
    return await _CATALOG_VERSION.scalar(session, {"h": hotel})


async def catalog_version_and_busiest_night(session: AsyncConnection, hotel: str, start: date,
                                            end: date) -> tuple[int, dict[str, int]]:
    """The catalogue version and, per room type, the most rooms taken on one night of [start, end),
    read in one statement (one snapshot)."""
    rows = await _VERSION_AND_BUSIEST.all(session, {"h": hotel, "a": start, "b": end})
    return rows[0].version, {r.room_type: r.taken for r in rows if r.room_type is not None}


async def catalog_version_and_busiest_nights(session: AsyncConnection, hotel: str, stays: list[tuple[date, date]]
                                             ) -> tuple[int, dict[tuple[date, date], dict[str, int]]]:
    """The catalogue version and, for each ``(start, end)`` stay, what
    :func:`catalog_version_and_busiest_night` reads for it, in one statement (one snapshot)."""
    rows = await _VERSION_AND_BUSIEST_OF_STAYS.all(session, {"h": hotel, "a": [a for a, _ in stays],
                                                             "b": [b for _, b in stays]})
    taken: dict[tuple[date, date], dict[str, int]] = {}
    for r in rows:
        if r.room_type is not None:
            taken.setdefault((r.a, r.b), {})[r.room_type] = r.taken
    return rows[0].version, taken


async def lock_room_type(session: AsyncConnection, hotel: str, code: str) -> Any | None:
    """Serialise hold decisions per room type across every replica (row lock until commit)."""
    return await _ROOM_TYPE[True].first(session, {"h": hotel, "c": code})


async def sellable_rooms(session: AsyncConnection, hotel: str, room_type: str) -> int:
    return await _SELLABLE_ROOMS.scalar(session, {"h": hotel, "rt": room_type})


async def busiest_night(session: AsyncConnection, hotel: str, room_type: str, start: date, end: date,
                        excluding: str | None = None) -> int:
    params = {"h": hotel, "rt": room_type, "a": start, "b": end, "x": excluding}
    return await _BUSIEST_NIGHT.scalar(session, params)


async def statement_time(session: AsyncConnection) -> datetime:
    """The database's clock now (the instant :data:`TAKES_ROOM` counts at)."""
    return await _STATEMENT_TIME.scalar(session, {})


async def get_hold(session: AsyncConnection, booking_id: str, *, lock: bool = False) -> Any | None:
    return await _GET_HOLD[lock].first(session, {"b": booking_id})


_SELLABLE_ROOMS = _hot("SELECT count(*) FROM rooms WHERE hotel = :h AND room_type = :rt AND in_service")
_BUSIEST_NIGHT = _hot(f"""
    SELECT coalesce(max(taken), 0) FROM (
        SELECT count(h.booking_id) AS taken
        FROM generate_series(CAST(:a AS date), CAST(:b AS date) - 1, interval '1 day') AS d(night)
        JOIN holds h ON h.hotel = :h AND h.room_type = :rt AND h.check_in <= d.night AND h.check_out > d.night
             AND {TAKES_ROOM} AND h.booking_id IS DISTINCT FROM CAST(:x AS text)
        GROUP BY d.night) per_night""")
_STATEMENT_TIME = _hot("SELECT statement_timestamp()")
_GET_HOLD = {lock: _hot("SELECT * FROM holds WHERE booking_id = :b" + (" FOR UPDATE" if lock else ""))
             for lock in (False, True)}


async def holds_by_ids(session: AsyncConnection, booking_ids: list[str]) -> list[Any]:
    sql = text("SELECT * FROM holds WHERE booking_id = ANY(:ids) ORDER BY booking_id").bindparams(
        bindparam("ids", type_=ARRAY(Text)))
    return list((await session.execute(sql, {"ids": booking_ids})).all())


async def insert_hold(session: AsyncConnection, **values: Any) -> None:
    values["quote"] = json.dumps(values["quote"])
    await _INSERT_HOLD.later(session, values)


_INSERT_HOLD = _hot("""
    INSERT INTO holds (booking_id, hotel, room_type, check_in, check_out, adults, children, promo_code,
                       status, expires_at, quote, total, currency)
    VALUES (:booking_id, :hotel, :room_type, :check_in, :check_out, :adults, :children, :promo_code,
            'HELD', :expires_at, CAST(:quote AS jsonb), :total, :currency)""")
_SET_HOLD = ColumnStatements(lambda columns: text(
    f"UPDATE holds SET {', '.join(f'{c} = :{c}' for c in columns)}, updated_at = now() WHERE booking_id = :booking_id"))


async def insert_tombstone(session: AsyncConnection, booking_id: str, hotel: str, reason: str) -> None:
    sql = text("INSERT INTO holds (booking_id, hotel, status, reason) VALUES (:b, :h, 'RELEASED', :r) "
               "ON CONFLICT (booking_id) DO NOTHING")
    await session.execute(sql, {"b": booking_id, "h": hotel, "r": reason})


async def set_hold(session: AsyncConnection, booking_id: str, **values: Any) -> None:
    await _SET_HOLD[values].later(session, {**values, "booking_id": booking_id})


async def delete_assignment(session: AsyncConnection, booking_id: str) -> int:
    result = await session.execute(text("DELETE FROM room_assignments WHERE booking_id = :b"), {"b": booking_id})
    return result.rowcount


async def expire_lapsed_holds(session: AsyncConnection, limit: int) -> list[Any]:
    """Mark up to ``limit`` HELD holds past their expiry EXPIRED (rows another replica has locked are
    skipped); returns their ``booking_id`` and ``hotel`` (one query)."""
    sql = text("""
        UPDATE holds SET status = 'EXPIRED', reason = 'lapsed', updated_at = now()
        WHERE booking_id IN (SELECT booking_id FROM holds WHERE status = 'HELD' AND expires_at <= now()
                             ORDER BY expires_at LIMIT :n FOR UPDATE SKIP LOCKED)
        RETURNING booking_id, hotel""")
    return list((await session.execute(sql, {"n": limit})).all())


async def occupancy(session: AsyncConnection, hotel: str, start: date, end: date) -> list[Any]:
    """Per room type and date in [start, end]: sellable, sold, held (one query)."""
    sql = text(f"""
        SELECT rt.code AS room_type, d.night::date AS date, {SELLABLE} AS sellable,
               count(h.booking_id) FILTER (WHERE h.status = 'COMMITTED') AS sold,
               count(h.booking_id) FILTER (WHERE h.status = 'HELD') AS held
        FROM room_types rt
        CROSS JOIN generate_series(CAST(:a AS date), CAST(:b AS date), interval '1 day') AS d(night)
        LEFT JOIN holds h ON h.hotel = rt.hotel AND h.room_type = rt.code AND h.check_in <= d.night
             AND h.check_out > d.night AND {TAKES_ROOM}
        WHERE rt.hotel = :h
        GROUP BY rt.hotel, rt.code, d.night ORDER BY rt.code, d.night""")
    return list((await session.execute(sql, {"h": hotel, "a": start, "b": end})).all())


# --- the catalogue, as staff write it (idempotent upserts) ----------------------------------------

async def upsert_hotel(session: AsyncConnection, slug: str, values: dict[str, Any]) -> None:
    """Create the hotel (default policy: free until 24 h before, then the first night) or update it."""
    await session.execute(text("""
        INSERT INTO hotels (slug, name, timezone, currency, check_in_time, check_out_time, hold_minutes,
                            approval_hours, staff_email, free_until_hours, penalty)
        VALUES (:slug, :name, :timezone, :currency, :check_in_time, :check_out_time, :hold_minutes,
                :approval_hours, :staff_email, 24, 'FIRST_NIGHT')
        ON CONFLICT (slug) DO UPDATE SET name = excluded.name, timezone = excluded.timezone,
            currency = excluded.currency, check_in_time = excluded.check_in_time,
            check_out_time = excluded.check_out_time, hold_minutes = excluded.hold_minutes,
            approval_hours = excluded.approval_hours, staff_email = excluded.staff_email"""),
        {"slug": slug, **values})


async def upsert_room_type(session: AsyncConnection, hotel: str, code: str, values: dict[str, Any]) -> None:
    await session.execute(text("""
        INSERT INTO room_types (hotel, code, name, max_adults, max_children, base_rate)
        VALUES (:hotel, :code, :name, :max_adults, :max_children, :base_rate)
        ON CONFLICT (hotel, code) DO UPDATE SET name = excluded.name, max_adults = excluded.max_adults,
            max_children = excluded.max_children, base_rate = excluded.base_rate"""),
        {"hotel": hotel, "code": code, **values})


async def upsert_room(session: AsyncConnection, hotel: str, number: str, values: dict[str, Any]) -> None:
    await session.execute(text("""
        INSERT INTO rooms (hotel, number, room_type, floor, in_service)
        VALUES (:hotel, :number, :room_type, :floor, :in_service)
        ON CONFLICT (hotel, number) DO UPDATE SET room_type = excluded.room_type, floor = excluded.floor,
            in_service = excluded.in_service"""),
        {"hotel": hotel, "number": number, **values})


async def set_rates(session: AsyncConnection, hotel: str, room_type: str, first: date, last: date, price: Decimal) -> None:
    """``price`` on every night from ``first`` to ``last`` (both included), over what was there."""
    await session.execute(text("""
        INSERT INTO nightly_rates (hotel, room_type, night, price)
        SELECT :h, :rt, d::date, :p FROM generate_series(CAST(:a AS date), CAST(:b AS date), interval '1 day') d
        ON CONFLICT (hotel, room_type, night) DO UPDATE SET price = excluded.price"""),
        {"h": hotel, "rt": room_type, "a": first, "b": last, "p": price})


async def replace_taxes(session: AsyncConnection, hotel: str, taxes: list[dict[str, Any]]) -> None:
    """The hotel's tax list becomes ``taxes``, in that order."""
    # Serialise replacements of one hotel's list (two concurrent PUTs would both insert).
    await session.execute(text("SELECT 1 FROM hotels WHERE slug = :h FOR UPDATE"), {"h": hotel})
    await session.execute(text("DELETE FROM taxes WHERE hotel = :h"), {"h": hotel})
    for position, tax in enumerate(taxes):
        await session.execute(text(
            "INSERT INTO taxes (hotel, code, position, name, kind, value) VALUES (:h, :c, :p, :n, :k, :v)"),
            {"h": hotel, "c": tax["code"], "p": position, "n": tax["name"], "k": tax["kind"], "v": tax["value"]})


async def upsert_promo(session: AsyncConnection, hotel: str, code: str, values: dict[str, Any]) -> None:
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
    await session.execute(stmt, {"hotel": hotel, "code": code, **values})


async def set_cancellation_policy(session: AsyncConnection, hotel: str, free_until_hours: int | None, penalty: str,
                                  value: Decimal | None) -> None:
    await session.execute(text(
        "UPDATE hotels SET free_until_hours = :f, penalty = :p, penalty_value = :v WHERE slug = :h"),
        {"f": free_until_hours, "p": penalty, "v": value, "h": hotel})


# --- room assignments ------------------------------------------------------------------------------

async def lock_room(session: AsyncConnection, hotel: str, number: str) -> Any | None:
    """The room, locked: assignments to one room take turns on its row (concurrent inserts checked by
    the exclusion constraint could otherwise wait on each other and end in a deadlock, not a 409)."""
    return (await session.execute(text("SELECT * FROM rooms WHERE hotel = :h AND number = :n FOR UPDATE"),
                                  {"h": hotel, "n": number})).first()


async def assign_room(session: AsyncConnection, booking_id: str, hotel: str, number: str, check_in: date,
                      check_out: date) -> None:
    """Assign (or move to) room ``number`` for the stay; the exclusion constraint refuses a taken room."""
    await session.execute(text("""
        INSERT INTO room_assignments (booking_id, hotel, room_number, stay)
        VALUES (:b, :h, :n, daterange(:ci, :co, '[)'))
        ON CONFLICT (booking_id) DO UPDATE SET room_number = excluded.room_number, stay = excluded.stay"""),
        {"b": booking_id, "h": hotel, "n": number, "ci": check_in, "co": check_out})


async def get_assignment(session: AsyncConnection, hotel: str, booking_id: str) -> Any | None:
    return (await session.execute(text("SELECT * FROM room_assignments WHERE booking_id = :b AND hotel = :h"),
                                  {"b": booking_id, "h": hotel})).first()
