"""Bearer JWT verification: real tokens from OpenBao, and forged ones from a local issuer."""

from __future__ import annotations

import asyncio
import json
import time
import warnings
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from jwt.warnings import InsecureKeyLengthWarning

from config_server.auth.jwks import JwksCache, KeySet, StaticKeys
from config_server.auth.jwt import (
    BEARER_CHALLENGE,
    INVALID_TOKEN_CHALLENGE,
    JwtAuthenticator,
    claim_at,
    roles_from,
)
from config_server.auth.principal import AuthMethod, Principal
from config_server.errors import InvalidConfiguration, Unauthenticated
from config_server.settings import Settings
from tests.auth.conftest import ROLE
from tests.support.jwt_issuer import AUDIENCE, ISSUER, JwksServer, LocalIssuer, SigningKey, forge
from tests.support.openbao import OpenBao

ORDERS = Principal.jwt("orders", frozenset({"reader"}))


@pytest.fixture
async def auth(jwks_server: JwksServer) -> AsyncIterator[JwtAuthenticator]:
    """An authenticator for the local issuer's JWKS (issuer and audience checked)."""
    authenticator = JwtAuthenticator(JwksCache(jwks_server.url), issuer=ISSUER, audience=[AUDIENCE])
    await authenticator.start()
    yield authenticator
    await authenticator.close()


async def refusal(auth: JwtAuthenticator, token: str) -> Unauthenticated:
    """The Unauthenticated that ``token`` gets."""
    with pytest.raises(Unauthenticated) as info:
        await auth.authenticate(token)
    return info.value


# -- real tokens from OpenBao ---------------------------------------------------------------


@pytest.fixture
async def bao_auth(identity_bao: OpenBao, workload_token: str) -> AsyncIterator[JwtAuthenticator]:
    """An authenticator for OpenBao's identity tokens (principal claim ``service``)."""
    authenticator = JwtAuthenticator(
        JwksCache(identity_bao.oidc_jwks_url, refresh_interval=0),
        issuer=identity_bao.oidc_issuer,
        audience=["config-server"],
        principal_claim="service",
    )
    await authenticator.start()
    yield authenticator
    await authenticator.close()


async def bao_token(bao: OpenBao, workload_token: str) -> str:
    return await asyncio.to_thread(bao.identity_token, ROLE, workload_token)


async def test_openbao_identity_token_is_a_principal(
    bao_auth: JwtAuthenticator, identity_bao: OpenBao, workload_token: str
) -> None:
    """An OpenBao identity token becomes jwt:orders with the roles its template lists."""
    principal = await bao_auth.authenticate(await bao_token(identity_bao, workload_token))
    assert principal == ORDERS
    assert principal.method is AuthMethod.JWT


async def test_openbao_key_rotation_is_followed(
    bao_auth: JwtAuthenticator, identity_bao: OpenBao, workload_token: str
) -> None:
    """After OpenBao rotates its key, new tokens (a new kid) verify, and so do older ones."""
    before = await bao_token(identity_bao, workload_token)
    await bao_auth.authenticate(before)
    await asyncio.to_thread(identity_bao.rotate_oidc_key, "config-server")
    after = await bao_token(identity_bao, workload_token)
    assert await bao_auth.authenticate(after) == ORDERS
    assert await bao_auth.authenticate(before) == ORDERS


async def test_openbao_token_for_another_audience_is_refused(
    identity_bao: OpenBao, workload_token: str
) -> None:
    """A real token whose aud is another client id is refused as the wrong audience."""
    authenticator = JwtAuthenticator(
        JwksCache(identity_bao.oidc_jwks_url), audience=["someone-else"], principal_claim="service"
    )
    await authenticator.start()
    try:
        error = await refusal(authenticator, await bao_token(identity_bao, workload_token))
    finally:
        await authenticator.close()
    assert error.reason == "wrong audience"


# -- the local issuer: what a real issuer will not produce ----------------------------------


