"""Helpers and data of the front office's tests (imported by name: conftest modules of
several test folders would shadow each other)."""
from __future__ import annotations

import datetime
import json
import queue
import re
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from starlette.testclient import TestClient

from caruso_core import connect
from caruso_core.verticals import deployment_data
from caruso_frontoffice.accounts import Accounts
from caruso_frontoffice.context import Context
from caruso_frontoffice.database import open_database, users
from caruso_frontoffice.desksettings import desk_settings
from caruso_frontoffice.passwords import Cost, Passwords
from caruso_frontoffice.sessions import Sessions
from caruso_core.throttle import Throttle
from caruso_frontoffice.views.catalog import load
from caruso_frontoffice.worksheets import Worksheets

HERE = Path(__file__).parent
PACKAGED = "caruso_frontoffice.views:crm.xml"
OVERRIDE = HERE / "views" / "override.xml"
VIEWS = [PACKAGED, str(OVERRIDE)]
PASSWORDS = {"ada": "ada-secret-1", "sam": "sam-secret-1", "root": "root-secret-1"}
ROLES = {"ada": "agent", "sam": "supervisor", "root": "admin"}
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
SCRIPTS = HERE / "scripts"
DESK = {"scripts": {"billing": "billing_call"}, "agent_skills": {"ada": {"billing": 2}},
        "dispositions": ["resolved", "callback"], "capacity": {"voice": 1, "webchat": 1}}
# accounts the tests make hash cheaply; the served front office hashes at the real cost
# (test_frontoffice_served checks that it does, and that it re-hashes these at sign-in)
QUICK_COST = {"n": 2 ** 10}          # the front office's password_cost in tests: a hash in 1 ms
QUICK_HASHES = Passwords(Cost(**QUICK_COST))
QUEUES = [{"name": "billing", "skills": {"billing": 1}, "wrap_up": 300}, {"name": "sales"},
          {"name": "chat", "channel": "webchat"}]


def seed(storage: Any) -> None:
    """Two customers; the first with a contact, two opportunities and history."""
    acme = storage.create("Customer", {"name": "Acme Utilities", "email": "desk@acme.example",
                                       "phone": "+49 30 1234567", "city": "Berlin", "segment": "business"})
    storage.create("Customer", {"name": "Berta Brandt", "email": "berta@example.org", "city": "Bonn",
                                "segment": "private", "active": False})
    storage.create("Contact", {"customer_id": acme["id"], "name": "Carl Meier", "role": "facility manager"})
    storage.create("Opportunity", {"customer_id": acme["id"], "title": "Smart meters", "stage": "RFP received",
                                   "deal_size": "42000.00", "close_date": "2027-01-31"})
    storage.create("Opportunity", {"customer_id": acme["id"], "title": "Green tariff", "stage": "lost"})


def accounts_of(db_url: str) -> Accounts:
    """The accounts in the database at ``db_url``, hashing with ``QUICK_HASHES``."""
    return Accounts(open_database(db_url), QUICK_HASHES)


NO_MANAGER = "PYRO:caruso.manager@127.0.0.1:9"


def stored_hash(db_url: str, name: str) -> str:
    """The stored hash of ``name``'s password."""
    with open_database(db_url).connect() as connection:
        return connection.execute(sa.select(users.c.password).where(users.c.name == name)).scalar_one()


def add_users(db_url: str) -> None:
    accounts = accounts_of(db_url)
    for name, password in PASSWORDS.items():
        accounts.add(name, ROLES[name], password)


def host_vertical(caruso_host: Any, caruso_client: Any, tmp_path: Path, name: str,
                  timezone: str = "UTC") -> tuple[Any, str]:
    """The vertical ``name``'s storage (its model, an empty SQLite database) and front office
    (the test users), hosted in ``timezone``; returns the storage's proxy and the front office's URL."""
    services = deployment_data([name])["services"]
    caruso_host("storage", config={**services["storage"]["config"], "db": f"sqlite:///{tmp_path / 'v.db'}",
                                   "timezone": timezone})
    db = f"sqlite:///{tmp_path / 'fo.db'}"
    add_users(db)
    caruso_host("frontoffice", config={"password_cost": QUICK_COST, "address": "http://127.0.0.1:0", "db": db,
                                       "views": services["frontoffice"]["config"]["views"], "timezone": timezone})
    return caruso_client.get("caruso.storage/1"), caruso_client.get("frontoffice").url()


def make_context(tmp_path: Path, manager_uri: str | None = None, *,
                 users: bool = True, views: list[Any] | None = None, desk: bool = False,
                 zone: datetime.tzinfo = datetime.timezone.utc) -> Context:
    """A front office's context showing times in ``zone``; without ``manager_uri`` its client's
    manager is unreachable and every lookup fails within 0.3 s (the pages that ask a service show it missing)."""
    url = f"sqlite:///{tmp_path / 'frontoffice.db'}"
    if users:
        add_users(url)
    engine = open_database(url)
    client = connect(manager_uri or NO_MANAGER, timeout=3 if manager_uri else 0.3, operator_secret="")
    return Context(accounts=Accounts(engine, QUICK_HASHES), sessions=Sessions(engine, b"k" * 32),
                   catalog=load(VIEWS if views is None else views), client=client,
                   name_throttle=Throttle(5, 300), address_throttle=Throttle(20, 300),
                   desk_settings=desk_settings(DESK), worksheets=Worksheets(engine) if desk else None, zone=zone)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


