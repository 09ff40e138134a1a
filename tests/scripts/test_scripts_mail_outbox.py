"""The script engine's sender of queued e-mail against real SMTP sockets on 127.0.0.1: a
server that refuses or is down is asked again after growing pauses until the message is
given up (attempts and age bounded, the last error shown), the sender stops at once, an
engine started later on the same database sends what an earlier one queued, two engines
on one database send each message once, an operator sends a given-up message again, and
the utility vertical's payment arrangement is agreed while the mail server is down and
confirmed once it is up. The table on PostgreSQL and MariaDB: test_scripts_mail_databases.py."""
import datetime
import time
from pathlib import Path

import pytest

from caruso_core.errors import ConfigError, Conflict, NotFound
from caruso_core.testing.commands import caruso
from caruso_core.testing.mail import SmtpServer
from caruso_core.testing.waiting import eventually
from caruso_scripts.mailer import MailRetries
from caruso_scripts import service as service_module
from caruso_scripts.service import ScriptService

UTILITY = Path(__file__).resolve().parents[2] / "examples" / "utility"
EPSILON = 0.02          # the sender's clock (UTC time) and the server's (monotonic) may differ by this


def queue(engine, address="ann@example.org"):
    view = engine.begin("notify", {"company": "x"})
    done = engine.answer(view["session"], address, view["seq"])
    assert done["outcome"] == "sent"
    return done["actions"][0]


def seconds(start, end):
    return (datetime.datetime.fromisoformat(end) - datetime.datetime.fromisoformat(start)).total_seconds()


def test_a_refusing_server_is_asked_again_after_growing_pauses_until_the_message_is_given_up(mail_engines):
    server = SmtpServer().start()
    try:
        server.reply = "554 5.7.1 not today"
        engine = mail_engines(server.port, outbox={"backoff": 0.1, "backoff_max": 10, "attempts": 4})
        action = queue(engine)
        shown = eventually(engine.mail_outbox, lambda shown: shown["failed"] == 1, what="the message given up")
        assert (shown["queued"], shown["sent"]) == (0, 0) and server.messages == []
        [row] = shown["failing"]
        assert (row["key"], row["state"], row["attempts"]) == (action["key"], "failed", 4)
        assert row["last_error"] == f"127.0.0.1:{server.port} answered 554 5.7.1 not today (after 4 attempts)"
        assert len(server.tried) == 4
        pauses = [later - earlier for earlier, later in zip(server.tried, server.tried[1:])]
        assert [pause >= wanted - EPSILON for pause, wanted in zip(pauses, (0.1, 0.2, 0.4))] == [True] * 3, pauses
    finally:
        server.stop()


def test_a_server_that_is_down_counts_attempts_and_shows_the_last_error(mail_engines):
    down = SmtpServer()
    engine = mail_engines(down.port, outbox={"backoff": 0.1, "backoff_max": 10, "attempts": 3, "lease": 60})
    queue(engine)
    seen = {}                                      # the latest listing of the message after each attempt

    def given_up():
        rows = engine.mail_outbox()["failing"]
        if rows:
            seen[rows[0]["attempts"]] = rows[0]
        return rows and rows[0]["state"] == "failed"
    eventually(given_up, what="the message given up")
    last = seen.pop(3)
    assert f"127.0.0.1:{down.port}: nothing takes mail there (connection refused)" in last["last_error"]
    assert last["last_error"].endswith("(after 3 attempts)")
    assert seconds(last["queued_at"], last["tried_at"]) >= 0.1 + 0.2 - EPSILON
    for attempts, row in seen.items():             # the pause after each failed attempt, unless seen while trying
        if seconds(row["tried_at"], row["next_try"]) < 60:
            assert 0.1 * 2 ** (attempts - 1) - EPSILON <= seconds(row["tried_at"], row["next_try"]) < 2


