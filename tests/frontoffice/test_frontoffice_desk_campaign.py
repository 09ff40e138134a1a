"""A progressive campaign worked through the agent desk in headless Chromium, against the
real communication server (its ``sim`` dialer placing the calls), script engine and
storage service: agents at their desks in parallel tabs click *Accept* on the offers
pushed to them and complete each call with a disposition, and the campaign abandons
fewer than 3% of its answered calls; with auto-accept the server connects each answered
call to the offered agent at once, and the desk shows the connected call and its customer.
The supervisor's campaign list shows each campaign's accept window and auto-accept.
"""
from __future__ import annotations

import json
import re
import time
import warnings
from collections import Counter

import pytest

from frontoffice_support import accounts_of

pytestmark = pytest.mark.browser

AGENTS = ("ada", "bea", "cid")
# every contact rings about 0.3 s; 4 in 5 answer, the others are busy or do not answer within 0.6 s
DIALER = {"answer_rate": 0.8, "busy_rate": 0.1, "ring": 0.3, "busy_after": 0.3, "no_answer_after": 0.6, "seed": 7}
CUSTOMERS = {"1": "Acme Utilities", "2": "Berta Brandt"}


def call_list(count: int) -> str:
    return "number,customer\n" + "".join(f"+4930555{n:04d},{1 + n % 2}\n" for n in range(count))


@pytest.fixture
def comm(caruso_host, caruso_client, tmp_path):
    caruso_host("comm", config={"db": f"sqlite:///{tmp_path / 'comm.db'}", "queues": [{"name": "sales"}]})
    return caruso_client.get("caruso.comm/1")


@pytest.fixture
def desks(tab, storage, comm, caruso_host, tmp_path):
    """``desks(n)``: the first ``n`` agents of AGENTS signed in, each in a tab of their own, available."""
    caruso_host("scripts", config={"db": f"sqlite:///{tmp_path / 'scripts.db'}"})
    accounts = accounts_of(f"sqlite:///{tmp_path / 'served.db'}")

    def sign_in(count):
        opened = {}
        for name in AGENTS[:count]:
            if name != "ada":
                accounts.add(name, "agent", f"{name}-secret-1")
            desk = opened[name] = tab()
            desk.sign_in(name, None if name == "ada" else f"{name}-secret-1").wait_for_url("**/")
            desk.open("/desk").click("button:has-text('Available')")
            desk.page.wait_for_selector(".desk-status .state.available")
        return opened
    return sign_in


# One look at a desk by its agent, in one round trip to the page: shown an offer, they click
# Accept; shown a connected call, they choose the disposition "resolved" and click Complete;
# shown the notice that the desk changed, they follow its link. What they saw and did is
# returned (null: nothing to do). A page they acted on is left alone until the next one loads,
# and a page still loading is not looked at (half of it may be missing: a click on a button
# not parsed yet would mark the page as acted on for good).
LOOK = """() => {
  if (document.readyState === "loading" || document.body.dataset.acted) { return null; }
  const act = (action, element, seen) => {
    document.body.dataset.acted = action;
    element.click();
    return Object.assign({action: action}, seen);
  };
  const changed = document.getElementById("desk-changed");
  if (changed && !changed.hidden) { return act("follow", changed.querySelector("a"), {}); }
  const card = document.querySelector(".desk-interaction");
  const state = card && card.querySelector("h2 .state");
  if (!state) { return null; }
  const seen = {interaction: card.querySelector("input[name=interaction]").value, card: card.innerText,
                customer: (document.querySelector(".desk-customer") || {}).innerText || ""};
  const button = (text) => Array.from(card.querySelectorAll("button")).find((b) => b.textContent === text);
  if (state.textContent === "offered" && button("Accept")) { return act("accept", button("Accept"), seen); }
  if (state.textContent === "connected" && button("Complete")) {
    card.querySelector("select[name=disposition]").value = "resolved";
    return act("complete", button("Complete"), seen);
  }
  return null;
}"""


def work(comm, desks, campaign, limit=180.0, stall=30.0):
    """Every agent looks at their desk in turn (LOOK) until the campaign has finished; when
    nobody had anything to do, the next event of the server is awaited. Returns what the
    agents saw and did, in order, as ``(agent, LOOK's result)``.

    When neither the agents nor the server did anything for ``stall`` seconds, the agents
    reload their desks, as a person facing a desk that shows nothing to do would, and a
    warning says what the desks showed. Full runs of the suite had a call left connected
    and never completed now and then, most likely LOOK's doing (it looked at pages still
    loading; it no longer does); should a desk still stall, the warning shows how."""
    from playwright.sync_api import Error as PlaywrightError

    done, since = [], comm.events(None, 0)["last"]
    deadline = time.monotonic() + limit
    progressed = time.monotonic()
    while comm.campaign(campaign)["state"] != "finished":
        assert time.monotonic() < deadline, stuck(comm, desks, campaign, done)
        acted = False
        for name, desk in desks.items():
            try:
                action = desk.page.evaluate(LOOK)
            except PlaywrightError:      # the page was being left for the next one: look again
                continue
            if action is not None:
                done.append((name, action))
                acted = True
        if acted:
            progressed = time.monotonic()
            continue
        seen, since = since, comm.events(since, 0.25)["last"]
        if since != seen:
            progressed = time.monotonic()
        elif time.monotonic() - progressed > stall:
            warnings.warn(f"the desks showed nothing to do for {stall:g} s and were reloaded: "
                          f"{stuck(comm, desks, campaign, done)}")
            for desk in desks.values():
                desk.page.reload()
            progressed = time.monotonic()
    return done


