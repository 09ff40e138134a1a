"""The ``email`` action queues its message in the engine's outbox and the engine's sender
delivers it to a real SMTP server on 127.0.0.1: the dialog never waits for the server,
the message goes out once however often the answer is retried, and refused input queues
nothing. The sender's retries, restarts and the utility vertical's payment arrangement:
test_scripts_mail_outbox.py."""
import email.message
import re

import pytest

from caruso_core.errors import InvalidInput
from caruso_core.testing.mail import SmtpServer
from caruso_core.testing.waiting import eventually
from caruso_scripts.actions import ActionContext
from caruso_actions.mail import send_email
from caruso_scripts.client import DialogError

NOTHING = {"queued": 0, "sent": 0, "failed": 0, "failing": []}


def sent_one(engine):
    return eventually(engine.mail_outbox, lambda shown: shown["sent"] == 1, what="the message sent")


def test_the_message_is_queued_then_delivered_once_with_its_headers(smtp_server, mail_engines):
    engine = mail_engines(smtp_server.port, mail_from="desk@utility.example")
    view = engine.begin("notify", {"company": "Springfield Power"})
    done = engine.answer(view["session"], "ann@example.org", view["seq"])
    assert engine.answer(view["session"], "ann@example.org", view["seq"])["seq"] == done["seq"]   # retried
    assert done["outcome"] == "sent"
    [action] = done["actions"]
    assert action["result"] == {"to": "ann@example.org", "message_id": f"<{action['key'].replace(':', '.')}@caruso>",
                                "queued": True}
    assert sent_one(engine) == {**NOTHING, "sent": 1}
    [message] = smtp_server.messages
    assert smtp_server.recipients == [["ann@example.org"]]
    assert message["To"] == "ann@example.org" and message["From"] == "desk@utility.example"
    assert message["Subject"] == "Hello from Springfield Power"
    assert "We will call you back on 2026-03-03." in message.get_payload()
    assert message["X-Caruso-Action"] == action["key"]
    assert message["Message-ID"] == action["result"]["message_id"]


def test_without_a_mail_server_the_dialog_goes_on_and_the_mail_waits_for_one(mail_engines):
    server = SmtpServer()                           # its port, with nothing listening yet
    engine = mail_engines(server.port)
    view = engine.begin("notify", {"company": "x"})
    done = engine.answer(view["session"], "ann@example.org", view["seq"])
    assert (done["status"], done["outcome"]) == ("ended", "sent")
    assert done["actions"][0]["result"]["queued"] is True
    waiting = eventually(engine.mail_outbox, lambda shown: shown["failing"], what="a failed attempt")
    assert (waiting["queued"], waiting["sent"]) == (1, 0)
    assert waiting["failing"][0]["state"] == "queued" and waiting["failing"][0]["attempts"] >= 1
    assert f"127.0.0.1:{server.port}: nothing takes mail there (connection refused)" in waiting["failing"][0]["last_error"]
    server.start()
    try:
        assert sent_one(engine) == {**NOTHING, "sent": 1}
        [message] = server.messages
        assert message["X-Caruso-Action"] == done["actions"][0]["key"]
        assert message["Message-ID"] == done["actions"][0]["result"]["message_id"]
    finally:
        server.stop()


def test_a_retried_answer_or_the_same_key_again_queues_one_message(mail_engines):
    engine = mail_engines(SmtpServer().port, started=False)          # no sender: what is queued stays
    view = engine.begin("notify", {"company": "x"})
    done = engine.answer(view["session"], "ann@example.org", view["seq"])
    assert engine.answer(view["session"], "ann@example.org", view["seq"])["seq"] == done["seq"]
    key, result = done["actions"][0]["key"], done["actions"][0]["result"]
    assert engine.mail_outbox()["queued"] == 1
    replayed = ActionContext(session=view["session"], script="notify", step="address", key=key, context={},
                             settings={}, service=None, outbox=engine.outbox)
    assert send_email(replayed, to="ann@example.org", subject="Hello again", body="b") == result
    other = email.message.EmailMessage()
    other["From"], other["To"], other["Message-ID"] = "x@example.org", "bob@example.org", "<other@caruso>"
    assert engine.outbox.queue_mail(key, other) == result                 # the first one stands
    assert engine.mail_outbox()["queued"] == 1
    assert engine.outbox.entry(key)["subject"] == "Hello from x"


def action_context(engine, key="s1:1:abc:0"):
    return ActionContext(session="s1", script="notify", step="address", key=key, context={}, settings={},
                         service=None, outbox=engine.outbox)


