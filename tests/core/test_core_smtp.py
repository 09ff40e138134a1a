"""The SMTP relay components send mail through (caruso_core.smtp), against real aiosmtpd relays
on 127.0.0.1 with STARTTLS, TLS and logins: encrypted before anything is said, or nothing sent."""
import smtplib
import socket
import ssl
import threading
import time
from email.message import EmailMessage

import pytest

from caruso_core.certificates import make_ca, make_host
from caruso_core.errors import ConfigError
from caruso_core.smtp import Relay, close
from caruso_core.testing.mail import SmtpServer


@pytest.fixture(scope="module")
def certificates(smtp_tls, tmp_path_factory):
    """The test kit's CA and relay certificate, one it signed for another address, and one
    for 127.0.0.1 signed by another CA."""
    folder = tmp_path_factory.mktemp("certificates")
    make_ca(folder / "other-ca", common_name="another CA")
    return {"ca": smtp_tls.ca, "relay": smtp_tls.relay,
            "elsewhere": make_host("elsewhere", ["192.0.2.7"], smtp_tls.ca_folder, folder / "elsewhere"),
            "foreign": make_host("foreign", ["127.0.0.1"], folder / "other-ca", folder / "foreign")}


@pytest.fixture
def relay_server():
    servers = []

    def start(*arguments, **options):
        servers.append(SmtpServer(*arguments, **options).start())
        return servers[-1]
    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def password_file(tmp_path):
    return private(tmp_path / "smtp-password", b"s3cret-relay-password\n")


def private(path, content):
    path.write_bytes(content)
    path.chmod(0o600)
    return path


def message(subject="Your arrangement"):
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "desk@acme.test", "ann@example.org", subject
    mail.set_content("Confirmed.")
    return mail


def send(relay):
    session = relay.open()
    try:
        session.send_message(message())
    finally:
        close(session)


def settings(server, certificates, **more):
    return {"smtp_host": server.host, "smtp_port": server.port, "smtp_ca_file": str(certificates["ca"]), **more}


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_a_relay_with_tls_and_a_login_gets_the_message_encrypted(relay_server, certificates, password_file, security):
    server = relay_server(security, certificates["relay"], users={"desk": "s3cret-relay-password"})
    relay = Relay.of(settings(server, certificates, smtp_security=security, smtp_username="desk",
                              smtp_password_file=str(password_file)))
    send(relay)
    assert [m["Subject"] for m in server.messages] == ["Your arrangement"]
    assert server.secured == [True] and server.logins == ["desk"]
    assert "s3cret" not in repr(relay)


def test_a_new_password_in_the_file_is_used_by_the_next_session_without_a_restart(relay_server, certificates,
                                                                                 password_file):
    """The operator rotates the relay's password: each session reads the file again, with
    the checks of the start; a file that fails them fails that session in one line and sends
    nothing (a sender keeps its message for the next try)."""
    server = relay_server("starttls", certificates["relay"], users={"desk": "s3cret-relay-password"})
    relay = Relay.of(settings(server, certificates, smtp_security="starttls", smtp_username="desk",
                              smtp_password_file=str(password_file)))
    send(relay)
    server.users = {"desk": "the-new-password"}
    private(password_file, b"the-new-password\n")
    send(relay)
    assert server.logins == ["desk", "desk"] and len(server.messages) == 2
    for content, mode, said in ((b"the-new-password\n", 0o644, "may be read by other users (mode 0644): chmod 600"),
                                (b"x" * 1025, 0o600, "is larger than 1024 bytes:"), (b"", 0o600, "holds no password")):
        private(password_file, content).chmod(mode)
        with pytest.raises(OSError) as refused:
            send(relay)
        assert relay.describe(refused.value).startswith(f"{server.host}:{server.port}: smtp_password_file {said}")
    password_file.unlink()
    with pytest.raises(OSError) as refused:
        send(relay)
    assert relay.describe(refused.value) == (f"{server.host}:{server.port}: smtp_password_file cannot be read: "
                                             f"{password_file}: No such file or directory")
    assert server.logins == ["desk", "desk"] and len(server.messages) == 2 and server.sessions == 2


