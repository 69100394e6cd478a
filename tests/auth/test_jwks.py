"""The JWKS cache: fetched once, refreshed for new kids (at most once per 30 s) and on max-age,
kept through an issuer outage; a real aiohttp JWKS server on 127.0.0.1 counts the fetches."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator

import pytest

from config_server.auth.jwks import JwksCache, KeySet
from config_server.auth.jwt import JwtAuthenticator
from config_server.errors import Unauthenticated, Unavailable
from tests.auth.conftest import FakeClock
from tests.support.jwt_issuer import JwksServer, LocalIssuer, SigningKey


@pytest.fixture
async def cache(jwks_server: JwksServer, clock: FakeClock) -> AsyncIterator[JwksCache]:
    """A started cache of the JWKS server's keys, on the fake clock."""
    keys = JwksCache(jwks_server.url, clock=clock)
    await keys.start()
    yield keys
    await keys.close()


async def test_keys_are_fetched_once(cache: JwksCache, jwks_server: JwksServer, issuer: LocalIssuer) -> None:
    """Many verifications of known kids cost the one fetch made at start."""
    auth = JwtAuthenticator(cache)
    for kid in ("rsa-1", "ec-1", "ed-1", "rsa-1"):
        await auth.authenticate(issuer.token(kid))
    assert jwks_server.fetches == 1


async def test_unknown_kid_fetches_the_new_key(
    cache: JwksCache, jwks_server: JwksServer, issuer: LocalIssuer, clock: FakeClock
) -> None:
    """A token with a kid the cache lacks makes it fetch the set again, and the new key verifies."""
    rotated = SigningKey.ec("ec-2")
    jwks_server.document = {"keys": [*issuer.jwks()["keys"], rotated.public_jwk()]}
    clock.advance(30)
    principal = await JwtAuthenticator(cache).authenticate(issuer.token(rotated))
    assert principal.id == "jwt:orders"
    assert jwks_server.fetches == 2


async def test_unknown_kid_refresh_is_at_most_once_per_interval(
    cache: JwksCache, jwks_server: JwksServer, issuer: LocalIssuer, clock: FakeClock
) -> None:
    """Made-up kids cause at most one fetch per 30 s, whatever their number."""
    auth = JwtAuthenticator(cache)
    clock.advance(30)
    for i in range(20):
        with pytest.raises(Unauthenticated, match="Invalid bearer token"):
            await auth.authenticate(issuer.token(SigningKey.ec(f"made-up-{i}")))
        clock.advance(1)
    assert jwks_server.fetches == 2  # at start, then once at t+30
    clock.advance(10)  # t+60: the next made-up kid may fetch again
    with pytest.raises(Unauthenticated):
        await auth.authenticate(issuer.token(SigningKey.ec("made-up-last")))
    assert jwks_server.fetches == 3


async def test_new_kid_within_interval_is_refused_until_it_ends(
    cache: JwksCache, jwks_server: JwksServer, issuer: LocalIssuer, clock: FakeClock
) -> None:
    """A new kid right after a fetch is refused, and accepted once the interval allows a fetch."""
    rotated = SigningKey.ec("ec-2")
    jwks_server.document = {"keys": [rotated.public_jwk()]}
    auth = JwtAuthenticator(cache)
    with pytest.raises(Unauthenticated) as info:
        await auth.authenticate(issuer.token(rotated))
    assert info.value.reason == "unknown kid" and jwks_server.fetches == 1
    clock.advance(30)
    assert (await auth.authenticate(issuer.token(rotated))).id == "jwt:orders"


@pytest.mark.parametrize(("cache_control", "lifetime"), [("public, max-age=120", 120), ("no-store", 30)])
async def test_cache_control_max_age_is_honoured(
    jwks_server: JwksServer, issuer: LocalIssuer, clock: FakeClock, cache_control: str, lifetime: int
) -> None:
    """The set is fetched again once its max-age has passed (no-store: after the 30 s interval)."""
    jwks_server.cache_control = cache_control
    cache = JwksCache(jwks_server.url, clock=clock)
    await cache.start()
    try:
        auth = JwtAuthenticator(cache)
        clock.advance(lifetime - 1)
        await auth.authenticate(issuer.token())
        await cache.settle()
        assert jwks_server.fetches == 1
        clock.advance(1)
        await auth.authenticate(issuer.token())
        await cache.settle()
        assert jwks_server.fetches == 2
    finally:
        await cache.close()


async def test_a_key_dropped_from_the_set_stops_verifying_after_max_age(
    cache: JwksCache, jwks_server: JwksServer, issuer: LocalIssuer, clock: FakeClock
) -> None:
    """A key the issuer withdraws is forgotten at the next expiry-driven fetch (revocation)."""
    auth = JwtAuthenticator(cache)
    jwks_server.document = issuer.jwks("ec-1")
    clock.advance(301)  # no Cache-Control: the five-minute default
    await auth.authenticate(issuer.token("rsa-1"))  # answered from the cache; refresh in background
    await cache.settle()
    with pytest.raises(Unauthenticated) as info:
        await auth.authenticate(issuer.token("rsa-1"))
    assert info.value.reason == "unknown kid"


