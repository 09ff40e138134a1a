"""The browser of the test kit: Debian's Chromium, headless, driven by Playwright.

``chromium`` (session)
    a launched Playwright ``Browser``. There is one per test session because
    Playwright's sync API allows one running instance per thread; tests open their
    own contexts and pages (``chromium.new_context()``) and close them.

It needs the ``playwright`` package and Chromium's headless shell (Debian's
``chromium-headless-shell``; ``playwright install`` is not used), the same engine as the
browser without its windowing layer, which costs a third less CPU a page; ``CARUSO_CHROMIUM``
names another binary (e.g. ``/usr/bin/chromium``). The flags keep Chromium off the network.
A tab closed with ``page.close()`` runs its ``pagehide`` handlers in both; one whose context
is closed does so only in the full browser.
"""
from __future__ import annotations

import os
from typing import Any, Iterator

import pytest

CHROMIUM = os.environ.get("CARUSO_CHROMIUM", "/usr/lib/chromium/chromium-headless-shell")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 # a microphone for the desk's phone: a generated tone, granted without asking
                 "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"browser tests need Chromium at {CHROMIUM}: apt-get install chromium-headless-shell "
                    "(or set CARUSO_CHROMIUM)", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
