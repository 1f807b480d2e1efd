"""The messaging kit survives its infrastructure: a broker restart, a database outage, a consumer
that is not there yet, a newer publisher. Each test runs on a PRIVATE RabbitMQ node and a PRIVATE
PostgreSQL cluster started for this module (the shared servers are never stopped)."""

import asyncio
import json
import os
import secrets
import subprocess
import sys
import time
import uuid

import aio_pika
import httpx
import pytest
from sqlalchemy import text

from hotelmate_contracts import Envelope
from hotelmate_devtools.system import free_port

from hotelmate_devtools.echo.harness import ECHO, Workers, echo_env, effects, pending_outbox, wait_until, write_pings
from hotelmate_devtools.echo.messages import Ping


@pytest.fixture
def namespace() -> str:
    """Each test its own exchange and queues on the private broker."""
    return f"rel_{secrets.token_hex(3)}"


@pytest.fixture
def spawn(echo_url, private_broker, namespace):
    workers = Workers(echo_env(echo_url, private_broker.amqp_url, namespace, ECHO_SERVICE="echo"))
    yield workers
    workers.stop()


@pytest.fixture
def broker_up(private_broker):
    """Whatever a test did to the broker, the next test finds it running."""
    yield private_broker
    try:
        private_broker.start_app()
    except RuntimeError:
        pass


@pytest.fixture
def database_up(private_database):
    yield private_database
    if not private_database.is_running():
        private_database.start()


async def publish_raw(amqp_url: str, namespace: str, body: bytes, routing_key: str = "test.ping") -> None:
    """Publish straight to the bus exchange (no outbox), as a foreign or newer publisher would."""
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(f"{namespace}.bus", aio_pika.ExchangeType.TOPIC, durable=True)
        await exchange.publish(aio_pika.Message(body=body, message_id=str(uuid.uuid4()),
                                                delivery_mode=aio_pika.DeliveryMode.PERSISTENT), routing_key)


async def queue_depth(amqp_url: str, queue: str) -> int:
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        declared = await channel.declare_queue(queue, passive=True)
        return declared.declaration_result.message_count


async def consumers_on(broker, queue: str, count: int = 1) -> bool:
    return await asyncio.to_thread(broker.consumers, queue) == count


def ping_body(n: int, **extra) -> bytes:
    envelope = Envelope(type=Ping.TYPE, payload={"n": n})
    return json.dumps({**json.loads(envelope.model_dump_json()), **extra}).encode()


async def test_consumer_comes_back_after_a_broker_restart(db, spawn, broker_up, namespace):
    broker = broker_up
    spawn("consumer")
    spawn("relay")
    queue = f"{namespace}.echo"
    assert await wait_until(lambda: consumers_on(broker, queue), timeout=30)

    await asyncio.to_thread(broker.stop_app)
    await asyncio.to_thread(broker.start_app)

    assert await wait_until(lambda: consumers_on(broker, queue), timeout=60), "the consumer was not restored"
    await write_pings(db, [101])
    assert await wait_until(lambda: _has(db, [101]), timeout=60), "a message published after the restart was not handled"


async def test_database_outage_longer_than_the_retry_ladder_dead_letters_nothing(db, spawn, broker_up, database_up,
                                                                                 namespace):
    # A ladder of 50 ms + 100 ms and three attempts: poison would be dead-lettered within a second.
    consumer = spawn("consumer")
    await asyncio.to_thread(database_up.stop)
    await publish_raw(broker_up.amqp_url, namespace, ping_body(201))
    # Many more rounds than the ladder has attempts, all while the database is down.
    assert await wait_until(lambda: _async(consumer.output().count("waits out an infrastructure failure") >= 10),
                            timeout=60), consumer.output()
    assert await queue_depth(broker_up.amqp_url, f"{namespace}.echo.dlq") == 0
    await asyncio.to_thread(database_up.start)
    assert await wait_until(lambda: _has(db, [201]), timeout=60), consumer.output()
    assert await queue_depth(broker_up.amqp_url, f"{namespace}.echo.dlq") == 0


async def test_relay_holds_no_transaction_while_the_broker_is_away(db, spawn, broker_up, namespace):
    spawn("consumer")
    relay = spawn("relay")
    await asyncio.to_thread(broker_up.stop_app)
    await write_pings(db, range(301, 311))

    async def claimed() -> str | None:
        """What the relay holds on the pending rows once it has picked them up."""
        async with db.sessions() as s:
            row = (await s.execute(text(
                "SELECT"
                " (SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                "  AND state LIKE 'idle in transaction%') AS open_transactions,"
                " (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database ="
                "  (SELECT oid FROM pg_database WHERE datname = current_database())) AS advisory"
            ))).one()
        if row.open_transactions:
            return "transaction"
        return "advisory locks" if row.advisory else None

    assert await wait_until(claimed, timeout=30) == "advisory locks", relay.output()
    await asyncio.to_thread(broker_up.start_app)
    assert await wait_until(lambda: _has(db, range(301, 311)), timeout=60), relay.output()
    assert await effects(db, range(301, 311)) == {n: 1 for n in range(301, 311)}


async def test_message_published_before_its_queue_exists_is_delivered_once_it_appears(db, spawn, broker_up, namespace):
    relay = spawn("relay")
    await write_pings(db, [401])
    assert await wait_until(lambda: _async("returned by the broker" in relay.output()), timeout=30), relay.output()
    assert await pending_outbox(db) >= 1, "a returned message stays pending"
    spawn("consumer")
    assert await wait_until(lambda: _has(db, [401]), timeout=60), relay.output()
    assert await effects(db, [401]) == {401: 1}