# what a desk shows and knows: LOOK's mark, its text, its stream's state (0 connecting, 1 open,
# 2 given up), the signature it was drawn with and the last one its stream sent
DESK_STATE = """() => {
  const desk = document.getElementById("desk"), stream = window.deskStream;
  return [document.body.dataset.acted || "", document.body.innerText,
          "stream state " + (stream ? stream.source.readyState : "-"),
          "drawn " + (desk ? desk.dataset.signature : "-"),
          "last sent " + (stream && stream.last.desk ? stream.last.desk.signature : "-")];
}"""


def stuck(comm, desks, campaign, done):
    """What the campaign and each desk show now (JSON text), for a failure's message or a stall's warning."""
    seen = {name: desk.page.evaluate(DESK_STATE) for name, desk in desks.items()}
    calls = [e for e in campaign_events(comm, campaign) if e["event"] in ("offer", "connect", "abandon", "complete")]
    return json.dumps({"campaign": comm.campaign(campaign), "actions": Counter(a["action"] for _, a in done),
                       "desks": seen, "agents in comm": {name: comm.agent(name) for name in desks},
                       "last events": calls[-8:]}, indent=1, default=str)


def settled(desks):
    """Every desk back to waiting for work, without a console error, a failed request or overflow."""
    for desk in desks.values():
        desk.page.wait_for_selector("text=Waiting for the next interaction")
        desk.check_layout("after the campaign")


def campaign_events(comm, campaign):
    return [e for e in comm.events(0, 0)["events"] if (e.get("interaction") or "").startswith(f"{campaign}-")]


def test_agents_at_their_desks_work_a_progressive_campaign_and_abandon_under_3_percent(desks, comm):
    opened = desks(3)
    comm.add_campaign("spring", "sales", contacts_csv=call_list(50), pacing="progressive", dialer=DIALER,
                      connect_within=30)    # the agents are this test's loop over 3 pages on a busy machine
    comm.campaign("spring", "start")
    done = work(comm, opened, "spring")
    summary = comm.campaign("spring")
    assert (summary["dialed"], summary["connect_within"], summary["auto_accept"]) == (50, 30.0, False)
    assert summary["answered"] >= 40
    assert summary["abandoned"] / summary["answered"] < 0.03, summary
    events = campaign_events(comm, "spring")
    connects = {e["interaction"]: e["agent"] for e in events if e["event"] == "connect"}
    assert len(connects) == summary["answered"] - summary["abandoned"]
    accepted = {(action["interaction"], name) for name, action in done if action["action"] == "accept"}
    assert set(connects.items()) <= accepted          # each connected by a click of the agent it was offered to
    assert all(re.search(r"\+4930555\d{4} has answered: accept within ([1-9]|[12][0-9]|30) s, or the call is dropped",
                         action["card"]) and "Campaign\nspring" in action["card"]
               for _, action in done if action["action"] == "accept"), done
    assert all(count >= 5 for count in Counter(connects.values()).values())
    assert set(connects.values()) == set(AGENTS)
    assert [e["data"]["disposition"] for e in events if e["event"] == "complete"] == ["resolved"] * len(connects)
    dropped = [e for e in events if e["event"] == "abandon"]
    assert len(dropped) == summary["abandoned"] and all(e["data"]["reason"] == "no agent" for e in dropped)
    settled(opened)


def test_with_auto_accept_the_desk_shows_the_answered_call_connected_with_its_customer(desks, comm):
    opened = desks(2)
    comm.add_campaign("autumn", "sales", contacts_csv=call_list(20), pacing="progressive",
                      dialer=dict(DIALER, answer_rate=1.0), auto_accept=True)
    comm.campaign("autumn", "start")
    done = work(comm, opened, "autumn")
    summary = comm.campaign("autumn")
    assert (summary["answered"], summary["abandoned"], summary["connect_within"]) == (20, 0, 2.0)
    assert not [action for _, action in done if action["action"] == "accept"]
    completed = [action for _, action in done if action["action"] == "complete"]
    assert len({action["interaction"] for action in completed}) == 20
    for action in completed:                          # what the desk showed before the agent completed
        number = int(action["interaction"].split("-")[1]) - 1
        assert "Outbound call" in action["card"] and f"+4930555{number:04d}" in action["card"]
        assert CUSTOMERS[str(1 + number % 2)] in action["customer"]
    events = campaign_events(comm, "autumn")
    for call in {e["interaction"] for e in events}:
        routed = [(e["event"], e["agent"]) for e in events if e["interaction"] == call
                  and e["event"] in ("offer", "connect")]
        assert len(routed) == 2 and routed[0] == ("offer", routed[1][1]) and routed[1][0] == "connect", routed
    assert set(e["agent"] for e in events if e["event"] == "connect") == {"ada", "bea"}
    settled(opened)


def test_the_supervisor_sees_each_campaign_s_accept_window(tab, storage, comm):
    comm.add_campaign("spring", "sales", contacts_csv=call_list(1), connect_within=7.5)
    comm.add_campaign("autumn", "sales", contacts_csv=call_list(1), pacing="predictive", auto_accept=True)
    comm.add_campaign("winter", "sales", contacts_csv=call_list(1), pacing="preview")
    supervisor = tab()
    supervisor.sign_in("sam").wait_for_url("**/")
    page = supervisor.open("/supervisor/campaigns")
    shown = {name: page.inner_text(f"tr[data-campaign={name}] td:nth-child(4)") for name in ("spring", "autumn", "winter")}
    assert shown == {"spring": "7.5 s", "autumn": "2.0 s · auto-accept", "winter": "—"}