def test_mail_not_sent_within_its_days_is_given_up(mail_engines):
    engine = mail_engines(SmtpServer().port, outbox={"backoff": 0.05, "backoff_max": 0.1, "give_up_days": 0.5 / 86400})
    queue(engine)
    [row] = eventually(engine.mail_outbox, lambda shown: shown["failed"] == 1)["failing"]
    assert row["last_error"].startswith("not sent within 5.78704e-06 days; last error: 127.0.0.1:")
    assert row["attempts"] >= 1


def test_the_sender_stops_at_once_while_it_waits_to_try_again(mail_engines):
    engine = mail_engines(SmtpServer().port, outbox={"backoff": 3600})
    queue(engine)
    eventually(engine.mail_outbox, lambda shown: shown["failing"], what="a failed attempt")
    started = time.monotonic()
    engine.stop()
    assert time.monotonic() - started < 2


def test_an_engine_started_later_on_the_same_database_sends_what_an_earlier_one_queued(mail_engines):
    server = SmtpServer()
    first = mail_engines(server.port)
    action = queue(first)
    eventually(first.mail_outbox, lambda shown: shown["failing"], what="a failed attempt")
    first.stop()
    server.start()
    try:
        second = mail_engines(server.port)
        assert eventually(second.mail_outbox, lambda shown: shown["sent"] == 1)["queued"] == 0
        [message] = server.messages
        assert message["X-Caruso-Action"] == action["key"]
        assert message["Message-ID"] == action["result"]["message_id"]
    finally:
        server.stop()


def test_two_engines_on_one_database_send_each_message_once(smtp_server, mail_engines):
    stopped = mail_engines(smtp_server.port, started=False)
    addresses = [f"c{number}@example.org" for number in range(30)]
    keys = {queue(stopped, address)["key"] for address in addresses}
    first, second = mail_engines(smtp_server.port), mail_engines(smtp_server.port)
    eventually(first.mail_outbox, lambda shown: shown["sent"] == 30, what="every message sent")
    assert sorted(message["To"] for message in smtp_server.messages) == sorted(addresses)
    assert {message["X-Caruso-Action"] for message in smtp_server.messages} == keys
    assert second.mail_outbox()["queued"] == 0


def test_an_operator_sends_a_given_up_message_again_once_the_server_accepts(caruso_host, caruso_client, tmp_path,
                                                                            notify_script):
    server = SmtpServer().start()
    try:
        server.reply = "554 5.7.1 not today"
        caruso_host("scripts", config={"scripts": [str(notify_script)], "db": f"sqlite:///{tmp_path / 's.db'}",
                                       "settings": {"smtp_port": server.port},
                                       "outbox": {"backoff": 0.05, "attempts": 2}})
        engine = caruso_client.get("caruso.scripts/1")
        action = queue(engine)
        [row] = eventually(engine.mail_outbox, lambda shown: shown["failed"] == 1, what="the message given up")["failing"]
        refused = f"127.0.0.1:{server.port} answered 554 5.7.1 not today (after 2 attempts)"
        assert row["last_error"] == refused and len(server.tried) == 2
        health = caruso("health")                  # the operator's look: degraded, and why, in the table
        assert health.exit_code == 1
        [line] = [line for line in health.stdout.splitlines() if " scripts " in line]
        assert line.split()[4] == "degraded" and (
            "degraded  1 e-mail(s) given up in the last day: see caruso script outbox, send again with --retry ID; "
            "scripts=1 "
            "active_sessions=0 mail_queued=0 mail_failed=1 ") in line
        server.reply = "250 OK"
        retried = caruso("script", "outbox", "--retry", row["id"])
        assert retried.exit_code == 0, retried.output
        assert retried.stdout == f"{row['id']} queued again to ann@example.org 'Hello from x' (last error: {refused})\n"
        assert eventually(engine.mail_outbox, lambda shown: shown["sent"] == 1)["failed"] == 0
        assert caruso("health").exit_code == 0
        [message] = server.messages
        assert message["X-Caruso-Action"] == action["key"] and len(server.tried) == 3     # delivered once
        with pytest.raises(Conflict, match=f"^retry_mail: message {row['id']} is sent: only a failed message is sent "
                                           "again$"):
            engine.retry_mail(row["id"])
        unknown = caruso("script", "outbox", "--retry", row["id"] + 1)
        assert (unknown.exit_code, unknown.stdout) == (1, "")
        assert unknown.stderr == f"error: retry_mail: the mail outbox has no message {row['id'] + 1}\n"
        with pytest.raises(NotFound):
            engine.retry_mail(2 ** 31)
        assert len(server.tried) == 3
    finally:
        server.stop()


