"""Guest tokens are never stored in clear (issue 14): not in any service's tables (outboxes, inboxes,
the email log), not on the bus, not in dead letters. The booking-received email still carries a
working link: its token is minted by booking when notifications sends the email."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from datetime import date, timedelta

import aio_pika
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from hotelmate_devtools.signing import assertion_headers
from hotelmate_platform.settings import PlatformSettings

DATABASES = ("gateway", "inventory", "booking", "payments", "notifications")
QUEUE_OWNERS = ("inventory", "booking", "payments", "notifications")


def body(email: str) -> dict:
    check_in = date.today() + timedelta(days=50)
    return {"room_type": "DBL", "check_in": str(check_in), "check_out": str(check_in + timedelta(days=2)),
            "adults": 1, "booker": {"first_name": "Grace", "last_name": "Hopper", "email": email}}


async def emailed_link(http, system, booking_id: str, timeout: float = 90) -> str:
    sink = f"http://127.0.0.1:{system.layout.ports['smtp-sink-web']}/api/messages"
    deadline = time.monotonic() + timeout
    while True:
        mails = [m for m in (await http.get(sink)).json() if booking_id in m["subject"]]
        links = [link for m in mails for link in re.findall(r"https?://\S+#guest_token=\S+", m["text"] or "")]
        if links:
            return links[0]
        assert time.monotonic() < deadline, f"no booking-received email with a link for {booking_id}"
        await asyncio.sleep(0.3)


async def rows_holding(secrets: list[str]) -> dict[str, list[str]]:
    """``database.table`` of every row (any column, as text) holding one of ``secrets``."""
    settings, found = PlatformSettings(), {}
    for service in DATABASES:
        engine = create_async_engine(settings.database_url(service))
        try:
            async with engine.connect() as connection:
                tables = (await connection.execute(sa.text(
                    "SELECT table_name FROM information_schema.tables "
                    "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"))).scalars().all()
                for table in tables:
                    for secret in secrets:
                        hits = (await connection.execute(sa.text(
                            f'SELECT count(*) FROM "{table}" AS r WHERE strpos(r::text, :secret) > 0'),
                            {"secret": secret})).scalar_one()
                        if hits:
                            found.setdefault(f"{service}.{table}", []).append(secret[:6] + "...")
        finally:
            await engine.dispose()
    return found


async def dead_letters(connection: aio_pika.abc.AbstractConnection, namespace: str) -> list[bytes]:
    """Every dead letter (body and headers) of every service, handed back to its queue afterwards."""
    letters = []
    for service in QUEUE_OWNERS:
        channel = await connection.channel()
        try:
            queue = await channel.declare_queue(f"{namespace}.{service}.dlq", passive=True)
        except aio_pika.exceptions.ChannelClosed:
            continue
        while (message := await queue.get(no_ack=False, fail=False)) is not None:
            letters.append(message.body + repr(message.headers).encode())
        await channel.close()  # unacked: all of them go back
    return letters


async def test_guest_token_is_in_no_table_no_bus_message_and_no_dead_letter(http, direct, open_hotel, system):
    hotel = await open_hotel("sec-tokens")
    settings = PlatformSettings()
    async with await aio_pika.connect(settings.amqp_url) as connection:
        channel = await connection.channel()
        exchange = await channel.get_exchange(f"{settings.bus_namespace}.bus")
        probe = await channel.declare_queue(f"{settings.bus_namespace}.probe-{uuid.uuid4().hex[:8]}", exclusive=True)
        await probe.bind(exchange, "#")

        placed = await http.post(f"/api/v1/hotels/{hotel}/bookings", json=body(f"grace-{uuid.uuid4().hex[:6]}@example.test"))
        assert placed.status_code == 202, placed.text
        booking_id, token = placed.json()["booking_id"], placed.json()["guest_token"]
        link = await emailed_link(http, system, booking_id)
        link_token = link.split("#guest_token=", 1)[1]
        assert link_token != token

        # the emailed link opens the booking, and only this one
        path = f"/api/v1/hotels/{hotel}/bookings/{booking_id}"
        opened = await http.get(path, headers={"Authorization": f"Bearer {link_token}"})
        assert opened.status_code == 200 and opened.json()["booking_id"] == booking_id
        tampered = link_token[:-2] + ("AA" if not link_token.endswith("AA") else "BB")
        assert (await http.get(path, headers={"Authorization": f"Bearer {tampered}"})).status_code == 404

        on_the_bus = []
        while (message := await probe.get(no_ack=True, fail=False)) is not None:
            on_the_bus.append(message.body)
        assert any(booking_id.encode() in b and b"REQUESTED" in b for b in on_the_bus), "the probe saw nothing"
        for secret in (token, link_token):
            assert not [b for b in on_the_bus if secret.encode() in b], "a guest token travels on the bus"
            assert not [b for b in await dead_letters(connection, settings.bus_namespace) if secret.encode() in b]
    assert await rows_holding([token, link_token]) == {}


async def test_only_notifications_may_mint_a_guest_link(http, direct, open_hotel):
    hotel = await open_hotel("sec-tokens")
    placed = await http.post(f"/api/v1/hotels/{hotel}/bookings", json=body(f"ada-{uuid.uuid4().hex[:6]}@example.test"))
    mint = f"/internal/hotels/{hotel}/bookings/{placed.json()['booking_id']}/guest-link"
    booking = direct("booking")
    assert (await booking.post(mint)).status_code == 401
    assert (await booking.post(mint, headers=assertion_headers())).status_code == 403  # the gateway's assertion
    assert (await http.post(mint)).status_code in (401, 403, 404)  # the gateway does not expose /internal
    minted = await booking.post(mint, headers=assertion_headers(caller="notifications"))
    assert minted.status_code == 200 and minted.json()["guest_token"] != placed.json()["guest_token"]
