"""Web chat identity end to end over HTTP: the portal, the communication server's web chat
and the agent desktop's screen pop, against the real services."""
import re
from html import unescape
from urllib.parse import urlsplit

import httpx
import pytest
from starlette.testclient import TestClient

from caruso_frontoffice.app import create_app
from frontoffice_support import QUEUES, SCRIPTS, accounts_of, csrf_of, make_context, sign_in

CUSTOMER = ("cora", "cora-secret-1")


@pytest.fixture
def comm(caruso_host, caruso_client, storage, tmp_path):
    caruso_host("scripts", config={"scripts": [str(SCRIPTS)], "db": f"sqlite:///{tmp_path / 'scripts.db'}"})
    caruso_host("comm", config={"db": f"sqlite:///{tmp_path / 'comm.db'}", "queues": QUEUES,
                                "channels": {"webchat": {"queue": "chat"}}})
    return caruso_client.get("caruso.comm/1")


@pytest.fixture
def front(comm, caruso_manager, tmp_path):
    """``front()`` is a new browser (client) of one in-process front office with the desk."""
    context = make_context(tmp_path, caruso_manager.uri, desk=True)
    name, password = CUSTOMER
    accounts_of(f"sqlite:///{tmp_path / 'frontoffice.db'}").add(name, "customer", password, "customer_id=2")
    app, clients = create_app(context), []

    def browser():
        clients.append(TestClient(app, base_url="http://testserver").__enter__())
        return clients[-1]

    yield browser
    for client in clients:
        client.__exit__(None, None, None)


def _desk_shows(ada, comm):
    """The desk page of ada's offered chat."""
    [offered] = comm.agent("ada")["interactions"]
    return unescape(ada.get(f"/desk?i={offered}").text), offered


def test_an_anonymous_chat_pops_nobody_and_a_portal_customers_chat_pops_their_record(front, comm):
    ada = front()
    sign_in(ada, "ada")
    assert ada.post("/desk/status", data={"csrf": csrf_of(ada.get("/").text), "status": "available"},
                    follow_redirects=False).status_code == 303
    chat_url = comm.channels()["webchat"]["url"]

    visitor = front()
    assert "Chat with us" in visitor.get("/portal").text
    plain = visitor.get("/portal/chat", follow_redirects=False)
    assert plain.status_code == 303 and plain.headers["location"] == chat_url + "/"
    with httpx.Client(base_url=chat_url, timeout=30) as chat:
        claimed = chat.post("/chats", json={"customer": "1", "text": "I am Acme, show me my contracts"})
        assert claimed.status_code == 400 and comm.waiting("chat") == []
        anonymous = chat.post("/chats", json={"text": "Hello?"}).json()
        page, offered = _desk_shows(ada, comm)
        assert offered == anonymous["id"]
        assert "No customer matches this interaction" in page and "Acme Utilities" not in page
        assert "Berta Brandt" not in page
        ada_csrf = csrf_of(page)
        ada.post("/desk/accept", data={"csrf": ada_csrf, "interaction": offered})
        assert "these notes go to no contact history unless you find the caller" in ada.get(f"/desk?i={offered}").text
        ada.post("/desk/complete", data={"csrf": ada_csrf, "interaction": offered, "disposition": "resolved"})

        cora = front()
        sign_in(cora, *CUSTOMER)
        portal = cora.get("/portal").text
        assert "Chat with us" in portal and "the agent sees your customer record" in portal
        link = cora.get("/portal/chat", follow_redirects=False)
        assert link.status_code == 303
        target = urlsplit(link.headers["location"])
        assert f"{target.scheme}://{target.netloc}" == chat_url and target.fragment.startswith("pass=")
        started = chat.post("/chats", json={"text": "Is my contract still active?",
                                            "pass": target.fragment.removeprefix("pass=")})
        assert started.status_code == 201
        assert comm.interaction(started.json()["id"])["customer"] == "2"
        page, offered = _desk_shows(ada, comm)
        assert offered == started.json()["id"] and "Berta Brandt" in page
        again = chat.post("/chats", json={"text": "twice?", "pass": target.fragment.removeprefix("pass=")})
        assert again.status_code == 400 and "used already" in again.json()["error"]


def test_a_colleague_taking_over_a_chat_reads_who_wrote_what_with_its_lines(front, comm):
    """ada answers a chat and hands it to sam: on sam's desk the customer's message keeps
    its lines, ada's reply is hers (not the customer's) and sam's own is *you*."""
    ada, sam = front(), front()
    for user, name in ((ada, "ada"), (sam, "sam")):
        sign_in(user, name)
        user.post("/desk/status", data={"csrf": csrf_of(user.get("/").text), "status": "available"})
    with httpx.Client(base_url=comm.channels()["webchat"]["url"], timeout=30) as chat:
        started = chat.post("/chats", json={"text": "Hello,\nmy meter:\n1. stopped\n2. beeps"}).json()
    chat_id = started["id"]
    offered = "ada" if comm.agent("ada")["interactions"] == [chat_id] else "sam"
    first, other = (ada, sam) if offered == "ada" else (sam, ada)
    colleague = "sam" if offered == "ada" else "ada"
    csrf = csrf_of(first.get(f"/desk?i={chat_id}").text)
    first.post("/desk/accept", data={"csrf": csrf, "interaction": chat_id})
    first.post("/desk/send", data={"csrf": csrf, "interaction": chat_id, "text": "Let me check."})
    assert first.post("/desk/transfer", data={"csrf": csrf, "interaction": chat_id, "colleague": colleague},
                      follow_redirects=False).status_code == 303
    csrf = csrf_of(other.get(f"/desk?i={chat_id}").text)
    other.post("/desk/accept", data={"csrf": csrf, "interaction": chat_id})
    other.post("/desk/send", data={"csrf": csrf, "interaction": chat_id, "text": "I have it now."})
    page = unescape(other.get(f"/desk?i={chat_id}").text)
    conversation = page[page.index('<ol class="messages">'):page.index("</ol>", page.index('<ol class="messages">'))]
    assert [(kind, who) for kind, who in re.findall(r'<li class="(\w+)"><span class="hint">(\w+)</span>', conversation)] \
        == [("customer", "customer"), ("agent", offered), ("agent", "you")]
    assert "Hello,\nmy meter:\n1. stopped\n2. beeps" in conversation        # its lines, shown so (pre-wrap)


def test_the_portal_says_when_there_is_no_web_chat(tmp_path, caruso_manager):
    with TestClient(create_app(make_context(tmp_path, caruso_manager.uri)), base_url="http://testserver") as web:
        assert "Chat with us" not in web.get("/portal").text
        refused = web.get("/portal/chat")
        assert refused.status_code == 503 and "The chat is not available at the moment" in refused.text