def test_mail_goes_through_a_relay_with_starttls_and_a_login(mail_engines, smtp_tls, tmp_path):
    relay = SmtpServer("starttls", smtp_tls.relay, users={"desk": "relay-password"}).start()
    try:
        password = tmp_path / "relay-password"
        password.write_text("relay-password\n")
        password.chmod(0o600)
        engine = mail_engines(relay.port, smtp_security="starttls", smtp_ca_file=str(smtp_tls.ca),
                              smtp_username="desk", smtp_password_file=str(password))
        queue(engine)
        eventually(lambda: relay.messages, what="the message through the relay")
        assert (relay.secured, relay.logins) == ([True], ["desk"])
        assert eventually(engine.mail_outbox, lambda shown: shown["sent"] == 1)["queued"] == 0
    finally:
        relay.stop()


def test_the_engine_is_degraded_for_a_day_after_mail_was_given_up(mail_engines, smtp_server, monkeypatch):
    smtp_server.reply = "554 5.7.1 not today"
    engine = mail_engines(smtp_server.port, outbox={"backoff": 0.05, "attempts": 1})
    queue(engine)
    eventually(engine.mail_outbox, lambda shown: shown["failed"] == 1, what="the message given up")
    assert engine.health()["status"] == "degraded"
    a_day_later = service_module.moment() + datetime.timedelta(days=1, seconds=1)
    monkeypatch.setattr(service_module, "moment", lambda: a_day_later)
    health = engine.health()
    assert (health["status"], health["mail_failed"]) == ("ok", 1) and "reason" not in health


def test_a_long_queue_goes_over_fresh_sessions_before_the_deadline_cuts_one(mail_engines, smtp_server):
    """A relay taking 0.25 s a message and a session deadline of 2 s (ten messages would need
    2.5 s in one session): each message goes on its first attempt, a new session opened once
    half the deadline has passed."""
    smtp_server.delay = 0.25
    engine = mail_engines(smtp_server.port, started=False, smtp_deadline=2)
    for number in range(10):
        queue(engine, f"reader{number}@example.org")
    engine.start()
    eventually(engine.mail_outbox, lambda shown: shown["sent"] == 10, what="ten messages sent")
    assert len(smtp_server.tried) == 10 and smtp_server.sessions >= 2


def test_attack_a_relay_without_starttls_gets_no_mail_and_the_message_stays(mail_engines, smtp_server, smtp_tls):
    """STARTTLS stripped (a man in the middle, or the wrong relay): nothing is said in clear."""
    engine = mail_engines(smtp_server.port, outbox={"backoff": 60, "attempts": 3},
                          smtp_security="starttls", smtp_ca_file=str(smtp_tls.ca))
    queue(engine)
    shown = eventually(engine.mail_outbox, lambda shown: shown["failing"] and shown["failing"][0]["attempts"] == 1,
                       what="the first attempt")
    assert shown["failing"][0]["state"] == "queued" and smtp_server.tried == []
    assert shown["failing"][0]["last_error"] == (f"127.0.0.1:{smtp_server.port}: STARTTLS extension not supported "
                                                 f"by server. (smtp_security is starttls; nothing was sent)")


