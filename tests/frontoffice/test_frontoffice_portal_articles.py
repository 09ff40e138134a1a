"""The portal's knowledge base over a real manager and storage: anyone lists the published
articles and searches them by full text, paged; unpublished ones are never shown; query syntax
and over-long texts are refused or harmless; an article's page shows its question and answer."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs
import pytest
from starlette.testclient import TestClient

from caruso_core.errors import ConfigError
from caruso_core.testing.commands import caruso
from caruso_frontoffice.app import create_app
from caruso_frontoffice.articles import ArticleSettings
from frontoffice_support import make_context

PORTAL_SCRIPTS = Path(__file__).parent / "portal"
TOPICS = ["boiler", "radiator", "meter", "tariff", "invoice", "engineer", "contract", "warranty", "thermostat",
          "pump", "valve", "pipe"]


@pytest.fixture
def articles(storage):
    """Twelve published articles, a draft and an unanswered question; their keys by topic."""
    made = {topic: storage.create("KnowledgeArticle", {
        "question": f"What about the {topic}?", "answer": "Everything about it: call us.",
        "status": "published"})["id"] for topic in TOPICS}
    made["bleed"] = storage.create("KnowledgeArticle", {
        "question": "How do I bleed a radiator?", "status": "published",
        "answer": "Bleed each radiator with a radiator key.\nClose the valve when water comes. <b>Careful</b>"})["id"]
    made["draft"] = storage.create("KnowledgeArticle", {"question": "Radiator recall (draft)", "status": "draft",
                                                        "answer": "Not yet public radiator news."})["id"]
    made["asked"] = storage.create("KnowledgeArticle", {"question": "Is my radiator safe?", "status": "unanswered"})["id"]
    return made


def portal_client(caruso_host, caruso_manager, tmp_path, settings=ArticleSettings(), **context: Any):
    """A client of the portal publishing the articles of ``settings`` (``context``: other fields of its Context)."""
    caruso_host("scripts", config={"scripts": [str(PORTAL_SCRIPTS / "callback.xml")],
                                   "db": f"sqlite:///{tmp_path / 'scripts.db'}"})
    served = attrs.evolve(make_context(tmp_path, caruso_manager.uri), self_service=("callback",),
                          article_settings=settings, **context)
    return TestClient(create_app(served), base_url="http://testserver")


@pytest.fixture
def web(articles, caruso_host, caruso_manager, tmp_path):
    with portal_client(caruso_host, caruso_manager, tmp_path) as client:
        yield client


def linked(html: str) -> list[str]:
    return [part.split('"', 1)[0] for part in html.split('href="/portal/articles/')[1:]]


def test_the_published_articles_are_listed_by_question_and_paged(web, articles):
    portal = web.get("/portal")
    assert 'action="/portal/articles"' in portal.text and "Call me back" in portal.text
    first = web.get("/portal/articles")
    assert first.status_code == 200
    titles = sorted([f"What about the {topic}?" for topic in TOPICS] + ["How do I bleed a radiator?"])
    assert linked(first.text) == [str(articles["bleed"])] + [str(articles[t]) for t in sorted(TOPICS)][:9]
    assert 'rel="next"' in first.text and 'rel="prev"' not in first.text
    second = web.get("/portal/articles?page=2")
    assert len(linked(second.text)) == len(titles) - 10 and 'rel="prev"' in second.text
    assert "draft" not in first.text + second.text and "Is my radiator safe?" not in first.text + second.text
    for bad in ("0", "101", "two", "-1", "1.5"):
        refused = web.get(f"/portal/articles?page={bad}")
        assert refused.status_code == 400 and "pages go from 1 to 100" in refused.text


def test_search_finds_published_articles_best_first(web, articles):
    found = web.get("/portal/articles", params={"q": "radiator"})
    assert found.status_code == 200
    assert linked(found.text)[0] == str(articles["bleed"])
    assert set(linked(found.text)) == {str(articles["bleed"]), str(articles["radiator"])}
    assert "Careful" in found.text and "<b>Careful</b>" not in found.text          # escaped in the snippet
    none = web.get("/portal/articles", params={"q": "radiator recall"})
    assert linked(none.text) == [] and "No answer holds every word of" in none.text
    for attack in ['"', "NEAR(", "*", 'radiator" OR "x', "radiator*", "<script>alert(1)</script>", "' OR 1=1 --"]:
        answered = web.get("/portal/articles", params={"q": attack})
        assert answered.status_code == 200, attack
        assert set(linked(answered.text)) <= {str(articles["bleed"]), str(articles["radiator"])}, attack
        assert "<script>alert" not in answered.text
    long = web.get("/portal/articles", params={"q": "radiator " * 30})
    assert long.status_code == 400 and "at most 200 characters" in long.text and linked(long.text) == []


def test_an_article_page_shows_a_published_article_only(web, articles):
    shown = web.get(f"/portal/articles/{articles['bleed']}")
    assert shown.status_code == 200
    assert "<h1>How do I bleed a radiator?</h1>" in shown.text
    assert "Close the valve when water comes. &lt;b&gt;Careful&lt;/b&gt;" in shown.text
    for key in (articles["draft"], articles["asked"], 999999, "abc", "1%20OR%201=1"):
        refused = web.get(f"/portal/articles/{key}")
        assert refused.status_code == 404 and "does not exist or is not published" in refused.text, key


def test_a_front_office_without_a_knowledge_base(articles, caruso_host, caruso_manager, tmp_path):
    with portal_client(caruso_host, caruso_manager, tmp_path, settings=None) as web:
        assert 'action="/portal/articles"' not in web.get("/portal").text
        assert web.get("/portal/articles").status_code == 404
        assert web.get(f"/portal/articles/{articles['bleed']}").status_code == 404


def test_a_model_without_the_articles_object_has_no_knowledge_base(caruso_host, caruso_manager, tmp_path):
    model = tmp_path / "model.xml"
    model.write_text(SHOP_MODEL)
    caruso_host("storage", config={"model": str(model), "db": f"sqlite:///{tmp_path / 'shop.db'}"})
    with portal_client(caruso_host, caruso_manager, tmp_path) as web:
        assert 'action="/portal/articles"' not in web.get("/portal").text
        refused = web.get("/portal/articles", params={"q": "boiler"})
        assert refused.status_code == 404 and "There are no questions and answers here." in refused.text
        assert web.get("/portal/articles/1").status_code == 404


SHOP_MODEL = """<model name="shop">
  <object name="Customer" table="customer">
    <attribute name="id" type="integer" key="true" generated="true"/>
    <attribute name="name" type="string" length="80" required="true"/>
  </object>
  <object name="Faq" table="faq">
    <attribute name="id" type="integer" key="true" generated="true"/>
    <attribute name="question" type="string" length="200" required="true"/>
    <attribute name="answer" type="text"/>
    <attribute name="public" type="boolean"/>
    <search name="words" attributes="question answer"/>
  </object>
