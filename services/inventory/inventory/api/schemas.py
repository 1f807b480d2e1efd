"""Request bodies of the inventory API (SPEC §5 field names) and the mapping of domain errors."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from fastapi import FastAPI, Request

from hotelmate_contracts.text import Line
from hotelmate_platform.problems import Problem, problem_response

from ..domain.errors import Conflict, InvalidInput, NotFound

CODE = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class HotelIn(Body):
    name: Line(200, min_length=1)
    timezone: Line(64)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    check_in_time: Line(5) = "15:00"
    check_out_time: Line(5) = "11:00"
    hold_minutes: int = Field(30, ge=1, le=24 * 60)
    approval_hours: int = Field(24, ge=1, le=144)
    staff_email: Line(320, min_length=3, pattern=r"^[^@\s]+@[^@\s]+$")

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("unknown IANA time zone") from None
        return v

    @field_validator("check_in_time", "check_out_time")
    @classmethod
    def _time(cls, v: str) -> str:
        if not TIME.match(v):
            raise ValueError("must be HH:MM")
        return v


class RoomTypeIn(Body):
    name: Line(200, min_length=1)
    max_adults: int = Field(ge=1, le=20)
    max_children: int = Field(0, ge=0, le=20)
    base_rate: Decimal


class RoomIn(Body):
    room_type: Line(64, strip=False)
    floor: Line(20) | None = None
    in_service: bool = True

    @field_validator("floor", mode="before")
    @classmethod
    def _floor(cls, v):
        return None if v is None else str(v)


class RateIn(Body):
    room_type: Line(64, strip=False)
    from_: date = Field(alias="from")
    to: date
    price: Decimal

    @model_validator(mode="after")
    def _range(self) -> "RateIn":
        if self.to < self.from_:
            raise ValueError("'to' must not be before 'from'")
        if (self.to - self.from_).days > 731:
            raise ValueError("a rate range covers at most two years")
        return self


class TaxIn(Body):
    code: str = Field(pattern=CODE)
    name: Line(200, min_length=1)
    kind: Literal["PERCENT", "PER_NIGHT", "PER_PERSON_PER_NIGHT"]
    value: Decimal = Field(ge=0, le=Decimal("100000"))


class PromoIn(Body):
    percent_off: Decimal | None = Field(None, gt=0, le=100)
    amount_off: Decimal | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    min_nights: int | None = Field(None, ge=1, le=30)
    room_types: list[Line(64, strip=False)] | None = Field(None, max_length=200)
    max_redemptions: int | None = Field(None, ge=0)
    active: bool = True

    @model_validator(mode="after")
    def _one_discount(self) -> "PromoIn":
        if (self.percent_off is None) == (self.amount_off is None):
            raise ValueError("give exactly one of percent_off and amount_off")
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            raise ValueError("valid_to must not be before valid_from")
        return self


class PolicyIn(Body):
    free_until_hours: int | None = Field(ge=0, le=24 * 365)
    penalty: Literal["NONE", "FIRST_NIGHT", "PERCENT", "FULL_STAY", "FIXED"]
    value: Decimal | None = None

    @model_validator(mode="after")
    def _value(self) -> "PolicyIn":
        if self.penalty in ("PERCENT", "FIXED") and self.value is None:
            raise ValueError(f"penalty {self.penalty} needs a value")
        if self.penalty == "PERCENT" and not (0 <= self.value <= 100):
            raise ValueError("a percentage is between 0 and 100")
        return self


class QuoteIn(Body):
    room_type: Line(64, strip=False)
    check_in: date
    check_out: date
    adults: int = Field(ge=1, le=50)
    children: int = Field(0, ge=0, le=50)
    promo_code: Line(64, strip=False) | None = None


class AssignmentIn(Body):
    room_number: Line(32, min_length=1, strip=False)


def invalid_input(errors: list[tuple[str, str]]) -> Problem:
    """The ``422`` problem listing ``(field, message)`` pairs."""
    return Problem(422, "The request has invalid fields.", code="invalid-input",
                   errors=[{"field": f, "message": m} for f, m in errors])


def install_domain_problems(app: FastAPI) -> None:
    """Turn the domain's named errors into problem documents, once for every endpoint of ``app``."""

    @app.exception_handler(InvalidInput)
    async def _invalid(request: Request, exc: InvalidInput):
        return _answer(request, invalid_input(exc.errors))

    @app.exception_handler(NotFound)
    async def _not_found(request: Request, exc: NotFound):
        return _answer(request, Problem(404, str(exc), code="not-found"))

    @app.exception_handler(Conflict)
    async def _conflict(request: Request, exc: Conflict):
        return _answer(request, Problem(409, str(exc), code="conflict"))


def _answer(request: Request, problem: Problem):
    return problem_response(problem.status, problem.detail, title=problem.title, code=problem.code,
                            errors=problem.errors, headers=problem.headers, instance=request.url.path)
