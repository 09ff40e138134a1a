"""Every page fits a 390-pixel-wide phone: in each vertical a supervisor (and in one an
administrator) follows every link of the front office from the home page (lists, records,
360s, forms, the desk, the supervisor and admin pages), and each page they reach loads
without errors and is no wider than the screen. Each kind of page (its path and the names of
its query's parameters: a list sorted by another column, another record's 360) is opened
for at most ``PER_KIND`` of its addresses, so that the crawl reaches every kind."""
from __future__ import annotations

from collections import Counter
from urllib.parse import parse_qsl, urlsplit

import pytest

from caruso_core.verticals import deployment_data
from frontoffice_support import PHONE, QUICK_COST, add_users, Tab

pytestmark = pytest.mark.browser
SKIPPED = ("/signout", "/portal/chat", ".csv", ".png", ".json")
MOST_PAGES = 120
PER_KIND = 2


@pytest.fixture(params=[("utility", "sam"), ("bank", "sam"), ("service", "sam"), ("utility", "root")],
                ids=lambda param: "-".join(param))
def site(request, caruso_host, caruso_client, tmp_path):
    """The vertical's storage with a customer and its records, the communication server,
    monitor and reports over one event log, and the front office."""
    vertical, user = request.param
    services = deployment_data([vertical])["services"]
    caruso_host("storage", config={**services["storage"]["config"], "db": f"sqlite:///{tmp_path / 'v.db'}"})
    storage = caruso_client.get("caruso.storage/1")
    if vertical == "utility":
        from caruso_utility.demo import load
        load(storage, customers=3)
    else:
        storage.create("Customer", {"customer_no": "C-1", "name": "Hotel De Zon", "phone": "+31 20 555 0101"})
    events = f"sqlite:///{tmp_path / 'comm.db'}"
    caruso_host("comm", config={"queues": services["comm"]["config"]["queues"][:3], "db": events})
    caruso_host("monitor", config={"db": events, "poll": 0.5})
    caruso_host("reports", config={"db": events})
    db = f"sqlite:///{tmp_path / 'fo.db'}"
    add_users(db)
    caruso_host("frontoffice", config={"password_cost": QUICK_COST, "address": "http://127.0.0.1:0", "db": db,
                                       "views": services["frontoffice"]["config"]["views"]})
    return caruso_client.get("frontoffice").url(), user


def kind(parts):
    """A page's kind: its path and the names of its query's parameters."""
    return parts.path, tuple(sorted({name for name, _ in parse_qsl(parts.query, keep_blank_values=True)}))


def crawl(tab):
    """Open every kind of page reachable from ``/``, at most ``PER_KIND`` addresses of each
    (each checked by :meth:`Tab.open`); their paths."""
    seen, queue, kinds = set(), ["/"], Counter()
    while queue and len(seen) < MOST_PAGES:
        path = queue.pop(0)
        of_kind = kind(urlsplit(path))
        if path in seen or kinds[of_kind] >= PER_KIND:
            continue
        seen.add(path)
        kinds[of_kind] += 1
        tab.open(path)
        for href in tab.links:
            parts = urlsplit(href)
            if parts.netloc or not href.startswith("/") or any(s in parts.path for s in SKIPPED):
                continue
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            if target not in seen and "page=" not in parts.query and "history=" not in parts.query:
                queue.append(target)
    return seen


def test_every_page_fits_a_phone(site, browser, shots):
    url, user = site
    phone = Tab(browser, url, PHONE, shots)
    try:
        phone.sign_in(user).wait_for_url("**/")
        visited = crawl(phone)
    finally:
        phone.close()
    kinds = {path.split("?")[0].rsplit("/", 1)[-1] for path in visited}
    expected = {"new", "show", "desk"} if user == "sam" else {"services", "users"}
    assert expected <= kinds, sorted(visited)
