"""The browser of the test kit: Debian's Chromium, headless, driven by Playwright.

``chromium`` (session)
    a launched Playwright ``Browser``: Chromium's headless shell (Debian's
    ``chromium-headless-shell``), the same engine as the browser without its windowing
    layer, which costs a third less CPU a page. Tests open their own contexts and pages
    (``chromium.new_context()``) and close them.
``chromium_calls`` (session)
    the full browser (Debian's ``chromium``), for pages that hold calls in the desk's
    phone (WebRTC): in the headless shell such calls now and then failed to connect their
    media under the suite's load. Launched only when a test asks for it.

Both come from one Playwright instance per session (``caruso_playwright``), since Playwright's
sync API allows one running instance per thread. ``CARUSO_CHROMIUM`` and
``CARUSO_CHROMIUM_CALLS`` name other binaries; ``playwright install`` is not used. The
flags keep Chromium off the network. A tab closed with ``page.close()`` runs its
``pagehide`` handlers in both; one whose context is closed does so only in the full browser.
"""
from __future__ import annotations

import os
from typing import Any, Iterator

import pytest

CHROMIUM = os.environ.get("CARUSO_CHROMIUM", "/usr/lib/chromium/chromium-headless-shell")
CHROMIUM_CALLS = os.environ.get("CARUSO_CHROMIUM_CALLS", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 # a microphone for the desk's phone: a generated tone, granted without asking
                 "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]


@pytest.fixture(scope="session")
def caruso_playwright() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="session")
def chromium(caruso_playwright: Any) -> Iterator[Any]:
    yield from _launched(caruso_playwright, CHROMIUM, "chromium-headless-shell", "CARUSO_CHROMIUM")


@pytest.fixture(scope="session")
def chromium_calls(caruso_playwright: Any) -> Iterator[Any]:
    yield from _launched(caruso_playwright, CHROMIUM_CALLS, "chromium", "CARUSO_CHROMIUM_CALLS")


def _launched(playwright: Any, executable: str, package: str, setting: str) -> Iterator[Any]:
    if not os.path.exists(executable):
        pytest.fail(f"browser tests need Chromium at {executable}: apt-get install {package} (or set {setting})",
                    pytrace=False)
    browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
    try:
        yield browser
    finally:
        browser.close()
