"""Operator tool for dead letters: ``python -m hotelmate_platform.dlq list|show|replay``.

``list``                      each service's dead-letter queue and how many messages wait there
``show SERVICE [--limit N]``  the dead letters of one service (guest tokens masked); they stay queued
``replay SERVICE [--limit N]`` move dead letters back to the service's main queue, attempts reset

The broker and namespace come from the usual settings (``HOTELMATE_AMQP_URL``,
``HOTELMATE_BUS_NAMESPACE``). Replay publishes each message (confirmed) before removing it from
the dead-letter queue, so a crash in between can only replay a message twice, which the
consumer's inbox absorbs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage

from .settings import PlatformSettings

SERVICES = ("inventory", "booking", "payments", "notifications")
SECRET_FIELDS = frozenset({"token", "guest_token"})
# Headers the consumer adds on the way to the dead-letter queue; a replay starts the message afresh.
RETRY_HEADERS = ("x-attempt", "x-error", "x-dead-lettered-by", "x-infrastructure-retries")


def mask_secrets(value):
    """A copy of ``value`` with every ``token``/``guest_token`` field (at any depth) masked."""
    if isinstance(value, dict):
        return {k: ("***" if k in SECRET_FIELDS and v else mask_secrets(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_secrets(v) for v in value]
    return value


def describe(message: AbstractIncomingMessage) -> dict:
    """What ``show`` prints about one dead letter (never a guest token in clear)."""
    try:
        body = mask_secrets(json.loads(message.body))
    except ValueError:
        body = f"<{len(message.body)} bytes, not JSON>"
    headers = message.headers or {}
    return {
        "message_id": message.message_id,
        "type": message.type,
        "error": headers.get("x-error"),
        "attempts": headers.get("x-attempt"),
        "body": body,
    }


class DeadLetters:
    """The dead-letter queues of one namespace on one broker."""

    def __init__(self, amqp_url: str, namespace: str) -> None:
        self.amqp_url = amqp_url
        self.namespace = namespace

    def queue(self, service: str) -> str:
        return f"{self.namespace}.{service}.dlq"

    def main_queue(self, service: str) -> str:
        return f"{self.namespace}.{service}"

    async def _channel(self, connection) -> AbstractChannel:
        return await connection.channel(publisher_confirms=True, on_return_raises=True)

    async def counts(self, services: Sequence[str] = SERVICES) -> dict[str, int | None]:
        """Dead letters per service; None where the service never declared its queues."""
        result: dict[str, int | None] = {}
        async with await aio_pika.connect(self.amqp_url) as connection:
            for service in services:
                channel = await connection.channel()
                try:
                    queue = await channel.declare_queue(self.queue(service), passive=True)
                    result[service] = queue.declaration_result.message_count
                    await channel.close()
                except aio_pika.exceptions.ChannelClosed:  # the queue does not exist (closes the channel)
                    result[service] = None
        return result

    async def show(self, service: str, limit: int = 20) -> list[dict]:
        """Up to ``limit`` dead letters, described; they are all returned to the queue afterwards."""
        shown: list[dict] = []
        async with await aio_pika.connect(self.amqp_url) as connection:
            channel = await connection.channel()
            queue = await channel.declare_queue(self.queue(service), passive=True)
            # Unacked gets: closing the channel hands them all back, in order.
            while len(shown) < limit and (message := await queue.get(no_ack=False, fail=False)) is not None:
                shown.append(describe(message))
            await channel.close()
        return shown

    async def replay(self, service: str, limit: int | None = None) -> int:
        """Move up to ``limit`` (default: all) dead letters to the service's main queue."""
        moved = 0
        async with await aio_pika.connect(self.amqp_url) as connection:
            channel = await self._channel(connection)
            queue = await channel.declare_queue(self.queue(service), passive=True)
            waiting = queue.declaration_result.message_count
            total = waiting if limit is None else min(limit, waiting)
            while moved < total and (message := await queue.get(no_ack=False, fail=False)) is not None:
                headers = {k: v for k, v in (message.headers or {}).items() if k not in RETRY_HEADERS}
                await channel.default_exchange.publish(
                    aio_pika.Message(
                        body=message.body, content_type=message.content_type, headers=headers,
                        delivery_mode=aio_pika.DeliveryMode.PERSISTENT, message_id=message.message_id,
                        correlation_id=message.correlation_id, type=message.type,
                    ),
                    routing_key=self.main_queue(service),
                    mandatory=True,
                )
                await message.ack()
                moved += 1
        return moved


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hotelmate_platform.dlq", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="dead letters per service")
    listing.add_argument("services", nargs="*", default=list(SERVICES))
    for name, text in (("show", "print dead letters (tokens masked)"), ("replay", "move dead letters back")):
        command = commands.add_parser(name, help=text)
        command.add_argument("service")
        command.add_argument("--limit", type=int, default=20 if name == "show" else None)
    args = parser.parse_args(argv)
    settings = PlatformSettings()
    tool = DeadLetters(settings.amqp_url, settings.bus_namespace)
    if args.command == "list":
        for service, count in asyncio.run(tool.counts(args.services)).items():
            print(f"{tool.queue(service)}\t{'-' if count is None else count}")
    elif args.command == "show":
        for item in asyncio.run(tool.show(args.service, args.limit)):
            print(json.dumps(item, default=str))
    else:
        moved = asyncio.run(tool.replay(args.service, args.limit))
        print(f"replayed {moved} message(s) to {tool.main_queue(args.service)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
