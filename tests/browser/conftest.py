"""Browser tests: Playwright for Python driving Debian's chromium (no browser download)."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from browser_support import CHROMIUM  # noqa: E402


@pytest.fixture(scope="module")
async def browser():
    playwright_api = pytest.importorskip("playwright.async_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("no chromium: apt-get install chromium (make test does it when run as root)")
    async with playwright_api.async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield browser
        await browser.close()
