"""Mutual TLS end to end: trustme CAs, client certificates as principals, certificate rotation.

The server serves HTTPS with a trustme certificate for 127.0.0.1 and asks for client
certificates issued by the same CA. Client certificates are built with ``cryptography`` and
signed by the trustme CA's key, since trustme issues no URI (SPIFFE) subject alternative names.
"""

from __future__ import annotations

import datetime
import http.client
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import trustme
from config_client import ConfigClient
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.e2e.security.conftest import POLICY, SECRETS, Server, running_server
from tests.support.gitrepo import GitRemote
from tests.support.polling import eventually

SPIFFE_ID = "spiffe://cluster.local/ns/prod/sa/orders"


@dataclass(frozen=True)
class ClientCert:
    """A client certificate and its key, as PEM files."""

    cert: Path
    key: Path

    @property
    def pair(self) -> tuple[str, str]:
        return str(self.cert), str(self.key)


def issue_client_cert(
    ca: trustme.CA,
    folder: Path,
    name: str,
    *,
    common_name: str | None = None,
    uri: str | None = None,
    expired: bool = False,
) -> ClientCert:
    """A client certificate signed by ``ca``'s key: subject CN ``common_name``, SAN URI ``uri``."""
    ca_key = serialization.load_pem_private_key(ca.private_key_pem.bytes(), password=None)
    ca_cert = x509.load_pem_x509_certificate(ca.cert_pem.bytes())
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)  # trustme's default key type
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    start, end = (
        (now - datetime.timedelta(days=2), now - datetime.timedelta(days=1))
        if expired
        else (
            now - datetime.timedelta(minutes=5),
            now + datetime.timedelta(hours=1),
        )
    )
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)] if common_name else [])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    )
    if uri is not None:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.UniformResourceIdentifier(uri)]), critical=not common_name
        )
    cert = builder.sign(ca_key, hashes.SHA256())
    paths = ClientCert(folder / f"{name}.pem", folder / f"{name}.key")
    paths.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return paths


@dataclass(frozen=True)
class Pki:
    """The CA, the server's files and the client certificates of this module."""

    ca: trustme.CA
    folder: Path
    ca_pem: Path
    server_cert: Path
    server_key: Path
    spiffe: ClientCert
    cn_only: ClientCert
    expired: ClientCert
    foreign: ClientCert


def write_server_cert(ca: trustme.CA, folder: Path, common_name: str) -> tuple[Path, Path]:
    """A server certificate for 127.0.0.1 from ``ca`` in ``folder``/server.pem and server.key."""
    issued = ca.issue_cert("127.0.0.1", common_name=common_name)
    cert, key = folder / "server.pem", folder / "server.key"
    for blob, path in ((issued.private_key_pem, key), (issued.cert_chain_pems[0], cert)):
        tmp = path.with_name(path.name + ".tmp")
        blob.write_to_path(tmp)
        tmp.replace(path)
    return cert, key


def make_pki(folder: Path) -> Pki:
    ca = trustme.CA()
    ca_pem = folder / "ca.pem"
    ca.cert_pem.write_to_path(ca_pem)
    server_cert, server_key = write_server_cert(ca, folder, "server-1")
    (folder / "policy.yml").write_text(POLICY)
    return Pki(
        ca=ca,
        folder=folder,
        ca_pem=ca_pem,
        server_cert=server_cert,
        server_key=server_key,
        spiffe=issue_client_cert(ca, folder, "spiffe", uri=SPIFFE_ID),
        cn_only=issue_client_cert(ca, folder, "cn", common_name="payments"),
        expired=issue_client_cert(ca, folder, "expired", uri=SPIFFE_ID, expired=True),
        foreign=issue_client_cert(trustme.CA(), folder, "foreign", uri=SPIFFE_ID),
    )


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


def tls_settings(pki: Pki, client_auth: str) -> dict[str, object]:
    return {
        "tls_cert": pki.server_cert,
        "tls_key": pki.server_key,
        "tls_client_ca": pki.ca_pem,
        "tls_client_auth": client_auth,
        "access_policy": pki.folder / "policy.yml",
    }


@pytest.fixture(scope="module")
def server(config_repo: GitRemote, pki: Pki) -> Iterator[Server]:
    """HTTPS asking for (optional) client certificates from the module's CA."""
    with running_server(config_repo, pki.folder / "clone", **tls_settings(pki, "optional")) as running:
        yield running


def get(server: Server, path: str, pki: Pki, cert: ClientCert | None) -> requests.Response:
    return requests.get(
        f"{server.url}{path}", cert=cert.pair if cert else None, verify=str(pki.ca_pem), timeout=10
    )


