"""The web chat page in headless Chromium: two customers chat with one agent of capacity 2."""
from __future__ import annotations

import pytest

from caruso_comm.service import CommServer

pytestmark = pytest.mark.browser



@pytest.fixture
def server(tmp_path):
    server = CommServer(db=f"sqlite:///{tmp_path / 'comm.db'}", queues=[{"name": "chat", "channel": "webchat"}],
                        channels={"webchat": {"queue": "chat"}})
    server.start()
    yield server
    server.stop()


def test_two_customers_chat_from_the_page_with_one_agent(server, chromium):
    from playwright.sync_api import expect

    url = server.channels()["webchat"]["url"]
    server.login("ann", {}, {"webchat": 2})
    try:
        pages, errors = {}, []
        for customer in ("alice", "bert"):
            page = chromium.new_context().new_page()
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(url + "/")
            page.fill("#customer", customer)
            page.fill("#first", f"hello, {customer} here")
            page.click("#start button")
            expect(page.locator("#state")).to_have_text("Waiting for an agent...")
            pages[customer] = page
        chats = {server.interaction(i)["customer"]: i for i in server.agent("ann")["interactions"]}
        assert sorted(chats) == ["alice", "bert"]
        for customer, chat in chats.items():
            server.accept("ann", chat)
            server.send("ann", chat, f"Hi {customer}, how can I help?")
        for customer, page in pages.items():
            expect(page.locator("#state")).to_have_text("Connected.")
            expect(page.locator("#log")).to_contain_text(f"ann:Hi {customer}, how can I help?")
            page.fill("#text", "my meter is broken")
            page.click("#write button")
        for customer, chat in chats.items():
            texts = [m["text"] for m in server.messages(chat, "webchat")]
            assert texts[0] == f"hello, {customer} here"
        server.complete("ann", chats["alice"], "solved")
        expect(pages["alice"].locator("#state")).to_have_text("The chat has ended.")
        expect(pages["alice"].locator("#log")).to_contain_text("alice:my meter is broken")
        assert errors == []
    finally:
        for page in pages.values():
            page.context.close()
