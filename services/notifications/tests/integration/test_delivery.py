"""Exactly once per event per recipient: redeliveries, refusing and missing SMTP servers, a sender
that died mid-send, and the staff endpoints that show and retry failed emails."""

from sqlalchemy import text

from hotelmate_contracts import wrap
from hotelmate_platform.db import Database
from notifications.handlers import record_emails
from hotelmate_devtools.waiting import eventually
from hotelmate_devtools.support.notifications import (
    GUEST, HOTEL, SmtpServer, fast_settings, new_booking_id, running_app, status_changed,
)

LIST = "/api/v1/staff/hotels/aurora/notifications"


async def deliveries(app, booking_id: str) -> list[dict]:
    db = app.state.runtime.db
    async with db.sessions() as session:
        rows = await session.execute(
            text("SELECT id, template, recipient, status, attempts, last_error FROM deliveries "
                 "WHERE booking_id = :b ORDER BY id"), {"b": booking_id})
        return [dict(r._mapping) for r in rows]


async def test_the_same_event_delivered_three_times_sends_one_email(smtp_server, bus):
    async with running_app(fast_settings(smtp_server.port)) as (app, _):
        bid = new_booking_id()
        envelope = wrap(status_changed(bid, "CONFIRMED", from_status="PENDING_APPROVAL"))
        for _ in range(3):
            await bus.publish(envelope)
        marker = new_booking_id()  # published after the copies: once its email is out, they were handled
        await bus.publish(status_changed(marker, "CONFIRMED", from_status="PENDING_APPROVAL"))
        assert await eventually(lambda: smtp_server.mailbox.for_booking(marker))
        # One delivery row, settled: nothing is left that could send a second email.
        assert await eventually(lambda: _with_status(app, bid, "SENT"))
        assert [d["status"] for d in await deliveries(app, bid)] == ["SENT"]
        assert len(smtp_server.mailbox.for_booking(bid)) == 1


async def test_the_delivery_key_holds_even_without_the_inbox(smtp_server):
    async with running_app(fast_settings(smtp_server.port)) as (app, _):
        bid = new_booking_id()
        event = status_changed(bid, "PENDING_APPROVAL", from_status="PENDING_PAYMENT")
        envelope = wrap(event)
        db: Database = app.state.runtime.db
        for _ in range(2):  # the handler itself, twice, as if the inbox row had been lost
            async with db.unit_of_work() as uow:
                await record_emails(uow, event, envelope)
        # Two rows (one per recipient), both settled: no row is left to send a third email.
        assert await eventually(lambda: _with_status(app, bid, "SENT", count=2))
        assert len(await deliveries(app, bid)) == 2
        assert sorted(r.rcpt_tos[0] for r in smtp_server.mailbox.for_booking(bid)) == sorted(
            [GUEST.email, HOTEL.staff_email])


async def test_a_server_refusing_then_accepting_delivers_once(smtp_server, bus):
    smtp_server.mailbox.refuse_next = 1
    async with running_app(fast_settings(smtp_server.port)) as (app, _):
        bid = new_booking_id()
        await bus.publish(status_changed(bid, "CONFIRMED", from_status="PENDING_APPROVAL"))
        assert await eventually(lambda: _with_status(app, bid, "SENT"))  # settled: it is never sent again
        assert smtp_server.mailbox.refused == 1
        assert len(smtp_server.mailbox.for_booking(bid)) == 1
        [row] = await deliveries(app, bid)
        assert (row["status"], row["attempts"]) == ("SENT", 2)


async def test_a_server_down_for_the_whole_budget_parks_the_email_failed_and_staff_can_retry(bus):
    down = SmtpServer()  # its port is chosen, nothing listens on it yet
    async with running_app(fast_settings(down.port)) as (app, client):
        bid = new_booking_id()
        await bus.publish(status_changed(bid, "CONFIRMED", from_status="PENDING_APPROVAL"))
        failed = await eventually(lambda: _with_status(app, bid, "FAILED"))
        assert failed["attempts"] == 3 and "Connect" in failed["last_error"]  # 1 try + 2 retries

        listed = (await client.get(LIST, params={"status": "FAILED"})).json()
        assert failed["id"] in [item["id"] for item in listed["items"]]

        down.start()
        try:
            answer = await client.post(f"{LIST}/{failed['id']}/retry", headers={"X-HotelMate-Staff-Id": "s-1"})
            assert answer.status_code == 202 and answer.json()["status"] == "PENDING"
            assert await eventually(lambda: down.mailbox.for_booking(bid))
            # the mailbox has it before the 250 reply; SENT is committed right after
            assert (await eventually(lambda: _with_status(app, bid, "SENT")))["id"] == failed["id"]
            again = await client.post(f"{LIST}/{failed['id']}/retry")
            assert again.status_code == 409
        finally:
            down.stop()
        assert len(down.mailbox.for_booking(bid)) == 1


