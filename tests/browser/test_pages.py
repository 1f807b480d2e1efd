"""The pages people use, in a real headless Chromium: a guest books, pays and completes pre-check-in;
the desk signs in, approves, assigns a room and checks the guest in; a guest cancels from the link in
the booking email. Every service runs as its own process, everything through the gateway."""

import asyncio
import os
import re
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from hotelmate_devtools.testing import system_fixture

from .browser_support import WAIT_MS, reload_until, shot

HOTEL = "browser-inn"
TZ = "Europe/Paris"
EMAIL = os.environ.get("HOTELMATE_ADMIN_EMAIL", "admin@hotelmate.test")
PASSWORD = os.environ.get("HOTELMATE_ADMIN_PASSWORD", "admin-password-for-tests")
STAFF: dict[str, str] = {}  # the module's staff token (the gateway rate-limits sign-ins)

system = system_fixture(["stripe-emulator", "smtp-sink", "inventory", "booking", "payments", "notifications",
                         "gateway"], env={"HOTELMATE_GATEWAY_PUBLIC_RATE_PER_MINUTE": "100000"})


@pytest.fixture(scope="module")
async def gateway(system):
    """The gateway's address, with ``HOTEL`` opened through the staff API."""
    base = system.layout.url("gateway")
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        token = (await http.post("/api/v1/auth/token", json={"email": EMAIL, "password": PASSWORD})).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        STAFF.update(headers)
        for path, body in [
            ("", {"name": "Browser Inn", "timezone": TZ, "currency": "EUR", "check_in_time": "00:00",
                  "check_out_time": "11:00", "hold_minutes": 30, "approval_hours": 24,
                  "staff_email": "desk@browser-inn.test"}),
            ("/room-types/DBL", {"name": "Double", "max_adults": 2, "max_children": 1, "base_rate": "100.00"}),
            ("/rooms/101", {"room_type": "DBL", "in_service": True}),
            ("/rooms/102", {"room_type": "DBL", "in_service": True}),
            ("/rooms/103", {"room_type": "DBL", "in_service": True}),
            ("/cancellation-policy", {"free_until_hours": 48, "penalty": "FIRST_NIGHT"}),
        ]:
            answer = await http.put(f"/api/v1/staff/hotels/{HOTEL}{path}", json=body, headers=headers)
            assert answer.status_code < 300, answer.text
    return base


def today():
    return datetime.now(ZoneInfo(TZ)).date()


