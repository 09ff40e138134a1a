"""A transition action sends e-mail to a real SMTP server on 127.0.0.1, once even when the answer is retried."""
import pytest

from caruso_scripts.client import DialogError
from caruso_scripts.service import ScriptService

NOTIFY = """<?xml version="1.0"?>
<script id="notify" version="1">
  <question id="address" type="text" maxlength="200"><prompt>Your e-mail address?</prompt>
    <validate rule="'@' in address">That is not an e-mail address.</validate>
    <go to="sent">
      <action name="email">
        <param name="to" value="address"/>
        <param name="subject">Hello from {context.company}</param>
        <param name="body">We will call you back on {add_days(date('2026-03-02'), 1)}.</param>
      </action>
    </go>
  </question>
  <end id="sent" outcome="sent"/>
</script>
"""


def test_email_action_is_delivered_once(smtp_server, tmp_path):
    host, port, mailbox = smtp_server.host, smtp_server.port, smtp_server
    (tmp_path / "notify.xml").write_text(NOTIFY)
    engine = ScriptService(scripts=str(tmp_path / "notify.xml"), db=f"sqlite:///{tmp_path / 's.db'}",
                           settings={"smtp_host": host, "smtp_port": port, "mail_from": "desk@utility.example"})
    view = engine.begin("notify", {"company": "Springfield Power"})
    done = engine.answer(view["session"], "ann@example.org", view["seq"])
    assert engine.answer(view["session"], "ann@example.org", view["seq"])["seq"] == done["seq"]   # retried
    assert done["outcome"] == "sent"
    assert len(mailbox.messages) == 1
    message = mailbox.messages[0]
    assert message["To"] == "ann@example.org" and message["From"] == "desk@utility.example"
    assert message["Subject"] == "Hello from Springfield Power"
    assert "We will call you back on 2026-03-03." in message.get_payload()
    assert message["X-Caruso-Action"] == done["actions"][0]["key"]
    assert done["actions"][0]["result"]["to"] == "ann@example.org"


def test_unreachable_smtp_server_keeps_the_dialog_at_its_step(tmp_path):
    (tmp_path / "notify.xml").write_text(NOTIFY)
    engine = ScriptService(scripts=str(tmp_path / "notify.xml"), db=f"sqlite:///{tmp_path / 's.db'}",
                           settings={"smtp_host": "127.0.0.1", "smtp_port": 9, "smtp_timeout": 5})
    view = engine.begin("notify", {"company": "x"})
    with pytest.raises(DialogError, match=r"action 'email' \(line 6\) failed: email to ann@example.org "
                                          r"via 127.0.0.1:9 failed"):
        engine.answer(view["session"], "ann@example.org")
    assert engine.current(view["session"])["step"]["id"] == "address"


def test_header_injection_is_refused(smtp_server, tmp_path):
    host, port, mailbox = smtp_server.host, smtp_server.port, smtp_server
    (tmp_path / "notify.xml").write_text(NOTIFY)
    engine = ScriptService(scripts=str(tmp_path / "notify.xml"), db=f"sqlite:///{tmp_path / 's.db'}",
                           settings={"smtp_host": host, "smtp_port": port})
    view = engine.begin("notify", {"company": "x\nBcc: victim@example.org"})
    with pytest.raises(DialogError, match="bad header value"):
        engine.answer(view["session"], "ann@example.org")
    assert mailbox.messages == []


def test_a_customer_who_opted_out_of_email_gets_none_and_the_dialog_goes_on(smtp_server, tmp_path, caruso_host,
                                                                            caruso_client):
    caruso_host("storage", config={"db": f"sqlite:///{tmp_path / 'crm.db'}"})
    storage = caruso_client.get("caruso.storage/1")
    ann, bob = storage.create("Customer", {"name": "Ann"}), storage.create("Customer", {"name": "Bob"})
    storage.create("Consent", {"customer_id": ann["id"], "channel": "email", "opted_in": False})
    storage.create("Consent", {"customer_id": bob["id"], "channel": "phone", "opted_in": False})   # not e-mail
    (tmp_path / "notify.xml").write_text(NOTIFY)
    caruso_host("scripts", config={"scripts": [str(tmp_path / "notify.xml")], "db": f"sqlite:///{tmp_path / 's.db'}",
                                   "settings": {"smtp_host": smtp_server.host, "smtp_port": smtp_server.port}})
    engine = caruso_client.get("caruso.scripts/1")
    results = {}
    for customer, address in ((ann, "ann@example.org"), (bob, "bob@example.org")):
        view = engine.begin("notify", {"company": "x", "customer": customer})
        done = engine.answer(view["session"], address, view["seq"])
        assert done["outcome"] == "sent"
        results[customer["name"]] = done["actions"][0]["result"]
    assert results["Ann"] == {"to": "ann@example.org", "skipped": "opted out of email"}
    assert [message["To"] for message in smtp_server.messages] == ["bob@example.org"]
