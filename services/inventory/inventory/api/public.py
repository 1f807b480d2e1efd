"""Public endpoints (no auth): hotel info, availability, quotes. Same paths as the gateway."""

from __future__ import annotations

import re
from datetime import date

from fastapi import APIRouter, Depends, Query
from pydantic import TypeAdapter
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route as StarletteRoute

from hotelmate_contracts import Money
from hotelmate_platform.service import Runtime, get_runtime

from ..adapters import repository as repo
from ..domain.pricing import Stay
from ..cache import CatalogCache
from ..live_reads import LiveReads
from ..quoting import availability, public_quote, require_hotel
from .schemas import QuoteIn

router = APIRouter(prefix="/api/v1/hotels", tags=["public"])
MAX_PARTY = 50  # adults, children


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
    adults: int = Query(2, ge=1, le=MAX_PARTY),
    children: int = Query(0, ge=0, le=MAX_PARTY),
    runtime: Runtime = Depends(get_runtime),
) -> dict:
    return await available(runtime, hotel, check_in, check_out, adults, children)


async def available(runtime: Runtime, hotel: str, check_in: date, check_out: date, adults: int, children: int) -> dict:
    """The availability answer, for FastAPI's route and :class:`FastAvailability` alike."""
    return await availability(live_reads(runtime), hotel, check_in, check_out, adults, children, catalog_cache(runtime))


@router.post("/{hotel}/quotes")
async def create_quote(hotel: str, body: QuoteIn, runtime: Runtime = Depends(get_runtime)) -> dict:
    stay = Stay(body.room_type, body.check_in, body.check_out, body.adults, body.children)
    return await public_quote(live_reads(runtime), hotel, stay, body.promo_code, catalog_cache(runtime))


def catalog_cache(runtime: Runtime) -> CatalogCache:
    return runtime.extras["catalog_cache"]


def live_reads(runtime: Runtime) -> LiveReads:
    return runtime.extras["live_reads"]


class FastAvailability(StarletteRoute):
    """``GET .../availability`` in its plain form, without FastAPI's per-request machinery.

    At 100 clients, dependency solving, query validation and the route's wrappers were about a fifth
    of inventory's CPU per availability answer (py-spy). This route, matched before every other one,
    takes only a query of exactly ``check_in`` and ``check_out`` as ``YYYY-MM-DD`` and optionally
    ``adults`` (1-50) and ``children`` (0-50) in plain digits, each once: the form every client sends.
    Anything else (a missing, repeated, unknown or malformed parameter) is not matched here and gets
    FastAPI's route, with its validation and its ``422``. Same answer, same bytes, same errors (the
    app's exception handlers), same metrics label."""

    def __init__(self) -> None:
        super().__init__(f"{router.prefix}/{{hotel}}/availability", self._answer, methods=["GET"], include_in_schema=False)

    def matches(self, scope):
        if scope["type"] != "http" or scope["method"] != "GET":
            return Match.NONE, {}
        query = _plain_availability_query(scope.get("query_string", b""))
        if query is None:
            return Match.NONE, {}
        match, child = super().matches(scope)
        if match is not Match.FULL:
            return Match.NONE, {}
        return match, {**child, "route": self, "hotelmate.availability": query}

    @staticmethod
    async def _answer(request: Request) -> Response:
        answer = await available(await get_runtime(request), request.path_params["hotel"],
                                 *request.scope["hotelmate.availability"])
        return Response(_JSON_OBJECT.dump_json(answer), media_type="application/json")


_JSON_OBJECT = TypeAdapter(dict)  # what FastAPI serialises a ``-> dict`` endpoint's answer with
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_COUNT = re.compile(r"0|[1-9][0-9]?")
_PARTY = {"adults": (2, 1), "children": (0, 0)}  # default and lowest, as get_availability's Query says
_QUERY_NAMES = frozenset({"check_in", "check_out", *_PARTY})


def _plain_availability_query(raw: bytes) -> tuple[date, date, int, int] | None:
    fields: dict[str, str] = {}
    for pair in raw.split(b"&") if raw else ():
        name, sep, value = pair.partition(b"=")
        key = name.decode("latin-1")
        if not sep or key in fields or key not in _QUERY_NAMES:
            return None
        fields[key] = value.decode("latin-1")
    if "check_in" not in fields or "check_out" not in fields:
        return None
    days = []
    for key in ("check_in", "check_out"):
        if not _DAY.fullmatch(fields[key]):
            return None
        try:
            days.append(date.fromisoformat(fields[key]))
        except ValueError:
            return None
    party = []
    for key, (default, lowest) in _PARTY.items():
        value = fields.get(key)
        if value is None:
            party.append(default)
        elif not _COUNT.fullmatch(value) or not lowest <= int(value) <= MAX_PARTY:
            return None
        else:
            party.append(int(value))
    return days[0], days[1], party[0], party[1]