async def test_a_permanent_refusal_fails_at_once(smtp_server, bus):
    async def refuse(server, session, envelope, address, rcpt_options):
        return "550 5.1.1 No such user"

    smtp_server.mailbox.handle_RCPT = refuse
    async with running_app(fast_settings(smtp_server.port)) as (app, _):
        bid = new_booking_id()
        await bus.publish(status_changed(bid, "CONFIRMED", from_status="PENDING_APPROVAL"))
        failed = await eventually(lambda: _with_status(app, bid, "FAILED"))
        assert failed["attempts"] == 1 and failed["last_error"].startswith("550")


async def test_an_email_left_sending_by_a_dead_sender_goes_out_again_with_the_same_message_id(smtp_server, bus):
    # The default (long) lease: the first send can never outlive it and be claimed a second time.
    async with running_app(fast_settings(smtp_server.port)) as (app, _):
        bid = new_booking_id()
        await bus.publish(status_changed(bid, "CONFIRMED", from_status="PENDING_APPROVAL"))
        # Start from a state the sender cannot race: SENT is final, the sender never touches it again
        # (the mailbox has the email before the 250 reply, so waiting for the mailbox is not enough).
        assert await eventually(lambda: _with_status(app, bid, "SENT"))
        # What a crash between the SMTP server's 250 and the SENT mark leaves behind: SENDING, the
        # attempt counted, its lease run out.
        async with app.state.runtime.db.sessions() as session, session.begin():
            changed = await session.execute(text(
                "UPDATE deliveries SET status = 'SENDING', lease_until = now() - interval '1 second' "
                "WHERE booking_id = :b AND status = 'SENT'"), {"b": bid})
            assert changed.rowcount == 1
        assert await eventually(lambda: len(smtp_server.mailbox.for_booking(bid)) == 2)
        first, second = smtp_server.mailbox.for_booking(bid)
        assert first.email["Message-ID"] == second.email["Message-ID"]
        assert (await eventually(lambda: _with_status(app, bid, "SENT")))["attempts"] == 2


async def test_two_replicas_never_send_an_email_twice_when_a_batch_outlasts_the_lease(smtp_server):
    smtp_server.mailbox.accept_after = 0.25  # a slow server: ten emails take longer than one lease
    settings = fast_settings(smtp_server.port, mail_lease_seconds=1.0, mail_batch_size=10)
    async with running_app(settings) as (app, _), running_app(settings):
        bids = [new_booking_id() for _ in range(5)]
        async with app.state.runtime.db.unit_of_work() as uow:  # ten emails at once: one batch
            for bid in bids:
                event = status_changed(bid, "PENDING_APPROVAL", from_status="PENDING_PAYMENT")
                await record_emails(uow, event, wrap(event))
        for bid in bids:
            assert await eventually(lambda: _with_status(app, bid, "SENT", count=2), timeout=30)
        received = {bid: sorted(r.rcpt_tos[0] for r in smtp_server.mailbox.for_booking(bid)) for bid in bids}
        assert received == {bid: sorted([GUEST.email, HOTEL.staff_email]) for bid in bids}


async def test_staff_list_pages_and_filters(smtp_server, bus):
    async with running_app(fast_settings(smtp_server.port)) as (app, client):
        bid = new_booking_id()
        await bus.publish(status_changed(bid, "PENDING_APPROVAL", from_status="PENDING_PAYMENT"))
        assert await eventually(lambda: len(smtp_server.mailbox.for_booking(bid)) == 2)
        await eventually(lambda: _with_status(app, bid, "SENT", count=2))
        first = (await client.get(LIST, params={"limit": 1, "status": "SENT"})).json()
        assert len(first["items"]) == 1 and first["next_cursor"]
        second = (await client.get(LIST, params={"limit": 1, "status": "SENT", "cursor": first["next_cursor"]})).json()
        assert second["items"][0]["id"] < first["items"][0]["id"]
        item = first["items"][0]
        assert "text_body" not in item and "html_body" not in item and item["status"] == "SENT"

        bad = await client.get(LIST, params={"status": "LOST"})
        assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
        assert bad.json()["errors"][0]["field"] == "status"
        assert (await client.get(LIST, params={"cursor": "abc"})).status_code == 422
        other_hotel = await client.post(f"/api/v1/staff/hotels/elsewhere/notifications/{item['id']}/retry")
        assert other_hotel.status_code == 404


async def _with_status(app, booking_id: str, status: str, count: int = 1):
    rows = [d for d in await deliveries(app, booking_id) if d["status"] == status]
    return rows[0] if len(rows) >= count else None