@pytest.mark.parametrize("kid", ["rsa-1", "ec-1", "ed-1"])
async def test_each_key_type_verifies(auth: JwtAuthenticator, issuer: LocalIssuer, kid: str) -> None:
    """RS256, ES256 and EdDSA tokens from the key set are accepted."""
    assert await auth.authenticate(issuer.token(kid)) == ORDERS


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"exp": -60}, "expired"),
        ({"nbf": 120}, "not yet valid"),
        ({"iat": 120}, "not yet valid"),
        ({"exp": None}, "missing exp claim"),
        ({"aud": "another-service"}, "wrong audience"),
        ({"aud": None}, "missing aud claim"),
        ({"iss": "https://evil.test"}, "wrong issuer"),
        ({"iss": None}, "missing iss claim"),
        ({"sub": None}, "no principal claim"),
        ({"sub": ""}, "no principal claim"),
        ({"sub": "orders\nadmin"}, "no principal claim"),
    ],
)
async def test_bad_claims_are_refused(
    auth: JwtAuthenticator, issuer: LocalIssuer, claims: dict[str, Any], reason: str
) -> None:
    """Each claim check refuses its token with its own reason."""
    now = int(time.time())
    times = {k: now + v for k, v in claims.items() if k in ("exp", "nbf", "iat") and v is not None}
    error = await refusal(auth, issuer.token(**{**claims, **times}))
    assert error.reason == reason


async def test_clock_skew_within_leeway_is_accepted(auth: JwtAuthenticator, issuer: LocalIssuer) -> None:
    """A token expired 10 s ago, or valid 10 s from now, passes (30 s leeway)."""
    now = int(time.time())
    assert await auth.authenticate(issuer.token(exp=now - 10, nbf=now + 10)) == ORDERS


async def test_unsigned_token_is_refused(auth: JwtAuthenticator, issuer: LocalIssuer) -> None:
    """alg: none is refused before any key is looked at."""
    token = forge({"alg": "none", "kid": "rsa-1"}, issuer.claims())
    assert (await refusal(auth, token)).reason == "algorithm not allowed"


async def test_hmac_signed_with_the_public_key_is_refused(
    auth: JwtAuthenticator, issuer: LocalIssuer
) -> None:
    """The key-confusion attack (HS256 keyed with the RSA public key's PEM) is refused."""
    rsa_key = issuer.keys["rsa-1"]
    token = forge(
        {"alg": "HS256", "kid": "rsa-1", "typ": "JWT"}, issuer.claims(), hmac_key=rsa_key.public_pem()
    )
    assert (await refusal(auth, token)).reason == "algorithm not allowed"


async def test_allowed_algorithm_on_the_wrong_key_type_is_refused(
    auth: JwtAuthenticator, issuer: LocalIssuer
) -> None:
    """An ES256 token naming the RSA key's kid is refused: the key cannot check ES256."""
    token = issuer.token("ec-1", kid="rsa-1")
    assert (await refusal(auth, token)).reason == "algorithm does not match the key"


async def test_algorithm_not_configured_is_refused(jwks_server: JwksServer, issuer: LocalIssuer) -> None:
    """A valid ES256 token is refused when only RS256 is allowed."""
    authenticator = JwtAuthenticator(JwksCache(jwks_server.url), algorithms=["RS256"])
    try:
        assert (await refusal(authenticator, issuer.token("ec-1"))).reason == "algorithm not allowed"
    finally:
        await authenticator.close()


async def test_unknown_kid_is_refused(auth: JwtAuthenticator, issuer: LocalIssuer) -> None:
    """A token signed by a key the issuer does not publish is refused as an unknown kid."""
    stranger = SigningKey.ec("stranger")
    assert (await refusal(auth, issuer.token(stranger))).reason == "unknown kid"


async def test_known_kid_with_another_key_is_a_bad_signature(
    auth: JwtAuthenticator, issuer: LocalIssuer
) -> None:
    """A token that claims a published kid but was signed by another key fails its signature."""
    impostor = SigningKey.ec("ec-1")
    assert (await refusal(auth, issuer.token(impostor))).reason == "bad signature"


async def test_tampered_claims_are_a_bad_signature(auth: JwtAuthenticator, issuer: LocalIssuer) -> None:
    """Changing the payload of a signed token (adding a role) breaks its signature."""
    header, _, signature = issuer.token().split(".")
    forged_payload = forge({}, issuer.claims(roles=["reader", "admin"])).split(".")[1]
    token = f"{header}.{forged_payload}.{signature}"
    assert (await refusal(auth, token)).reason == "bad signature"


async def test_tampered_signature_is_refused(auth: JwtAuthenticator, issuer: LocalIssuer) -> None:
    """A flipped signature byte is a bad signature."""
    token = issuer.token()
    flipped = token[:-5] + ("A" if token[-5] != "A" else "B") + token[-4:]
    assert (await refusal(auth, flipped)).reason == "bad signature"


@pytest.mark.parametrize("token", ["", "not-a-jwt", "a.b.c", "e30.e30.", "\u00e9t\u00e9"])
async def test_malformed_tokens_are_refused(auth: JwtAuthenticator, token: str) -> None:
    """Strings that are not JWTs are refused as malformed."""
    assert (await refusal(auth, token)).reason in ("malformed token", "algorithm not allowed")


