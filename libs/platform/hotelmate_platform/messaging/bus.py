"""RabbitMQ connection and topology, declared by code at start.

One durable topic exchange ``<ns>.bus`` carries every message, routed by its type. Each consuming
service owns a durable quorum queue ``<ns>.<service>`` bound to the types it handles, a set of
delay queues ``<ns>.<service>.retry.<n>`` that hand messages back after a pause, and a dead-letter
queue ``<ns>.<service>.dlq`` where poison messages wait for an operator.

Everything is declared on aio-pika's robust channels, which remember what was declared, bound and
consumed and declare it again after the connection comes back (a broker restart, a network cut).
Messages are published ``mandatory``: one that no queue takes comes back as :class:`Unroutable`
instead of being confirmed and dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractRobustConnection

from hotelmate_contracts import Envelope
from hotelmate_contracts.envelope import REGISTRY

from ..observability.metrics import PUBLISHED
from ..observability.tracing import producer_span

log = logging.getLogger(__name__)

PUBLISH_TIMEOUT_SECONDS = 10


class Unroutable(Exception):
    """The broker returned the message: no queue is bound for its type (yet)."""


class QueueNames:
    def __init__(self, namespace: str, service: str, retry_delays_ms: Iterable[int]) -> None:
        self.main = f"{namespace}.{service}"
        self.dead_letter = f"{self.main}.dlq"
        self.retries = [f"{self.main}.retry.{i}" for i, _ in enumerate(retry_delays_ms)]


class Bus:
    """A publisher-confirmed channel on a robust connection, and the topology it needs."""

    def __init__(self, amqp_url: str, namespace: str, *, service: str = "-") -> None:
        self.amqp_url = amqp_url
        self.namespace = namespace
        self.service = service  # the metrics label of what this bus publishes
        self.connection: AbstractRobustConnection | None = None
        self.channel: AbstractChannel | None = None
        self.exchange: AbstractExchange | None = None

    @property
    def exchange_name(self) -> str:
        return f"{self.namespace}.bus"

    async def connect(self) -> None:
        self.connection = await aio_pika.connect_robust(self.amqp_url, timeout=10)
        # on_return_raises: a mandatory message nobody takes fails its publish instead of "succeeding".
        self.channel = await self.connection.channel(publisher_confirms=True, on_return_raises=True)
        self.exchange = await self.channel.declare_exchange(
            self.exchange_name, aio_pika.ExchangeType.TOPIC, durable=True
        )

    @property
    def is_connected(self) -> bool:
        """Connected right now (a robust connection that is reconnecting is not)."""
        return (
            self.connection is not None and not self.connection.is_closed and self.connection.connected.is_set()
        )

    async def close(self) -> None:
        if self.connection is not None:
            await self.connection.close()

    async def declare_consumer(
        self, service: str, routing_keys: Iterable[str], retry_delays_ms: Iterable[int]
    ) -> QueueNames:
        """Declare the service's queue, its retry ladder and its dead-letter queue; bind the keys."""
        assert self.channel is not None and self.exchange is not None
        delays = list(retry_delays_ms)
        names = QueueNames(self.namespace, service, delays)
        queue = await self.channel.declare_queue(
            names.main, durable=True, arguments={"x-queue-type": "quorum"}
        )
        for key in routing_keys:
            await queue.bind(self.exchange, routing_key=key)
        for name, delay in zip(names.retries, delays):
            await self.channel.declare_queue(
                name,
                durable=True,
                arguments={
                    "x-message-ttl": delay,
                    "x-dead-letter-exchange": "",
                    "x-dead-letter-routing-key": names.main,
                },
            )
        await self.channel.declare_queue(
            names.dead_letter, durable=True, arguments={"x-queue-type": "quorum"}
        )
        return names

    async def publish(self, envelope: Envelope, *, trace: Mapping[str, str] | None = None) -> None:
        """Publish on the exchange, routed by the message type, and wait for the broker's confirm.

        ``trace`` is the trace context saved with the outbox row: the publish continues that trace
        and the message carries it on in its headers.

        Raises :class:`Unroutable` when no queue is bound for the type, except for broadcast
        events (``Message.BROADCAST``), which may legitimately have no listener.
        """
        await self.publish_json(envelope.model_dump_json().encode(), message_id=str(envelope.message_id),
                                type=envelope.type, correlation_id=envelope.correlation_id, trace=trace)

    async def publish_json(self, body: bytes, *, message_id: str, type: str, correlation_id: str | None,
                           trace: Mapping[str, str] | None = None) -> None:
        """:meth:`publish` for an envelope already in JSON (the relay sends an outbox row's own text:
        reading it into an :class:`Envelope` and writing it out again was two fifths of the relay's CPU)."""
        assert self.exchange is not None
        message_class = REGISTRY.get(type)
        mandatory = not (message_class is not None and message_class.BROADCAST)
        with producer_span(type, trace, headers := {}):
            message = aio_pika.Message(
                body=body,
                content_type="application/json",
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                message_id=message_id,
                correlation_id=correlation_id,
                type=type,
                headers=headers or None,
            )
            await self._publish(message, type, mandatory)
        PUBLISHED.labels(self.service, type).inc()

    async def _publish(self, message: aio_pika.Message, type: str, mandatory: bool) -> None:
        assert self.exchange is not None
        try:
            await self.exchange.publish(
                message, routing_key=type, mandatory=mandatory, timeout=PUBLISH_TIMEOUT_SECONDS
            )
        except aio_pika.exceptions.PublishError as exc:
            raise Unroutable(type) from exc
