"""Questions by e-mail over real SMTP sockets: a mail to the e-mail channel's questions address
becomes an unanswered knowledge-base article in the storage service (whose rule makes the
knowledge team's task; the same question again counts on it) and its sender gets an acknowledgement through the relay; a mail without
text or with too long a question is refused (SMTP 550, a log line) and nothing is written."""
from __future__ import annotations

import smtplib
from email.message import EmailMessage

import pytest

from caruso_core.errors import ConfigError
from caruso_core.testing import eventually
from caruso_core.testing.processes import free_port
from caruso_comm.channels.questions import MailQuestions
from caruso_core.context import HostContext

QUESTIONS = "questions@acme.test"


@pytest.fixture
def mail(caruso_host, caruso_client, smtp_server, tmp_path):
    """(storage, comm, SMTP port of the channel) with the default model's knowledge base."""
    caruso_host("storage", config={"db": f"sqlite:///{tmp_path / 'crm.db'}", "due_every": 0})
    port = free_port()
    caruso_host("comm", config={
        "db": f"sqlite:///{tmp_path / 'comm.db'}", "queues": [{"name": "mail", "channel": "email"}],
        "channels": {"email": {"queue": "mail", "address": "service@acme.test", "port": port,
                               "relay_port": smtp_server.port, "questions": {"address": QUESTIONS}}}})
    return caruso_client.get("caruso.storage/1"), caruso_client.get("caruso.comm/1"), port


def send(port: int, to: str, text: str | None, subject: str = "A question") -> None:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "Jo <jo@example.org>", to, subject
    message["Message-ID"] = "<q1@example.org>"
    if text is not None:
        message.set_content(text)
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.send_message(message)


def test_a_mailed_question_joins_the_knowledge_base_and_its_sender_is_told(mail, smtp_server):
    storage, comm, port = mail
    send(port, "Questions <Questions@Acme.test>", "Do you install\n  heat pumps\nin flats?\n", "Heat pumps")
    [article] = storage.query("KnowledgeArticle")
    assert (article["question"], article["status"], article["asked"], article["answer"]) == (
        "Do you install heat pumps in flats?", "unanswered", 1, None)
    [task] = storage.query("Task", {"field": "assignee", "op": "eq", "value": "knowledge-team"})
    assert f"(article {article['id']})" in task["subject"]
    acknowledgement = str(eventually(lambda: smtp_server.messages)[0])
    assert smtp_server.recipients[0] == ["jo@example.org"]
    assert f"From: {QUESTIONS}" in acknowledgement and "Subject: Re: Heat pumps" in acknowledgement
    assert "In-Reply-To: <q1@example.org>" in acknowledgement and "Thank you for your question" in acknowledgement
    assert comm.waiting("mail") == []                         # a question, not an interaction
    send(port, "service@acme.test", "My meter shows 4711.")    # the queue's own address is unchanged
    assert [w["from"] for w in eventually(lambda: comm.waiting("mail"))] == ["jo@example.org"]
    assert storage.count("KnowledgeArticle") == 1


def test_a_question_mailed_again_counts_on_its_article(mail, smtp_server):
    storage, _, port = mail
    send(port, QUESTIONS, "Do you install heat pumps in flats?")
    send(port, QUESTIONS, "Do you install heat pumps\n in flats?\n")   # the same words
    send(port, QUESTIONS, "Do you install heat pumps in houses?")
    articles = storage.query("KnowledgeArticle", order_by=["id"])
    assert [(a["question"], a["asked"]) for a in articles] == [
        ("Do you install heat pumps in flats?", 2), ("Do you install heat pumps in houses?", 1)]
    assert storage.count("Task") == 2                          # one for the knowledge team per article
    assert len(eventually(lambda: smtp_server.messages if len(smtp_server.messages) == 3 else None)) == 3


def test_an_html_only_question_keeps_its_text(mail):
    storage, _, port = mail
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "jo@example.org", QUESTIONS, "Radiators"
    message.set_content("<html><head><title>Mail</title><style>p {color: red}</style></head><body>"
                        "<p>Why are my <b>radiators</b> cold&nbsp;at the top?</p><script>alert(1)</script>"
                        "</body></html>", subtype="html")
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.send_message(message)
    [article] = storage.query("KnowledgeArticle")
    assert article["question"] == "Why are my radiators cold at the top?"


@pytest.mark.parametrize("text, reason", [
    (None, "the message has no text"),
    (" \n\t \n", "the message has no text"),
    ("Why " * 80, "the question has more than 300 characters"),
])
def test_a_mail_without_a_question_is_refused_and_nothing_is_written(mail, smtp_server, caplog, text, reason):
    storage, comm, port = mail
    with pytest.raises(smtplib.SMTPDataError) as refused:
        send(port, QUESTIONS, text)
    assert refused.value.smtp_code == 550 and reason in refused.value.smtp_error.decode()
    assert any("e-mail question from jo@example.org refused" in line for line in caplog.messages)
    assert storage.count("KnowledgeArticle") == 0 and storage.count("Task") == 0
    assert smtp_server.messages == [] and comm.waiting("mail") == []


@pytest.mark.parametrize("config, message", [
    ({"object": "KnowledgeArticle"}, "questions needs address"),
    ({"address": "faq@acme.test", "colour": "red"}, r"unknown key\(s\) colour"),
    ({"address": "faq@acme.test", "max_length": 0}, "max_length must be a positive whole number"),
    ({"address": "faq@acme.test", "values": ["unanswered"]}, "values must be a table"),
    ({"address": "faq@acme.test", "count": 1}, "count must be text"),
])
def test_bad_question_settings_are_refused(config, message):
    with pytest.raises(ConfigError, match=message):
        MailQuestions.of(config, HostContext.standalone("comm"))
