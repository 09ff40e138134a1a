"""The e-mail channel's SMTP listener: its bounds against malformed, oversized, slow and
flooding senders, messages sent again, and its hand-over in a hot-swap of the
communication server."""
from __future__ import annotations

import logging
import smtplib
import socket
import threading
import time
from email.message import EmailMessage

import pytest

from caruso_core.context import HostContext
from caruso_core.errors import ConfigError, Conflict
from caruso_core.testing import eventually
from caruso_comm.channels.smtpd import SESSIONS_SPAN
from caruso_comm.service import CommServer
from comm_servers import running  # noqa: F401  (a fixture)

MAIL = {"queues": [{"name": "mail", "channel": "email"}]}


def _email(**settings):
    return {**MAIL, "channels": {"email": {"queue": "mail", "address": "service@acme.test", **settings}}}


def _port(server):
    return int(server.channels()["email"]["smtp"].rsplit(":", 1)[1])


def _message(text="My meter shows 4711.", sender="jo@example.org", message_id=None):
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, "service@acme.test", "Meter"
    if message_id is not None:
        message["Message-ID"] = message_id
    message.set_content(text)
    return message


def _send(port, message):
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.send_message(message)


def _texts(server):
    """The messages of the e-mails waiting (nobody is logged in), oldest first."""
    return [message["text"].strip() for interaction in server.waiting("mail")
            for message in server.messages(interaction["id"], "email")]


def _session(port):
    """A raw connection, past the greeting (returned)."""
    connection = socket.create_connection(("127.0.0.1", port), timeout=30)
    return connection, connection.recv(1024)


def _closed_within(connection, seconds):
    """Whether the server closes ``connection`` within ``seconds`` (what it said last)."""
    connection.settimeout(seconds)
    said = b""
    try:
        while chunk := connection.recv(4096):
            said += chunk
    except TimeoutError:
        return False, said
    return True, said


def test_malformed_and_oversized_mail_is_refused_in_one_line_and_nothing_enters(running):
    server = running(**_email())
    port = _port(server)
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.ehlo()
        assert smtp.docmd("FROBNICATE")[0] == 500
        assert smtp.docmd("MAIL", "FROM:<" + "x" * 1000 + "@example.org>")[0] == 500      # line too long
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:      # said at once, from the SIZE it announces
            smtp.sendmail("jo@example.org", ["service@acme.test"], b"x" * (10 * 1024 * 1024 + 1))
        assert refused.value.smtp_code == 552
    connection, greeting = _session(port)
    with connection:                             # a sender that hides the size is refused after the data
        assert greeting.startswith(b"220 acme.test")
        connection.sendall(b"HELO a\r\nMAIL FROM:<jo@example.org>\r\nRCPT TO:<service@acme.test>\r\nDATA\r\n")
        connection.sendall((b"x" * 998 + b"\r\n") * 10600 + b".\r\nQUIT\r\n")     # 10.6 MB in lines
        closed, said = _closed_within(connection, 30)
        assert closed and b"552 Error: Too much mail data" in said
    assert server.waiting("mail") == []
    _send(port, _message())
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:     # a charset Python does not know: kept
        smtp.sendmail("jo@example.org", ["service@acme.test"], b"From: jo@example.org\r\nContent-Type: text/plain; "
                      b"charset=unknown-8bit\r\n\r\nZ\xe4hler 4711, M\xc3\xbcller\r\n")
    assert _texts(server) == ["My meter shows 4711.", "Z\ufffdhler 4711, M\u00fcller"]


def _admitted(port):
    """A new session's greeting once one is admitted (the server counts a closed session out
    when it reads its end)."""
    def greeting():
        connection, said = _session(port)
        connection.close()
        return said
    return eventually(greeting, lambda said: said.startswith(b"220"), what="a session admitted")


def test_a_flood_of_connections_is_answered_421_beyond_the_limit_and_served_once_they_go(running):
    server = running(**_email(max_connections=2))
    port = _port(server)
    first, second = _session(port), _session(port)
    third, greeting = _session(port)
    with third:
        assert greeting.startswith(b"421 too many connections") and _closed_within(third, 30)[0]
    assert first[1].startswith(b"220") and second[1].startswith(b"220")
    first[0].close()
    with second[0]:
        _admitted(port)                    # a place is free again once one went
        _send(port, _message())
    assert _texts(server) == ["My meter shows 4711."]


def test_a_slow_sender_is_cut_after_the_timeout_and_a_busy_one_at_the_session_s_span(running):
    timeout = 0.6
    span = timeout * SESSIONS_SPAN
    port = _port(running(**_email(timeout=timeout)))
    began = time.monotonic()
    slow, _ = _session(port)
    with slow:
        closed = False
        for byte in b"HELO trickle":               # a byte every half timeout: bytes of a line renew nothing
            try:
                slow.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            closed, _ = _closed_within(slow, timeout / 2)
            if closed:
                break
        assert closed and time.monotonic() - began < span / 2
    began = time.monotonic()
    busy, _ = _session(port)
    with busy:
        busy.settimeout(30)
        answers = 0
        try:
            while True:                            # a command every quarter timeout: never idle
                busy.sendall(b"NOOP\r\n" if answers % 2 else b"RSET\r\n")     # each at most 20 times
                if not busy.recv(1024):
                    break
                answers += 1
                time.sleep(timeout / 4)
        except (BrokenPipeError, ConnectionResetError):
            pass
    assert span <= time.monotonic() - began + 0.05 and answers > SESSIONS_SPAN


