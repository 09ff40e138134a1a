"""The mail outbox's table on SQLite, PostgreSQL and MariaDB: a message is queued once per
key (keys compared byte for byte) and comes back byte for byte however large, one of two
engines claims it, sent, failed, retried and listed rows read the same everywhere, and the
pauses between retries keep their fractions of a second."""
import datetime
import email.message
import os

import pytest

from caruso_core import databases
from caruso_core.errors import Conflict, InvalidInput, NotFound
from caruso_core.testing.waiting import eventually
from caruso_scripts.outbox import MailOutbox, moment


@pytest.fixture
def outboxes(database_url):
    """Make outboxes on the test's database, each through an engine of its own (as two
    script engine instances have)."""
    engines = []

    def make():
        engine = databases.engine(database_url)
        engines.append(engine)
        return MailOutbox(engine)
    yield make
    for engine in engines:
        engine.dispose()


def message(to="ann@example.org", subject="Hello", body="Hi.", key="k"):
    made = email.message.EmailMessage()
    made["From"], made["To"], made["Subject"] = "desk@example.org", to, subject
    made["Message-ID"] = f"<{key}@caruso>"
    made.set_content(body)
    return made


def test_a_message_is_queued_once_per_key_and_read_back_byte_for_byte(outboxes):
    outbox = outboxes()
    big = message(subject="Grüße aus Köln 🌻", body="Zählerstand: 12 000 kWh ✓\n" * 100)
    big["Bcc"] = "audit@example.org"
    big.add_attachment(os.urandom(300 * 1024), maintype="application", subtype="octet-stream",
                       filename="readings.bin")                  # over 400 KB as sent: more than a BLOB holds
    big.set_boundary("readings")
    assert outbox.queue_mail("s1:0:a:0", big) == {"to": "ann@example.org", "message_id": "<k@caruso>",
                                                  "queued": True}
    assert outbox.queue_mail("s1:0:a:0", message(to="bob@example.org"))["to"] == "ann@example.org"
    assert outbox.queue_mail("s1:0:A:0", message(to="cy@example.org"))["to"] == "cy@example.org"   # another key
    with pytest.raises(InvalidInput, match="without spaces around it"):
        outbox.queue_mail("s1:0:a:0 ", message())
    first, second = outbox.due(10)
    del big["Bcc"]
    assert type(first["message"]) is bytes and first["message"] == big.as_bytes()
    assert first["subject"] == "Grüße aus Köln 🌻"
    assert (first["recipients"], first["mail_from"]) == ('["ann@example.org", "audit@example.org"]',
                                                         "desk@example.org")
    assert (second["key"], second["to"]) == ("s1:0:A:0", "cy@example.org")
    assert outbox.counts() == {"queued": 2, "sent": 0, "failed": 0}
    assert outbox.entry("s1:0:a:0")["recipients"] == ["ann@example.org", "audit@example.org"]


def test_of_two_engines_on_the_database_one_claims_a_message(outboxes):
    first, second = outboxes(), outboxes()
    first.queue_mail("k1", message())
    [row] = second.due(10)
    assert first.claim(row, 60) is True
    assert second.claim(row, 60) is False
    assert second.due(10) == [] and 59 < second.seconds_to_next(120) <= 60
    first.sent(row["id"])
    assert second.counts() == {"queued": 0, "sent": 1, "failed": 0}
    assert second.seconds_to_next(5) == 5


def test_pauses_between_retries_keep_fractions_of_a_second(outboxes):
    outbox = outboxes()
    outbox.queue_mail("soon", message(key="soon"))
    outbox.queue_mail("later", message(key="later"))
    soon, later = outbox.due(10)
    for row, pause in ((soon, 0.25), (later, 30.5)):
        assert outbox.claim(row, 60)
        outbox.retry_later(row["id"], pause, "421 try again")
    waited = datetime.datetime.fromisoformat(outbox.entry("later")["next_try"]) - moment()
    assert 30 < waited.total_seconds() <= 30.5
    assert 0 < outbox.seconds_to_next(5) <= 0.25          # the sooner one, to the microsecond
    assert outbox.due(10) == []
    [due] = eventually(lambda: outbox.due(10), what="the message due after its pause")
    assert due["key"] == "soon" and due["attempts"] == 1


def test_sent_failed_and_retried_messages_are_listed(outboxes):
    outbox = outboxes()
    for key in ("sent", "failed", "failing", "waiting"):
        outbox.queue_mail(key, message(to=f"{key}@example.org", subject=key, key=key))
    rows = {row["key"]: row for row in outbox.due(10)}
    for row in rows.values():
        assert outbox.claim(row, 60)
    outbox.sent(rows["sent"]["id"])
    outbox.failed(rows["failed"]["id"], "554 no (after 1 attempts)")
    outbox.retry_later(rows["failing"]["id"], 60, "421 busy")
    outbox.retry_later(rows["waiting"]["id"], 0, "x")
    outbox.sent(rows["waiting"]["id"])
    shown = outbox.listing(10)
    assert {name: shown[name] for name in ("queued", "sent", "failed")} == {"queued": 1, "sent": 2, "failed": 1}
    assert [(row["key"], row["state"], row["attempts"], row["last_error"]) for row in shown["failing"]] == [
        ("failing", "queued", 1, "421 busy"), ("failed", "failed", 1, "554 no (after 1 attempts)")]
    failing, failed = shown["failing"]
    assert datetime.datetime.fromisoformat(failing["next_try"]) > datetime.datetime.fromisoformat(failing["tried_at"])
    assert failed["next_try"] is None and failed["to"] == "failed@example.org" and failed["subject"] == "failed"

    again = outbox.retry(failed["id"])
    assert (again["state"], again["attempts"], again["done_at"], again["last_error"]) == (
        "queued", 0, None, "554 no (after 1 attempts)")
    assert again["queued_at"] == again["next_try"] and again["recipients"] == ["failed@example.org"]
    assert [row["key"] for row in outbox.due(10)] == ["failed"]
    with pytest.raises(Conflict, match=f"retry_mail: message {failed['id']} is queued: only a failed message"):
        outbox.retry(failed["id"])
    with pytest.raises(Conflict, match="is sent: only a failed message is sent again"):
        outbox.retry(rows["sent"]["id"])
    for unknown in (999, 0, 2 ** 40):
        with pytest.raises(NotFound, match=f"the mail outbox has no message {unknown}$"):
            outbox.retry(unknown)
    with pytest.raises(InvalidInput, match="the id must be the whole number of a message"):
        outbox.retry("1")
    assert outbox.prune(moment() + datetime.timedelta(seconds=1)) == 2
    assert outbox.counts() == {"queued": 2, "sent": 0, "failed": 0}


def test_a_retry_answers_with_the_row_as_queued_again_though_the_sender_sends_it_at_once(database_url):
    engine, sent_at_once = databases.engine(database_url), []
    try:
        outbox = MailOutbox(engine, queued=lambda: [outbox.sent(row_id) for row_id in sent_at_once])
        outbox.queue_mail("s1:0:a:0", message())
        [row] = outbox.due(1)
        outbox.failed(row["id"], "refused")
        sent_at_once.append(row["id"])                 # the woken sender wins the race
        retried = outbox.retry(row["id"])
        assert (retried["state"], retried["last_error"]) == ("queued", "refused")
        assert outbox.entry_of(row["id"])["state"] == "sent"
    finally:
        engine.dispose()
