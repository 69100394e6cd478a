"""OAuth 2.0 client credentials against a real provider (oidc-provider) and a JWT-checking server.

The provider issues RS256 JWT access tokens; the loopback config server verifies each one with
PyJWT against the provider's JWKS (signature, issuer, audience, expiry) before serving.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator

import pytest
from config_client import (
    AsyncConfigClient,
    AuthenticationFailed,
    ConfigClient,
    ConfigUnavailable,
    OAuth2,
)

from tests.client.bearer import JwtGuard
from tests.client.spring_server import SpringServer
from tests.support.oidc_provider import AUDIENCE, OidcProvider


@pytest.fixture(scope="module")
def idp() -> Iterator[OidcProvider]:
    """One real oidc-provider for the module (tokens valid five minutes)."""
    with OidcProvider(access_token_ttl=300) as provider:
        yield provider


@pytest.fixture
def guard(idp: OidcProvider) -> JwtGuard:
    return JwtGuard(jwks_url=idp.jwks_url, issuer=idp.issuer, audience=AUDIENCE)


@pytest.fixture
def protected(guard: JwtGuard) -> Iterator[SpringServer]:
    """A config server that serves orders/prod only to valid access tokens from ``idp``."""
    server = SpringServer(authorize=guard).start()
    server.put("orders", "prod", [("orders-prod.yml", {"db.url": "jdbc:prod"})])
    yield server
    server.close()


def oauth2(idp: OidcProvider, **options: object) -> OAuth2:
    return OAuth2(
        token_url=idp.token_url,
        client_id=str(options.pop("client_id", idp.client_id)),
        client_secret=str(options.pop("client_secret", idp.client_secret)),
        **options,  # type: ignore[arg-type]
    )


def client(server: SpringServer, settings: OAuth2) -> AsyncConfigClient:
    return AsyncConfigClient(
        server.url,
        application="orders",
        profiles="prod",
        oauth2=settings,
        fail_fast=True,
        retry_max_attempts=1,
    )


async def test_loads_with_an_access_token_from_the_provider(
    idp: OidcProvider, guard: JwtGuard, protected: SpringServer
) -> None:
    """The client obtains a JWT by client credentials (Basic) and the server accepts it."""
    config = client(protected, oauth2(idp))
    try:
        assert (await config.load())["db.url"] == "jdbc:prod"
    finally:
        await config.aclose()
    (token,) = guard.accepted
    assert guard.claims(token)["client_id"] == idp.client_id


async def test_client_secret_post_is_supported(
    idp: OidcProvider, guard: JwtGuard, protected: SpringServer
) -> None:
    """With auth_method="client_secret_post" the credentials go in the form, and it works."""
    settings = oauth2(idp, client_id=f"{idp.client_id}-post", auth_method="client_secret_post")
    config = client(protected, settings)
    try:
        await config.load()
    finally:
        await config.aclose()
    assert guard.claims(guard.accepted[0])["client_id"] == f"{idp.client_id}-post"


async def test_a_fresh_token_is_reused(idp: OidcProvider, guard: JwtGuard, protected: SpringServer) -> None:
    """Two requests within the token's lifetime carry the same token (one token request)."""
    config = client(protected, oauth2(idp))
    try:
        await config.load()
        await config.load()
    finally:
        await config.aclose()
    assert len(guard.accepted) == 2
    assert len(set(guard.accepted)) == 1


async def test_the_token_is_refreshed_before_it_expires(
    idp: OidcProvider, guard: JwtGuard, protected: SpringServer
) -> None:
    """Once less than refresh_margin is left, the next request carries a new token; none is refused."""
    config = client(protected, oauth2(idp, refresh_margin=idp.access_token_ttl - 0.5))
    try:
        await config.load()
        await asyncio.sleep(0.7)
        await config.load()
    finally:
        await config.aclose()
    first, second = guard.accepted
    assert first != second
    assert guard.claims(first)["exp"] > time.time() + 60  # the old one was still valid: refreshed early
    assert guard.refused == []


def test_a_failed_early_refresh_keeps_using_the_still_valid_token() -> None:
    """If the provider is down when a refresh is due, the unexpired token is still sent."""
    with OidcProvider(access_token_ttl=300) as own:  # its own provider: this test stops it
        own_guard = JwtGuard(jwks_url=own.jwks_url, issuer=own.issuer, audience=AUDIENCE)
        server = SpringServer(authorize=own_guard).start()
        server.put("orders", "prod", [("orders-prod.yml", {"db.url": "jdbc:prod"})])
        settings = oauth2(own, refresh_margin=own.access_token_ttl - 0.5)
        config = ConfigClient(
            server.url, application="orders", profiles="prod", oauth2=settings, fail_fast=True
        )
        try:
            config.load()
            own.stop()
            time.sleep(0.7)
            config.load()
        finally:
            config.close()
            server.close()
    first, second = own_guard.accepted
    assert first == second


async def test_a_401_renews_the_token_and_retries_once(
    idp: OidcProvider, guard: JwtGuard, protected: SpringServer
) -> None:
    """A revoked (unexpired) token draws a 401; the client gets a new token and the retry succeeds."""
    config = client(protected, oauth2(idp))
    try:
        await config.load()
        guard.revoke(guard.accepted[0])
        await config.load()
    finally:
        await config.aclose()
    first, second = guard.accepted
    assert guard.refused == [first]
    assert second != first