async def test_issuer_outage_keeps_the_cached_keys(
    cache: JwksCache, jwks_server: JwksServer, issuer: LocalIssuer, clock: FakeClock
) -> None:
    """With the JWKS server stopped after the first fetch, known keys go on verifying."""
    await jwks_server.stop()
    auth = JwtAuthenticator(cache)
    for _ in range(3):
        clock.advance(400)  # past max-age: each time a background fetch fails
        assert (await auth.authenticate(issuer.token("ed-1"))).id == "jwt:orders"
        await cache.settle()
    assert cache.keys is not None and len(cache.keys) == 3


@pytest.mark.parametrize(
    ("status", "body"),
    [(503, None), (200, b"<html>oops</html>"), (200, b'{"keys": []}'), (200, b"[" * 100_000)],
)
async def test_a_bad_response_keeps_the_cached_keys(
    cache: JwksCache,
    jwks_server: JwksServer,
    issuer: LocalIssuer,
    clock: FakeClock,
    status: int,
    body: bytes | None,
) -> None:
    """An error status, a non-JSON body or a set with no usable key does not replace good keys."""
    jwks_server.status = status
    if body is not None:
        jwks_server.document = body
    clock.advance(30)
    with pytest.raises(Unauthenticated):
        await JwtAuthenticator(cache).authenticate(issuer.token(SigningKey.ec("new")))
    assert jwks_server.fetches == 2
    assert (await JwtAuthenticator(cache).authenticate(issuer.token("rsa-1"))).id == "jwt:orders"


async def test_no_keys_ever_is_unavailable(jwks_server: JwksServer, issuer: LocalIssuer) -> None:
    """An issuer down from the start: start() only logs, and tokens get Unavailable, not a 401."""
    await jwks_server.stop()
    cache = JwksCache(jwks_server.url)
    await cache.start()
    try:
        with pytest.raises(Unavailable):
            await JwtAuthenticator(cache).authenticate(issuer.token())
    finally:
        await cache.close()


async def test_keys_are_fetched_on_first_use_when_start_failed(
    jwks_server: JwksServer, issuer: LocalIssuer
) -> None:
    """A JWKS that failed at start (503) is fetched again by the first token, which then verifies."""
    jwks_server.status = 503
    cache = JwksCache(jwks_server.url)
    await cache.start()
    jwks_server.status = 200
    try:
        assert (await JwtAuthenticator(cache).authenticate(issuer.token())).id == "jwt:orders"
    finally:
        await cache.close()
    assert jwks_server.fetches == 2


async def test_oversized_response_is_refused(jwks_server: JwksServer) -> None:
    """A JWKS response over the size cap is not read further."""
    jwks_server.document = json.dumps({"keys": [], "padding": "x" * 5000}).encode()
    cache = JwksCache(jwks_server.url, max_bytes=4096)
    await cache.start()
    try:
        assert cache.keys is None
        with pytest.raises(Unavailable):
            await cache.key_set(None)
    finally:
        await cache.close()


async def test_a_hung_issuer_times_out(jwks_server: JwksServer, caplog: pytest.LogCaptureFixture) -> None:
    """A JWKS server that never answers costs one timeout, logged, then Unavailable."""
    jwks_server.hang = True
    cache = JwksCache(jwks_server.url, timeout=0.2)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="config_server.auth.jwks"):
        await cache.start()
    try:
        assert time.monotonic() - started < 2
        assert "timed out" in caplog.text and cache.keys is None
    finally:
        await cache.close()


def test_key_set_keeps_only_public_signature_keys(issuer: LocalIssuer) -> None:
    """Symmetric, encryption and unparsable keys are skipped; private members are dropped."""
    private_rsa = issuer.keys["rsa-1"].public_jwk() | {"d": "AQAB", "kid": "leaky"}
    keys = KeySet.parse(
        {
            "keys": [
                {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
                issuer.keys["ec-1"].public_jwk() | {"use": "enc", "kid": "enc"},
                {"kty": "RSA", "kid": "broken", "n": "!!", "e": "AQAB"},
                "not an object",
                private_rsa,
                issuer.keys["ed-1"].public_jwk(),
            ]
        }
    )
    assert keys.kids == ("leaky", "ed-1")
    assert all(key.key.__class__.__name__.endswith("PublicKey") for key in keys.verifiers("leaky", "RS256"))


def test_key_without_alg_fits_each_algorithm_of_its_type(issuer: LocalIssuer) -> None:
    """A JWK with no alg verifies any algorithm its type allows (RS256, PS256), none of another."""
    keys = KeySet.parse({"keys": [issuer.keys["rsa-1"].public_jwk(with_alg=False)]})
    assert [k.algorithm_name for k in keys.verifiers("rsa-1", "PS256")] == ["PS256"]
    assert keys.verifiers("rsa-1", "ES256") == []


async def test_concurrent_lookups_share_one_fetch(
    cache: JwksCache, jwks_server: JwksServer, issuer: LocalIssuer, clock: FakeClock
) -> None:
    """Many tokens with the same new kid at once cause a single fetch, and all verify."""
    rotated = SigningKey.ec("ec-2")
    jwks_server.document = {"keys": [rotated.public_jwk()]}
    clock.advance(30)
    auth = JwtAuthenticator(cache)
    principals = await asyncio.gather(*(auth.authenticate(issuer.token(rotated)) for _ in range(10)))
    assert {p.id for p in principals} == {"jwt:orders"}
    assert jwks_server.fetches == 2
