"""The utility vertical with the analytics layer in Chromium, at 1366 and 390 pixels: the
customer 360 shows Retention (the stored churn risk as a percentage, its factors, the
segment) and the customer list narrows to a segment through its filter, without console
errors or a page wider than the screen."""
from __future__ import annotations

from typing import Any

import pytest

from caruso_core.verticals import deployment_data
from caruso_utility.demo import load
from frontoffice_support import PHONE, QUICK_COST, add_users

pytestmark = pytest.mark.browser
WIDE = {"width": 1366, "height": 768}
FACTORS = "unresolved_complaints, price_rises_90_days, failed_contacts_90_days"


@pytest.fixture
def layered() -> dict[str, Any]:
    return deployment_data(["utility-analytics"])["services"]


@pytest.fixture
def storage(caruso_host, caruso_client, layered, tmp_path):
    """The layered utility model on SQLite with five demo customers, two of them scored."""
    caruso_host("storage", config={**layered["storage"]["config"], "db": f"sqlite:///{tmp_path / 'crm.db'}"})
    proxy = caruso_client.get("caruso.storage/1")
    load(proxy, customers=5)
    proxy.update("Customer", 2, {"churn_risk": 0.375, "churn_factors": FACTORS, "rfm_segment": "at risk",
                                 "cluster": "cluster 2"})
    proxy.update("Customer", 3, {"churn_risk": 0.041, "churn_factors": "", "rfm_segment": "champions",
                                 "cluster": "cluster 5"})
    return proxy


@pytest.fixture
def front_office(caruso_host, caruso_client, storage, layered, tmp_path):
    db = f"sqlite:///{tmp_path / 'served.db'}"
    add_users(db)
    caruso_host("frontoffice", config={"password_cost": QUICK_COST, "address": "http://127.0.0.1:0", "db": db,
                                       "views": layered["frontoffice"]["config"]["views"]})
    return caruso_client.get("frontoffice").url()


@pytest.mark.parametrize("viewport", [WIDE, PHONE], ids=["1366", "390"])
def test_an_agent_sees_retention_in_the_360_and_filters_the_list_by_segment(tab, storage, viewport):
    at_risk, champion = storage.get("Customer", 2), storage.get("Customer", 3)
    agent = tab(viewport)
    agent.sign_in("ada")
    page = agent.open("/views/customer-360/show?id=2")
    retention = page.locator("section.card", has=page.locator("h2", has_text="Retention"))
    terms = retention.locator("dt").all_inner_texts()
    values = dict(zip(terms, retention.locator("dd").all_inner_texts()))
    assert values["Churn risk"] == "37.5%" and values["Churn factors"] == FACTORS
    assert values["Segment"] == "at risk" and values["Left on"] == "—"
    assert retention.bounding_box()["width"] <= viewport["width"]

    page = agent.open("/views/customers")
    page.select_option("select[name='f.rfm_segment']", "at risk")
    with page.expect_navigation():
        page.locator("select[name='f.rfm_segment']").evaluate("select => select.form.requestSubmit()")
    agent.check_layout("the customers of segment 'at risk'")
    rows = page.locator("table tbody tr").all_inner_texts()
    assert len(rows) == 1 and at_risk["name"] in rows[0] and "37.5%" in rows[0]
    assert champion["name"] not in page.content()
