"""Browser tests: Playwright for Python driving Debian's chromium (no browser download)."""

from pathlib import Path

import pytest

from .browser_support import CHROMIUM


@pytest.fixture(scope="module")
async def browser():
    playwright_api = pytest.importorskip("playwright.async_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("no chromium: apt-get install chromium (make test does it when run as root)")
    async with playwright_api.async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield browser
        await browser.close()
