"""The contact history of a customer across channels."""
from __future__ import annotations

import pytest

from caruso_core.errors import InvalidInput, NotFound


def test_contacts_are_appended_and_listed_newest_first_across_channels(storage):
    acme = storage.create("Customer", {"name": "Acme"})
    other = storage.create("Customer", {"name": "Other"})
    storage.add_contact("Customer", acme["id"], {"channel": "phone", "summary": "asked for an offer",
                                                 "at": "2026-01-02T10:00:00", "agent": "anna"})
    storage.add_contact("Customer", acme["id"], {"channel": "email", "direction": "outbound",
                                                 "summary": "offer sent", "at": "2026-01-03T09:00:00",
                                                 "reference": "mail-7", "data": {"attachments": 1}})
    storage.add_contact("Customer", other["id"], {"channel": "webchat", "summary": "hello"})
    history = storage.contact_history("Customer", acme["id"])
    assert [(e["channel"], e["direction"], e["summary"]) for e in history] == [
        ("email", "outbound", "offer sent"), ("phone", "inbound", "asked for an offer")]
    assert history[0]["data"] == {"attachments": 1} and history[0]["at"] == "2026-01-03T09:00:00"
    assert history[1]["agent"] == "anna" and history[1]["key"] == acme["id"]
    assert [e["channel"] for e in storage.contact_history("Customer", acme["id"], channels=["phone"])] == ["phone"]
    assert len(storage.contact_history("Customer", acme["id"], limit=1, offset=1)) == 1


@pytest.mark.parametrize("contact, message", [
    ({"summary": "no channel"}, "channel is required"),
    ({"channel": "phone", "direction": "sideways"}, "direction must be"),
    ({"channel": "phone", "at": "yesterday"}, "ISO datetime"),
    ({"channel": "phone", "mood": "happy"}, "unknown field"),
    ("phone", "must be a dict"),
])
def test_bad_contacts_are_refused(storage, contact, message):
    acme = storage.create("Customer", {"name": "Acme"})
    with pytest.raises(InvalidInput, match=message):
        storage.add_contact("Customer", acme["id"], contact)
    assert storage.contact_history("Customer", acme["id"]) == []


def test_contacts_need_an_existing_object(storage):
    with pytest.raises(NotFound):
        storage.add_contact("Customer", 404, {"channel": "phone"})
    with pytest.raises(NotFound):
        storage.contact_history("Customer", 404)