@pytest.mark.parametrize("params, error", [
    ({"to": "ann@example.org", "subject": "s" * 251, "body": "b"},
     "email: the subject has 251 characters (at most 250)"),
    ({"to": "ann@example.org", "subject": "s", "body": "b" * 65_537},
     "email: the body has 65537 characters (at most 65536)"),
    ({"to": "ann@example.org\nBcc: x@y.z", "subject": "s", "body": "b"}, "is not an e-mail address"),
    ({"to": "not an address", "subject": "s", "body": "b"}, "is not an e-mail address"),
    ({"to": "ann@example.org", "subject": "hi\nBcc: victim@example.org", "body": "b"}, "email: bad header value"),
], ids=["long subject", "long body", "injected address", "no address", "injected header"])
def test_over_long_or_bad_input_is_refused_and_nothing_is_queued(mail_engines, params, error):
    engine = mail_engines(SmtpServer().port, started=False)
    with pytest.raises(InvalidInput, match=re.escape(error)) as refused:
        send_email(action_context(engine), **params)
    assert "\n" not in str(refused.value)
    assert engine.mail_outbox() == NOTHING


def test_the_limits_at_their_bounds_are_queued(mail_engines):
    engine = mail_engines(SmtpServer().port, started=False)
    assert send_email(action_context(engine), to="ann@example.org", subject="s" * 250, body="é" * 65_536)["queued"]
    assert engine.mail_outbox()["queued"] == 1


def test_a_message_the_outbox_cannot_send_is_refused_there(mail_engines):
    engine = mail_engines(SmtpServer().port, started=False)
    big = email.message.EmailMessage()
    big["From"], big["To"], big["Message-ID"] = "x@example.org", "ann@example.org", "<big@caruso>"
    big.set_content("x" * 600_000)
    with pytest.raises(InvalidInput, match=r"queue_mail: the message takes \d+ bytes \(at most 524288\)"):
        engine.outbox.queue_mail("k1", big)
    nobody = email.message.EmailMessage()
    nobody["From"], nobody["Message-ID"] = "x@example.org", "<nobody@caruso>"
    with pytest.raises(InvalidInput, match="needs To, Cc or Bcc addresses"):
        engine.outbox.queue_mail("k2", nobody)
    with pytest.raises(InvalidInput, match="the key must be text of 1 to 200 characters"):
        engine.outbox.queue_mail("k" * 201, big)
    assert engine.mail_outbox() == NOTHING


def test_a_bad_header_in_the_dialog_fails_the_answer_and_queues_nothing(mail_engines):
    engine = mail_engines(SmtpServer().port, started=False)
    view = engine.begin("notify", {"company": "x\nBcc: victim@example.org"})
    with pytest.raises(DialogError, match="bad header value"):
        engine.answer(view["session"], "ann@example.org")
    assert engine.current(view["session"])["step"]["id"] == "address"
    assert engine.mail_outbox() == NOTHING


def test_a_customer_who_opted_out_of_email_gets_none_and_the_dialog_goes_on(smtp_server, tmp_path, caruso_host,
                                                                            caruso_client, notify_script):
    caruso_host("storage", config={"db": f"sqlite:///{tmp_path / 'crm.db'}"})
    storage = caruso_client.get("caruso.storage/1")
    ann, bob = storage.create("Customer", {"name": "Ann"}), storage.create("Customer", {"name": "Bob"})
    storage.create("Consent", {"customer_id": ann["id"], "channel": "email", "opted_in": False})
    storage.create("Consent", {"customer_id": bob["id"], "channel": "phone", "opted_in": False})   # not e-mail
    caruso_host("scripts", config={"scripts": [str(notify_script)], "db": f"sqlite:///{tmp_path / 's.db'}",
                                   "settings": {"smtp_host": smtp_server.host, "smtp_port": smtp_server.port}})
    engine = caruso_client.get("caruso.scripts/1")
    results = {}
    for customer, address in ((ann, "ann@example.org"), (bob, "bob@example.org")):
        view = engine.begin("notify", {"company": "x", "customer": customer})
        done = engine.answer(view["session"], address, view["seq"])
        assert done["outcome"] == "sent"
        results[customer["name"]] = done["actions"][0]["result"]
    assert results["Ann"] == {"to": "ann@example.org", "skipped": "opted out of email"}
    assert results["Bob"]["queued"] is True
    assert eventually(engine.mail_outbox, lambda shown: shown["sent"] == 1)["queued"] == 0
    assert [message["To"] for message in smtp_server.messages] == ["bob@example.org"]
