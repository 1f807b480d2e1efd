"""A tiny service built on the kit, run as a separate process by the messaging tests.

``python -m hotelmate_devtools.echo.worker consumer`` consume test.ping; record each handled message in ``effects``
                                   (``fail`` pings raise, unless ECHO_FAILURES_FIXED is set)
``python -m hotelmate_devtools.echo.worker relay``    run an outbox relay until killed
``python -m hotelmate_devtools.echo.worker crashing-relay`` publish one batch, then die before marking it sent
"""

import asyncio
import os
import sys

from hotelmate_devtools.echo.messages import Ping
from sqlalchemy import text

from hotelmate_platform.db import Database
from hotelmate_platform.logs import configure_logging
from hotelmate_platform.messaging import Bus, Consumer, OutboxRelay

SERVICE = os.environ.get("ECHO_SERVICE", "test0")


async def record(uow, message: Ping, envelope) -> None:
    if message.fail and not os.environ.get("ECHO_FAILURES_FIXED"):
        raise RuntimeError(f"ping {message.n} always fails")
    await uow.session.execute(
        text("INSERT INTO effects (message_id, n) VALUES (:m, :n)"), {"m": envelope.message_id, "n": message.n}
    )


class CrashingRelay(OutboxRelay):
    async def mark_published(self, conn, ids):
        os._exit(17)  # the crash the test is about: published, not yet marked


async def main(role: str) -> None:
    configure_logging(f"echo-{role}", "INFO")
    db = Database(os.environ["ECHO_DATABASE_URL"])
    bus = Bus(os.environ["HOTELMATE_AMQP_URL"], os.environ["HOTELMATE_BUS_NAMESPACE"])
    await bus.connect()
    if role == "consumer":
        delays = [int(x) for x in os.environ.get("ECHO_RETRY_DELAYS", "50,100").split(",")]
        consumer = Consumer(db, bus, SERVICE, {Ping: record}, retry_delays_ms=delays, max_attempts=3)
        await consumer.declare()
        print("ready", flush=True)
        await consumer.run()
    elif role == "relay":
        print("ready", flush=True)
        await OutboxRelay(db, bus, poll_seconds=0.05).run()
    elif role == "crashing-relay":
        await CrashingRelay(db, bus, poll_seconds=0.05).publish_pending()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