def test_attack_a_relay_that_does_not_offer_starttls_gets_nothing(relay_server, certificates):
    server = relay_server()                    # plain SMTP: STARTTLS stripped, as by a man in the middle
    relay = Relay.of(settings(server, certificates, smtp_security="starttls"))
    with pytest.raises(smtplib.SMTPNotSupportedError) as refused:
        send(relay)
    assert relay.describe(refused.value) == (f"{server.host}:{server.port}: STARTTLS extension not supported by "
                                             f"server. (smtp_security is starttls; nothing was sent)")
    assert server.tried == [] and server.messages == []


@pytest.mark.parametrize("certificate", ["foreign", "elsewhere"])
@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_attack_a_relay_whose_certificate_does_not_verify_gets_nothing(relay_server, certificates, password_file,
                                                                        certificate, security):
    """Signed by a CA not trusted, or naming another address: refused before the login."""
    server = relay_server(security, certificates[certificate], users={"desk": "s3cret-relay-password"})
    relay = Relay.of(settings(server, certificates, smtp_security=security, smtp_username="desk",
                              smtp_password_file=str(password_file)))
    with pytest.raises(ssl.SSLCertVerificationError) as refused:
        send(relay)
    assert relay.describe(refused.value).startswith(f"{server.host}:{server.port}: ") and \
        "certificate verify failed" in relay.describe(refused.value)
    assert server.logins == [] and server.messages == []


def test_a_refused_login_is_said_in_one_line_and_sends_nothing(relay_server, certificates, tmp_path):
    server = relay_server("starttls", certificates["relay"], users={"desk": "s3cret-relay-password"})
    wrong = private(tmp_path / "wrong", b"not-the-password")
    relay = Relay.of(settings(server, certificates, smtp_security="starttls", smtp_username="desk",
                              smtp_password_file=str(wrong)))
    with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
        send(relay)
    said = relay.describe(refused.value)
    assert said.startswith(f"{server.host}:{server.port} answered 535 ") and "\n" not in said
    assert server.messages == []


def test_attack_a_relay_that_says_nothing_is_left_after_the_timeout(certificates):
    with socket.socket() as silent:            # accepts connections (the backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        relay = Relay.of({"smtp_port": silent.getsockname()[1], "smtp_timeout": 0.3})
        with pytest.raises(OSError) as left:
            relay.open()
        assert "timed out" in relay.describe(left.value)


@pytest.mark.parametrize("security", ["none", "starttls", "tls"])
def test_attack_a_relay_that_trickles_its_answers_is_cut_at_the_deadline(certificates, security):
    """A byte every 50 ms keeps each step's timeout from running out; the deadline ends the
    session whatever it is doing: the plain greeting, or, after a TLS handshake the relay
    drags out past the deadline, the answers over TLS."""
    stop = threading.Event()
    server_side = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_side.load_cert_chain(*map(str, certificates["relay"]))
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()

        def trickle():
            connection, _ = listener.accept()
            try:
                if security == "starttls":
                    connection.sendall(b"220 relay\r\n")
                    connection.recv(1024)                      # EHLO
                    connection.sendall(b"250-relay\r\n250 STARTTLS\r\n")
                    connection.recv(1024)                      # STARTTLS
                    connection.sendall(b"220 go ahead\r\n")
                if security != "none":
                    stop.wait(1.0)                              # the handshake dragged out
                    connection = server_side.wrap_socket(connection, server_side=True)
                while not stop.wait(0.05):
                    connection.sendall(b"2")
            except OSError:
                pass
            finally:
                connection.close()
        feeder = threading.Thread(target=trickle, daemon=True)
        feeder.start()
        ending = threading.Timer(8, stop.set)                # a session left uncut fails, not hangs
        ending.start()
        relay = Relay.of({"smtp_port": listener.getsockname()[1], "smtp_timeout": 3, "smtp_deadline": 0.5,
                          "smtp_security": security, "smtp_ca_file": str(certificates["ca"])})
        started = time.monotonic()
        try:
            with pytest.raises((smtplib.SMTPException, OSError)):   # cut short, whichever step it was
                relay.open()
            took = time.monotonic() - started
        finally:
            stop.set()
        ending.cancel()
        assert took < 2.5                                     # not the step's timeout: the deadline
        feeder.join(5)