</model>"""
SHOP = """[services.storage]
use = "storage"
config = {{ model = ["model.xml"] }}
[services.frontoffice]
use = "frontoffice"
config = {{ views = ["views.xml"], articles = {articles} }}
"""


@pytest.mark.parametrize("articles, problems", [
    ('{ object = "Faq", search = "words", published = { field = "public", op = "eq", value = true } }', []),
    ('{ object = "Faq", published = { field = "public", op = "eq", value = true } }',
     ["articles: Faq has no search 'faq' (searches: words)"]),
    ('{ object = "Faq", search = "words", title = "title", published = { "not" = { field = "state", op = "eq", '
     'value = "draft" } } }',
     ["articles: Faq has no attribute 'title' (the articles' title)",
      "articles: Faq has no attribute 'state' (in the published filter)"]),
    ('{ object = "Article" }', ["articles: the model has no object 'Article'"]),
])
def test_views_check_checks_the_knowledge_base_against_the_model(tmp_path, articles, problems):
    (tmp_path / "model.xml").write_text(SHOP_MODEL)
    (tmp_path / "views.xml").write_text('<views><form id="faq" object="Faq"><field name="question"/></form></views>')
    (tmp_path / "caruso.toml").write_text(SHOP.format(articles=articles))
    checked = caruso("frontoffice", "views", "check", "--deployment", str(tmp_path / "caruso.toml"),
                     env={"CARUSO_DATA": str(tmp_path / "data")})
    listed = [line for line in checked.stderr.splitlines() if line.startswith("articles:")]
    assert (checked.returncode != 0, listed) == (bool(problems), problems), checked.stderr


@pytest.mark.parametrize("config, message", [
    ("yes", "articles must be a table or false"),
    ({"object": "Faq", "colour": "red"}, r"unknown key\(s\) colour"),
    ({"search": ""}, "search must be a name"),
    ({"published": "status=published"}, "published must be a storage filter"),
])
def test_bad_article_settings_are_refused(config, message):
    with pytest.raises(ConfigError, match=message):
        ArticleSettings.of(config)


def test_one_address_searching_too_often_is_refused_for_a_while(articles, caruso_host, caruso_manager, tmp_path):
    with portal_client(caruso_host, caruso_manager, tmp_path, searches_per_minute=3) as web:
        assert [web.get("/portal/articles", params={"q": "radiator"}).status_code for _ in range(3)] == [200] * 3
        refused = web.get("/portal/articles", params={"page": "1"})         # a list counts as a search
        assert refused.status_code == 429 and "Too many searches" in refused.text
        assert 50 <= int(refused.headers["Retry-After"]) <= 60
        assert web.get(f"/portal/articles/{articles['bleed']}").status_code == 200   # an article page is not limited
