"""The script engine's mail outbox on the admin's Outbox page over HTTP, against a real
scripts host whose SMTP server (real, on 127.0.0.1) refuses: the failed message is listed
(escaped), "send again" (CSRF-checked) redirects with a one-time notice and the message is
delivered once the server accepts; forged, oversized and replayed ids are refused in one
line; an engine that is not running is one line on a page that still works."""
from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from caruso_core.testing.mail import SmtpServer
from caruso_core.testing.waiting import eventually
from caruso_frontoffice.app import create_app
from frontoffice_support import csrf_of, make_context, sign_in

NOTIFY = """<?xml version="1.0"?>
<script id="notify" version="1">
  <question id="address" type="text" maxlength="200"><prompt>Your e-mail address?</prompt>
    <go to="sent">
      <action name="email">
        <param name="to" value="address"/>
        <param name="subject">Hello from {context.company}</param>
        <param name="body">We call you back.</param>
      </action>
    </go>
  </question>
  <end id="sent" outcome="sent"/>
</script>
"""


@pytest.fixture
def refusing_server():
    server = SmtpServer().start()
    server.reply = "554 5.7.1 <b>not</b> today"
    try:
        yield server
    finally:
        server.stop()


def test_a_failed_script_email_is_listed_and_sent_again_once_the_server_accepts(
        refusing_server, caruso_host, caruso_client, caruso_manager, tmp_path):
    (tmp_path / "notify.xml").write_text(NOTIFY)
    caruso_host("scripts", config={"scripts": [str(tmp_path / "notify.xml")], "db": f"sqlite:///{tmp_path / 's.db'}",
                                   "settings": {"smtp_port": refusing_server.port},
                                   "outbox": {"backoff": 0.05, "attempts": 1}})
    engine = caruso_client.get("caruso.scripts/1")
    view = engine.begin("notify", {"company": "<i>Zwolle</i>"})
    engine.answer(view["session"], "ann@example.org", view["seq"])
    [row] = eventually(engine.mail_outbox, lambda shown: shown["failed"] == 1, what="the message given up")["failing"]
    with TestClient(create_app(make_context(tmp_path, caruso_manager.uri)), base_url="http://testserver") as web:
        sign_in(web, "root")
        page = web.get("/admin/outbox")
        assert page.status_code == 200 and "Queued <strong>0</strong> · Sent <strong>0</strong> ·" in page.text
        listed = page.text.split(f'data-mail="{row["id"]}" data-state="failed"')[1].split("</tr>")[0]
        assert "<td>ann@example.org</td>" in listed and "<td>Hello from &lt;i&gt;Zwolle&lt;/i&gt;</td>" in listed
        assert "<td>1</td>" in listed and "Send again" in listed and "<i>" not in listed and "<b>" not in listed
        assert "answered 554 5.7.1 &lt;b&gt;not&lt;/b&gt; today (after 1 attempts)" in listed
        csrf = csrf_of(page.text)
        assert web.post("/admin/outbox/mail/retry", data={"id": str(row["id"])}).status_code == 403   # no CSRF token
        for forged, status in ((str(row["id"] + 1), 404), ("1" * 11, 400), (f"{row['id']} ", 400), ("²", 400),
                               ("-1", 400), ("", 400)):
            refused = web.post("/admin/outbox/mail/retry", data={"csrf": csrf, "id": forged})
            assert refused.status_code == status and refused.text.count('class="error"') == 1, forged
        assert "needs the number of a failed message" in refused.text
        assert engine.mail_outbox()["failed"] == 1 and refusing_server.messages == []
        refusing_server.reply = "250 OK"
        sent = web.post("/admin/outbox/mail/retry", data={"csrf": csrf, "id": str(row["id"])}, follow_redirects=False)
        assert sent.status_code == 303 and sent.headers["location"] == "/admin/outbox"
        notice = (f"Message {row['id']} to ann@example.org (Hello from &lt;i&gt;Zwolle&lt;/i&gt;) is queued again "
                  "and is sent now.")
        assert notice in web.get("/admin/outbox").text and notice not in web.get("/admin/outbox").text
        eventually(engine.mail_outbox, lambda shown: shown["sent"] == 1, what="the message sent")
        [message] = refusing_server.messages
        assert message["To"] == "ann@example.org"
        again = web.post("/admin/outbox/mail/retry", data={"csrf": csrf, "id": str(row["id"])})
        assert again.status_code == 409 and f"message {row['id']} is sent: only a failed message" in again.text
        assert len(refusing_server.messages) == 1 and "Sent <strong>1</strong>" in again.text


def test_a_script_engine_that_does_not_run_is_one_line_and_the_storage_outbox_still_shows(
        caruso_host, caruso_manager, tmp_path):
    caruso_host("storage", config={"db": f"sqlite:///{tmp_path / 'crm.db'}"})
    with TestClient(create_app(make_context(tmp_path, caruso_manager.uri)), base_url="http://testserver") as web:
        sign_in(web, "root")
        page = web.get("/admin/outbox")
        assert page.status_code == 200 and page.text.count("The script engine did not answer") == 1
        assert "No call in the outbox." in page.text and "storage service did not answer" not in page.text
        refused = web.post("/admin/outbox/mail/retry", data={"csrf": csrf_of(page.text), "id": "1"})
        assert refused.status_code == 503 and "Message 1 was not sent again" in refused.text