@pytest.mark.parametrize("given, said", [
    ({"smtp_security": "ssl"}, "settings: smtp_security is one of none, starttls, tls, not 'ssl'"),
    ({"smtp_port": 0}, "settings: smtp_port is 1 to 65535, not 0"),
    ({"smtp_port": "25a"}, "settings: smtp_port is a number, not '25a'"),
    ({"smtp_timeout": True}, "settings: smtp_timeout is a number, not True"),
    ({"smtp_timeout": 600}, "settings: smtp_timeout is above 0 and at most 120 seconds, not 600"),
    ({"smtp_deadline": 0}, "settings: smtp_deadline is above 0 and at most 3600 seconds, not 0"),
    ({"smtp_host": "mail example"}, "settings: smtp_host is a host name or address, not 'mail example'"),
    ({"smtp_ca_file": "/nonexistent/ca.crt"},
     "settings: smtp_ca_file holds no certificates that can be read: /nonexistent/ca.crt: No such file or directory"),
    ({"smtp_securty": "starttls"}, "settings: unknown setting 'smtp_securty' (the relay's: smtp_host, smtp_port, "
                                   "smtp_timeout, smtp_deadline, smtp_security, smtp_ca_file, smtp_username, "
                                   "smtp_password_file)"),
    ({"smtp_username": "desk"}, "settings: smtp_username and smtp_password_file go together"),
    ({"smtp_host": "mail.example.org", "smtp_username": "desk", "smtp_password_file": "PASSWORD"},
     "settings: smtp_username needs smtp_security starttls or tls: the password would cross the network in "
     "clear to mail.example.org"),
    ({"smtp_username": "desk", "smtp_password_file": "/nonexistent/password"},
     "settings: smtp_password_file cannot be read: /nonexistent/password: No such file or directory"),
])
def test_attack_bad_relay_settings_are_refused_in_one_line(given, said, password_file):
    given = {key: str(password_file) if value == "PASSWORD" else value for key, value in given.items()}
    with pytest.raises(ConfigError) as refused:
        Relay.of(given)
    assert str(refused.value) == said


def test_attack_a_ca_file_without_certificates_is_refused_at_start(tmp_path):
    garbage = tmp_path / "ca.pem"
    garbage.write_text("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    with pytest.raises(ConfigError, match=f"^settings: smtp_ca_file holds no certificates that can be read: {garbage}: "):
        Relay.of({"smtp_security": "starttls", "smtp_ca_file": str(garbage)})


@pytest.mark.parametrize("content, said", [(b"x" * 1025, "is larger than 1024 bytes"), (b"\n", "holds no password"),
                                           (b"\xff\xfe", "is not UTF-8 text")])
def test_attack_an_oversized_empty_or_binary_password_file_is_refused(tmp_path, content, said):
    path = private(tmp_path / "password", content)
    with pytest.raises(ConfigError, match=f"^settings: smtp_password_file {said}.*: {path}$"):
        Relay.of({"smtp_username": "desk", "smtp_password_file": str(path)})


def test_attack_a_password_file_other_users_may_read_is_refused(password_file):
    password_file.chmod(0o640)
    with pytest.raises(ConfigError) as refused:
        Relay.of({"smtp_username": "desk", "smtp_password_file": str(password_file)})
    assert str(refused.value) == (f"settings: smtp_password_file may be read by other users (mode 0640): "
                                  f"chmod 600 {password_file}")


def test_credentials_over_plain_smtp_only_to_this_host(password_file):
    """A relay on loopback (a local MTA) may take a login without TLS; the prefix names the keys."""
    relay = Relay.of({"relay_host": "::1", "relay_username": "desk", "relay_password_file": str(password_file)},
                     prefix="relay_", where="channel email")
    assert (relay.host, relay.username, relay.password_file) == ("::1", "desk", str(password_file))
    with pytest.raises(ConfigError, match="^channel email: relay_username needs relay_security"):
        Relay.of({"relay_host": "10.1.2.3", "relay_username": "desk", "relay_password_file": str(password_file)},
                 prefix="relay_", where="channel email")
