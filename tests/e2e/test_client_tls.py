"""The client's ``ca_file`` option against the real server behind TLS with a private CA.

Each test generates a throwaway CA and a server certificate for ``127.0.0.1`` with
``cryptography``, serves the real application over HTTPS on a loopback port, and points the real
``config_client`` at it.
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web
from config_client import AsyncConfigClient, ConfigUnavailable
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from config_server.http.app import RUNNER_OPTIONS, create_app
from config_server.settings import Settings
from tests.support.gitrepo import GitRemote
from tests.support.processes import free_port


@dataclass(frozen=True)
class Ca:
    """A certificate authority: its key, its certificate, and the PEM file holding the certificate."""

    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate
    pem: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_ca(directory: Path, common_name: str) -> Ca:
    """A self-signed CA certificate (EC P-256, valid for a day) written to ``directory``."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    pem = directory / f"{common_name}.pem"
    pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return Ca(key, cert, pem)


def server_context(ca: Ca, directory: Path) -> ssl.SSLContext:
    """A server-side TLS context with a certificate for 127.0.0.1 issued by ``ca``."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("config-server"))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False
        )
        .sign(ca.key, hashes.SHA256())
    )
    cert_file, key_file = directory / "server.pem", directory / "server.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context


@pytest.fixture
def ca(tmp_path: Path) -> Ca:
    """The CA that issued the server's certificate."""
    return make_ca(tmp_path, "test-ca")


@pytest.fixture
async def https_url(ca: Ca, git_remote: GitRemote, tmp_path: Path) -> AsyncIterator[str]:
    """The real server over HTTPS on loopback, serving ``orders`` (greeting: hello)."""
    git_remote.write({"orders.yml": "greeting: hello\n"})
    app = create_app(Settings(repo=git_remote.uri, basedir=tmp_path / "clone", refresh_rate=3600))
    runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=0.1, **RUNNER_OPTIONS)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port, ssl_context=server_context(ca, tmp_path)).start()
    yield f"https://127.0.0.1:{port}"
    await runner.cleanup()


def client(url: str, **options: object) -> AsyncConfigClient:
    """A client for orders/default that fails at once instead of retrying or using a cache."""
    return AsyncConfigClient(
        url,
        application="orders",
        fail_fast=True,
        retry_max_attempts=1,
        **options,
    )


async def test_ca_file_lets_the_client_trust_a_private_ca(https_url: str, ca: Ca) -> None:
    """With ``ca_file`` naming the issuing CA, the client loads over HTTPS."""
    async with client(https_url, ca_file=ca.pem) as config:
        assert config["greeting"] == "hello"


async def test_a_wrong_ca_file_fails_clearly(https_url: str, tmp_path: Path) -> None:
    """A CA that did not issue the server's certificate fails with a certificate error, not a hang."""
    other = make_ca(tmp_path, "other-ca")
    config = client(https_url, ca_file=other.pem)
    with pytest.raises(ConfigUnavailable, match="TLS certificate verification failed"):
        await config.load()
    await config.aclose()


async def test_without_ca_file_a_private_ca_is_not_trusted(https_url: str) -> None:
    """The system trust store alone does not accept the private CA."""
    config = client(https_url)
    with pytest.raises(ConfigUnavailable, match="TLS certificate verification failed"):
        await config.load()
    await config.aclose()


def test_a_ca_file_that_is_not_pem_is_a_clear_value_error(tmp_path: Path) -> None:
    """A ``ca_file`` with no certificate in it is refused when the client is built, naming the file."""
    bogus = tmp_path / "not-a-ca.pem"
    bogus.write_text("hello\n")
    with pytest.raises(ValueError, match=r"not-a-ca\.pem"):
        client("https://127.0.0.1:1", ca_file=bogus)


def test_a_missing_ca_file_is_a_clear_value_error(tmp_path: Path) -> None:
    """A ``ca_file`` that does not exist is refused when the client is built, naming the file."""
    with pytest.raises(ValueError, match=r"missing\.pem"):
        client("https://127.0.0.1:1", ca_file=tmp_path / "missing.pem")
