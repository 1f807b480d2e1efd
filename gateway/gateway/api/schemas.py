"""Request and answer bodies of the gateway's own routes."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from ..domain.access import Role

EMAIL = r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{1,63}$"
HOTEL = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"


def _encodable(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


Text = Annotated[str, AfterValidator(_encodable)]


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: Text = Field(min_length=3, max_length=320)
    password: Text = Field(min_length=1, max_length=1024)


class TokenAnswer(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    role: Role
    hotels: list[str]


class NewStaff(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: Text = Field(pattern=EMAIL, max_length=320)
    password: Text = Field(min_length=12, max_length=1024)
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
