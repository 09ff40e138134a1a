"""The portal's knowledge base in Chromium, on a 1366-pixel screen and a 390-pixel phone:
search from the portal, open the best answer, page through all of them; no console errors,
nothing wider than the screen."""
from __future__ import annotations

from pathlib import Path

import pytest

from frontoffice_support import Tab

pytestmark = pytest.mark.browser
SCREENS = {"wide": {"width": 1366, "height": 800}, "phone": {"width": 390, "height": 844}}


@pytest.fixture
def scripts(caruso_host, tmp_path):
    caruso_host("scripts", config={"scripts": [str(Path(__file__).parent / "portal" / "callback.xml")],
                                   "db": f"sqlite:///{tmp_path / 'scripts.db'}"})


@pytest.fixture
def articles(storage):
    for number in range(14):
        storage.create("KnowledgeArticle", {"question": f"Question {number:02d} about the meter?",
                                            "answer": "Read it once a year.", "status": "published"})
    storage.create("KnowledgeArticle", {"question": "Radiator recall", "answer": "Radiators from 2019.",
                                        "status": "draft"})
    return storage.create("KnowledgeArticle", {
        "question": "How do I bleed a radiator?", "status": "published",
        "answer": "Bleed each radiator with a radiator key.\nClose the valve when water comes."})


@pytest.mark.parametrize("screen", SCREENS)
def test_search_the_answers_and_open_one(browser, scripts, front_office, articles, shots, screen):
    tab = Tab(browser, front_office, SCREENS[screen], shots)
    try:
        page = tab.open("/portal")
        page.fill("#article-text", "bleeding radiators")
        page.click("form.articles-search button")
        page.wait_for_url("**/portal/articles?q=bleeding+radiators")
        tab.check_layout("search results")
        assert page.locator("ul.articles li a").all_inner_texts() == ["How do I bleed a radiator?"]
        page.click("text=How do I bleed a radiator?")
        page.wait_for_url(f"**/portal/articles/{articles['id']}")
        tab.check_layout("the article")
        assert page.inner_text("article.answer h1") == "How do I bleed a radiator?"
        assert page.inner_text("article.answer .text") == ("Bleed each radiator with a radiator key.\n"
                                                           "Close the valve when water comes.")
        tab.shot(f"frontoffice-portal-article-{screen}.png")
        page.click("text=All questions and answers")
        page.wait_for_url("**/portal/articles")
        assert page.locator("ul.articles li").count() == 10
        page.click("a[rel=next]")
        page.wait_for_url("**/portal/articles?q=&page=2")
        tab.check_layout("page 2")
        assert page.locator("ul.articles li").count() == 5
        assert "Radiator recall" not in page.inner_text("main")
    finally:
        tab.close()
