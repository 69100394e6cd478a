"""Bearer JWTs end to end: OpenBao identity tokens, oidc-provider access tokens, the real client.

The server verifies tokens against the issuer's live JWKS. OpenBao's role gives its tokens
``service: orders`` (the principal claim here) and ``roles: [reader]``; oidc-provider's
client-credentials tokens name the client id in ``sub``.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import jwt
import pytest
import requests
from config_client import ConfigClient, OAuth2

from tests.e2e.security.conftest import POLICY, SECRETS, Server, running_server
from tests.support.gitrepo import GitRemote
from tests.support.oidc_provider import OidcProvider
from tests.support.openbao import OpenBao


@dataclass(frozen=True)
class Identity:
    """An OpenBao identity-token role of this module: its key, its role, a workload's token."""

    bao: OpenBao
    key: str
    role: str
    workload: str

    def token(self) -> str:
        return self.bao.identity_token(self.role, self.workload)


@pytest.fixture(scope="module")
def identity(bao: OpenBao) -> Identity:
    """Role orders-<id> on key cs-<id>: tokens with aud config-server, service orders, roles [reader]."""
    suffix = uuid.uuid4().hex[:8]
    key, role = f"cs-{suffix}", f"orders-{suffix}"
    workload = bao.setup_identity_tokens(role, key=key, template={"service": "orders", "roles": ["reader"]})
    return Identity(bao, key, role, workload)


@pytest.fixture(scope="module")
def server(
    config_repo: GitRemote, bao: OpenBao, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """The server trusting OpenBao's identity tokens (principal claim ``service``), with the policy."""
    folder = tmp_path_factory.mktemp("jwt")
    (folder / "policy.yml").write_text(POLICY)
    with running_server(
        config_repo,
        folder / "clone",
        jwt_jwks_url=bao.oidc_jwks_url,
        jwt_issuer=bao.oidc_issuer,
        jwt_audience=("config-server",),
        jwt_principal_claim="service",
        access_policy=folder / "policy.yml",
    ) as running:
        yield running


def read(server: Server, application: str, token: str) -> requests.Response:
    return requests.get(
        f"{server.url}/{application}/default", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )


def test_an_openbao_token_reads_its_services_configuration(server: Server, identity: Identity) -> None:
    """An OpenBao identity token with service: orders reads orders."""
    resp = read(server, "orders", identity.token())
    assert resp.status_code == 200, resp.text
    assert SECRETS["orders"] in resp.text


def test_an_openbao_token_is_refused_another_services_configuration(
    server: Server, identity: Identity
) -> None:
    """The orders token asking for payments: 403 naming jwt:orders, no value."""
    resp = read(server, "payments", identity.token())
    assert resp.status_code == 403
    assert "jwt:orders" in resp.json()["message"]
    assert SECRETS["payments"] not in resp.text


def test_the_roles_claim_grants_what_the_role_may_read(server: Server, identity: Identity) -> None:
    """The token's roles: [reader] claim lets it read catalog through the role:reader rule."""
    resp = read(server, "catalog", identity.token())
    assert resp.status_code == 200, resp.text
    assert SECRETS["catalog"] in resp.text


def test_a_garbage_token_is_401_invalid_token(server: Server) -> None:
    """A bearer value that is no JWT: 401 with WWW-Authenticate: Bearer ... error="invalid_token"."""
    resp = read(server, "orders", "not.a.jwt")
    assert resp.status_code == 401
    challenge = resp.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer ") and 'error="invalid_token"' in challenge


def test_a_token_with_altered_claims_is_401_invalid_token(server: Server, identity: Identity) -> None:
    """An OpenBao token whose payload was changed to service: payments fails its signature: 401."""
    header, payload, signature = identity.token().split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["service"] = "payments"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    resp = read(server, "payments", f"{header}.{forged}.{signature}")
    assert resp.status_code == 401
    assert 'error="invalid_token"' in resp.headers["WWW-Authenticate"]
    assert SECRETS["payments"] not in resp.text


def test_tokens_after_an_openbao_key_rotation_still_verify(server: Server, identity: Identity) -> None:
    """Rotating the OpenBao OIDC key while the server runs: tokens with the new kid are accepted."""
    before = jwt.get_unverified_header(identity.token())["kid"]
    assert read(server, "orders", identity.token()).status_code == 200
    identity.bao.rotate_oidc_key(identity.key)
    token = identity.token()
    assert jwt.get_unverified_header(token)["kid"] != before
    resp = read(server, "orders", token)
    assert resp.status_code == 200, resp.text


def test_the_client_reads_with_a_token_file(server: Server, identity: Identity, tmp_path: Path) -> None:
    """ConfigClient(token_file=...) holding an OpenBao identity token loads orders."""
    token_file = tmp_path / "token"
    token_file.write_text(identity.token())
    with ConfigClient(
        server.url, application="orders", token_file=token_file, fail_fast=True, retry_max_attempts=1
    ) as client:
        assert client["db.password"] == SECRETS["orders"]


@pytest.fixture(scope="module")
def provider() -> Iterator[OidcProvider]:
    """oidc-provider with client ``orders``: its client-credentials tokens have sub: orders."""
    with OidcProvider(client_id="orders") as running:
        yield running


def test_the_client_reads_with_oauth2_client_credentials(
    config_repo: GitRemote, provider: OidcProvider, tmp_path: Path
) -> None:
    """ConfigClient(oauth2=OAuth2(...)) gets a token from oidc-provider and loads orders (jwt:orders)."""
    (tmp_path / "policy.yml").write_text(POLICY)
    with running_server(
        config_repo,
        tmp_path / "clone",
        jwt_jwks_url=provider.jwks_url,
        jwt_issuer=provider.issuer,
        jwt_audience=("config-server",),
        access_policy=tmp_path / "policy.yml",
    ) as server:
        oauth2 = OAuth2(
            token_url=provider.token_url, client_id="orders", client_secret=provider.client_secret
        )
        with ConfigClient(
            server.url, application="orders", oauth2=oauth2, fail_fast=True, retry_max_attempts=1
        ) as client:
            assert client["db.password"] == SECRETS["orders"]
