"""Consuming messages: manual acks, an inbox for effectively-once handling, retries, dead letters.

A handler is ``async def handler(uow, message, envelope)``. It runs inside a unit of work that
also records the message id in the inbox, so a redelivered message finds its id there and has no
second effect. A handler that raises is retried through the delay queues with growing pauses;
after the last attempt (or at once, for a message that cannot be parsed) the message goes to the
service's dead-letter queue. Every hand-over is publisher-confirmed before the original is acked,
so nothing is lost and a failing message never blocks the ones behind it.

A failure of the infrastructure (the database or the broker does not answer, see
:func:`~hotelmate_platform.faults.is_infrastructure_error`) is not the message's fault: the message
goes round the delay queues without spending an attempt, for as long as the outage lasts.

The queue is declared and consumed on a robust channel, so after a broker restart aio-pika
declares it again and consumes it again; :meth:`Consumer.is_consuming` tells readiness whether
that has happened.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

import aio_pika
from aio_pika.abc import AbstractIncomingMessage
from pydantic import ValidationError
from sqlalchemy import bindparam
from sqlalchemy.dialects.postgresql import insert

from hotelmate_contracts import Envelope, Message, UnknownMessageType, parse

from ..db import Database, UnitOfWork
from ..statements import Statement
from ..faults import is_infrastructure_error
from ..logs import booking_id_var, correlation_id_var, request_id_var
from ..observability.metrics import CONSUMED, HANDLER_FAILURES
from ..observability.tracing import consumer_span
from .bus import Bus, QueueNames
from .tables import inbox

log = logging.getLogger(__name__)

# Every message runs it: compiled once, run on the driver (statements.Statement).
_RECORD_IN_INBOX = Statement(
    insert(inbox).values(consumer=bindparam("consumer"), message_id=bindparam("message_id"), type=bindparam("type"))
    .on_conflict_do_nothing().returning(inbox.c.message_id))

Handler = Callable[[UnitOfWork, Message, Envelope], Awaitable[None]]


class Consumer:
    def __init__(
        self,
        db: Database,
        bus: Bus,
        service: str,
        handlers: dict[type[Message], Handler],
        *,
        retry_delays_ms: Sequence[int] = (200, 1000, 5000, 15000),
        max_attempts: int = 5,
        prefetch: int = 32,
    ) -> None:
        self.db = db
        self.bus = bus
        self.service = service
        self.handlers = {cls.TYPE: handler for cls, handler in handlers.items()}
        self.retry_delays_ms = list(retry_delays_ms)
        self.max_attempts = max_attempts
        self.prefetch = prefetch
        self.names: QueueNames | None = None
        self._channel: aio_pika.abc.AbstractRobustChannel | None = None
        self._consumer_tag: str | None = None

    async def declare(self) -> QueueNames:
        self.names = await self.bus.declare_consumer(self.service, self.handlers, self.retry_delays_ms)
        return self.names

    async def run(self) -> None:
        """Consume until cancelled; messages are handled concurrently up to ``prefetch``.

        The queue is *declared* (not merely looked up) on the robust channel: only declared queues
        and their consumers are restored by aio-pika after the connection comes back.
        """
        names = self.names or await self.declare()
        assert self.bus.connection is not None
        channel = await self.bus.connection.channel()
        await channel.set_qos(prefetch_count=self.prefetch)
        queue = await channel.declare_queue(names.main, durable=True, arguments={"x-queue-type": "quorum"})
        tasks: set[asyncio.Task] = set()

        async def on_message(incoming: AbstractIncomingMessage) -> None:
            task = asyncio.create_task(self._settle_safely(incoming))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

        self._channel = channel
        try:
            self._consumer_tag = await queue.consume(on_message)
            await asyncio.Future()  # consume until cancelled
        finally:
            self._consumer_tag = None
            self._channel = None
            await channel.close()

    async def is_consuming(self) -> bool:
        """True when the broker is delivering this service's queue to us right now."""
        channel, tag = self._channel, self._consumer_tag
        if channel is None or tag is None or channel.is_closed or not self.bus.is_connected:
            return False
        try:
            underlay = await asyncio.wait_for(channel.get_underlay_channel(), timeout=1)
        except Exception:  # noqa: BLE001 - a channel that is being restored is not consuming
            return False
        return not underlay.is_closed and tag in underlay.consumers

    async def _settle_safely(self, incoming: AbstractIncomingMessage) -> None:
        try:
            await self.handle(incoming)
        except Exception as exc:  # noqa: BLE001
            # Settling failed. If the broker went away, the delivery is unacked and is handed out again
            # once the channel is restored (the inbox absorbs a repeat). If the broker refused the
            # hand-over (a full, bounded dead-letter queue), give the delivery back after the ladder's
            # longest pause: left unacked on a live channel it would never come back.
            log.warning("could not settle %s: %s", incoming.message_id, type(exc).__name__)
            await asyncio.sleep(self.retry_delays_ms[-1] / 1000 if self.retry_delays_ms else 1.0)
            try:
                await incoming.nack(requeue=True)
            except Exception as again:  # noqa: BLE001 - its channel is gone: redelivered on restore
                log.info("delivery %s left to the broker's redelivery (%s)", incoming.message_id,
                         type(again).__name__)

    async def handle(self, incoming: AbstractIncomingMessage) -> None:
        """Handle one delivery and settle it (ack after success, retry, or dead-letter)."""
        try:
            envelope = Envelope.model_validate_json(incoming.body)
            message = parse(envelope)
        except (ValidationError, UnknownMessageType, ValueError) as exc:
            # The exception text may quote the payload; log and record only its kind.
            log.error("poison message %s (%s) dead-lettered", incoming.message_id, type(exc).__name__)
            await self._dead_letter(incoming, f"unparseable: {type(exc).__name__}")
            return
        token = request_id_var.set(envelope.request_id)
        booking = envelope.payload.get("booking_id")
        ids = (correlation_id_var.set(envelope.correlation_id), booking_id_var.set(str(booking) if booking else None))
        try:
            with consumer_span(envelope.type, self.service, incoming.headers):
                first_time = await self.process(envelope, message)
            CONSUMED.labels(self.service, envelope.type, "ok" if first_time else "duplicate").inc()
        except Exception as exc:
            if is_infrastructure_error(exc):
                CONSUMED.labels(self.service, envelope.type, "outage").inc()
                await self._wait_out_outage(incoming, envelope, exc)
                return
            HANDLER_FAILURES.labels(self.service, envelope.type).inc()
            attempt = int((incoming.headers or {}).get("x-attempt", 0)) + 1
            log.warning("handler for %s %s failed (attempt %s): %s", envelope.type, envelope.message_id, attempt,
                        type(exc).__name__, exc_info=log.isEnabledFor(logging.DEBUG))
            if attempt >= self.max_attempts:
                CONSUMED.labels(self.service, envelope.type, "dead_lettered").inc()
                await self._dead_letter(incoming, f"{type(exc).__name__}: {str(exc)[:300]}")
            else:
                CONSUMED.labels(self.service, envelope.type, "retried").inc()
                await self._retry(incoming, attempt)
            return
        finally:
            request_id_var.reset(token)
            correlation_id_var.reset(ids[0])
            booking_id_var.reset(ids[1])
        await incoming.ack()

    async def process(self, envelope: Envelope, message: Message) -> bool:
        """Run the handler once per message id. Returns False when it was a duplicate."""
        handler = self.handlers[envelope.type]
        async with self.db.unit_of_work(
            correlation_id=envelope.correlation_id, causation_id=envelope.message_id
        ) as uow:
            first_time = await _RECORD_IN_INBOX.first(
                uow.session, {"consumer": self.service, "message_id": envelope.message_id, "type": envelope.type})
            if first_time is None:
                log.info("duplicate %s %s ignored", envelope.type, envelope.message_id)
                return False
            await handler(uow, message, envelope)
        return True

    async def _retry(self, incoming: AbstractIncomingMessage, attempt: int) -> None:
        assert self.names is not None
        ladder = self.names.retries
        queue = ladder[min(attempt - 1, len(ladder) - 1)]
        await self._hand_over(incoming, queue, {"x-attempt": attempt})

    async def _wait_out_outage(self, incoming: AbstractIncomingMessage, envelope: Envelope, exc: Exception) -> None:
        """Send the message round a delay queue without counting an attempt (pauses grow to the
        ladder's longest), so an outage of any length never makes it poison."""
        assert self.names is not None
        outages = int((incoming.headers or {}).get("x-infrastructure-retries", 0)) + 1
        ladder = self.names.retries
        log.warning("%s %s waits out an infrastructure failure (%s, retry %s)", envelope.type,
                    envelope.message_id, type(exc).__name__, outages)
        await self._hand_over(incoming, ladder[min(outages - 1, len(ladder) - 1)], {"x-infrastructure-retries": outages})

    async def _dead_letter(self, incoming: AbstractIncomingMessage, error: str) -> None:
        assert self.names is not None
        await self._hand_over(incoming, self.names.dead_letter, {"x-error": error, "x-dead-lettered-by": self.service})

    async def _hand_over(self, incoming: AbstractIncomingMessage, queue: str, headers: dict) -> None:
        """Copy the raw delivery to ``queue`` (confirmed), then ack the original."""
        assert self.bus.channel is not None
        await self.bus.channel.default_exchange.publish(
            aio_pika.Message(
                body=incoming.body,
                content_type=incoming.content_type,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                message_id=incoming.message_id,
                correlation_id=incoming.correlation_id,
                type=incoming.type,
                headers={**(incoming.headers or {}), **headers},
            ),
            routing_key=queue,
            mandatory=True,  # our own queues exist; if one was deleted, keep the original unacked
            timeout=10,
        )
        await incoming.ack()
