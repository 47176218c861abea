"""A live server on loopback (uvicorn in a thread, sharing the test's database and clock) and headless Chromium."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest

from labelloop.services.context import utc_now
from tests.conftest import skip_unless_required
from tests.servers import uvicorn_thread

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


class LiveClock:
    """Real time plus an offset the test moves forward (lease expiry without sleeping)."""

    def __init__(self):
        self.offset = timedelta()

    def __call__(self):
        return utc_now() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


@pytest.fixture
def clock():
    return LiveClock()


@pytest.fixture
def live_server(app):
    with uvicorn_thread(app, ready_path="/portal/login") as base:
        yield base


_SHARED: dict = {}  # one Playwright and one Chromium per test process (Playwright allows one sync instance)


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium, shared by every module that uses this fixture, whether through this conftest or by
    importing it (the console tests do): each definition pytest finds gets the same browser."""
    if not os.path.exists(CHROMIUM):
        skip_unless_required("browser tests need Debian's chromium at /usr/bin/chromium")
    if not _SHARED:
        from playwright.sync_api import sync_playwright

        pw = sync_playwright().start()
        _SHARED.update(pw=pw, browser=pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS), users=0)
    _SHARED["users"] += 1
    try:
        yield _SHARED["browser"]
    finally:
        _SHARED["users"] -= 1
        if not _SHARED["users"]:
            _SHARED.pop("browser").close()
            _SHARED.pop("pw").stop()
            _SHARED.clear()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    pg = context.new_page()
    yield pg
    context.close()


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
