"""The message envelope every bus message travels in, and the registry of message types."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field


class Message(BaseModel):
    """Base of every command and event. Subclasses set ``TYPE`` (the routing key) and ``VERSION``.

    Fields this build does not know are ignored, so a publisher deployed before its consumers can
    add an optional field without the older consumers dead-lettering its messages. ``BROADCAST``
    marks an event that may have no listener at all: the relay does not wait for a queue to take it.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    TYPE: ClassVar[str]
    VERSION: ClassVar[int] = 1
    BROADCAST: ClassVar[bool] = False


class Envelope(BaseModel):
    """What goes on the wire: identity and lineage of a message around its payload.

    Unknown top-level fields are ignored (rolling deploys: a newer publisher may add some)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    message_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    type: str
    version: int = 1
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(timezone.utc))
    correlation_id: str | None = None
    causation_id: uuid.UUID | None = None
    request_id: str | None = None
    payload: dict[str, Any]


REGISTRY: dict[str, type[Message]] = {}


class UnknownMessageType(LookupError):
    """The envelope names a type (or version) this build does not know."""


def register(cls: type[Message]) -> type[Message]:
    """Class decorator: make ``cls`` known to :func:`parse` under its ``TYPE``."""
    if cls.TYPE in REGISTRY:
        raise ValueError(f"message type {cls.TYPE} registered twice")
    REGISTRY[cls.TYPE] = cls
    return cls


def wrap(
    message: Message,
    *,
    correlation_id: str | None = None,
    causation_id: uuid.UUID | None = None,
    request_id: str | None = None,
) -> Envelope:
    """Put ``message`` in a new envelope with a fresh message id."""
    return Envelope(
        type=message.TYPE,
        version=message.VERSION,
        correlation_id=correlation_id,
        causation_id=causation_id,
        request_id=request_id,
        payload=message.model_dump(mode="json"),
    )


def parse(envelope: Envelope) -> Message:
    """Turn an envelope back into its typed message; raises on unknown types and bad payloads."""
    cls = REGISTRY.get(envelope.type)
    if cls is None or cls.VERSION != envelope.version:
        raise UnknownMessageType(f"{envelope.type} v{envelope.version}")
    return cls.model_validate(envelope.payload)
