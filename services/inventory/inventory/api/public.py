"""Public endpoints (no auth): hotel info, availability, quotes. Same paths as the gateway."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Query

from hotelmate_contracts import Money
from hotelmate_platform.service import Runtime, get_runtime

from ..adapters import repository as repo
from ..domain.pricing import Stay
from ..cache import CatalogCache
from ..quoting import availability, public_quote, require_hotel
from .schemas import QuoteIn

router = APIRouter(prefix="/api/v1/hotels", tags=["public"])


def hotel_view(hotel, types, taxes) -> dict:
    profile = repo.hotel_profile(hotel).model_dump(mode="json")
    return {
        **profile,
        "room_types": [
            {"code": t.code, "name": t.name, "max_adults": t.max_adults, "max_children": t.max_children,
             "base_rate": Money.of(t.base_rate, profile["currency"]).model_dump(mode="json")}
            for t in types
        ],
        "taxes": [{"code": t.code, "name": t.name, "kind": t.kind, "value": str(t.value.normalize())} for t in taxes],
        "cancellation_policy": repo.cancellation_policy(hotel).model_dump(mode="json"),
    }


@router.get("/{hotel}")
async def get_hotel(hotel: str, runtime: Runtime = Depends(get_runtime)) -> dict:
    async with runtime.db.sessions() as session:
        row = await require_hotel(session, hotel)
        view = hotel_view(row, await repo.room_types(session, hotel), await repo.taxes(session, hotel))
    view.pop("staff_email", None)  # internal: services read it from /internal/hotels/{hotel}
    return view


@router.get("/{hotel}/availability")
async def get_availability(
    hotel: str,
    check_in: date,
    check_out: date,
    adults: int = Query(2, ge=1, le=50),
    children: int = Query(0, ge=0, le=50),
    runtime: Runtime = Depends(get_runtime),
) -> dict:
    async with runtime.db.read_connection() as session:  # plain statements, no ORM
        return await availability(session, hotel, check_in, check_out, adults, children, catalog_cache(runtime))


@router.post("/{hotel}/quotes")
async def create_quote(hotel: str, body: QuoteIn, runtime: Runtime = Depends(get_runtime)) -> dict:
    stay = Stay(body.room_type, body.check_in, body.check_out, body.adults, body.children)
    async with runtime.db.read_connection() as session:  # plain statements, no ORM
        return await public_quote(session, hotel, stay, body.promo_code, catalog_cache(runtime))


def catalog_cache(runtime: Runtime) -> CatalogCache:
    return runtime.extras["catalog_cache"]
