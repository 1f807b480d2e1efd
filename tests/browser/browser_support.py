"""What the browser tests share (a plain module: conftest modules are not imported by name)."""

import asyncio
import os
import shutil
import time
from pathlib import Path

CHROMIUM = os.environ.get("HOTELMATE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
# HOTELMATE_SCREENSHOTS=docs/screenshots writes a picture of each page the tests visit.
SHOTS = os.environ.get("HOTELMATE_SCREENSHOTS")
WAIT_MS = 60_000


async def shot(page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


async def reload_until(page, selector: str, text: str, timeout: float = 60) -> None:
    """Reload ``page`` until ``selector`` reads ``text`` (the saga moves on behind the page)."""
    deadline = time.monotonic() + timeout
    while True:
        found = page.locator(selector)
        if await found.count() and (await found.first.inner_text()).strip() == text:
            return
        assert time.monotonic() < deadline, f"{selector} is not {text}: {await page.content()}"
        await asyncio.sleep(0.5)
        await page.reload()