async def test_message_returned_for_a_long_time_is_delivered_within_seconds_once_its_queue_appears(
        db, spawn, broker_up, namespace):
    # The broker returns the message for a long time (a consumer deployed late); once the
    # queue is there, the guest's saga must not wait out a pause that grew meanwhile.
    relay = spawn("relay")
    await write_pings(db, [451])
    assert await wait_until(lambda: _async("returned by the broker" in relay.output()), timeout=30), relay.output()
    await asyncio.sleep(16)  # the fault's length: returned again and again for 16 s. A pause that kept
    # doubling (tries at 0, 1, 3, 7 and 15 s) would next try at 31 s: 14 s after the queue appears.
    assert await pending_outbox(db) >= 1, "a returned message stays pending"
    spawn("consumer")
    assert await wait_until(lambda: consumers_on(broker_up, f"{namespace}.echo"), timeout=30)
    queue_seen = time.monotonic()
    assert await wait_until(lambda: _has(db, [451]), timeout=90), relay.output()
    waited = time.monotonic() - queue_seen
    assert waited < 10, f"delivered {waited:.1f} s after its queue appeared\n{relay.output()}"
    assert await effects(db, [451]) == {451: 1}


async def test_unknown_fields_from_a_newer_publisher_are_ignored(db, spawn, broker_up, namespace):
    spawn("consumer")
    body = json.loads(ping_body(501, schema_hint="v2-envelope-field"))
    body["payload"]["loyalty_tier"] = "gold"  # a field this consumer's build does not know
    await publish_raw(broker_up.amqp_url, namespace, json.dumps(body).encode())
    assert await wait_until(lambda: _has(db, [501]), timeout=30)
    assert await queue_depth(broker_up.amqp_url, f"{namespace}.echo.dlq") == 0


async def test_readyz_is_not_ready_while_the_broker_or_the_database_is_away(echo_url, private_database, broker_up,
                                                                           database_up, namespace, tmp_path):
    port = free_port()
    env = {**os.environ, "HOTELMATE_POSTGRES_URL": private_database.url, "HOTELMATE_DB_PREFIX": "",
           "HOTELMATE_AMQP_URL": broker_up.amqp_url, "HOTELMATE_BUS_NAMESPACE": namespace}
    log = open(tmp_path / "echo-app.log", "w")
    app = subprocess.Popen([sys.executable, "-m", "uvicorn", "hotelmate_devtools.echo.app:app", "--port", str(port)],
                           env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:

            async def ready_is(expected: bool):
                try:
                    response = await client.get("/readyz")
                except httpx.TransportError:
                    return False
                return (response.status_code == 200) == expected and response

            assert await wait_until(lambda: ready_is(True), timeout=60), (tmp_path / "echo-app.log").read_text()
            await asyncio.to_thread(broker_up.stop_app)
            assert await wait_until(lambda: ready_is(False), timeout=30)
            await asyncio.to_thread(broker_up.start_app)
            ready = await wait_until(lambda: ready_is(True), timeout=60)
            assert ready, (tmp_path / "echo-app.log").read_text()
            assert ready.json()["checks"]["consumer"] == ready.json()["checks"]["background"] == "ok"
            assert await wait_until(lambda: consumers_on(broker_up, f"{namespace}.echo"), timeout=30), \
                (tmp_path / "echo-app.log").read_text()

            await asyncio.to_thread(database_up.stop)
            not_ready = await wait_until(lambda: ready_is(False), timeout=30)
            assert not_ready and not_ready.status_code == 503
            assert not_ready.json()["checks"]["database"].startswith("down")
            await asyncio.to_thread(database_up.start)
            assert await wait_until(lambda: ready_is(True), timeout=60)
    finally:
        app.terminate()
        app.wait(20)
        log.close()


async def _has(db, numbers) -> bool:
    return len(await effects(db, numbers)) == len(list(numbers))


async def _async(value):
    return value


async def test_every_message_is_delivered_once_through_repeated_broker_restarts(db, spawn, broker_up, namespace):
    # Pings are written one by one while the broker restarts again and again: a publish in flight at
    # a restart fails, its row stays pending, and the relay (restarted if its await was cancelled)
    # publishes it once the connection is back. Every ping is handled, exactly once.
    spawn("consumer")
    relay = spawn("relay")
    written: list[int] = []
    writing = True

    async def writer() -> None:
        n = 20_000
        while writing:
            batch = list(range(n, n + 10))
            await write_pings(db, batch)
            written.extend(batch)
            n += 10
            await asyncio.sleep(0.1)

    task = asyncio.create_task(writer())
    try:
        for _ in range(2):
            await wait_until(lambda: consumers_on(broker_up, f"{namespace}.echo"), timeout=60)
            await asyncio.sleep(0.3)  # pings flow between restarts
            await asyncio.to_thread(broker_up.stop_app)
            await asyncio.to_thread(broker_up.start_app)
    finally:
        writing = False
        await task
    assert relay.popen.poll() is None, f"the relay died:\n{relay.output()}"
    assert await wait_until(lambda: _has(db, written), timeout=60), \
        f"{len(written) - len(await effects(db, written))} of {len(written)} pings never handled\n{relay.output()}"
    assert set((await effects(db, written)).values()) == {1}
