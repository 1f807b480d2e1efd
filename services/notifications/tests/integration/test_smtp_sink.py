"""``make run``'s path: the notifications process sends to the local SMTP sink, which prints each
email's From/To/Subject and lists it on its web page."""

import httpx

from hotelmate_devtools.waiting import eventually
from hotelmate_devtools.support.notifications import GUEST, isolated_env, new_booking_id, status_changed


async def test_a_booking_email_reaches_the_sink_and_its_page(system_factory, bus):
    system = system_factory(["smtp-sink", "notifications"], env=isolated_env())
    try:
        await _check_the_sink(system, bus)
    finally:
        system.stop()  # the process would otherwise compete for the queue with later tests' apps


async def _check_the_sink(system, bus):
    sink = system.layout.url("smtp-sink-web")
    bid = new_booking_id()
    await bus.publish(status_changed(bid, "CONFIRMED", from_status="PENDING_APPROVAL"))

    async def listed():
        async with httpx.AsyncClient() as client:
            mails = (await client.get(f"{sink}/api/messages")).json()
        return [m for m in mails if bid in m["subject"]]

    [mail] = await eventually(listed, timeout=20)
    assert mail["to"] == GUEST.email and "EUR 361.80" in mail["text"] and mail["has_html"]
    line = f"To: {GUEST.email}  Subject: Hotel Aurora: your booking {bid} is confirmed"
    # the sink prints after it lists the email, and its output reaches us through a pipe
    assert await eventually(lambda: line in "".join(system.processes["smtp-sink"].lines), timeout=20)
    async with httpx.AsyncClient() as client:
        page = await client.get(sink + "/")
        one = await client.get(f"{sink}/messages/{mail['id']}")
        part = await client.get(f"{sink}/messages/{mail['id']}/html")
    assert bid in page.text and "EUR 361.80" in one.text and "sandbox" in part.headers["content-security-policy"]
