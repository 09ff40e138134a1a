"""The browser of the test kit: Debian's Chromium, headless, driven by Playwright.

``chromium`` (session)
    a launched Playwright ``Browser``. There is one per test session because
    Playwright's sync API allows one running instance per thread; tests open their
    own contexts and pages (``chromium.new_context()``) and close them.

It needs the ``playwright`` package and ``/usr/bin/chromium`` (Debian's ``chromium``;
``playwright install`` is not used). The flags keep Chromium off the network.
"""
from __future__ import annotations

import os
from typing import Any, Iterator

import pytest

CHROMIUM = os.environ.get("CARUSO_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 # a microphone for the desk's phone: a generated tone, granted without asking
                 "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"browser tests need Chromium at {CHROMIUM}: apt-get install chromium "
                    "(or set CARUSO_CHROMIUM)", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
