"""The tests' one bus probe: a temporary queue bound to the run's exchange that records every envelope
it sees, waits for the ones a test expects, and publishes as a service's relay does.

    async with BusProbe(settings.amqp_url, settings.bus_namespace, "booking.*", "payments.*") as probe:
        await probe.publish(HoldPlaced(...))
        payload = await probe.expect(CheckoutCreated, booking_id=booking_id)

With no binding keys the probe only publishes.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable

import aio_pika

from hotelmate_contracts import Envelope, Message, wrap


def _type_of(kind: str | type[Message]) -> str:
    return kind if isinstance(kind, str) else kind.TYPE


class BusProbe:
    def __init__(self, amqp_url: str, namespace: str, *keys: str) -> None:
        self.amqp_url, self.namespace, self.keys = amqp_url, namespace, keys
        self.seen: list[Envelope] = []
        self._arrived = asyncio.Event()

    async def start(self) -> BusProbe:
        self.connection = await aio_pika.connect_robust(self.amqp_url, timeout=10)
        self.channel = await self.connection.channel(publisher_confirms=True)
        self.exchange = await self.channel.declare_exchange(f"{self.namespace}.bus", aio_pika.ExchangeType.TOPIC,
                                                            durable=True)
        if self.keys:
            # server-named, exclusive: no clash with other suites, gone with the connection
            queue = await self.channel.declare_queue(exclusive=True, auto_delete=True)
            for key in self.keys:
                await queue.bind(self.exchange, routing_key=key)
            await queue.consume(self._received, no_ack=True)
        return self

    async def stop(self) -> None:
        await self.connection.close()

    async def __aenter__(self) -> BusProbe:
        return await self.start()

    async def __aexit__(self, *exc) -> None:
        await self.stop()

    async def _received(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        self.seen.append(Envelope.model_validate_json(message.body))
        self._arrived.set()

    async def publish(self, message: Message | Envelope) -> Envelope:
        """Publish as a service's outbox relay does; passing an envelope again is a redelivery."""
        envelope = message if isinstance(message, Envelope) else wrap(message)
        await self.exchange.publish(
            aio_pika.Message(body=envelope.model_dump_json().encode(), content_type="application/json",
                             message_id=str(envelope.message_id), type=envelope.type,
                             delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
            routing_key=envelope.type)
        return envelope

    async def barrier(self, marker_type: str, timeout: float = 30) -> None:
        """Publish a marker of ``marker_type`` (one of this probe's keys, a type no service consumes) and
        wait until the probe hears it: every message the broker had confirmed before then has been seen.
        With the producers' outboxes empty first, this proves a message is *not* coming."""
        marker = await self.publish(Envelope(type=marker_type, payload={"probe_marker": str(uuid.uuid4())}))
        # BusProbe.expect itself: a subclass may give expect() another signature
        await BusProbe.expect(self, marker_type, timeout=timeout, probe_marker=marker.payload["probe_marker"])

    def payloads(self, kind: str | type[Message], where: Callable[[dict], bool] | None = None,
                 **fields) -> list[dict]:
        """Payloads of the envelopes seen so far of this type whose fields equal ``fields``."""
        type_ = _type_of(kind)
        return [e.payload for e in self.seen if e.type == type_
                and all(e.payload.get(k) == v for k, v in fields.items()) and (where is None or where(e.payload))]

    async def expect(self, kind: str | type[Message], *, count: int = 1, timeout: float = 10,
                     where: Callable[[dict], bool] | None = None, **fields) -> dict:
        """Wait until ``count`` such messages have been seen; the ``count``-th payload."""
        deadline = time.monotonic() + timeout
        while len(found := self.payloads(kind, where, **fields)) < count:
            remaining = deadline - time.monotonic()
            assert remaining > 0, (f"no {_type_of(kind)} {fields or ''} (wanted {count}, saw {len(found)}); "
                                   f"last seen: {[e.type for e in self.seen][-20:]}")
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), timeout=min(remaining, 0.2))
            except TimeoutError:
                pass
        return found[count - 1]
