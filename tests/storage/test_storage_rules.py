"""Business rules of the model: the shipped RFP review example and rule semantics."""
from __future__ import annotations

import logging

import pytest

from caruso_core import hookimpl
from caruso_core.errors import InvalidInput
from caruso_core.plugins import plugin_manager


@pytest.fixture
def deal(storage):
    customer = storage.create("Customer", {"name": "Acme"})
    return storage, storage.create("Opportunity", {"customer_id": customer["id"], "title": "Fleet",
                                                   "deal_size": "75000"})


def review_tasks(storage):
    return storage.query("Task", {"field": "assignee", "op": "eq", "value": "senior-management"})


def test_rfp_received_on_a_big_deal_creates_a_review_for_senior_management(deal, caplog):
    storage, opportunity = deal
    assert review_tasks(storage) == []
    with caplog.at_level(logging.INFO, logger="caruso.storage.rules"):
        storage.update("Opportunity", opportunity["id"], {"stage": "RFP received"})
    [task] = review_tasks(storage)
    assert task["customer_id"] == opportunity["customer_id"] and task["done"] is False
    assert 'Review the RFP of "Fleet" (deal size 75000.00)' in task["subject"]
    assert task["due"] is not None
    assert "notify senior-management: RFP received" in caplog.text
    log = storage.rule_log()
    assert [(entry["rule"], entry["action"]) for entry in log] == [("rfp_review", "notify"), ("rfp_review", "create")]


def test_the_rule_fires_on_entering_the_stage_only(deal):
    storage, opportunity = deal
    storage.update("Opportunity", opportunity["id"], {"stage": "RFP received"})
    storage.update("Opportunity", opportunity["id"], {"title": "Fleet 2"})
    storage.update("Opportunity", opportunity["id"], {"deal_size": "80000"})
    assert len(review_tasks(storage)) == 1


@pytest.mark.parametrize("values", [{"deal_size": "50000"}, {"deal_size": None}, {"stage": "qualification"}])
def test_small_deals_or_other_stages_create_nothing(storage, values):
    customer = storage.create("Customer", {"name": "Acme"})
    storage.create("Opportunity", {"customer_id": customer["id"], "title": "T", "stage": "RFP received",
                                   "deal_size": "50000", **values})
    assert review_tasks(storage) == []


def test_the_rule_fires_on_create_too_in_the_same_batch(storage):
    customer = storage.create("Customer", {"name": "Acme"})
    storage.apply([{"op": "create", "object": "Opportunity",
                    "values": {"customer_id": customer["id"], "title": "Big", "stage": "RFP received",
                               "deal_size": "250000"}}])
    assert len(review_tasks(storage)) == 1


class Failing:
    @hookimpl
    def caruso_rule_actions(self):
        def refuse(context, step):
            raise InvalidInput(f"{context.values['title']} refused")
        return {"create": refuse}


def test_a_failing_action_undoes_the_change(deal):
    storage, opportunity = deal
    manager = plugin_manager()
    plugin = Failing()
    manager.register(plugin)
    try:
        with pytest.raises(InvalidInput, match="rule rfp_review of Opportunity, action create: Fleet refused"):
            storage.update("Opportunity", opportunity["id"], {"stage": "RFP received"})
    finally:
        manager.unregister(plugin)
    assert storage.get("Opportunity", opportunity["id"])["stage"] == "initiation"
    assert review_tasks(storage) == [] and storage.rule_log() == []