def test_a_session_that_floods_empty_lines_and_reads_no_answers_gives_its_place_back(running):
    """Empty lines are answered 500 and counted by no limit of aiosmtpd's; the sender reads
    none of the answers. The session is cut all the same (the server aborts it: a close
    would wait for answers nobody reads) and a new one takes its place."""
    port = _port(running(**_email(timeout=0.5, max_connections=1)))
    stuck = socket.socket()
    stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)     # a small window: the answers back up soon
    stuck.connect(("127.0.0.1", port))
    flooding = threading.Thread(target=_flood, args=(stuck,), daemon=True)
    flooding.start()
    try:
        assert _admitted(port).startswith(b"220")
    finally:
        stuck.close()
        flooding.join(30)


def _flood(connection):
    try:
        connection.sendall(b"\r\n" * 2_000_000)
    except OSError:
        pass


def test_settings_out_of_bounds_are_refused_in_one_line(tmp_path):
    for settings, said in (({"max_connections": 0}, "max_connections must be a positive whole number, not 0"),
                           ({"max_connections": True}, "max_connections must be a positive whole number, not True"),
                           ({"timeout": "300"}, "timeout must be a number of seconds from 0 to 3600, not '300'"),
                           ({"timeout": 0}, "timeout must be a number of seconds from 0 to 3600, not 0")):
        with pytest.raises(ConfigError) as refused:
            CommServer(db=f"sqlite:///{tmp_path / 'x.db'}", **_email(**settings))
        assert str(refused.value) == f"channel email: {said}"


def test_a_message_sent_again_is_accepted_and_entered_once(running):
    """An MTA sends a message again when it did not get the answer to its data (a session
    cut after the message was written): the same Message-ID from the same sender is one
    e-mail; another Message-ID, or the same one from another sender, is another."""
    server = running(**_email())
    port = _port(server)
    for message in (_message("first", message_id="<m1@example.org>"), _message("first", message_id="<m1@example.org>"),
                    _message("second", message_id="<m2@example.org>"),
                    _message("forged", sender="eve@example.org", message_id="<m1@example.org>"),
                    _message("no id"), _message("no id")):
        _send(port, message)
    assert _texts(server) == ["first", "second", "forged", "no id", "no id"]


def test_an_html_mail_reads_as_text_in_lines_and_its_attachments_are_named(running):
    """What the agent reads: no tags, styles or scripts, a line for each paragraph and line
    break, and a note of the attachments the desk does not show."""
    server = running(**_email())
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "jo@example.org", "service@acme.test", "Meter"
    message.set_content("<html><head><style>p {color: red}</style><script>alert(1)</script></head><body>"
                        "<p>My meter shows <b>4711</b>.</p><p>Steps:<br>1. read<br>2. send</p>"
                        "<p>Caf&eacute; &amp; more</p></body></html>", subtype="html")
    message.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf", filename="bill.pdf")
    _send(_port(server), message)
    assert _texts(server) == ["My meter shows 4711.\n\nSteps:\n1. read\n2. send\n\nCafé & more\n"
                              "[attached, not shown here: bill.pdf (application/pdf)]"]


def test_html_that_is_malformed_or_oversized_is_read_within_bounds():
    from caruso_comm.channels.htmltext import MAX_HTML, html_text

    assert html_text("<p>Hi <b>there<<>> <div>&bogus; &#xD800; <script>never()") == "Hi there<<>>\n&bogus; \ufffd"   # as a browser shows it; no script
    huge = "<p>" + "word " * (MAX_HTML // 5) + "</p><p>cut off</p>"          # past the bound: not read
    text = html_text(huge * 4)
    assert "cut off" not in text and len(text) <= MAX_HTML


def _standby(tmp_path, name, **settings):
    standby = CommServer(db=f"sqlite:///{tmp_path / f'{name}.db'}", **_email(**settings),
                         context=HostContext(None, "comm", logging.getLogger("caruso.comm"), standby=True))
    standby.start()
    return standby


@pytest.mark.parametrize("given", ["the same port", "no port"])
def test_a_swap_hands_the_smtp_port_over_and_mail_meanwhile_is_deferred_451_never_lost(running, tmp_path, given):
    """The standby starts beside the active instance without listening (on a fixed port it
    would fail: the port is taken); from the export until the swap's end the old one
    answers 451 (its sender tries again); the successor then listens on the same port, a
    successor given none too, and the mail goes on there once the old one stopped."""
    first = running(**_email())
    port = _port(first)
    before = _message("before", message_id="<before@example.org>")
    _send(port, before)
    successor = _standby(tmp_path, "next", port=port if given == "the same port" else 0)
    try:
        state = first.export_state()
        with pytest.raises(smtplib.SMTPDataError) as deferred:
            _send(port, _message("during"))
        assert (deferred.value.smtp_code, deferred.value.smtp_error) == (
            451, b"the mail service is being replaced: send it again in a moment")
        successor.import_state(state)
        assert _port(successor) == port
        first.deactivate()
        _send(port, _message("after"))
        _send(port, before)                      # its 250 was lost: the successor knows it
        assert _texts(successor) == ["before", "after"]   # the live e-mail's message came with the state
        with pytest.raises(Conflict, match="this instance is retired"):
            first.export_state()
    finally:
        successor.stop()


def test_a_swap_that_does_not_happen_takes_mail_again_on_the_old_instance(running):
    server = running(**_email())
    server.export_state()
    with pytest.raises(smtplib.SMTPDataError):
        _send(_port(server), _message("during"))
    server.resume()
    _send(_port(server), _message("again"))
    assert _texts(server) == ["again"]
