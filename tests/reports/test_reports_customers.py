"""Reports by a customer attribute (dimension ``customer.NAME``): interactions of a real ACD
grouped by the attribute of their customer as the storage service holds it, a labelled
choice shown by its label; through the reports service, with the storage over Pyro5."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa

import caruso_storage
from caruso_comm.acd import ACD
from caruso_comm.eventlog import EventLog
from caruso_comm.model import Queue
from caruso_comm.timers import Timers, VirtualClock
from caruso_core.errors import ConfigError
from caruso_reports import definition, engine

START = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.timezone.utc).timestamp()
DEFAULT_MODEL = Path(caruso_storage.__file__).parent / "default_model.xml"
TIERS = """<model name="tiers">
  <extend object="Customer">
    <attribute name="tier" type="string" length="1" choices="G=Gold|S=Silber|B=Bronze"/>
  </extend>
</model>"""
BY_TIER = """title = "Calls by tier"
measures = ["offered", "answered", "abandoned"]
dimensions = ["customer.tier"]
[labels]
"customer.tier" = "Tier"
"""
# (customer, what happens) of each call; customer 4 has no tier, 999 is no customer, None none given;
# a transferred call enters a second queue and still counts once for its customer
CALLS = [(1, "answered"), (2, "answered"), (3, "abandoned"), (1, "abandoned"), (3, "answered"),
         (2, "transferred"), (4, "answered"), (999, "abandoned"), (None, "answered"), (1, "transferred")]


@pytest.fixture
def event_log(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'comm.db'}"
    clock = VirtualClock(START)
    log = EventLog(url)
    acd = ACD(Timers(clock), log)
    acd.add_queue(Queue("service"))
    acd.add_queue(Queue("billing", skills={"billing": 1}))
    acd.login("ann", skills={"billing": 1})         # a transferred call goes to the other agent
    acd.login("bob", skills={"billing": 1})
    for number, (customer, outcome) in enumerate(CALLS):
        clock.now = START + 60 * number
        call = f"call{number}"
        acd.arrive("service", id=call, customer=None if customer is None else str(customer))
        clock.now += 5
        if outcome == "abandoned":
            acd.abandon(call)
            continue
        agent = next(a for a in ("ann", "bob") if call in acd.agents[a].offers)
        acd.accept(agent, call)
        clock.now += 20
        if outcome == "transferred":
            acd.transfer(agent, call, queue="billing")
            agent = next(a for a in ("ann", "bob") if call in acd.agents[a].offers)
            acd.accept(agent, call)
            clock.now += 20
        acd.complete(agent, call)
    log.close()
    return url


@pytest.fixture
def reports(event_log, tmp_path, caruso_host, caruso_client):
    (tmp_path / "tiers.xml").write_text(TIERS)
    caruso_host("storage", config={"model": [str(DEFAULT_MODEL), str(tmp_path / "tiers.xml")],
                                   "db": f"sqlite:///{tmp_path / 'crm.db'}"})
    storage = caruso_client.get("caruso.storage/1")
    for name, tier in (("Gold One", "G"), ("Silver Two", "S"), ("Gold Three", "G"), ("Plain Four", None)):
        storage.create("Customer", {"name": name, "tier": tier})
    caruso_host("reports", config={"db": event_log})
    return caruso_client.get("caruso.reports/1")


def expected() -> dict[str, dict[str, int]]:
    """Offered, answered and abandoned per tier label, counted from the calls as scripted."""
    tiers = {1: "Gold", 2: "Silber", 3: "Gold"}
    rows: dict[str, dict[str, int]] = {}
    for customer, outcome in CALLS:
        row = rows.setdefault(tiers.get(customer, "(none)"), {"offered": 0, "answered": 0, "abandoned": 0})
        row["offered"] += 1
        row["abandoned" if outcome == "abandoned" else "answered"] += 1
    return rows


def test_a_report_groups_by_a_customer_attribute_and_shows_its_labels(reports):
    report = reports.run(BY_TIER, "by-tier")
    rows = {row["customer.tier"]: {m: row[m] for m in ("offered", "answered", "abandoned")} for row in report["rows"]}
    assert rows == expected()
    assert report["headings"][0] == "Tier"
    assert report["shown"] == [[tier, *(str(count) for count in counts.values())]
                               for tier, counts in sorted(expected().items())]
    table = reports.run(BY_TIER.replace('dimensions = ["customer.tier"]', 'dimensions = ["period", "customer.tier"]'),
                        "by-day-and-tier")
    assert {(row["customer.tier"], row["offered"]) for row in table["rows"]} \
        == {(tier, row["offered"]) for tier, row in expected().items()}


def test_customer_dimensions_are_checked(reports, event_log):
    with pytest.raises(ConfigError, match=r"dimension customer.rank: Customer has no attribute 'rank' \(attributes: "):
        reports.run(BY_TIER.replace("customer.tier", "customer.rank"), "by-rank")
    with pytest.raises(ConfigError, match=r"unknown dimension 'customer.1x'; known dimensions: period, queue, agent, "
                                          r"channel, direction, campaign, customer.ATTRIBUTE"):
        reports.run(BY_TIER.replace("customer.tier", "customer.1x"), "odd")
    with pytest.raises(ConfigError, match=r"agent times .* not by customer.tier"):
        reports.run('measures = ["occupancy"]\ndimensions = ["customer.tier"]', "busy")
    log = sa.create_engine(event_log)
    with pytest.raises(ConfigError, match=r"dimension customer.tier needs the customers of the storage service"):
        engine.compute(log, definition.from_toml(BY_TIER, "by-tier", "by-tier"))
    log.dispose()
