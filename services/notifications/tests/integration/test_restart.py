"""A notifications process killed in the middle of an SMTP conversation loses no email: after a
restart the delivery's lease runs out and it is sent, once."""

from sqlalchemy import text

from hotelmate_devtools.system import Layout, System
from hotelmate_platform.db import Database
from notifications.settings import NotificationsSettings
from hotelmate_devtools.waiting import eventually
from hotelmate_devtools.support.notifications import SmtpServer, isolated_env, new_booking_id, status_changed


async def test_a_process_killed_mid_send_sends_the_email_after_restart(bus):
    layout = Layout.random_ports({**isolated_env(), "HOTELMATE_MAIL_LEASE_SECONDS": "2",
                                  "HOTELMATE_MAIL_POLL_SECONDS": "0.2"})
    server = SmtpServer(port=layout.ports["smtp-sink"]).start()  # where the process is told to send
    server.mailbox.stall_next = 1
    system = System(layout, echo=False)
    db = Database(NotificationsSettings(db_prefix=isolated_env()["HOTELMATE_DB_PREFIX"]).database, pool_size=2)
    try:
        system.start(["notifications"])
        bid = new_booking_id()
        await bus.publish(status_changed(bid, "CONFIRMED", from_status="PENDING_APPROVAL"))
        assert await eventually(lambda: server.mailbox.stalled == 1)

        system.processes["notifications"].kill()  # SIGKILL while the server has not answered yet
        assert await _status(db, bid) == ("SENDING", 1)

        system.restart("notifications")
        assert await eventually(lambda: server.mailbox.for_booking(bid), timeout=20)
        assert await eventually(lambda: _is_sent(db, bid))
        assert await _status(db, bid) == ("SENT", 2)
        assert len(server.mailbox.for_booking(bid)) == 1
    finally:
        system.stop()
        server.stop()
        await db.dispose()


async def _status(db: Database, booking_id: str):
    async with db.sessions() as session:
        row = (await session.execute(text("SELECT status, attempts FROM deliveries WHERE booking_id = :b"),
                                     {"b": booking_id})).one()
    return tuple(row)


async def _is_sent(db: Database, booking_id: str) -> bool:
    return (await _status(db, booking_id))[0] == "SENT"