async def test_short_rsa_keys_are_refused(issuer: LocalIssuer) -> None:
    """A token verified by an RSA key under 2048 bits is refused."""
    weak = SigningKey.rsa("weak", bits=1024)
    with warnings.catch_warnings():  # PyJWT warns when it signs with a short key
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        token = issuer.token(weak)
    authenticator = JwtAuthenticator(StaticKeys(KeySet.parse({"keys": [weak.public_jwk()]})))
    assert (await refusal(authenticator, token)).reason == "key too short"


async def test_refusals_never_reveal_the_token(auth: JwtAuthenticator, issuer: LocalIssuer) -> None:
    """Neither the body, the reason nor the challenge of a refusal contains the token or its parts."""
    stranger = SigningKey.ec("stranger")
    tokens = [issuer.token(exp=int(time.time()) - 100), issuer.token(stranger), issuer.token(aud="x")]
    for token in tokens:
        error = await refusal(auth, token)
        said = " ".join([error.message, error.reason, str(error), *error.headers.values()])
        assert all(part not in said for part in token.split(".") if part)
        assert error.headers == {"WWW-Authenticate": INVALID_TOKEN_CHALLENGE}


def test_the_no_credentials_challenge_has_no_error_code() -> None:
    """Without a token the challenge only names the realm (RFC 6750 section 3)."""
    assert BEARER_CHALLENGE == 'Bearer realm="config-server"'


# -- claims: principal and roles ---------------------------------------------------------------


async def test_principal_claim_may_be_a_dotted_path_through_dotted_keys(issuer: LocalIssuer) -> None:
    """A Kubernetes-style kubernetes.io.serviceaccount.name principal claim is found."""
    keys = StaticKeys(KeySet.parse(issuer.jwks()))
    authenticator = JwtAuthenticator(keys, principal_claim="kubernetes.io.serviceaccount.name")
    token = issuer.token(**{"kubernetes.io": {"namespace": "prod", "serviceaccount": {"name": "orders"}}})
    assert (await authenticator.authenticate(token)).id == "jwt:orders"


async def test_roles_claim_may_be_a_dotted_path(issuer: LocalIssuer) -> None:
    """A Keycloak-style realm_access.roles claim gives the roles."""
    keys = StaticKeys(KeySet.parse(issuer.jwks()))
    authenticator = JwtAuthenticator(keys, roles_claim="realm_access.roles")
    token = issuer.token(roles=None, realm_access={"roles": ["reader", "writer"]})
    assert (await authenticator.authenticate(token)).roles == {"reader", "writer"}


@pytest.mark.parametrize(
    ("claims", "path", "value"),
    [
        ({"sub": "a"}, "sub", "a"),
        ({"a": {"b": {"c": 1}}}, "a.b.c", 1),
        ({"a.b": {"c": 2}}, "a.b.c", 2),
        ({"a": {"b.c": 3}}, "a.b.c", 3),
        ({"a.b": {"x": 1}, "a": {"b": {"c": 4}}}, "a.b.c", 4),
        ({"a": "text"}, "a.b", None),
        ({}, "sub", None),
    ],
)
def test_claim_at_follows_dotted_paths(claims: dict[str, Any], path: str, value: Any) -> None:
    """claim_at walks nested objects, trying keys that hold dots first and falling back."""
    assert claim_at(claims, path) == value


@pytest.mark.parametrize(
    ("value", "roles"),
    [
        (["reader", "writer"], {"reader", "writer"}),
        ("reader  writer", {"reader", "writer"}),
        (["reader", 7, None, {"x": 1}, "", "bad\nrole"], {"reader"}),
        (None, set()),
        (42, set()),
        ({"reader": True}, set()),
    ],
)
def test_roles_from_claim_values(value: Any, roles: set[str]) -> None:
    """A list gives its plain strings, a string its words, anything else no roles."""
    assert roles_from(value) == roles


# -- configuration -----------------------------------------------------------------------------


def settings(**values: Any) -> Settings:
    return Settings(repo="file:///nowhere", **values)


def test_no_jwt_settings_means_no_authenticator() -> None:
    """Without a JWKS URL or a public key, JWTs are not configured."""
    assert JwtAuthenticator.from_settings(settings()) is None