def test_a_spiffe_certificate_reads_its_services_configuration(server: Server, pki: Pki) -> None:
    """A client certificate with SAN URI spiffe://.../sa/orders (name orders) reads orders."""
    resp = get(server, "/orders/default", pki, pki.spiffe)
    assert resp.status_code == 200, resp.text
    assert SECRETS["orders"] in resp.text


def test_a_spiffe_certificates_principal_is_its_spiffe_id(server: Server, pki: Pki) -> None:
    """The same certificate asking for payments is refused as spiffe://cluster.local/ns/prod/sa/orders."""
    resp = get(server, "/payments/default", pki, pki.spiffe)
    assert resp.status_code == 403
    assert f"{SPIFFE_ID} may not read payments" in resp.json()["message"]


def test_a_cn_only_certificate_is_cert_cn(server: Server, pki: Pki) -> None:
    """A certificate with only CN=payments reads payments and is refused orders as cert:payments."""
    assert SECRETS["payments"] in get(server, "/payments/default", pki, pki.cn_only).text
    resp = get(server, "/orders/default", pki, pki.cn_only)
    assert resp.status_code == 403
    assert "cert:payments may not read orders" in resp.json()["message"]


@pytest.mark.parametrize("which", ["expired", "foreign"], ids=["expired", "another-ca"])
def test_a_certificate_that_does_not_verify_fails_the_handshake(server: Server, pki: Pki, which: str) -> None:
    """An expired client certificate, or one from another CA, ends the connection: no HTTP answer."""
    cert: ClientCert = getattr(pki, which)
    with pytest.raises(requests.exceptions.ConnectionError):
        get(server, "/orders/default", pki, cert)


def test_without_a_certificate_optional_mode_sees_an_anonymous_caller(server: Server, pki: Pki) -> None:
    """With client auth optional, no certificate completes the handshake and a read is 401."""
    resp = get(server, "/orders/default", pki, None)
    assert resp.status_code == 401


def test_https_answers_carry_hsts(server: Server, pki: Pki) -> None:
    """Every HTTPS answer (an error too) carries Strict-Transport-Security."""
    assert (
        get(server, "/orders/default", pki, pki.spiffe)
        .headers["Strict-Transport-Security"]
        .startswith("max-age=")
    )
    assert "Strict-Transport-Security" in get(server, "/orders/default", pki, None).headers


def test_the_client_library_reads_over_mutual_tls(server: Server, pki: Pki) -> None:
    """ConfigClient(cert=, key=, ca=) presents the SPIFFE certificate and loads orders."""
    with ConfigClient(
        server.url,
        application="orders",
        cert=pki.spiffe.cert,
        key=pki.spiffe.key,
        ca=pki.ca_pem,
        fail_fast=True,
        retry_max_attempts=1,
    ) as client:
        assert client["db.password"] == SECRETS["orders"]


def test_required_mode_refuses_a_client_without_a_certificate(
    config_repo: GitRemote, pki: Pki, tmp_path: Path
) -> None:
    """With client auth required, a handshake without a certificate fails; with one it reads."""
    with running_server(config_repo, tmp_path / "clone", **tls_settings(pki, "required")) as server:
        with pytest.raises(requests.exceptions.ConnectionError):
            get(server, "/orders/default", pki, None)
        assert get(server, "/orders/default", pki, pki.spiffe).status_code == 200


def client_context(pki: Pki) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(pki.ca_pem))
    context.load_cert_chain(*pki.spiffe.pair)
    return context


def served_common_name(server: Server, pki: Pki) -> str:
    """The CN of the certificate a new connection to ``server`` is shown."""
    with (
        socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw,
        client_context(pki).wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        return common_name(tls)


def common_name(tls: ssl.SSLSocket) -> str:
    cert = tls.getpeercert()
    assert cert is not None
    return next(v for rdn in cert["subject"] for k, v in rdn if k == "commonName")


def test_a_replaced_server_certificate_serves_new_connections_and_keeps_open_ones(
    config_repo: GitRemote, tmp_path: Path
) -> None:
    """The server certificate replaced on disk: new handshakes get it, a keep-alive connection goes on."""
    pki = make_pki(tmp_path)
    with running_server(config_repo, tmp_path / "clone", **tls_settings(pki, "optional")) as server:
        kept = http.client.HTTPSConnection("127.0.0.1", server.port, context=client_context(pki), timeout=10)
        kept.request("GET", "/orders/default")
        assert kept.getresponse().read() and kept.sock is not None
        sock = kept.sock
        assert common_name(sock) == "server-1"
        write_server_cert(pki.ca, tmp_path, "server-2")
        assert eventually(lambda: served_common_name(server, pki) == "server-2")
        kept.request("GET", "/orders/default")
        resp = kept.getresponse()
        assert resp.status == 200 and SECRETS["orders"] in resp.read().decode()
        assert kept.sock is sock and common_name(sock) == "server-1"  # the same connection
        kept.close()