async def test_a_second_401_is_authentication_failed_without_looping(
    idp: OidcProvider, guard: JwtGuard, protected: SpringServer
) -> None:
    """When the renewed token is refused too, load() raises AuthenticationFailed after two requests."""
    guard.refuse_all = True
    config = client(protected, oauth2(idp))
    try:
        with pytest.raises(AuthenticationFailed) as caught:
            await config.load()
    finally:
        await config.aclose()
    assert caught.value.status == 401
    assert len(guard.refused) == 2
    assert guard.refused[0] != guard.refused[1]


async def test_a_wrong_client_secret_is_authentication_failed_without_the_secret(
    idp: OidcProvider, protected: SpringServer
) -> None:
    """The provider's invalid_client becomes AuthenticationFailed; neither secret is in the message."""
    wrong = "not-the-secret-" + idp.client_secret[-6:]
    config = client(protected, oauth2(idp, client_secret=wrong))
    try:
        with pytest.raises(AuthenticationFailed) as caught:
            await config.load()
    finally:
        await config.aclose()
    message = str(caught.value)
    assert "invalid_client" in message and idp.token_url in message
    assert wrong not in message and idp.client_secret not in message and "secret" not in message.lower()
    assert protected.seen == []  # no request reached the config server without a token


async def test_an_unreachable_token_endpoint_is_config_unavailable(
    protected: SpringServer, unused_tcp_port: int
) -> None:
    """A token endpoint that refuses connections is ConfigUnavailable (retryable), naming the endpoint."""
    token_url = f"http://127.0.0.1:{unused_tcp_port}/token"
    config = client(protected, OAuth2(token_url=token_url, client_id="c", client_secret="secret-x"))
    try:
        with pytest.raises(ConfigUnavailable, match=r"token endpoint .* unreachable") as caught:
            await config.load()
    finally:
        await config.aclose()
    assert "secret-x" not in str(caught.value)


async def test_a_token_endpoint_that_never_answers_times_out(protected: SpringServer) -> None:
    """The token request has its own timeout: a silent endpoint is ConfigUnavailable after it."""
    with socket.socket() as silent:  # the kernel accepts the connection; nobody ever answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        token_url = f"http://127.0.0.1:{silent.getsockname()[1]}/token"
        settings = OAuth2(token_url=token_url, client_id="c", client_secret="s", timeout=0.3)
        config = client(protected, settings)
        started = time.monotonic()
        try:
            with pytest.raises(ConfigUnavailable, match="timed out"):
                await config.load()
        finally:
            await config.aclose()
    assert time.monotonic() - started < 2


def test_the_sync_client_uses_oauth2_too(idp: OidcProvider, guard: JwtGuard, protected: SpringServer) -> None:
    """ConfigClient passes oauth2 through: it loads with a token from the provider."""
    config = ConfigClient(
        protected.url, application="orders", profiles="prod", oauth2=oauth2(idp), fail_fast=True
    )
    try:
        assert config.load()["db.url"] == "jdbc:prod"
    finally:
        config.close()
    assert len(guard.accepted) == 1


def test_oauth2_repr_hides_the_secret() -> None:
    """repr(OAuth2(...)) shows the endpoint and client id, never the secret."""
    settings = OAuth2(token_url="https://idp.example/token", client_id="svc", client_secret="hunter2")
    assert "hunter2" not in repr(settings)
    assert "svc" in repr(settings)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"token_url": "idp/token"}, "absolute"),
        ({"token_url": "https://u:p@idp.example/token"}, "must not carry credentials"),
        ({"client_secret": ""}, "non-empty"),
        ({"auth_method": "private_key_jwt"}, "auth_method"),
        ({"timeout": 0}, "timeout"),
    ],
)
def test_unusable_oauth2_settings_are_value_errors(options: dict[str, object], message: str) -> None:
    """OAuth2 checks its values when built, with a message saying which."""
    values: dict[str, object] = {
        "token_url": "https://idp.example/token",
        "client_id": "c",
        "client_secret": "s",
    }
    with pytest.raises(ValueError, match=message):
        OAuth2(**{**values, **options})  # type: ignore[arg-type]


@pytest.mark.parametrize(("lifetime", "margin"), [(3600, 60.0), (600, 60.0), (300, 30.0), (3, 0.3)])
def test_the_default_refresh_margin_is_the_smaller_of_60_s_and_a_tenth(lifetime: int, margin: float) -> None:
    """A token is replaced when min(60 s, 10% of its lifetime) is left."""
    settings = OAuth2(token_url="https://idp.example/token", client_id="c", client_secret="s")
    assert settings.margin(lifetime) == pytest.approx(margin)


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"password": "p", "token": "t"}, "password and token"),
        ({"url": "http://u:p@127.0.0.1:1", "token_file": "f"}, "password and token_file"),
        (
            {"token": "t", "oauth2": OAuth2(token_url="http://i/t", client_id="c", client_secret="s")},
            "token and oauth2",
        ),
        (
            {"token_file": "f", "oauth2": OAuth2(token_url="http://i/t", client_id="c", client_secret="s")},
            "token_file and oauth2",
        ),
    ],
)
def test_only_one_kind_of_credentials_is_accepted(options: dict[str, object], named: str) -> None:
    """Two of password / token / token_file / oauth2 are a ValueError naming both."""
    url = str(options.pop("url", "http://127.0.0.1:1"))
    with pytest.raises(ValueError, match=f"only one of password, token, token_file or oauth2 .*{named}"):
        AsyncConfigClient(url, application="orders", **options)  # type: ignore[arg-type]