@pytest.mark.parametrize("alg", ["none", "HS256", "HS512", "hs384"])
def test_none_and_hmac_algorithms_are_refused_at_start(alg: str) -> None:
    """none and HMAC algorithms stop the start-up with an error naming --jwt-algorithms."""
    with pytest.raises(InvalidConfiguration) as info:
        JwtAuthenticator.from_settings(
            settings(jwt_jwks_url="https://issuer.test/jwks", jwt_algorithms=("RS256", alg))
        )
    assert "--jwt-algorithms" in info.value.message and alg in info.value.message


def test_unknown_algorithm_is_refused_at_start() -> None:
    """An algorithm PyJWT does not know is named in the start-up error."""
    with pytest.raises(InvalidConfiguration, match="unknown algorithm 'RS999'"):
        JwtAuthenticator.from_settings(settings(jwt_jwks_url="https://i.test/k", jwt_algorithms=("RS999",)))


def test_both_key_sources_are_refused(tmp_path: Path) -> None:
    """--jwt-jwks-url and --jwt-public-key together are a configuration error."""
    with pytest.raises(InvalidConfiguration, match="not both"):
        JwtAuthenticator.from_settings(
            settings(jwt_jwks_url="https://i.test/k", jwt_public_key=tmp_path / "k.pem")
        )


def test_jwks_url_must_be_http(tmp_path: Path) -> None:
    """A JWKS URL that is not http(s) is a configuration error."""
    with pytest.raises(InvalidConfiguration, match="--jwt-jwks-url"):
        JwtAuthenticator.from_settings(settings(jwt_jwks_url="file:///etc/jwks.json"))


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "No such file"),
        (b"hello", "not a PEM public key"),
        (b'{"keys": []}', "no usable signature key"),
        (b'{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}', "no usable signature key"),
        (b"{nope", "not valid JSON"),
        ("private", "private key"),
    ],
)
def test_unusable_key_file_is_named(
    tmp_path: Path, issuer: LocalIssuer, content: bytes | str | None, problem: str
) -> None:
    """A key file that is missing, garbage, empty or private stops the start-up, naming the file."""
    path = tmp_path / "jwt.pem"
    if content == "private":
        path.write_bytes(issuer.keys["ec-1"].private_pem())
    elif isinstance(content, bytes):
        path.write_bytes(content)
    with pytest.raises(InvalidConfiguration) as info:
        JwtAuthenticator.from_settings(settings(jwt_public_key=path))
    assert str(path) in info.value.message and problem in info.value.message
    assert "PRIVATE" not in info.value.message


@pytest.mark.parametrize("kid", ["rsa-1", "ec-1", "ed-1"])
async def test_pem_public_key_file_verifies(tmp_path: Path, issuer: LocalIssuer, kid: str) -> None:
    """--jwt-public-key with a PEM key verifies that key's tokens, whatever kid they carry."""
    path = tmp_path / "jwt.pem"
    path.write_bytes(issuer.keys[kid].public_pem())
    authenticator = JwtAuthenticator.from_settings(
        settings(jwt_public_key=path, jwt_issuer=ISSUER, jwt_audience=(AUDIENCE,))
    )
    assert authenticator is not None
    await authenticator.start()
    assert await authenticator.authenticate(issuer.token(kid)) == ORDERS
    other = "ec-1" if kid != "ec-1" else "rsa-1"
    assert (await refusal(authenticator, issuer.token(other))).reason in (
        "algorithm does not match the key",
        "bad signature",
    )
    await authenticator.close()


async def test_jwks_file_verifies(tmp_path: Path, issuer: LocalIssuer) -> None:
    """--jwt-public-key with a JWKS JSON file verifies tokens of each of its keys."""
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(issuer.jwks("rsa-1", "ed-1")))
    authenticator = JwtAuthenticator.from_settings(settings(jwt_public_key=path, jwt_principal_claim="sub"))
    assert authenticator is not None
    assert await authenticator.authenticate(issuer.token("ed-1")) == ORDERS
    assert (await refusal(authenticator, issuer.token("ec-1"))).reason == "unknown kid"


async def test_settings_name_the_claims(jwks_server: JwksServer, issuer: LocalIssuer) -> None:
    """--jwt-principal-claim and --jwt-roles-claim choose where the name and roles come from."""
    authenticator = JwtAuthenticator.from_settings(
        settings(
            jwt_jwks_url=jwks_server.url,
            jwt_issuer=ISSUER,
            jwt_audience=(AUDIENCE,),
            jwt_principal_claim="client_id",
            jwt_roles_claim="scope",
        )
    )
    assert authenticator is not None
    await authenticator.start()
    try:
        principal = await authenticator.authenticate(issuer.token(client_id="billing", scope="config:read"))
    finally:
        await authenticator.close()
    assert principal == Principal.jwt("billing", frozenset({"config:read"}))