async def test_guest_books_pays_pre_checks_in_and_the_desk_checks_them_in(browser, gateway):
    guest = await browser.new_context()
    page = await guest.new_page()
    arrive = today()
    await page.goto(f"{gateway}/book/{HOTEL}")
    await page.fill("#check_in", arrive.isoformat())
    await page.fill("#check_out", (arrive + timedelta(days=2)).isoformat())
    await page.click("text=Update the price")
    await page.wait_for_selector("#total")
    total = (await page.inner_text("#total")).strip()
    assert total == "200.00 EUR"
    await page.fill("#first_name", "Grace")
    await page.fill("#last_name", "Hopper")
    await page.fill("#email", "grace@example.test")
    await shot(page, "guest-book")
    await page.click("text=Book and pay")
    await page.wait_for_selector("#pay", timeout=WAIT_MS)
    booking_id = (await page.inner_text("h1 code")).strip()
    assert (await page.inner_text("#price")).strip() == total
    await shot(page, "guest-booking-pending-payment")

    await page.click("#pay")
    await page.fill("#card_number", "4242424242424242")
    await shot(page, "stripe-checkout")
    await page.click("button[type=submit]")
    await page.click("#continue")  # Stripe's success URL lands on the booking page
    await page.wait_for_url(re.compile(rf"/book/{HOTEL}/bookings/{booking_id}"))
    await reload_until(page, "#status", "PENDING_APPROVAL")
    assert "guest_token" not in page.url

    await page.fill("#party_name_0", "Grace Hopper")
    await page.fill("#party_name_1", "Howard Aiken")
    await page.fill("#arrival_time", "18:30")
    await page.fill("#pre_requests", "A quiet room, please")
    await page.click("text=Save pre-check-in")
    await page.wait_for_selector("#pre-done")
    assert "Howard Aiken" in await page.inner_text("#pre-done")
    await shot(page, "guest-booking-pre-check-in")

    desk = await (await browser.new_context()).new_page()
    await desk.goto(f"{gateway}/console/")
    await shot(desk, "console-sign-in")
    await desk.fill("#email", EMAIL)
    await desk.fill("#password", PASSWORD)
    await desk.click("button:has-text('Sign in')")
    await desk.wait_for_selector("text=Open a hotel by its slug")
    await shot(desk, "console-hotels")
    await desk.goto(f"{gateway}/console/{HOTEL}/bookings?status=PENDING_APPROVAL")
    await desk.wait_for_selector(f"a:has-text('{booking_id}')")
    await shot(desk, "console-bookings")
    await desk.click(f"a:has-text('{booking_id}')")
    pre = await desk.inner_text("#pre-check-in")
    assert "Howard Aiken" in pre and "18:30" in pre and "A quiet room" in pre
    await shot(desk, "console-booking-detail")
    await desk.click("#approve")
    await reload_until(desk, "#status", "CONFIRMED")
    await desk.fill("#room_number", "102")
    await desk.click("#assign")
    await desk.wait_for_selector("#room")
    assert (await desk.inner_text("#room")).strip() == "102"
    await desk.click("#check-in")
    await reload_until(desk, "#status", "CHECKED_IN")
    assert "CHECKED_IN" in await desk.inner_text("#timeline")
    await shot(desk, "console-booking-checked-in")

    await page.reload()
    assert (await page.inner_text("#status")).strip() == "CHECKED_IN"


async def test_guest_cancels_from_the_emailed_link(browser, gateway, system):
    arrive = today() + timedelta(days=10)
    async with httpx.AsyncClient(base_url=gateway, timeout=30) as http:
        placed = await http.post(f"/api/v1/hotels/{HOTEL}/bookings", json={
            "room_type": "DBL", "check_in": arrive.isoformat(), "check_out": (arrive + timedelta(days=1)).isoformat(),
            "adults": 1, "booker": {"first_name": "Alan", "last_name": "Turing", "email": "alan@example.test"}})
        assert placed.status_code == 202, placed.text
        booking_id, token = placed.json()["booking_id"], placed.json()["guest_token"]
        sink = f"http://127.0.0.1:{system.layout.ports['smtp-sink-web']}/api/messages"
        deadline = time.monotonic() + 60
        while True:
            mails = [m for m in (await http.get(sink)).json() if booking_id in m["subject"] and "alan@" in m["to"]]
            links = [link for m in mails for link in re.findall(r"https?://\S+#guest_token=\S+", m["text"] or "")]
            if links:
                break
            assert time.monotonic() < deadline, "no booking email with a link"
            await asyncio.sleep(0.3)

    page = await (await browser.new_context()).new_page()
    await page.goto(links[0])
    await page.wait_for_selector("#status", timeout=WAIT_MS)
    assert page.url.endswith(f"/book/{HOTEL}/bookings/{booking_id}")  # the token left the address bar
    await reload_until(page, "#status", "PENDING_PAYMENT")
    assert "0.00 EUR" in await page.inner_text("#cancel-terms")
    await page.click("text=Cancel this booking")
    await page.wait_for_selector("text=Your booking is cancelled.")
    assert (await page.inner_text("#status")).strip() == "CANCELLED"
    await shot(page, "guest-booking-cancelled")
    logged = [name for name, process in system.processes.items() if any(token in line for line in process.lines)]
    assert not logged, f"the guest token is in the logs of {logged}"


