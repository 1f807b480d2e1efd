"""Transactional outbox, relay, consumer with inbox, retries and dead letters (SPEC §4.3)."""

from .bus import Bus, QueueNames
from .consumer import Consumer, Handler
from .relay import OutboxRelay

__all__ = ["Bus", "Consumer", "Handler", "OutboxRelay", "QueueNames"]