def form_fields(html: str) -> dict[str, str]:
    """The form's inputs (not its hidden ones) and hidden fields, by name, as the browser sends them."""
    sent = {name: value for name, value in re.findall(r'<input name="([^"]+)" value="([^"]*)"', html)}
    sent.update(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))
    sent.update(re.findall(r'<select name="([^"]+)"[^>]*>.*?<option value="([^"]*)" selected', html, re.S))
    return {name: value.replace("&#34;", '"').replace("&quot;", '"') for name, value in sent.items()}


def sign_in(client: TestClient, name: str, password: str | None = None) -> Any:
    csrf = csrf_of(client.get("/signin").text)
    return client.post("/signin", data={"csrf": csrf, "name": name, "password": password or PASSWORDS[name]},
                       follow_redirects=False)


class Tab:
    """A Playwright page that records console errors, failed requests and layout overflow."""

    def __init__(self, browser, base, viewport, shots):
        self.context = browser.new_context(viewport=viewport, base_url=base)
        self.page = self.context.new_page()
        self.problems = []
        self.links = []
        self.unreported = Counter()
        self.shots = shots
        self.page.on("console", lambda m: m.type == "error" and self.console_error(m.text))
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        self.page.on("response", lambda r: r.status >= 500 and self.problems.append(f"{r.status} {r.url}"))

    def open(self, path, status=200):
        response = self.page.goto(path)
        assert response.status == status, (path, response.status)
        if status != 200:
            self.expected(status)
        self.check_layout(path)
        return self.page

    def console_error(self, text):
        for status in self.unreported:
            if self.unreported[status] and f"status of {status}" in text:
                self.unreported[status] -= 1
                return
        self.problems.append(f"console: {text}")

    def expected(self, status):
        """Forget Chromium's console error about a page answered with ``status`` on purpose; one
        not reported yet (console messages arrive after the response) is forgotten when it comes."""
        kept = [p for p in self.problems if f"status of {status}" not in p]
        if len(kept) == len(self.problems):
            self.unreported[status] += 1
        self.problems = kept

    def check_layout(self, where):
        """No problem recorded, nothing wider than the screen and no empty input's placeholder
        cut; keeps the ``href`` of the page's links as ``links`` (read in the same round trip to
        the browser)."""
        assert not self.problems, (where, self.problems)
        overflow, self.links, cut = self.page.evaluate("""() => {
            const shown = [...document.querySelectorAll('input[placeholder]')].filter(i => i.offsetParent && !i.value);
            const text = shown.length ? document.createElement('canvas').getContext('2d') : null;
            const cut = shown.filter(i => {
                const style = getComputedStyle(i);
                text.font = style.font;
                return text.measureText(i.placeholder).width >
                    i.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) + 1;
            }).map(i => i.name || i.id);
            return [document.documentElement.scrollWidth - window.innerWidth,
                    [...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href')), cut];
        }""")
        assert overflow <= 0, f"{where} is {overflow}px wider than the screen"
        assert not cut, f"{where} cuts the placeholder of {', '.join(cut)}"

    def sign_in(self, name, password=None):
        page = self.open("/signin")
        page.fill("input[name=name]", name)
        page.fill("input[name=password]", password or PASSWORDS[name])
        page.click("button[type=submit]")
        return page

    def shot(self, name):
        if self.shots is not None:
            self.page.screenshot(path=str(self.shots / name))

    def close(self):
        self.context.close()


def wait_for_offer(page):
    """Wait until the desk in ``page`` shows an offered interaction."""
    page.wait_for_selector(".desk-interaction .state.offered")


def answer(page, choose=None, text=None):
    """Answer the script panel's step (an option's label, a text, or nothing) and wait for the next."""
    step = page.get_attribute(".desk-script form", "data-step")
    if choose:
        page.check(f".desk-script label:has-text('{choose}') input")
    if text is not None:
        page.fill(".desk-script [name=answer]", text)
    page.click(".desk-script button[type=submit]:not([name=back])")
    page.wait_for_function(f"""() => {{ const f = document.querySelector('.desk-script form');
                                        return !f || f.dataset.step !== '{step}'; }}""")


class DeskStream:
    """The desk's push stream ``GET /desk/stream`` of ``client``, read by a thread:
    :meth:`next` is the data of the next event named ``name`` (AssertionError after
    ``limit`` seconds without one); ``ended`` is set once the server ended the stream."""

    def __init__(self, client: TestClient) -> None:
        self._events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.ended = threading.Event()
        self._opened = client.stream("GET", "/desk/stream")
        self.response = self._opened.__enter__()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        name = ""
        try:
            for line in self.response.iter_lines():
                if line.startswith("event: "):
                    name = line[len("event: "):]
                elif line.startswith("data: "):
                    self._events.put((name, json.loads(line[len("data: "):])))
        except Exception:       # closed by the test
            pass
        self.ended.set()

    def next(self, name: str, limit: float = 30.0) -> Any:
        deadline = time.monotonic() + limit
        while (left := deadline - time.monotonic()) > 0:
            try:
                event, data = self._events.get(timeout=left)
            except queue.Empty:
                break
            if event == name:
                return data
        raise AssertionError(f"no {name!r} event on the desk stream within {limit} s")

    def close(self) -> None:
        self._opened.__exit__(None, None, None)
