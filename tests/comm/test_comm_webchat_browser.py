"""The web chat page in headless Chromium: two customers chat with one agent of capacity 2
(who is "agent" to them, not a user name); a reload goes on with the chat; a chat that ended
takes no more writing and offers another; a customer ends a chat; the page goes on through a
restart of the server; the page is framed only by the origins the configuration names."""
from __future__ import annotations

import http.server
import threading

import pytest

from caruso_core.errors import NotFound
from caruso_core.testing import eventually
from caruso_core.testing.processes import free_port
from comm_records import MODEL
from comm_servers import running  # noqa: F401  (a fixture)

pytestmark = pytest.mark.browser
CHAT = {"queues": [{"name": "chat", "channel": "webchat"}], "channels": {"webchat": {"queue": "chat"}}}


@pytest.fixture
def embedder():
    """A site on another origin whose page frames ``embedder.target``."""
    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = f'<!doctype html><title>Our site</title><iframe src="{server.target}/"></iframe>'.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    server.origin = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def test_two_customers_chat_from_the_page_with_one_agent(running, chromium):
    from playwright.sync_api import expect

    server = running(**CHAT)
    url = server.channels()["webchat"]["url"]
    server.login("ann", {}, {"webchat": 2})
    pages, errors = {}, []
    try:
        for customer in ("alice", "bert"):
            page = chromium.new_context().new_page()
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(url + "/")
            assert page.locator("#signed-in").is_hidden()
            page.fill("#first", f"hello, {customer} here")
            page.click("#start button")
            expect(page.locator("#state")).to_have_text("Waiting for an agent...")
            pages[customer] = page
        chats = {server.messages(i, "webchat")[0]["text"].split()[1].rstrip(","): i
                 for i in server.agent("ann")["interactions"]}
        assert sorted(chats) == ["alice", "bert"]
        assert {server.interaction(chat)["customer"] for chat in chats.values()} == {None}   # anonymous
        for customer, chat in chats.items():
            server.accept("ann", chat)
            server.send("ann", chat, f"Hi {customer}, how can I help?")
        for customer, page in pages.items():
            expect(page.locator("#state")).to_have_text("Connected.")
            expect(page.locator("#log")).to_contain_text(f"agent:Hi {customer}, how can I help?")
            page.fill("#text", f"my meter is broken, {customer}")
            page.click("#write button")
        for customer, page in pages.items():
            expect(page.locator("#log")).to_contain_text(f"visitor:my meter is broken, {customer}")
        assert "ann" not in pages["alice"].locator("#log").inner_text()
        pages["alice"].reload()                                      # the tab's chat goes on
        expect(pages["alice"].locator("#state")).to_have_text("Connected.")
        expect(pages["alice"].locator("#log p")).to_have_count(3)
        assert pages["alice"].locator("#start").is_hidden()
        server.complete("ann", chats["alice"], "solved")
        expect(pages["alice"].locator("#state")).to_have_text("The chat has ended.")
        assert pages["alice"].locator("#write").is_hidden() and pages["alice"].locator("#portal-again").is_hidden()
        pages["alice"].click("#again")                               # another chat, from the start
        expect(pages["alice"].locator("#start")).to_be_visible()
        pages["bert"].click("#leave")                                # the agent reads that bert went
        expect(pages["bert"].locator("#state")).to_have_text("The chat has ended.")
        assert [m["text"] for m in server.messages(chats["bert"], "webchat")][-1] == "(left the chat)"
        waiting = chromium.new_context().new_page()
        waiting.goto(url + "/")
        waiting.fill("#first", "anyone there?")
        waiting.click("#start button")
        expect(waiting.locator("#state")).to_have_text("Waiting for an agent...")
        queued = waiting.evaluate("JSON.parse(sessionStorage.getItem('caruso-chat')).chat")
        assert server.interaction(queued)["state"] in ("waiting", "offered")
        waiting.click("#leave")                                      # not yet connected: abandoned
        expect(waiting.locator("#state")).to_have_text("The chat has ended.")
        with pytest.raises(NotFound):
            server.interaction(queued)
        waiting.context.close()
        assert errors == []
    finally:
        for page in pages.values():
            page.context.close()


def test_the_page_goes_on_through_a_restart_of_the_server(caruso_host, caruso_client, chromium, tmp_path):
    from playwright.sync_api import expect

    model = tmp_path / "crm.xml"
    model.write_text(MODEL)
    caruso_host("storage", config={"model": str(model), "db": f"sqlite:///{tmp_path / 'crm.db'}"})
    port = free_port()
    config = {**CHAT, "channels": {"webchat": {"queue": "chat", "port": port}}, "persist": True,
              "db": f"sqlite:///{tmp_path / 'comm.db'}"}
    host = caruso_host("comm", config=config)
    comm = caruso_client.get("caruso.comm/1")
    comm.login("ann", {}, {"webchat": 1})
    page = chromium.new_context().new_page()
    try:
        page.goto(f"http://127.0.0.1:{port}/")
        page.fill("#first", "hello, my meter")
        page.click("#start button")
        chat = eventually(lambda: comm.agent("ann")["interactions"])[0]
        comm.accept("ann", chat)
        comm.send("ann", chat, "Hi, ann here")
        expect(page.locator("#log")).to_contain_text("agent:Hi, ann here")
        comm.flush()
        eventually(lambda: len(caruso_client.get("caruso.storage/1").query("CommMessage")) == 2)
        host.stop()                                                  # gone: the page says so and retries
        expect(page.locator("#problem")).to_contain_text("Trying again")
        caruso_host("comm", config=config)
        comm.send("ann", chat, "Sorry, we were gone for a moment")
        expect(page.locator("#log")).to_contain_text("agent:Sorry, we were gone for a moment")
        expect(page.locator("#problem")).to_be_hidden()
        expect(page.locator("#state")).to_have_text("Connected.")
        assert page.locator("#log p").count() == 3                   # nothing shown twice
    finally:
        page.context.close()


def test_another_site_cannot_frame_the_chat_page_unless_configured(running, embedder, chromium):
    from playwright.sync_api import expect

    closed = running(**CHAT)
    embedder.target = closed.channels()["webchat"]["url"]
    page = chromium.new_context().new_page()
    try:
        with page.expect_console_message(lambda m: "frame-ancestors 'none'" in m.text):
            page.goto(embedder.origin + "/")
        assert page.frames[1].query_selector("#first") is None          # Chromium refused to show it

        opened = running(queues=CHAT["queues"], channels={"webchat": {"queue": "chat",
                                                                     "frame_ancestors": [embedder.origin]}})
        embedder.target = opened.channels()["webchat"]["url"]
        page.goto(embedder.origin + "/")
        expect(page.frame_locator("iframe").locator("#first")).to_be_visible()
    finally:
        page.context.close()
