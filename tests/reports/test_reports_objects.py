"""Reports over business objects: the sales pipeline and lead conversion counted from what
a real storage service holds (default model), choice labels shown, names checked against
the model, and such reports left out where the model lacks their object."""
from __future__ import annotations

import pytest

from caruso_core.errors import ConfigError
from caruso_reports.objects import NONE
from reports_support import caruso

DEFAULT_MODEL = "services/caruso_storage/default_model.xml"
LEADS = [("web", "converted"), ("web", "new"), ("web", "converted"), ("event", "disqualified"), ("phone", "new")]
OPPORTUNITIES = [("initiation", "1000.50"), ("initiation", None), ("won", "25000"), ("quote sent", "4000")]


@pytest.fixture
def reports(tmp_path, caruso_host, caruso_client):
    caruso_host("storage", config={"db": f"sqlite:///{tmp_path / 'crm.db'}"})
    storage = caruso_client.get("caruso.storage/1")
    customer = storage.create("Customer", {"name": "Acme Utilities"})["id"]
    for source, status in LEADS:     # a converted lead becomes an opportunity in qualification (leads module)
        storage.create("Lead", {"name": f"{source} lead", "source": source, "status": status,
                                **({"customer_id": customer} if status == "converted" else {})})
    for stage, deal_size in OPPORTUNITIES:
        storage.create("Opportunity", {"customer_id": customer, "title": f"{stage} deal", "stage": stage,
                                       **({"deal_size": deal_size} if deal_size else {})})
    caruso_host("reports", config={"db": f"sqlite:///{tmp_path / 'comm.db'}"})
    return caruso_client.get("caruso.reports/1")


def test_the_pipeline_and_lead_conversion_count_the_objects_held_now(reports):
    pipeline = reports.report("sales-pipeline")
    assert [(r["stage"], r["count"], r["sum.deal_size"], r["avg.deal_size"]) for r in pipeline["rows"]] == [
        ("initiation", 2, 1000.5, 1000.5), ("qualification", 2, 0.0, None), ("quote sent", 1, 4000.0, 4000.0),
        ("won", 1, 25000.0, 25000.0)]
    assert pipeline["headings"] == ["Stage", "Opportunities", "Deal size in total", "Average deal size"]
    assert pipeline["shown"][1] == ["qualification", "2", "0.00", "-"]
    assert pipeline["shown"][3] == ["won", "1", "25,000.00", "25,000.00"]
    leads = {r["source"]: r for r in reports.report("lead-conversion")["rows"]}
    assert {source: (r["count"], r["count.status=converted"], r["share.status=converted"])
            for source, r in leads.items()} == {"event": (1, 0, 0.0), "phone": (1, 0, 0.0), "web": (3, 2, 2 / 3)}
    only_web = reports.report("lead-conversion", filters={"source": ["web"]})
    assert [r["source"] for r in only_web["rows"]] == ["web"]
    names = {d["name"]: d["object"] for d in reports.definitions()}
    assert names["sales-pipeline"] == "Opportunity" and names["incoming-calls"] is None


def test_names_are_checked_against_the_model_with_the_report_named(reports):
    by = '''title = "By mood"\nobject = "Lead"\ndimensions = ["mood"]\nmeasures = ["count"]\n'''
    with pytest.raises(ConfigError, match=r"report 'moods': Lead has no attribute 'mood' \(attributes: id, name"):
        reports.run(by, "moods")
    summed = by.replace('"mood"', '"source"').replace('["count"]', '["sum.name"]')
    with pytest.raises(ConfigError, match=r"sum.name needs a number attribute; name is string"):
        reports.run(summed, "sums")
    with pytest.raises(ConfigError, match=r"the model has no object 'Ship'"):
        reports.run(by.replace('"Lead"', '"Ship"'), "ships")
    with pytest.raises(ConfigError, match=r"unknown object measure 'offered'"):
        reports.run(by.replace('["count"]', '["offered"]'), "mixed")
    empty = reports.run(by.replace('"mood"', '"company"'), "companies")
    assert [(r["company"], r["count"]) for r in empty["rows"]] == [(NONE, 5)]


def test_a_model_without_the_object_lists_no_such_report_and_the_offline_cli_refuses(
        tmp_path, caruso_host, caruso_client):
    model = tmp_path / "small.xml"
    model.write_text('<model name="small"><include module="crm"/></model>')
    caruso_host("storage", config={"model": str(model), "db": f"sqlite:///{tmp_path / 'small.db'}"})
    caruso_host("reports", config={"db": f"sqlite:///{tmp_path / 'comm.db'}"})
    names = [d["name"] for d in caruso_client.get("caruso.reports/1").definitions()]
    assert "incoming-calls" in names and "sales-pipeline" not in names and "lead-conversion" not in names
    done = caruso("report", "sales-pipeline", "--db", f"sqlite:///{tmp_path / 'comm.db'}")
    assert done.returncode != 0
    assert "counts Opportunity objects of the storage service, not the event log: run it without --db" in done.stderr
