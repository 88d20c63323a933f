"""Real browsers for the page tests: Debian's Chromium (or `OPENBID_CHROMIUM`) driven by
Playwright's Python package; Playwright's own browser downloads are never used. Each test
saves screenshots under `test-results/screenshots/`."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from axe_playwright_python.async_playwright import Axe  # type: ignore[import-untyped]
from playwright.async_api import Browser, Page, async_playwright

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results" / "screenshots"
PHONE = {"width": 390, "height": 844}
FLAGS = [
    "--no-sandbox",  # CI runs as root
    "--use-fake-device-for-media-stream",  # a test pattern for the host's camera
    "--use-fake-ui-for-media-stream",  # and no permission prompt for it
]
DESKTOP = {"width": 1280, "height": 800}


def chromium() -> str:
    found = os.environ.get("OPENBID_CHROMIUM") or shutil.which("chromium")
    if not found:
        raise RuntimeError("no Chromium: apt-get install chromium, or set OPENBID_CHROMIUM")
    return found


@pytest.fixture(scope="session")
async def launched() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        found = await playwright.chromium.launch(executable_path=chromium(), args=FLAGS)
        yield found
        await found.close()


@pytest.fixture
async def browser(launched: Browser) -> AsyncIterator[Browser]:
    """The one Chromium; every context (its tabs) a test opened is closed after it. Left
    open, a tab keeps running: a console polling its panels or a player decoding the
    livestream took the CPU of every later test."""
    yield launched
    for context in launched.contexts:
        await context.close()


async def assert_accessible(page: Page) -> None:
    """axe-core's rules (labels, headings, contrast, ARIA, keyboard reach) hold on the page as
    it stands: each broken rule is listed with the elements that break it."""
    broken = (await Axe().run(page)).response["violations"]
    assert [(rule["id"], [node["target"] for node in rule["nodes"]]) for rule in broken] == []


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
