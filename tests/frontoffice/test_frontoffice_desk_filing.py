"""Notes left behind are filed by the front office itself, with the agent's desk closed: a
call whose caller hung up (no wrap-up) and a wrap-up that ended without the agent (its time
ran out); a note saved while a filing claims the notes is refused, never lost. A served
front office (filing every 0.2 s) against the real communication server, script engine and
storage service."""
import httpx
import pytest

from caruso_core.errors import ConfigError
from caruso_core.testing import eventually
from caruso_frontoffice.desk import Desk
from caruso_frontoffice.desksettings import desk_settings
from frontoffice_support import DESK, QUICK_COST, SCRIPTS, add_users, csrf_of, sign_in

QUEUES = [{"name": "sales"}, {"name": "billing", "skills": {"billing": 1}, "wrap_up": 300}]
ACME_PHONE = "+49 30 1234567"


@pytest.fixture
def centre(caruso_host, caruso_client, storage, tmp_path):
    """The communication server and a served front office filing every 0.2 s; Ada available
    at her desk: (comm, post(path, **fields), web)."""
    caruso_host("scripts", config={"scripts": [str(SCRIPTS)], "db": f"sqlite:///{tmp_path / 'scripts.db'}"})
    caruso_host("comm", config={"db": f"sqlite:///{tmp_path / 'comm.db'}", "queues": QUEUES})
    db = f"sqlite:///{tmp_path / 'office.db'}"
    add_users(db)
    caruso_host("frontoffice", config={"password_cost": QUICK_COST, "address": "http://127.0.0.1:0", "db": db,
                                       "desk": {**DESK, "file_every": 0.2}})
    comm = caruso_client.get("caruso.comm/1")
    with httpx.Client(base_url=caruso_client.get("frontoffice").url(), timeout=30) as web:
        assert sign_in(web, "ada").status_code == 303
        csrf = csrf_of(web.get("/").text)

        def post(path, **fields):
            return web.post(f"/desk/{path}", data={"csrf": csrf, **fields})

        assert post("status", status="available").status_code == 303
        yield comm, post, web


def notes_filed(storage, customer):
    return [entry["summary"] for entry in storage.contact_history("Customer", customer)
            if entry["summary"].startswith("Notes")]


def connected(comm, post, web, queue):
    call = comm.arrive(queue, from_=ACME_PHONE)["id"]
    eventually(lambda: comm.agent("ada")["interactions"], what="the offer")
    assert post("accept", interaction=call).status_code == 303
    assert "No customer matches" not in web.get(f"/desk?i={call}").text       # the screen pop's customer
    return call


def test_notes_left_behind_are_filed_with_the_desk_closed(centre, storage):
    comm, post, web = centre
    acme = storage.query("Customer", {"field": "phone", "op": "eq", "value": ACME_PHONE})[0]["id"]
    call = connected(comm, post, web, "sales")
    assert post("notes", interaction=call, notes="Wants the green tariff").status_code == 303
    comm.complete("ada", call)                        # the caller hangs up; no wrap-up; no desk drawn
    eventually(lambda: notes_filed(storage, acme), lambda found: found == ["Notes: Wants the green tariff"],
               what="the notes filed without the desk")

    call = connected(comm, post, web, "billing")
    comm.complete("ada", call)                        # the caller hangs up: the wrap-up runs
    assert post("notes", interaction=call, notes="Will pay on Friday").status_code == 303   # typed in it
    comm.end_wrap_up("ada", call)                     # as its time running out does
    eventually(lambda: notes_filed(storage, acme), lambda found: found[0] == "Notes: Will pay on Friday",
               what="the wrap-up's notes filed")
    refused = post("notes", interaction=call, notes="Will pay on Friday, or Monday")
    assert refused.status_code == 409 and "went to the contact history already" in refused.text
    assert len(notes_filed(storage, acme)) == 2


def test_a_note_saved_while_a_filing_claims_the_notes_is_refused_not_lost(centre, storage, monkeypatch):
    """A filing (another tab's drawing, or the front office's own) claims the notes between
    the desk's check that the notes are open and its write of them: the write is refused
    (409, the agent sees it); the notes filed are those saved before."""
    comm, post, web = centre
    acme = storage.query("Customer", {"field": "phone", "op": "eq", "value": ACME_PHONE})[0]["id"]
    call = connected(comm, post, web, "billing")
    comm.complete("ada", call)                        # in wrap-up: the filing leaves it to the agent
    assert post("notes", interaction=call, notes="First words").status_code == 303
    checked = Desk.own

    def own_then_filed(desk, name, interaction):      # the front office's hosts run in this process
        desk.file_notes(name, interaction)
        return checked(desk, name, interaction)
    monkeypatch.setattr(Desk, "own", own_then_filed)
    refused = post("notes", interaction=call, notes="First words, and more")
    assert refused.status_code == 409 and "went to the contact history already" in refused.text
    assert notes_filed(storage, acme) == ["Notes: First words"]


def test_file_every_is_a_number_of_seconds():
    assert desk_settings({"file_every": 5}).file_every == 5.0
    for bad in (0, -1, "30", True, 3601):
        with pytest.raises(ConfigError, match="file_every must be a number of seconds"):
            desk_settings({"file_every": bad})
