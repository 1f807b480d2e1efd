"""The dead-letter tool on the real broker (this run's namespace): list, show with guest tokens
masked, and replay back to the service's queue with the attempt count reset."""

import asyncio
import json
import os
import subprocess
import sys
import uuid

import aio_pika
import pytest

from hotelmate_contracts import Envelope
from hotelmate_platform.dlq import DeadLetters

from hotelmate_devtools.echo.harness import Workers, echo_env, effects, wait_until
from hotelmate_devtools.echo.messages import Ping

SERVICE = "test2"
SECRET = "gt_" + uuid.uuid4().hex


FULL = "test3"  # the full-DLQ test's own queues, so the two tests never see each other's dead letters


def _workers(echo_url, platform_settings, service: str):
    workers = Workers(echo_env(echo_url, platform_settings.amqp_url, platform_settings.bus_namespace,
                               ECHO_SERVICE=service))
    yield workers
    workers.stop()


@pytest.fixture
def spawn(echo_url, platform_settings):
    yield from _workers(echo_url, platform_settings, SERVICE)


@pytest.fixture
def spawn_full(echo_url, platform_settings):
    yield from _workers(echo_url, platform_settings, FULL)


def dlq_cli(*args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "hotelmate_platform.dlq", *args], capture_output=True, text=True,
                            timeout=60, env=os.environ)
    assert result.returncode == 0, result.stderr
    return result.stdout


async def publish_failing_ping(platform_settings, n: int) -> None:
    # The guest token travels as a field this build of the consumer does not know (it is ignored).
    body = Envelope(type=Ping.TYPE, payload={"n": n, "fail": True, "guest_token": SECRET}).model_dump_json()
    connection = await aio_pika.connect(platform_settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(f"{platform_settings.bus_namespace}.bus",
                                                  aio_pika.ExchangeType.TOPIC, durable=True)
        await exchange.publish(aio_pika.Message(body=body.encode(), message_id=str(uuid.uuid4()), type=Ping.TYPE,
                                                delivery_mode=aio_pika.DeliveryMode.PERSISTENT), Ping.TYPE)


async def test_list_show_and_replay_dead_letters(db, spawn, platform_settings):
    tool = DeadLetters(platform_settings.amqp_url, platform_settings.bus_namespace)
    failing = spawn("consumer")
    await publish_failing_ping(platform_settings, 7001)

    async def one_dead_letter():
        return (await tool.counts([SERVICE]))[SERVICE] == 1

    assert await wait_until(one_dead_letter, timeout=30), failing.output()
    listed = await asyncio.to_thread(dlq_cli, "list", SERVICE)
    assert f"{tool.queue(SERVICE)}\t1" in listed

    shown = await asyncio.to_thread(dlq_cli, "show", SERVICE)
    assert SECRET not in shown
    item = json.loads(shown.splitlines()[0])
    assert item["body"]["payload"]["guest_token"] == "***"
    assert item["body"]["payload"]["n"] == 7001 and "always fails" in item["error"]
    assert (await tool.counts([SERVICE]))[SERVICE] == 1, "show leaves the dead letters where they are"

    failing.stop()  # the bug is fixed and deployed: the next consumer handles the message
    replayed = await asyncio.to_thread(dlq_cli, "replay", SERVICE)
    assert "replayed 1 message" in replayed
    assert (await tool.counts([SERVICE]))[SERVICE] == 0
    async with await aio_pika.connect(platform_settings.amqp_url) as connection:
        channel = await connection.channel()
        main = await channel.declare_queue(tool.main_queue(SERVICE), passive=True)
        message = await wait_until(lambda: main.get(no_ack=False, fail=False), timeout=10)
        assert message is not None and "x-attempt" not in (message.headers or {}), "the attempt count starts afresh"
        await message.nack(requeue=True)
    spawn("consumer", ECHO_FAILURES_FIXED="1")
    assert await wait_until(lambda: _handled(db, 7001), timeout=30)


async def _handled(db, n) -> bool:
    return await effects(db, [n]) == {n: 1}


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=60)


async def test_a_full_dead_letter_queue_keeps_the_message_and_takes_it_once_there_is_room(db, spawn_full, platform_settings):
    """Operators bound dead-letter queues with a reject-publish policy (README): a refused hand-over
    must neither lose the message nor leave it stuck unacknowledged at the consumer."""
    tool = DeadLetters(platform_settings.amqp_url, platform_settings.bus_namespace)
    policy = f"{platform_settings.bus_namespace}-full-dlq"
    pattern = "^" + tool.queue(FULL).replace(".", "\\.") + "$"
    consumer = spawn_full("consumer")  # declares the queues before the policy applies to them
    await asyncio.to_thread(_rabbitmqctl, "set_policy", policy, pattern,
                            '{"max-length":0,"overflow":"reject-publish"}', "--apply-to", "queues")
    try:
        await _fill(platform_settings, tool.queue(FULL))  # a quorum queue refuses once over its limit
        await publish_failing_ping(platform_settings, 7002)

        async def refused_and_given_back():
            return (await tool.counts([FULL]))[FULL] == 1 and "could not settle" in consumer.output()

        assert await wait_until(refused_and_given_back, timeout=30), consumer.output()
        # The operator makes room (takes the old dead letter out): the message, given back to its
        # queue, now reaches the dead-letter queue.
        await _take_one(platform_settings, tool.queue(FULL))
        assert await wait_until(lambda: _dead_letters(tool, 1), timeout=30), consumer.output()
        shown = json.loads((await asyncio.to_thread(dlq_cli, "show", FULL)).splitlines()[0])
        assert shown["body"]["payload"]["n"] == 7002
    finally:
        await asyncio.to_thread(_rabbitmqctl, "clear_policy", policy)


async def _take_one(platform_settings, queue: str) -> None:
    async with await aio_pika.connect(platform_settings.amqp_url) as connection:
        channel = await connection.channel()
        message = await (await channel.declare_queue(queue, passive=True)).get(no_ack=False)
        await message.ack()


async def _fill(platform_settings, queue: str) -> None:
    async with await aio_pika.connect(platform_settings.amqp_url) as connection:
        channel = await connection.channel()
        await channel.default_exchange.publish(aio_pika.Message(b"{}", delivery_mode=aio_pika.DeliveryMode.PERSISTENT), queue)


async def _dead_letters(tool, expected: int) -> bool:
    return (await tool.counts([FULL]))[FULL] == expected
