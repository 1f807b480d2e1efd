"""Availability and quotes: load what pricing needs in a fixed number of queries, then price.

Availability issues exactly five queries whatever the stay length and the number of room types:
hotel, room types with their sellable counts, nightly rates, taxes, busiest night per room type.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection

from hotelmate_contracts import HotelProfile, Quote

from .adapters import repository as repo
from .cache import CatalogCache
from .live_reads import LiveReads
from .domain.errors import InvalidInput, NotFound
from .domain.pricing import Stay, check_promo, fits_party, price_stay, validate_party, validate_stay_dates


def hotel_today(hotel: Any, now: datetime | None = None) -> date:
    return today_in(hotel.timezone, now)


def today_in(timezone: str, now: datetime | None = None) -> date:
    return (now or datetime.now(ZoneInfo(timezone))).astimezone(ZoneInfo(timezone)).date()


async def require_hotel(session: AsyncConnection, slug: str) -> Any:
    hotel = await repo.get_hotel(session, slug)
    if hotel is None:
        raise NotFound(f"unknown hotel {slug}")
    return hotel


class OneSession:
    """The live reads of :func:`availability` and :func:`public_quote` on one session, each its own
    statement (a test's or a benchmark's session; the service shares them: :class:`LiveReads`)."""

    def __init__(self, session: AsyncConnection) -> None:
        self._session = session

    async def version(self, hotel: str) -> int:
        return await repo.catalog_version(self._session, hotel)

    async def version_and_busiest_night(self, hotel: str, start: date, end: date) -> tuple[int, dict[str, int]]:
        return await repo.catalog_version_and_busiest_night(self._session, hotel, start, end)

    def session(self) -> AbstractAsyncContextManager[AsyncConnection]:
        return nullcontext(self._session)


Reads = OneSession | LiveReads


async def availability(reads: Reads, slug: str, check_in: date, check_out: date, adults: int, children: int,
                       cache: CatalogCache | None = None) -> dict:
    """SPEC §5 availability answer: room types that fit the party, rooms free on every night.

    The priced room types come from ``cache`` while the hotel's catalogue version is unchanged; the
    rooms taken are always counted live, in the statement that reads the version."""
    version, taken = await reads.version_and_busiest_night(slug, check_in, check_out)
    key = f"a:{check_in}:{check_out}:{adults}:{children}"
    priced = await cache.get(slug, version, key) if cache else None
    if priced is None:
        async with reads.session() as session:
            priced = await _priced_room_types(session, slug, check_in, check_out, adults, children)
        if cache:
            await cache.put(slug, version, key, priced)
    else:
        validate_stay_dates(check_in, check_out, today_in(priced["timezone"]))
    return {"room_types": [{"code": t["code"], "name": t["name"], "available": max(t["sellable"] - taken.get(t["code"], 0), 0),
                            "nights": t["nights"], "total": t["total"]} for t in priced["room_types"]]}


async def _priced_room_types(session: AsyncConnection, slug: str, check_in: date, check_out: date, adults: int,
                             children: int) -> dict:
    """The hotel's time zone and its room types that fit the party, priced: what availability keeps
    in the cache (plain JSON, as every store must be given)."""
    hotel = await require_hotel(session, slug)
    validate_stay_dates(check_in, check_out, hotel_today(hotel))
    if adults < 1 or children < 0:
        raise InvalidInput([("adults" if adults < 1 else "children", "party out of range")])
    currency = hotel.currency.strip()
    types = await repo.room_types(session, slug)
    rates = await repo.rates_between(session, slug, check_in, check_out)
    taxes = await repo.taxes(session, slug)
    policy = repo.cancellation_policy(hotel)
    offered = []
    for row in types:
        rules = repo.rules_of(row, rates)
        if not fits_party(rules, adults, children):
            continue
        quote = price_stay(rules, Stay(row.code, check_in, check_out, adults, children), currency=currency,
                           taxes=taxes, policy=policy)
        offered.append({"code": row.code, "name": row.name, "sellable": row.sellable,
                        "nights": [n.model_dump(mode="json") for n in quote.nights],
                        "total": quote.total.model_dump(mode="json")})
    return {"timezone": hotel.timezone, "room_types": offered}


async def public_quote(reads: Reads, slug: str, stay: Stay, promo_code: str | None,
                       cache: CatalogCache | None = None) -> dict:
    """SPEC §5 quote answer. Without a promo code it comes from ``cache`` while the catalogue version
    is unchanged (a promo's redemptions are counted from holds, so a promo quote is always priced live)."""
    if promo_code or cache is None:
        async with reads.session() as session:
            return _quote_answer((await quote_stay(session, slug, stay, promo_code)).quote)
    version = await reads.version(slug)
    key = f"q:{stay.room_type}:{stay.check_in}:{stay.check_out}:{stay.adults}:{stay.children}"
    kept = await cache.get(slug, version, key)
    if kept is not None:
        validate_stay_dates(stay.check_in, stay.check_out, today_in(kept["timezone"]))
        return kept["answer"]
    async with reads.session() as session:
        priced = await quote_stay(session, slug, stay, None)
    answer = _quote_answer(priced.quote)
    await cache.put(slug, version, key, {"timezone": priced.hotel.timezone, "answer": answer})
    return answer


def _quote_answer(quote: Quote) -> dict:
    return quote.model_dump(mode="json", exclude={"first_night_with_taxes"})


@dataclass
class PricedStay:
    hotel: Any
    profile: HotelProfile
    quote: Quote
    sellable: int | None = None


async def quote_stay(session: AsyncConnection, slug: str, stay: Stay, promo_code: str | None, *,
                     lock: bool = False, now: datetime | None = None) -> PricedStay:
    """Validate ``stay`` and price it. With ``lock`` the room type row is locked (placing a hold)."""
    hotel = await require_hotel(session, slug)
    validate_stay_dates(stay.check_in, stay.check_out, hotel_today(hotel, now))
    row = await (repo.lock_room_type(session, slug, stay.room_type) if lock else repo.room_type(session, slug, stay.room_type))
    if row is None:
        raise NotFound(f"unknown room type {stay.room_type}")
    rates = await repo.rates_between(session, slug, stay.check_in, stay.check_out, stay.room_type)
    rules = repo.rules_of(row, rates)
    validate_party(rules, stay.adults, stay.children)
    promo = None
    if promo_code:
        found = await repo.promo(session, slug, promo_code, lock=lock)
        redeemed = await repo.promo_redemptions(session, slug, promo_code) if found and found.max_redemptions is not None else 0
        promo = check_promo(found, promo_code, stay, redeemed)
    quote = price_stay(rules, stay, currency=hotel.currency.strip(), taxes=await repo.taxes(session, slug),
                       policy=repo.cancellation_policy(hotel), promo=promo)
    return PricedStay(hotel=hotel, profile=repo.hotel_profile(hotel), quote=quote)
