"""The service vertical publishes its FAQ: its demo data hold the questions the FAQ script
answers, as published articles (published once however often it runs), which the portal of
the vertical's deployment searches; the FAQ script, published in that portal, points at the
search."""
from __future__ import annotations

import re

import attrs
from starlette.testclient import TestClient

from caruso_core.verticals import demo_loaders, installed
from caruso_frontoffice.app import create_app
from caruso_service import demo, faq
from frontoffice_support import csrf_of, make_context, sign_in


def test_the_faq_is_published_and_searched_in_the_verticals_portal(caruso_host, caruso_client, caruso_manager,
                                                                    tmp_path):
    settings = installed()["service"].service_settings()
    caruso_host("storage", config={**settings["storage"]["config"], "db": f"sqlite:///{tmp_path / 's.db'}"})
    caruso_host("scripts", config={**settings["scripts"]["config"], "db": f"sqlite:///{tmp_path / 'd.db'}"})
    storage = caruso_client.get("caruso.storage/1")
    [(vertical, load)] = demo_loaders(["service"], {"service": installed()["service"]})
    assert (vertical, load) == ("service", demo.load)
    assert faq.load(storage) == {"KnowledgeArticle": len(faq.ARTICLES)}
    assert faq.load(storage) == {"KnowledgeArticle": 0}
    published = {"field": "status", "op": "eq", "value": "published"}
    assert sorted(a["question"] for a in storage.query("KnowledgeArticle", published)) == sorted(
        article["question"] for article in faq.ARTICLES)

    context = attrs.evolve(make_context(tmp_path, caruso_manager.uri),
                           self_service=tuple(settings["frontoffice"]["config"]["self_service"]))
    with TestClient(create_app(context), base_url="http://testserver") as web:
        found = web.get("/portal/articles", params={"q": "bleed the radiators"}).text
        assert re.findall(r'href="/portal/articles/\d+">([^<]+)<', found) == [
            "My heating or hot water does not work: what can I check first?"]
        engineer = web.get("/portal/articles", params={"q": "engineer"}).text
        assert "How soon does an engineer come?" in engineer and "service contract run" not in engineer
        portal = web.get("/portal").text
        assert "Questions and answers" in portal and "Report a fault" in portal
        started = web.post("/portal/start/faq", data={"csrf": csrf_of(portal)}, follow_redirects=False)
        step = web.get(started.headers["location"])
        seq = re.search(r'name="seq" value="(\d+)"', step.text).group(1)
        web.post(started.headers["location"], data={"csrf": csrf_of(step.text), "seq": seq, "answer": "other"})
        assert "search it at /portal/articles" in web.get(started.headers["location"]).text


def test_the_verticals_customer_list_finds_a_city_or_a_number_however_it_is_written(
        caruso_host, caruso_client, caruso_manager, tmp_path):
    settings = installed()["service"].service_settings()
    caruso_host("storage", config={**settings["storage"]["config"], "db": f"sqlite:///{tmp_path / 's.db'}"})
    storage = caruso_client.get("caruso.storage/1")
    for number, (name, city, phone) in enumerate((("Hotel De Zon", "Den Haag", "070 555 0101"),
                                                  ("Bakery Bos", "Zürich", "+41 44 555 01 02"),
                                                  ("School Jansen", "Delft", "015-5550103")), start=1):
        storage.create("Customer", {"customer_no": f"S-{number}", "name": name, "city": city, "phone": phone})
    context = make_context(tmp_path, caruso_manager.uri, views=settings["frontoffice"]["config"]["views"])
    with TestClient(create_app(context), base_url="http://testserver") as web:
        sign_in(web, "ada")
        for typed, found in (("den haag", "Hotel De Zon"), ("ZURICH", "Bakery Bos"), ("+31705550101", "Hotel De Zon"),
                             ("044 5550102", "Bakery Bos"), ("(015) 555 01 03", "School Jansen"), ("S-3", "School Jansen"),
                             ("070\u00a0555\u00a00101", "Hotel De Zon"), ("070\u2013555\u20130101", "Hotel De Zon"),  # pasted
                             ("tel 070 555 0101", "Hotel De Zon"), ("Phone: +41 44 555 01 02", "Bakery Bos"),  # said so
                             ("015 555 0103 ext. 12", "School Jansen"), ("Tel. 015-5550103 x3", "School Jansen")):
            listed = web.get("/views/customers", params={"q": typed}).text
            assert "1 found" in listed and found in listed, typed
        for typed in ("555 0199", "50101", "tel 50101",   # nobody's; five digits are a postcode, not a number
                      "room 070 555 0101", "070 555 0101 ext 1234567",   # nor a number among other words
                      "tel" + " " * 190 + "x"):
            assert "Nothing found." in web.get("/views/customers", params={"q": typed}).text, typed


def test_a_list_shows_datetimes_to_the_minute_the_detail_and_the_export_with_their_seconds(
        caruso_host, caruso_client, caruso_manager, tmp_path):
    settings = installed()["service"].service_settings()
    caruso_host("storage", config={**settings["storage"]["config"], "db": f"sqlite:///{tmp_path / 's.db'}"})
    storage = caruso_client.get("caruso.storage/1")
    customer = storage.create("Customer", {"customer_no": "S-1", "name": "Hotel De Zon"})
    order = storage.create("FieldServiceOrder", {"customer_id": customer["id"], "problem": "No hot water",
                                                 "opened": "2026-12-06T00:55:46"})             # a script's now()
    storage.create("FieldServiceOrder", {"customer_id": customer["id"], "problem": "Noise",
                                         "opened": "2026-12-06T09:30:00"})                     # a form's minute
    context = make_context(tmp_path, caruso_manager.uri, views=settings["frontoffice"]["config"]["views"])
    with TestClient(create_app(context), base_url="http://testserver") as web:
        sign_in(web, "ada")
        listed = web.get("/views/orders").text
        assert ">2026-12-06 00:55<" in listed and "00:55:46" not in listed and ">2026-12-06 09:30<" in listed
        assert "2026-12-06 00:55:46" in web.get(f"/views/order/show?id={order['id']}").text
        assert "2026-12-06 00:55:46" in web.get("/views/orders/export.csv").text
