"""A newcomer's first run: `python -m hotelmate_devtools run` where no PostgreSQL answers starts an
embedded one, prints the development admin once and creates the demo hotel; the README's first booking
then works in a browser, and the desk approves it in the console."""

import asyncio
import json
import os
import re
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

import pytest

from hotelmate_devtools.chaos import postgres_available
from hotelmate_devtools.cleanup import delete_namespace_queues
from hotelmate_platform.settings import PlatformSettings
from hotelmate_devtools.system import free_port

from .browser_support import WAIT_MS, reload_until, shot

pytestmark = pytest.mark.skipif(not postgres_available(), reason="no PostgreSQL binaries for the embedded server")


class Run:
    def __init__(self, proc) -> None:
        self.proc, self.lines = proc, []
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        while line := await self.proc.stdout.readline():
            self.lines.append(line.decode(errors="replace").rstrip())

    async def line(self, pattern: str, timeout: float = 240) -> re.Match:
        deadline = time.monotonic() + timeout
        while True:
            for line in self.lines:
                if found := re.search(pattern, line):
                    return found
            assert self.proc.returncode is None, "\n".join(self.lines[-40:])
            assert time.monotonic() < deadline, f"no line like {pattern!r}:\n" + "\n".join(self.lines[-40:])
            await asyncio.sleep(0.2)


@pytest.fixture(scope="module")
async def first_run():
    home = Path(tempfile.mkdtemp(prefix="hmt-first-run-"))
    home.chmod(0o755)  # the embedded server runs as the postgres user when we are root: it must reach .data
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTELMATE_ADMIN_")}
    namespace = os.environ.get("HOTELMATE_BUS_NAMESPACE", "hmt") + "_firstrun"
    env.update({"HOTELMATE_DATA_DIR": str(home / ".data"), "HOTELMATE_RUN_PORTS": "random",
                "HOTELMATE_POSTGRES_URL": f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}",
                "HOTELMATE_BUS_NAMESPACE": namespace, "HOTELMATE_DB_PREFIX": ""})
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "hotelmate_devtools", "run", env=env,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    run = Run(proc)
    run.home = home
    try:
        yield run
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(proc.wait(), 60)
            except asyncio.TimeoutError:
                proc.kill()
                await proc.wait()
        await run.reader
        shutil.rmtree(home, ignore_errors=True)
        await delete_namespace_queues(PlatformSettings(bus_namespace=namespace))  # the shared broker's


async def test_first_run_books_at_the_demo_hotel(first_run, browser):
    started = await first_run.line(r"no PostgreSQL answered .*started an embedded one")
    assert started
    admin = await first_run.line(r"created the development admin — email (\S+), password (\S+) ")
    email, password = admin.group(1), admin.group(2)
    saved = json.loads((first_run.home / ".data" / "admin.json").read_text())
    assert saved == {"email": email, "password": password}
    gateway = (await first_run.line(r"demo hotel created: (http://\S+)/book/demo")).group(1)

    page = await (await browser.new_context()).new_page()
    await page.goto(f"{gateway}/book/demo")
    await page.wait_for_selector("#total")
    await page.fill("#first_name", "Ada")
    await page.fill("#last_name", "Lovelace")
    await page.fill("#email", "ada@example.test")
    await page.click("text=Book and pay")
    await page.wait_for_selector("#pay", timeout=WAIT_MS)
    booking_id = (await page.inner_text("h1 code")).strip()
    await page.click("#pay")
    await page.fill("#card_number", "4242424242424242")
    await page.click("button[type=submit]")
    await page.click("#continue")
    await reload_until(page, "#status", "PENDING_APPROVAL")

    desk = await (await browser.new_context()).new_page()
    await desk.goto(f"{gateway}/console/")
    await desk.fill("#email", email)
    await desk.fill("#password", password)
    await desk.click("button:has-text('Sign in')")
    await desk.goto(f"{gateway}/console/demo/bookings/{booking_id}")
    await desk.click("#approve")
    await reload_until(desk, "#status", "CONFIRMED")
    await shot(desk, "first-run-console-confirmed")

    first_run.proc.send_signal(signal.SIGINT)
    assert await asyncio.wait_for(first_run.proc.wait(), 60) == 0
    assert not (first_run.home / ".data" / "postgres" / "data" / "postmaster.pid").exists()  # stopped with the run
