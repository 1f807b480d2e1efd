"""Request and answer bodies of the gateway's own routes."""

from __future__ import annotations

import re
import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hotelmate_contracts.text import Line

from ..domain.access import Role

EMAIL = r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{1,63}$"
HOTEL = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"


# The contracts' text rule (hotelmate_contracts.text): one line, no control characters, bounded.
Email = Line(320, min_length=3, strip=False)
Password = Line(1024, min_length=1, strip=False)


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: Email
    password: Password


class TokenAnswer(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    role: Role
    hotels: list[str]


class NewStaff(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: Line(320, min_length=3, strip=False, pattern=EMAIL)
    password: Line(1024, min_length=12, strip=False)
    role: Role
    hotels: list[str] = Field(default_factory=list, max_length=500)

    @model_validator(mode="after")
    def _scoped(self) -> "NewStaff":
        for hotel in self.hotels:
            if not re.fullmatch(HOTEL, hotel):
                raise ValueError(f"hotels: {hotel[:70]!r} is not a hotel id")
        if self.role is not Role.ADMIN and not self.hotels:
            raise ValueError("hotels: a MANAGER or RECEPTIONIST needs at least one hotel")
        return self


class StaffView(BaseModel):
    id: uuid.UUID
    email: str
    role: Role
    hotels: list[str]
    created_at: datetime
    disabled: bool = False


class StaffList(BaseModel):
    items: list[StaffView]


class StaffChange(BaseModel):
    """What an ADMIN changes on an account; each change ends the account's older tokens."""

    model_config = ConfigDict(extra="forbid")
    role: Role | None = None
    hotels: list[str] | None = Field(None, max_length=500)
    disabled: bool | None = None

    @model_validator(mode="after")
    def _valid_hotels(self) -> "StaffChange":
        for hotel in self.hotels or []:
            if not re.fullmatch(HOTEL, hotel):
                raise ValueError(f"hotels: {hotel[:70]!r} is not a hotel id")
        if self.role is None and self.hotels is None and self.disabled is None:
            raise ValueError("give at least one of role, hotels and disabled")
        return self


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    current_password: Line(1024, min_length=1, strip=False)
    new_password: Line(1024, min_length=12, strip=False)
