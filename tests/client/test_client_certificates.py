"""``cert=``, ``key=``, ``ca=``: mutual TLS against a real loopback HTTPS server (trustme CAs).

The server's context has ``verify_mode = CERT_REQUIRED`` and trusts only the test CA, so a
handshake without a client certificate issued by that CA fails.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from config_client import AsyncConfigClient, ConfigClient, ConfigUnavailable
from cryptography.hazmat.primitives import serialization

from tests.client.spring_server import SpringServer


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def files(ca: trustme.CA, tmp_path: Path) -> dict[str, Path]:
    """The CA certificate, a client certificate and its key, and both in one file (PEM)."""
    issued = ca.issue_cert("orders-service")
    paths = {name: tmp_path / f"{name}.pem" for name in ("ca", "cert", "key", "combined")}
    ca.cert_pem.write_to_path(paths["ca"])
    issued.cert_chain_pems[0].write_to_path(paths["cert"])
    issued.private_key_pem.write_to_path(paths["key"])
    issued.private_key_and_cert_chain_pem.write_to_path(paths["combined"])
    return paths


def serve(ca: trustme.CA, *, require_client_cert: bool) -> SpringServer:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    if require_client_cert:
        context.verify_mode = ssl.CERT_REQUIRED
        ca.configure_trust(context)
    server = SpringServer(ssl_context=context).start()
    server.put("orders", "prod", [("orders-prod.yml", {"db.url": "jdbc:prod"})])
    return server


@pytest.fixture
def mtls(ca: trustme.CA) -> Iterator[SpringServer]:
    """HTTPS that demands a client certificate issued by ``ca``."""
    server = serve(ca, require_client_cert=True)
    yield server
    server.close()


@pytest.fixture
def https(ca: trustme.CA) -> Iterator[SpringServer]:
    """HTTPS with a certificate from ``ca``, no client certificate asked."""
    server = serve(ca, require_client_cert=False)
    yield server
    server.close()


def client(server: SpringServer, **tls: object) -> AsyncConfigClient:
    return AsyncConfigClient(
        server.url, application="orders", profiles="prod", fail_fast=True, retry_max_attempts=1, **tls
    )  # type: ignore[arg-type]


async def test_a_client_certificate_passes_mutual_tls(mtls: SpringServer, files: dict[str, Path]) -> None:
    """With cert, key and ca the async client completes the mutual TLS handshake and loads."""
    config = client(mtls, cert=files["cert"], key=files["key"], ca=files["ca"])
    try:
        assert (await config.load())["db.url"] == "jdbc:prod"
    finally:
        await config.aclose()


def test_the_sync_client_presents_the_certificate_too(mtls: SpringServer, files: dict[str, Path]) -> None:
    """ConfigClient passes cert, key and ca through and loads over mutual TLS."""
    config = ConfigClient(
        mtls.url,
        application="orders",
        profiles="prod",
        fail_fast=True,
        cert=files["cert"],
        key=files["key"],
        ca=files["ca"],
    )
    try:
        assert config.load()["db.url"] == "jdbc:prod"
    finally:
        config.close()


async def test_a_file_holding_key_and_certificate_needs_no_key(
    mtls: SpringServer, files: dict[str, Path]
) -> None:
    """cert= naming one PEM with the key and the chain is enough."""
    config = client(mtls, cert=files["combined"], ca=files["ca"])
    try:
        await config.load()
    finally:
        await config.aclose()


async def test_without_a_client_certificate_the_handshake_fails(
    mtls: SpringServer, files: dict[str, Path]
) -> None:
    """The server really requires the certificate: ca alone is refused (ConfigUnavailable)."""
    config = client(mtls, ca=files["ca"])
    try:
        with pytest.raises(ConfigUnavailable):
            await config.load()
    finally:
        await config.aclose()
    assert mtls.seen == []


async def test_ca_alone_verifies_the_server(https: SpringServer, files: dict[str, Path]) -> None:
    """ca= trusts the private CA: the client loads over plain server-authenticated TLS."""
    config = client(https, ca=files["ca"])
    try:
        assert (await config.load())["db.url"] == "jdbc:prod"
    finally:
        await config.aclose()


async def test_without_ca_the_private_ca_is_not_trusted(https: SpringServer) -> None:
    """The system trust store does not know the test CA: certificate verification fails."""
    config = client(https)
    try:
        with pytest.raises(ConfigUnavailable, match="certificate verification failed"):
            await config.load()
    finally:
        await config.aclose()


async def test_ca_file_still_works_as_the_older_name(https: SpringServer, files: dict[str, Path]) -> None:
    """ca_file= (the option's name before ca=) keeps working."""
    config = client(https, ca_file=files["ca"])
    try:
        await config.load()
    finally:
        await config.aclose()


def test_an_encrypted_key_is_a_value_error_not_a_prompt(files: dict[str, Path], tmp_path: Path) -> None:
    """A passphrase-protected key is refused at construction (OpenSSL never prompts on a terminal)."""
    key = serialization.load_pem_private_key(files["key"].read_bytes(), password=None)
    encrypted = tmp_path / "encrypted.key"
    encrypted.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"passphrase"),
        )
    )
    with pytest.raises(ValueError, match="unencrypted private key"):
        AsyncConfigClient("https://127.0.0.1:1", application="orders", cert=files["cert"], key=encrypted)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"key": "KEY"}, "key needs cert"),
        ({"cert": "MISSING"}, "cannot load the client certificate '.*missing.pem'"),
        ({"cert": "CERT", "key": "MISSING"}, "with key '.*missing.pem'"),
        ({"ca": "MISSING"}, "ca '.*missing.pem' is not a readable PEM"),
        ({"ca": "CA", "ca_file": "CA"}, "ca or its older name ca_file"),
    ],
)
def test_unusable_tls_options_are_value_errors(
    files: dict[str, Path], tmp_path: Path, options: dict[str, str], message: str
) -> None:
    """Each mistake is refused when the client is built, naming the file or the options."""
    paths = {
        "KEY": files["key"],
        "CERT": files["cert"],
        "CA": files["ca"],
        "MISSING": tmp_path / "missing.pem",
    }
    with pytest.raises(ValueError, match=message):
        AsyncConfigClient(
            "https://127.0.0.1:1", application="orders", **{k: paths[v] for k, v in options.items()}
        )  # type: ignore[arg-type]