async def test_a_wrong_link_opens_nothing(browser, gateway):
    page = await (await browser.new_context()).new_page()
    await page.goto(f"{gateway}/book/{HOTEL}/bookings/HM-2026-000000#guest_token=not-a-token")
    await page.wait_for_selector("text=This link does not open a booking")
    await shot(page, "guest-wrong-link")


async def _guest_view(http, booking_id: str, token: str, until, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        view = (await http.get(f"/api/v1/hotels/{HOTEL}/bookings/{booking_id}",
                               headers={"Authorization": f"Bearer {token}"})).json()
        if until(view):
            return view
        assert time.monotonic() < deadline, view
        await asyncio.sleep(0.3)


async def test_reports_list_the_guest_in_house_and_count_revenue_adr_revpar(browser, gateway):
    day = today()
    async with httpx.AsyncClient(base_url=gateway, timeout=30) as http:
        placed = (await http.post(f"/api/v1/hotels/{HOTEL}/bookings", json={
            "room_type": "DBL", "check_in": day.isoformat(), "check_out": (day + timedelta(days=1)).isoformat(),
            "adults": 1, "booker": {"first_name": "Katherine", "last_name": "Johnson",
                                    "email": "katherine@example.test"}})).json()
        booking_id, token = placed["booking_id"], placed["guest_token"]
        view = await _guest_view(http, booking_id, token, lambda v: v["payment"].get("checkout_url"))
        await http.post(view["payment"]["checkout_url"], data={"card_number": "4242424242424242"})
        await _guest_view(http, booking_id, token, lambda v: v["status"] == "PENDING_APPROVAL")
        desk = f"/api/v1/staff/hotels/{HOTEL}"
        assert (await http.post(f"{desk}/bookings/{booking_id}/approve", headers=STAFF)).status_code == 202
        await _guest_view(http, booking_id, token, lambda v: v["status"] == "CONFIRMED")
        room = await http.put(f"{desk}/bookings/{booking_id}/room", json={"room_number": "103"}, headers=STAFF)
        assert room.status_code == 200, room.text
        assert (await http.post(f"{desk}/bookings/{booking_id}/check-in", headers=STAFF)).status_code == 200

        arrivals = (await http.get(f"{desk}/reports/arrivals?date={day.isoformat()}", headers=STAFF)).json()
        assert booking_id in [i["booking_id"] for i in arrivals["items"]]
        in_house = (await http.get(f"{desk}/reports/in-house", headers=STAFF)).json()
        assert {"booking_id": booking_id, "guest": "Katherine Johnson"}.items() <= next(
            i for i in in_house["items"] if i["booking_id"] == booking_id).items()
        revenue = (await http.get(f"{desk}/reports/revenue?from={day.isoformat()}&to={day.isoformat()}",
                                  headers=STAFF)).json()
        [tonight] = revenue["periods"]
        assert tonight["room_nights_available"] == 3 and tonight["room_nights_sold"] >= 1
        rev = float(tonight["revenue"])
        assert rev >= 100.0
        assert float(tonight["adr"]) == pytest.approx(rev / tonight["room_nights_sold"], abs=0.01)
        assert float(tonight["revpar"]) == pytest.approx(rev / 3, abs=0.01)
        exported = await http.get(f"{desk}/reports/in-house?format=csv", headers=STAFF)
        assert exported.headers["content-type"].startswith("text/csv")
        assert exported.text.splitlines()[0].startswith("booking_id,status,guest")
        assert booking_id in exported.text
        bad = await http.get(f"{desk}/reports/revenue?from={day.isoformat()}&to=2000-01-01", headers=STAFF)
        assert bad.status_code == 422

    desk_page = await (await browser.new_context(accept_downloads=True)).new_page()
    await desk_page.goto(f"{gateway}/console/")
    await desk_page.fill("#email", EMAIL)
    await desk_page.fill("#password", PASSWORD)
    await desk_page.click("button:has-text('Sign in')")
    await desk_page.goto(f"{gateway}/console/{HOTEL}/reports?date={day.isoformat()}")
    assert booking_id in await desk_page.inner_text("#in-house")
    await shot(desk_page, "console-reports")
    async with desk_page.expect_download() as download:
        await desk_page.click("#in-house >> xpath=preceding-sibling::h2[1] >> text=CSV")
    saved = await (await download.value).path()
    assert booking_id in Path(saved).read_text()
    await desk_page.goto(f"{gateway}/console/{HOTEL}/emails?status=")
    await shot(desk_page, "console-emails")
    await desk_page.goto(f"{gateway}/console/{HOTEL}/occupancy")
    await shot(desk_page, "console-occupancy")


async def test_the_desk_builds_a_hotel_in_the_catalogue_and_guests_see_it(browser, gateway):
    desk = await (await browser.new_context()).new_page()
    await desk.goto(f"{gateway}/console/")
    await desk.fill("#email", EMAIL)
    await desk.fill("#password", PASSWORD)
    await desk.click("button:has-text('Sign in')")
    await desk.goto(f"{gateway}/console/catalogue-inn/catalogue")
    await desk.fill("#h_name", "Catalogue Inn")
    await desk.fill("#h_mail", "desk@catalogue-inn.test")
    await desk.click("text=Save hotel")
    await desk.wait_for_selector("text=Saved: hotel.")
    await desk.fill("#rt_code", "STE")
    await desk.fill("#rt_name", "Suite")
    await desk.fill("#rt_rate", "250.00")
    await desk.click("text=Save room type")
    await desk.wait_for_selector("text=Saved: room-type.")
    await desk.fill("#r_no", "201")
    await desk.fill("#r_type", "STE")
    await desk.click("button:text-is('Save room')")
    await desk.wait_for_selector("text=Saved: room.")
    await desk.fill("#taxes", "CITY; City tax; PER_NIGHT; 3")
    await desk.click("text=Save taxes")
    await desk.wait_for_selector("text=Saved: taxes.")
    await desk.fill("#taxes", "BAD; Broken; NOT_A_KIND; 1")
    await desk.click("text=Save taxes")
    await desk.wait_for_selector(".error")  # refused with the reason, nothing changed
    await desk.fill("#pr_code", "WELCOME")
    await desk.fill("#pr_val", "10")
    await desk.click("text=Save promo code")
    await desk.wait_for_selector("text=Saved: promo.")
    await desk.select_option("#po_pen", "FULL_STAY")
    await desk.fill("#po_free", "24")
    await desk.click("text=Save policy")
    await desk.wait_for_selector("text=Saved: policy.")
    assert "Suite" in await desk.inner_text("main")
    await shot(desk, "console-catalogue")

    page = await (await browser.new_context()).new_page()
    arrive = today() + timedelta(days=5)
    await page.goto(f"{gateway}/book/catalogue-inn?room_type=STE&adults=2&check_in={arrive.isoformat()}"
                    f"&check_out={(arrive + timedelta(days=2)).isoformat()}&promo_code=WELCOME")
    await page.wait_for_selector("#total")
    quote = await page.inner_text("#quote")
    assert "City tax" in quote and "6.00 EUR" in quote  # 3 a night, two nights: the old tax list stands
    assert (await page.inner_text("#total")).strip() == "456.00 EUR"  # 500 less 10 %, plus 6


async def _paid(http, *, first_name: str, days_ahead: int, adults: int = 1) -> tuple[str, str]:
    """A booking placed and paid through the API, waiting for the desk: (id, guest token)."""
    arrive = today() + timedelta(days=days_ahead)
    placed = (await http.post(f"/api/v1/hotels/{HOTEL}/bookings", json={
        "room_type": "DBL", "check_in": arrive.isoformat(), "check_out": (arrive + timedelta(days=1)).isoformat(),
        "adults": adults, "booker": {"first_name": first_name, "last_name": "Tester",
                                     "email": f"{first_name.lower()}@example.test"}})).json()
    booking_id, token = placed["booking_id"], placed["guest_token"]
    view = await _guest_view(http, booking_id, token, lambda v: v["payment"].get("checkout_url"))
    await http.post(view["payment"]["checkout_url"], data={"card_number": "4242424242424242"})
    await _guest_view(http, booking_id, token, lambda v: v["status"] == "PENDING_APPROVAL")
    return booking_id, token


async def test_pre_check_in_refuses_bad_input_and_changes_nothing(gateway):
    async with httpx.AsyncClient(base_url=gateway, timeout=30) as http:
        booking_id, token = await _paid(http, first_name="Barbara", days_ahead=20)
        url = f"/api/v1/hotels/{HOTEL}/bookings/{booking_id}/pre-check-in"
        guest = {"Authorization": f"Bearer {token}"}
        for body in ({"party_names": ["A", "B"]},  # two names for one guest
                     {"party_names": ["Barbara Tester"], "arrival_time": "25:00"},
                     {"party_names": []}, {"party_names": ["B"], "unknown": 1}):
            answer = await http.put(url, json=body, headers=guest)
            assert answer.status_code == 422, (body, answer.text)
        assert (await http.put(url, json={"party_names": ["X"]},
                               headers={"Authorization": "Bearer wrong"})).status_code == 404
        assert (await http.get(url, headers=guest)).json()["completed_at"] is None
        saved = await http.put(url, json={"party_names": ["Barbara Tester"], "arrival_time": "09:15"}, headers=guest)
        assert saved.status_code == 200 and saved.json()["arrival_time"] == "09:15"
        staff_view = (await http.get(f"/api/v1/staff/hotels/{HOTEL}/bookings/{booking_id}/pre-check-in",
                                     headers=STAFF)).json()
        assert staff_view["party_names"] == ["Barbara Tester"]
        await http.post(f"/api/v1/hotels/{HOTEL}/bookings/{booking_id}/cancel", headers=guest)
        await _guest_view(http, booking_id, token, lambda v: v["status"] == "CANCELLED")
        late = await http.put(url, json={"party_names": ["Someone Else"]}, headers=guest)
        assert late.status_code == 409
        assert (await http.get(url, headers=guest)).json()["party_names"] == ["Barbara Tester"]


async def test_the_desk_approves_and_declines_several_bookings_at_once(browser, gateway):
    async with httpx.AsyncClient(base_url=gateway, timeout=30) as http:
        first = await _paid(http, first_name="Mary", days_ahead=30)
        second = await _paid(http, first_name="Edsger", days_ahead=31)
        third = await _paid(http, first_name="Niklaus", days_ahead=32)
    desk = await (await browser.new_context()).new_page()
    await desk.goto(f"{gateway}/console/")
    await desk.fill("#email", EMAIL)
    await desk.fill("#password", PASSWORD)
    await desk.click("button:has-text('Sign in')")
    await desk.goto(f"{gateway}/console/{HOTEL}/bookings?q=Tester&status=PENDING_APPROVAL")
    for booking_id, _ in (first, second):
        await desk.check(f"input[value='{booking_id}']")
    await desk.click("text=Apply")
    await desk.wait_for_selector("text=2 of 2 bookings: approved.")
    await desk.check(f"input[value='{third[0]}']")
    await desk.select_option("#action", "decline")
    await desk.click("text=Apply")
    await desk.wait_for_selector("text=A decline needs a reason.")  # refused, nothing declined
    await desk.check(f"input[value='{third[0]}']")
    await desk.select_option("#action", "decline")
    await desk.fill("#reason_code", "NO_AVAILABILITY")
    await desk.click("text=Apply")
    await desk.wait_for_selector("text=1 of 1 bookings: declined.")
    async with httpx.AsyncClient(base_url=gateway, timeout=30) as http:
        for (booking_id, token), status in ((first, "CONFIRMED"), (second, "CONFIRMED"), (third, "DECLINED")):
            await _guest_view(http, booking_id, token, lambda v, s=status: v["status"] == s)
