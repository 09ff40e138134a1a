"""The HTTP servers of the front office and of the web chat under a flood of half-open
requests (connections that send part of a request line and nothing more), over raw
sockets: the server's open descriptors stay bounded, a real request is still served
while the flood is held, and the half-open connections are cut after the request time."""
import os
import resource
import selectors
import socket
import time
from urllib.parse import urlsplit

import httpx
import pytest

from caruso_frontoffice.access import COOKIE
from caruso_core.testing import eventually
from caruso_core.webserver import BACKLOG
from frontoffice_support import QUEUES, QUICK_COST, add_users, sign_in

FLOOD = 3000
MAX_CONNECTIONS = 100
REQUEST_TIMEOUT = 3
LIMITS = {"max_connections": MAX_CONNECTIONS, "request_timeout": REQUEST_TIMEOUT}
BOUND = MAX_CONNECTIONS + 3 * BACKLOG + 16   # the server's sockets at most, and a few descriptors it opens meanwhile


def descriptors(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def flood(url, pid, count=FLOOD):
    """``count`` half-open requests to the server at ``url``, and the most descriptors the
    server process ``pid`` held while they were opened."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < count + 512:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, count + 512), hard))
    parts, sockets, most = urlsplit(url), [], 0
    for n in range(count):
        attacker = socket.create_connection((parts.hostname, parts.port), timeout=30)
        try:
            attacker.sendall(b"GET /signin HT")
        except OSError:
            pass                                   # the server gave this connection up already
        sockets.append(attacker)
        if n % 250 == 0:
            most = max(most, descriptors(pid))
    return sockets, max(most, descriptors(pid))


def all_cut(sockets, limit=60.0):
    """Wait until the server closed every socket of ``sockets`` (at most ``limit`` s)."""
    with selectors.DefaultSelector() as waiting:
        for attacker in sockets:
            waiting.register(attacker, selectors.EVENT_READ)
        deadline = time.monotonic() + limit
        while waiting.get_map() and time.monotonic() < deadline:
            for key, _ in waiting.select(timeout=1):
                try:
                    data = key.fileobj.recv(1024)
                except OSError:
                    data = b""
                if not data:
                    waiting.unregister(key.fileobj)
        left = len(waiting.get_map())
    for attacker in sockets:
        attacker.close()
    return left == 0


def settles(pid, target, limit=30.0):
    """Wait until the process ``pid`` holds at most ``target`` descriptors."""
    eventually(lambda: descriptors(pid), lambda held: held <= target, limit=limit,
               what=f"at most {target} descriptors held")


def test_half_open_requests_neither_exhaust_the_front_office_nor_keep_a_signed_in_user_out(
        caruso_host, caruso_client, storage, tmp_path):
    db = f"sqlite:///{tmp_path / 'limits.db'}"
    add_users(db)
    host = caruso_host("frontoffice", config={"password_cost": QUICK_COST,
                                              "address": "http://127.0.0.1:0", "db": db, **LIMITS}, process=True)
    url = caruso_client.get("frontoffice").url()
    with httpx.Client(base_url=url, timeout=30) as web:
        sign_in(web, "ada")
        session = web.cookies[COOKIE]
    pid = host.process.pid
    baseline = descriptors(pid)
    sockets, most = flood(url, pid)
    try:
        assert most <= baseline + BOUND, (baseline, most)
        with httpx.Client(base_url=url, timeout=60, cookies={COOKIE: session}) as user:   # a new connection
            home = user.get("/")
        assert home.status_code == 200 and "Welcome, ada" in home.text
        assert descriptors(pid) >= baseline + MAX_CONNECTIONS // 2     # served while the flood was held
        assert all_cut(sockets)                                        # each cut within the request time
    finally:
        for attacker in sockets:
            attacker.close()
    settles(pid, baseline + 10)


def test_half_open_requests_neither_exhaust_the_web_chat_nor_keep_a_customer_out(
        caruso_host, caruso_client, tmp_path):
    host = caruso_host("comm", config={"db": f"sqlite:///{tmp_path / 'comm.db'}", "queues": QUEUES,
                                       "channels": {"webchat": {"queue": "chat", **LIMITS}}}, process=True)
    comm = caruso_client.get("caruso.comm/1")
    url = comm.channels()["webchat"]["url"]
    pid = host.process.pid
    baseline = descriptors(pid)
    sockets, most = flood(url, pid)
    try:
        assert most <= baseline + BOUND, (baseline, most)
        with httpx.Client(base_url=url, timeout=60) as customer:
            started = customer.post("/chats", json={"text": "Hello?"})
        assert started.status_code == 201 and comm.interaction(started.json()["id"])["state"] == "waiting"
        assert descriptors(pid) >= baseline + MAX_CONNECTIONS // 2
        assert all_cut(sockets)
    finally:
        for attacker in sockets:
            attacker.close()
    settles(pid, baseline + 10)


def test_a_request_whose_body_never_ends_is_cut_after_the_request_time(caruso_host, caruso_client, tmp_path):
    caruso_host("frontoffice", config={"password_cost": QUICK_COST,
                                       "address": "http://127.0.0.1:0", "db": f"sqlite:///{tmp_path / 'fo.db'}",
                                       **LIMITS})
    parts = urlsplit(caruso_client.get("frontoffice").url())
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as slow:
        slow.sendall(b"POST /signin HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                     b"Content-Length: 100\r\n\r\nname=ada&pass")
        assert all_cut([slow])


@pytest.mark.parametrize("setting, value", [("max_connections", 0), ("max_connections", "many"),
                                            ("request_timeout", 0), ("request_timeout", 301)])
def test_limits_are_checked_when_configured(setting, value, tmp_path, monkeypatch):
    from caruso_core.errors import ConfigError
    from caruso_frontoffice.service import FrontOffice

    monkeypatch.setenv("CARUSO_DATA", str(tmp_path))
    with pytest.raises(ConfigError, match=f"frontoffice {setting} must be"):
        FrontOffice(address="http://127.0.0.1:0", **{setting: value})
