"""Browser tests: Playwright for Python driving Debian's chromium (no browser download)."""

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("HOTELMATE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
# HOTELMATE_SCREENSHOTS=docs/screenshots writes a picture of each page the tests visit.
SHOTS = os.environ.get("HOTELMATE_SCREENSHOTS")


@pytest.fixture(scope="module")
async def browser():
    playwright_api = pytest.importorskip("playwright.async_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("no chromium: apt-get install chromium (make test does it when run as root)")
    async with playwright_api.async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield browser
        await browser.close()


async def shot(page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)
