"""Certificates for TLS between hosts: a private CA, and host certificates it signs.

Contract:

- :func:`make_ca` writes ``ca.crt`` and ``ca.key`` (an EC P-256 key) into a folder;
  :func:`make_host` writes ``NAME.crt`` and ``NAME.key`` signed by such a CA, naming the
  given addresses (IP addresses or DNS names) as subjectAltNames, usable as server and as
  client certificate (extended key usages serverAuth and clientAuth), so that one pair
  serves a host's daemons and its proxies in two-way TLS.
- Every file is created 0600 (:mod:`caruso_core.privatefiles`); an existing file is
  replaced only with ``force``. The files of one call appear together or not at all:
  each is written to a temporary file first and renamed when all are written.
- Bad input (a CA folder whose files cannot be read or do not hold a CA, an address that
  is neither an IP address nor a DNS name, a name that is no plain file name) is a
  one-line :class:`~caruso_core.errors.ConfigError` saying what and where.
"""
from __future__ import annotations

import contextlib
import datetime
import ipaddress
import os
import re
import secrets
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from caruso_core import privatefiles
from caruso_core.errors import ConfigError

CA_CERT, CA_KEY = "ca.crt", "ca.key"
DEFAULT_CA_DAYS = 3650
DEFAULT_HOST_DAYS = 825
MAX_ADDRESSES = 32
MAX_PEM_BYTES = 64 * 1024
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")


def make_ca(folder: Path, *, common_name: str = "caruso CA", days: int = DEFAULT_CA_DAYS,
            force: bool = False) -> tuple[Path, Path]:
    """A new CA in ``folder`` (created 0700 if missing): the paths of its certificate and key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, _common_name(common_name))])
    usage = x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                          data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                          encipher_only=False, decipher_only=False)
    builder = (_builder(name, name, key.public_key(), days)
               .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
               .add_extension(usage, critical=True)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False))
    certificate = builder.sign(key, hashes.SHA256())
    folder = privatefiles.create_folder(folder)
    return _write_all({folder / CA_CERT: _pem(certificate), folder / CA_KEY: _key_pem(key)}, force)


def make_host(name: str, addresses: list[str], ca_folder: Path, out: Path, *, days: int = DEFAULT_HOST_DAYS,
              force: bool = False) -> tuple[Path, Path]:
    """A certificate and key for host ``name`` naming ``addresses``, signed by the CA in
    ``ca_folder``, written to ``out`` (created 0700 if missing) as ``NAME.crt`` and ``NAME.key``."""
    if not _NAME.fullmatch(name):
        raise ConfigError(f"host name {name!r}: use 1-64 letters, digits, '.', '_' or '-' (it names the files)")
    if not addresses:
        raise ConfigError("give at least one --address: the IP address or DNS name peers connect to")
    if len(addresses) > MAX_ADDRESSES:
        raise ConfigError(f"{len(addresses)} addresses: at most {MAX_ADDRESSES}")
    alternatives = [_alternative(address) for address in addresses]
    ca_certificate, ca_key = load_ca(ca_folder)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    usage = x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                          data_encipherment=False, key_agreement=True, key_cert_sign=False, crl_sign=False,
                          encipher_only=False, decipher_only=False)
    builder = (_builder(subject, ca_certificate.subject, key.public_key(), days)
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(usage, critical=True)
               .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                                     ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
               .add_extension(x509.SubjectAlternativeName(alternatives), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                              critical=False))
    certificate = builder.sign(ca_key, hashes.SHA256())
    out = privatefiles.create_folder(out)
    return _write_all({out / f"{name}.crt": _pem(certificate), out / f"{name}.key": _key_pem(key)}, force)


def load_ca(folder: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """The CA certificate and key in ``folder``; ConfigError saying which file is wrong."""
    certificate_path, key_path = folder / CA_CERT, folder / CA_KEY
    try:
        certificate = x509.load_pem_x509_certificate(_read_pem(certificate_path))
    except ValueError:
        raise ConfigError(f"{certificate_path}: not a PEM certificate") from None
    try:
        key = serialization.load_pem_private_key(_read_pem(key_path), password=None)
    except (ValueError, TypeError):
        raise ConfigError(f"{key_path}: not an unencrypted PEM private key") from None
    try:
        is_ca = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        is_ca = False
    if not is_ca:
        raise ConfigError(f"{certificate_path}: not a CA certificate (make one with 'caruso certs ca')")
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.public_key() != certificate.public_key():
        raise ConfigError(f"{key_path}: not the key of {certificate_path}")
    return certificate, key


def _read_pem(path: Path) -> bytes:
    try:
        with open(path, "rb") as file:
            data = file.read(MAX_PEM_BYTES + 1)
    except OSError as error:
        raise ConfigError(f"{path}: cannot read it ({error.strerror})") from None
    if len(data) > MAX_PEM_BYTES:
        raise ConfigError(f"{path}: over {MAX_PEM_BYTES // 1024} KiB, not a certificate or key")
    return data


def parse_address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | str | None:
    """``text`` as an IP address, or as a DNS name (lower case); None if it is neither."""
    with contextlib.suppress(ValueError):
        return ipaddress.ip_address(text)
    labels = text.rstrip(".").split(".")
    if len(text) <= 253 and text.isascii() and all(_LABEL.fullmatch(label) for label in labels) \
            and not labels[-1].isdigit():
        return text.rstrip(".").lower()
    return None


def _alternative(address: str) -> x509.GeneralName:
    """The subjectAltName of an IP address or a DNS name; ConfigError for anything else."""
    parsed = parse_address(address)
    if parsed is None:
        raise ConfigError(f"--address {address!r}: not an IP address or a DNS name")
    return x509.DNSName(parsed) if isinstance(parsed, str) else x509.IPAddress(parsed)


def _common_name(text: str) -> str:
    if not 0 < len(text) <= 64 or not text.isprintable():
        raise ConfigError(f"CA name {text!r}: 1-64 printable characters")
    return text


def _builder(subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey,
             days: int) -> x509.CertificateBuilder:
    if not 0 < days <= 36500:
        raise ConfigError(f"--days {days}: between 1 and 36500")
    now = datetime.datetime.now(datetime.timezone.utc)
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False))


def _pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _write_all(files: dict[Path, bytes], force: bool) -> tuple[Path, ...]:
    """Write every file (0600) or none: refused if one exists and not ``force``."""
    if not force:
        for path in files:
            if path.exists() or path.is_symlink():
                raise ConfigError(f"{path} exists; --force replaces it")
    staged: dict[Path, Path] = {}
    try:
        for path, data in files.items():
            temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
            privatefiles.create_file(temporary)
            temporary.write_bytes(data)
            staged[path] = temporary
        for path, temporary in staged.items():
            os.replace(temporary, path)
    except OSError as error:
        raise ConfigError(f"{error.filename or next(iter(files))}: cannot write it ({error.strerror})") from None
    finally:
        for temporary in staged.values():
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()
    return tuple(files)
