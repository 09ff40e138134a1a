"""`caruso certs`: a private CA and host certificates for two-way TLS; bad input refused
in one line, nothing half-written, nothing overwritten without --force."""
import ssl
import stat

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from caruso_core.testing.commands import caruso


def made(*arguments):
    ran = caruso("certs", *arguments)
    assert ran.exit_code == 0, ran.output
    return ran


def refused(*arguments):
    ran = caruso("certs", *arguments)
    assert ran.exit_code == 1
    assert ran.stderr.count("\n") == 1 and ran.stderr.startswith("error: ")
    return ran.stderr


def test_a_host_certificate_names_its_addresses_and_serves_both_ends_of_two_way_tls(tmp_path):
    made("ca", tmp_path / "ca")
    made("host", "h1", "--address", "10.9.8.7", "--address", "crm.example.org", "--ca", tmp_path / "ca",
         "--out", tmp_path / "h1")
    for path in (tmp_path / "ca" / "ca.crt", tmp_path / "ca" / "ca.key", tmp_path / "h1" / "h1.crt",
                 tmp_path / "h1" / "h1.key"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    certificate = x509.load_pem_x509_certificate((tmp_path / "h1" / "h1.crt").read_bytes())
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(a) for a in names.get_values_for_type(x509.IPAddress)] == ["10.9.8.7"]
    assert names.get_values_for_type(x509.DNSName) == ["crm.example.org"]
    usages = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert set(usages) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
    for purpose in (ssl.Purpose.CLIENT_AUTH, ssl.Purpose.SERVER_AUTH):     # Python's TLS takes them as they are
        context = ssl.create_default_context(purpose, cafile=str(tmp_path / "ca" / "ca.crt"))
        context.load_cert_chain(str(tmp_path / "h1" / "h1.crt"), str(tmp_path / "h1" / "h1.key"))


def test_existing_files_are_kept_unless_forced(tmp_path):
    made("ca", tmp_path / "ca")
    before = (tmp_path / "ca" / "ca.key").read_bytes()
    assert "ca.crt exists; --force replaces it" in refused("ca", tmp_path / "ca")
    assert (tmp_path / "ca" / "ca.key").read_bytes() == before
    made("host", "h1", "--address", "10.0.0.1", "--ca", tmp_path / "ca", "--out", tmp_path / "out")
    key = (tmp_path / "out" / "h1.key").read_bytes()
    assert "h1.crt exists" in refused("host", "h1", "--address", "10.0.0.1", "--ca", tmp_path / "ca",
                                      "--out", tmp_path / "out")
    assert (tmp_path / "out" / "h1.key").read_bytes() == key
    made("host", "h1", "--address", "10.0.0.1", "--ca", tmp_path / "ca", "--out", tmp_path / "out", "--force")
    assert (tmp_path / "out" / "h1.key").read_bytes() != key


def test_bad_input_is_one_line_and_writes_nothing(tmp_path):
    made("ca", tmp_path / "ca")
    (tmp_path / "not-a-ca").mkdir()
    (tmp_path / "not-a-ca" / "ca.crt").write_text("hello")
    (tmp_path / "not-a-ca" / "ca.key").write_bytes((tmp_path / "ca" / "ca.key").read_bytes())
    made("host", "leaf", "--address", "10.0.0.2", "--ca", tmp_path / "ca", "--out", tmp_path / "leaf")
    (tmp_path / "leaf-ca").mkdir()
    (tmp_path / "leaf-ca" / "ca.crt").write_bytes((tmp_path / "leaf" / "leaf.crt").read_bytes())
    (tmp_path / "leaf-ca" / "ca.key").write_bytes((tmp_path / "leaf" / "leaf.key").read_bytes())
    (tmp_path / "other").mkdir()
    made("ca", tmp_path / "other-ca")
    (tmp_path / "mixed").mkdir()
    (tmp_path / "mixed" / "ca.crt").write_bytes((tmp_path / "ca" / "ca.crt").read_bytes())
    (tmp_path / "mixed" / "ca.key").write_bytes((tmp_path / "other-ca" / "ca.key").read_bytes())
    out = tmp_path / "out"

    def host(*arguments, ca="ca"):
        return refused("host", *arguments, "--ca", tmp_path / ca, "--out", out)

    assert "not an IP address or a DNS name" in host("h1", "--address", "10.0.0.1 ; rm")
    assert "--address '-bad-.example'" in host("h1", "--address", "-bad-.example")
    assert "--address '999.1.1.1'" in host("h1", "--address", "999.1.1.1")
    assert "host name '../evil'" in host("../evil", "--address", "10.0.0.1")
    assert "nowhere/ca.crt: cannot read it" in host("h1", "--address", "10.0.0.1", ca="nowhere")
    assert "not-a-ca/ca.crt: not a PEM certificate" in host("h1", "--address", "10.0.0.1", ca="not-a-ca")
    assert "leaf-ca/ca.crt: not a CA certificate" in host("h1", "--address", "10.0.0.1", ca="leaf-ca")
    assert "mixed/ca.key: not the key of" in host("h1", "--address", "10.0.0.1", ca="mixed")
    assert "at most 32" in host("h1", *[a for n in range(33) for a in ("--address", f"10.0.0.{n}")])
    assert not out.exists()
