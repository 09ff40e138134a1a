"""Daily reports by e-mail: sent once a day after the hour set, with the previous day's figures."""
from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from caruso_core.errors import ConfigError, Unavailable
from caruso_core.testing import eventually
from caruso_core.testing.mail import SmtpServer
from caruso_core.testing.processes import free_port
from caruso_reports.service import ReportService


MAILED = ('title = "Calls yesterday"\nmeasures = ["offered", "answered", "abandoned"]\ndimensions = ["queue"]\n'
          '[mail]\nto = ["lead@example.com", "boss@example.com"]\nat = "06:30"\nformat = "csv"\n')


@pytest.fixture
def relay(smtp_tls, tmp_path):
    """A relay with TLS from the first byte and a login; the report service's settings for it."""
    server = SmtpServer("tls", smtp_tls.relay, users={"reports": "relay-password"}).start()
    (tmp_path / "relay-password").write_text("relay-password\n")
    (tmp_path / "relay-password").chmod(0o600)
    yield server, {"smtp_port": server.port, "smtp_security": "tls", "smtp_ca_file": str(smtp_tls.ca),
                   "smtp_username": "reports", "smtp_password_file": str(tmp_path / "relay-password")}
    server.stop()


def test_the_previous_days_report_is_mailed_once_after_its_time(simulated_day, relay, tmp_path, permissive_umask):
    url, figures = simulated_day
    mailbox, login = relay
    folder = tmp_path / "reports"
    folder.mkdir()
    (folder / "calls.toml").write_text(MAILED)
    (folder / "plain.toml").write_text('measures = ["offered"]\n')
    reports = ReportService(db=url, definitions=str(folder), mail_from="caruso@example.com",
                            sent_file=str(tmp_path / "sent.json"), **login)
    simulated = dt.datetime.fromtimestamp(_first_event(url), dt.timezone.utc).date()
    next_day = dt.datetime(simulated.year, simulated.month, simulated.day, tzinfo=dt.timezone.utc) + dt.timedelta(days=1)
    assert reports.send_due((next_day + dt.timedelta(hours=6)).timestamp()) == []       # before 06:30
    assert reports.send_due((next_day + dt.timedelta(hours=7)).timestamp()) == [f"calls {simulated}"]
    assert reports.send_due((next_day + dt.timedelta(hours=9)).timestamp()) == []       # sent already
    assert (tmp_path / "sent.json").stat().st_mode & 0o777 == 0o600
    (message,) = mailbox.messages
    (recipients,) = mailbox.recipients
    assert (mailbox.secured, mailbox.logins) == ([True], ["reports"])
    assert recipients == ["lead@example.com", "boss@example.com"]
    assert message["Subject"] == f"Calls yesterday, {simulated}" and message["From"] == "caruso@example.com"
    (attachment,) = [part for part in message.walk() if part.get_filename()]
    assert attachment.get_filename() == f"calls-{simulated}.csv"
    (row,) = list(csv.DictReader(io.StringIO(attachment.get_payload(decode=True).decode())))
    assert (int(row["offered"]), int(row["answered"]), int(row["abandoned"])) == (
        figures["offered"], figures["answered"], figures["abandoned"])
    again = ReportService(db=url, definitions=str(folder), sent_file=str(tmp_path / "sent.json"), **login)
    assert again.send_due((next_day + dt.timedelta(hours=10)).timestamp()) == []      # remembered


def test_configured_folders_add_definitions_and_a_later_one_wins(tmp_path):
    base, extension = tmp_path / "base", tmp_path / "extension"
    base.mkdir(), extension.mkdir()
    (base / "queues.toml").write_text('title = "Base"\nmeasures = ["offered"]\n')
    (extension / "queues.toml").write_text('title = "Extended"\nmeasures = ["offered", "answered"]\n')
    (extension / "incoming-calls.toml").write_text('title = "Our calls"\nmeasures = ["offered"]\n')
    reports = ReportService(db="sqlite://", definitions=[str(base), str(extension)])
    known = {d["name"]: d["title"] for d in reports.definitions()}
    assert known == {"agent-availability": "Agent availability", "campaign-results": "Campaign results",
                     "incoming-calls": "Our calls", "queues": "Extended", "voicemail": "Voicemail",
                     "lead-conversion": "Lead conversion", "sales-pipeline": "Sales pipeline"}
    with pytest.raises(ConfigError, match="is not a folder"):
        ReportService(definitions=str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match="^reports: smtp_security is one of none, starttls, tls, not 'ssl'$"):
        ReportService(db="sqlite://", definitions=str(base), smtp_security="ssl")


