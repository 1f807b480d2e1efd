"""What the staff API answers about deliveries (bodies are never shown: one carries a guest's link)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

DeliveryStatus = Literal["PENDING", "SENDING", "SENT", "FAILED"]


class NotificationView(BaseModel):
    id: int
    booking_id: str
    event_type: str
    template: str
    audience: Literal["GUEST", "STAFF"]
    recipient: str
    subject: str
    status: DeliveryStatus
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None
    created_at: datetime
    sent_at: datetime | None

    @classmethod
    def of(cls, row) -> "NotificationView":
        data = row._mapping
        return cls(**{name: data[name] for name in cls.model_fields if name != "next_attempt_at"},
                   next_attempt_at=data["next_attempt_at"] if data["status"] == "PENDING" else None)


class NotificationPage(BaseModel):
    items: list[NotificationView]
    next_cursor: str | None