def test_outbox_settings_and_the_smtp_timeout_are_checked(tmp_path, notify_script):
    assert MailRetries.of(None) == MailRetries() and MailRetries().attempts == 30
    assert [MailRetries().delay(n) for n in (1, 2, 8, 30)] == [30, 60, 3600, 3600]
    with pytest.raises(ConfigError, match=r"outbox: unknown setting\(s\) tries"):
        MailRetries.of({"tries": 3})
    for setting in ("give_up_days", "keep_days"):                   # 10 ** 7 days before now is no date
        for bad in (0, 10 ** 7):
            with pytest.raises(ConfigError, match=f"outbox.{setting} must be a number of days above 0 and at most "
                                                  f"36500 .got {bad}.$"):
                MailRetries.of({setting: bad})
    with pytest.raises(ConfigError, match="smtp_timeout is above 0 and at most 120 seconds"):
        ScriptService(scripts=str(notify_script), db=f"sqlite:///{tmp_path / 's.db'}", settings={"smtp_timeout": 600})


def test_a_payment_arrangement_is_agreed_while_the_mail_server_is_down_and_confirmed_once_it_is_up(
        caruso_host, caruso_client, tmp_path):
    server = SmtpServer()                           # a fresh deployment's mail server: nothing listens
    caruso_host("storage", config={"model": str(UTILITY / "model.xml"), "db": f"sqlite:///{tmp_path / 'crm.db'}"})
    caruso_host("scripts", config={"scripts": [str(UTILITY / "scripts")], "db": f"sqlite:///{tmp_path / 'scripts.db'}",
                                   "settings": {"smtp_port": server.port, "mail_from": "billing@utility.example"},
                                   "outbox": {"backoff": 0.05, "backoff_max": 0.4}})
    storage, engine = caruso_client.get("caruso.storage/1"), caruso_client.get("caruso.scripts/1")
    customer = storage.create("Customer", {"customer_no": "C-3", "name": "Cy Brown", "email": "cy@example.org",
                                           "city": "Shelbyville"})
    today = datetime.date.today()
    invoice = storage.create("Invoice", {"invoice_no": "F2026-0032", "customer_id": customer["id"],
                                         "issued": (today - datetime.timedelta(days=45)).isoformat(),
                                         "due": (today - datetime.timedelta(days=15)).isoformat(),
                                         "amount": "600.00", "status": "overdue"})
    view = engine.begin("payment_arrangement", {"customer_id": customer["id"]})
    first_due = (today + datetime.timedelta(days=10)).isoformat()
    for answer in ("Shelbyville", None, "illness", 6, first_due, True):
        view = engine.answer(view["session"], answer, view["seq"])
    assert (view["status"], view["outcome"]) == ("ended", "agreed")
    assert [a["name"] for a in view["actions"]] == ["store", "store", "email", "contact"]
    [arrangement] = storage.query("PaymentArrangement")
    assert (arrangement["invoice_id"], arrangement["instalments"]) == (invoice["id"], 6)
    assert storage.get("Invoice", invoice["id"])["status"] == "arranged"
    assert len(storage.contact_history("Customer", customer["id"])) == 1
    eventually(lambda: engine.mail_outbox()["failing"], what="a failed attempt")
    listed = caruso("script", "outbox")
    assert listed.exit_code == 0, listed.output
    lines = listed.stdout.splitlines()
    assert lines[0] == "queued 1, sent 0, failed 0"
    assert (" queued to cy@example.org 'Your payment arrangement for invoice F2026-0032': " in lines[1]
            and f"127.0.0.1:{server.port}: nothing takes mail there (connection refused)" in lines[1]), lines
    server.start()
    try:
        eventually(lambda: engine.mail_outbox()["sent"] == 1, what="the confirmation sent")
        [message] = server.messages
        assert (message["To"], message["From"]) == ("cy@example.org", "billing@utility.example")
        assert message["Subject"] == "Your payment arrangement for invoice F2026-0032"
        assert message["X-Caruso-Action"] == view["actions"][2]["key"]
        assert caruso("script", "outbox").stdout == "queued 0, sent 1, failed 0\n"
    finally:
        server.stop()