def test_a_definition_naming_no_time_zone_is_in_the_service_s(tmp_path, simulated_day):
    folder = tmp_path / "reports"
    folder.mkdir()
    (folder / "plain.toml").write_text('measures = ["offered"]\n')
    (folder / "berlin.toml").write_text('measures = ["offered"]\ntimezone = "Europe/Berlin"\n')
    url, _ = simulated_day
    reports = ReportService(db=url, definitions=str(folder), timezone="Asia/Kolkata")
    zones = {d["name"]: d["timezone"] for d in reports.definitions()}
    assert (zones["plain"], zones["berlin"], zones["incoming-calls"]) == ("Asia/Kolkata", "Europe/Berlin", "Asia/Kolkata")
    assert reports.run('measures = ["offered"]\n', "sent")["timezone"] == "Asia/Kolkata"
    assert ReportService(db=url).run('measures = ["offered"]\n', "sent")["timezone"] == "UTC"
    with pytest.raises(ConfigError, match="^reports timezone: unknown time zone 'Asia/Kolkatta'"):
        ReportService(db="sqlite://", timezone="Asia/Kolkatta")


def _first_event(url: str) -> float:
    import sqlite3
    with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
        return db.execute("select min(time) from comm_events").fetchone()[0]


@pytest.mark.parametrize("mail, expected", [
    ('to = ["boss"]', "mail.to 'boss' is not an e-mail address"),
    ('to = ["a@b.c"]\nat = "7am"', "mail.at '7am' is not a time of day HH:MM"),
    ('to = ["a@b.c"]\nformat = "xls"', "mail.format 'xls' is not a renderer"),
    ('to = ["a@b.c"]\ncc = ["x@y.z"]', "[mail] unknown key 'cc'"),
])
def test_bad_mail_settings_are_refused_when_the_service_starts(tmp_path, mail, expected):
    (tmp_path / "bad.toml").write_text(f'measures = ["offered"]\n[mail]\n{mail}\n')
    with pytest.raises(ConfigError) as error:
        ReportService(db="sqlite://", definitions=str(tmp_path))
    assert expected in str(error.value)


def test_a_relay_that_cannot_be_reached_is_said_in_one_line_and_tried_again(simulated_day, tmp_path, caplog):
    url, _ = simulated_day
    folder = tmp_path / "reports"
    folder.mkdir()
    (folder / "calls.toml").write_text(MAILED.replace('at = "06:30"', 'at = "00:00"'))   # due whatever the hour
    closed = free_port()                                       # nothing listens there
    reports = ReportService(db=url, definitions=str(folder), sent_file=str(tmp_path / "sent.json"),
                            smtp_port=closed, mail_check=0.05)
    simulated = dt.datetime.fromtimestamp(_first_event(url), dt.timezone.utc).date()
    with pytest.raises(Unavailable) as refused:
        reports.send_due(dt.datetime(simulated.year, simulated.month, simulated.day, 7,
                                     tzinfo=dt.timezone.utc).timestamp() + 86400)
    assert str(refused.value) == (f"report calls {simulated} was not sent: 127.0.0.1:{closed}: "
                                  f"nothing takes mail there (connection refused): is the mail relay running?")
    reports.start()
    try:
        eventually(lambda: [r for r in caplog.records if r.name == "caruso_reports.service"],
                   lambda found: len(found) >= 2, what="the daily mailing trying again")
    finally:
        reports.stop()
    said = [r for r in caplog.records if r.name == "caruso_reports.service"][0]
    assert said.levelname == "WARNING" and said.exc_info is None and "\n" not in said.getMessage()
    assert said.getMessage().endswith("is the mail relay running?; retrying in 0.05 s")
    assert not (tmp_path / "sent.json").exists()


@pytest.mark.parametrize("renderer, filename, kind", [("spreadsheet", "calls-2026-11-30.csv", "text/csv"),
                                                      ("table", "calls-2026-11-30.txt", "text/plain"),
                                                      ("png-narrow", "calls-2026-11-30.png", "image/png")])
def test_a_mailed_report_is_named_and_typed_as_its_file_is(renderer, filename, kind):
    from caruso_reports import definition, mailing
    mailed = definition.from_toml(MAILED.replace('format = "csv"', f'format = "{renderer}"'), "calls", "calls.toml")
    (attachment,) = [part for part in mailing.message(mailed, dt.date(2026, 11, 30), b"x", "caruso@example.com").walk()
                     if part.get_filename()]
    assert (attachment.get_filename(), attachment.get_content_type()) == (filename, kind)
