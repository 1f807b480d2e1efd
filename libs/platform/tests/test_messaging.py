"""The messaging guarantees of SPEC §4.3, shown across processes on the real broker and database."""

import aio_pika
import pytest
from sqlalchemy import text

from hotelmate_contracts import Envelope
from hotelmate_devtools.busprobe import BusProbe
from hotelmate_devtools.echo.harness import ECHO, Workers, echo_env, effects, pending_outbox, wait_until, write_pings
from hotelmate_devtools.echo.messages import Ping
from hotelmate_platform.db import prepare_database


@pytest.fixture(scope="module")
def echo_url(platform_settings) -> str:
    url = platform_settings.database_url("echo")
    prepare_database(url, ECHO / "migrations")
    return url


@pytest.fixture
def spawn(echo_url, platform_settings):
    workers = Workers(echo_env(echo_url, platform_settings.amqp_url, platform_settings.bus_namespace))
    yield workers
    workers.stop()


@pytest.fixture
def consumer(spawn):
    return spawn("consumer")


async def test_committed_message_arrives_exactly_once(db, consumer, spawn):
    spawn("relay")
    await write_pings(db, [1001])
    assert await wait_until(lambda: _has(db, [1001]))
    # Once 1001 is marked sent the relay publishes it no more; a marker written now comes after any
    # stray second copy on the queue, so when the marker has been handled the copy has been too.
    assert await wait_until(lambda: _outbox_empty(db))
    await write_pings(db, [1002])
    assert await wait_until(lambda: _has(db, [1002]))
    assert await effects(db, [1001]) == {1001: 1}


async def test_rolled_back_transaction_publishes_nothing(db, consumer, spawn):
    spawn("relay")
    with pytest.raises(RuntimeError):
        async with db.unit_of_work() as uow:
            uow.publish(Ping(n=2001))
            raise RuntimeError("the business change failed")
    await write_pings(db, [2002])  # a committed one afterwards: proves the pipe was flowing
    assert await wait_until(lambda: _has(db, [2002]))  # 2002 was written after 2001's rollback
    assert await effects(db, [2001, 2002]) == {2002: 1}
    async with db.sessions() as s:
        assert (await s.execute(text("SELECT count(*) FROM outbox WHERE envelope->'payload'->>'n' = '2001'"))).scalar_one() == 0


async def test_relay_killed_between_publish_and_marking_sent_is_absorbed_by_inbox(db, consumer, spawn):
    numbers = range(3001, 3021)
    await write_pings(db, numbers)
    crashing = spawn("crashing-relay", ready=False)
    assert crashing.popen.wait(20) == 17
    assert await pending_outbox(db) >= 20, "the crash left the rows unmarked"
    assert await wait_until(lambda: _has(db, numbers)), "the crashing relay had published them"
    spawn("relay")
    assert await wait_until(lambda: _outbox_empty(db))
    await wait_until(lambda: _async_true(consumer.output().count("duplicate test.ping") >= 20), timeout=10)
    assert consumer.output().count("duplicate test.ping") >= 20, "every message was delivered a second time"
    assert await effects(db, numbers) == {n: 1 for n in numbers}


async def test_poison_message_goes_to_dead_letter_queue_while_later_messages_flow(db, consumer, spawn, platform_settings):
    spawn("relay")
    await write_pings(db, [4000], fail=True)
    later = range(4001, 4011)
    await write_pings(db, later)
    assert await wait_until(lambda: _has(db, later))
    connection = await aio_pika.connect(platform_settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        dlq = await channel.declare_queue(f"{platform_settings.bus_namespace}.test0.dlq", passive=True)

        async def dead_lettered():
            message = await dlq.get(fail=False, no_ack=False)
            if message is None:
                return None
            await message.ack()
            return message

        message = await wait_until(dead_lettered, timeout=20)
        assert message is not None
        assert Envelope.model_validate_json(message.body).payload["n"] == 4000
        assert "always fails" in message.headers["x-error"]
    assert await effects(db, [4000]) == {}


MARKER = 5999  # published after the relays' pings


async def test_two_relays_side_by_side_publish_each_message_once(db, consumer, spawn, platform_settings):
    numbers = range(5001, 5301)
    await write_pings(db, numbers)
    async with BusProbe(platform_settings.amqp_url, platform_settings.bus_namespace, Ping.TYPE) as tap:
        first, second = spawn("relay", ready=False), spawn("relay", ready=False)
        assert await wait_until(lambda: _outbox_empty(db), timeout=30)
        # Both relays have had every publish confirmed; a marker published now reaches the tap after them.
        await tap.publish(Ping(n=MARKER))
        await tap.expect(Ping, n=MARKER, timeout=30)
        seen = [payload["n"] for payload in tap.payloads(Ping) if payload["n"] != MARKER]
    assert sorted(seen) == list(numbers)
    assert await wait_until(lambda: _has(db, numbers))
    assert "ready" in first.output() and "ready" in second.output()


async def _has(db, numbers) -> bool:
    return len(await effects(db, numbers)) == len(list(numbers))


async def _outbox_empty(db) -> bool:
    return await pending_outbox(db) == 0


async def _async_true(value):
    return value

