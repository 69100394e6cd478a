"""Loading over real loopback HTTP: merge, views, request shape, errors, retries and the cache."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest
from config_client import (
    AsyncConfigClient,
    AuthenticationFailed,
    ConfigNotFound,
    ConfigUnavailable,
    InvalidResponse,
    SnapshotRejected,
)

from tests.client.spring_server import SpringServer


def client_for(server: SpringServer, **options: object) -> AsyncConfigClient:
    return AsyncConfigClient(server.url, application="orders", profiles=["prod"], **options)  # type: ignore[arg-type]


async def test_load_returns_the_merged_read_only_view(spring: SpringServer) -> None:
    """load() returns every key of every source, the first source winning."""
    spring.put(
        "orders",
        "prod",
        [
            ("orders-prod.yml", {"db.url": "jdbc:prod", "port": 8080}),
            ("application.yml", {"db.url": "x", "a": 1}),
        ],
        version="abc123",
    )
    client = client_for(spring)
    snapshot = await client.load()
    assert dict(snapshot) == {"db.url": "jdbc:prod", "port": 8080, "a": 1}
    assert client["db.url"] == "jdbc:prod"
    assert client.get("missing", "fallback") == "fallback"
    assert client.version == "abc123"
    assert snapshot.origin == "server"
    with pytest.raises(TypeError):
        snapshot["db.url"] = "changed"  # type: ignore[index]
    await client.aclose()


async def test_lists_from_a_higher_source_replace_the_lower_list_whole(spring: SpringServer) -> None:
    """A list defined in a higher source is not merged element-wise with a lower one."""
    spring.put(
        "orders",
        "prod",
        [("two", {"a.b[0]": "f", "a.b[1]": "h"}), ("one", {"a.b[0]": "c", "a.b[1]": "d", "a.b[2]": "z"})],
    )
    client = client_for(spring)
    await client.load()
    assert dict(client.snapshot) == {"a.b[0]": "f", "a.b[1]": "h"}
    assert client.nested == {"a": {"b": ("f", "h")}}
    await client.aclose()


async def test_the_request_carries_spring_headers_and_credentials(spring: SpringServer) -> None:
    """Accept, basic auth, X-Config-Token and custom headers are sent; '/' in a label is '(_)'."""
    spring.put("orders", "prod", [("s", {"k": "v"})], label="feature/x")
    client = AsyncConfigClient(
        spring.url,
        application="orders",
        profiles="prod",
        label="feature/x",
        username="svc",
        password="s3cret",
        config_token="vault-token",
        headers={"X-Team": "payments"},
    )
    await client.load()
    seen = spring.seen[-1]
    assert seen.path == "/orders/prod/feature(_)x"
    assert seen.headers["Accept"] == "application/json"
    assert seen.headers["Authorization"] == "Basic " + base64.b64encode(b"svc:s3cret").decode()
    assert seen.headers["X-Config-Token"] == "vault-token"
    assert seen.headers["X-Team"] == "payments"
    assert "s3cret" not in repr(client) and "vault-token" not in repr(client)
    await client.aclose()


async def test_userinfo_in_the_url_becomes_basic_auth_and_a_token_is_bearer(spring: SpringServer) -> None:
    """Credentials in the URL are split off (Spring does the same); token= sends Bearer."""
    client = AsyncConfigClient(
        spring.url.replace("http://", "http://me:p%40ss@"), application="orders", profiles=["prod"]
    )
    await client.load()
    assert spring.seen[-1].headers["Authorization"] == "Basic " + base64.b64encode(b"me:p@ss").decode()
    assert "p%40ss" not in client.url and "me:" not in repr(client)
    await client.aclose()
    bearer = client_for(spring, token="tok")
    await bearer.load()
    assert spring.seen[-1].headers["Authorization"] == "Bearer tok"
    await bearer.aclose()


@pytest.mark.parametrize(
    ("status", "error"),
    [(401, AuthenticationFailed), (403, AuthenticationFailed), (404, ConfigNotFound)],
)
async def test_client_errors_are_raised_without_retrying(
    spring: SpringServer, status: int, error: type
) -> None:
    """A 4xx is final: one request, then the matching error."""
    spring.fail_with = status
    client = client_for(spring, fail_fast=True)
    with pytest.raises(error) as info:
        await client.load()
    assert info.value.status == status
    assert len(spring.seen) == 1
    await client.aclose()


@pytest.mark.parametrize(
    "body", [b"<html>oops</html>", b'{"name": 1}', b'{"name":"o","propertySources":["x"]}', b"[" * 100_000]
)
async def test_a_body_that_is_not_an_environment_is_invalid_response(
    spring: SpringServer, body: bytes
) -> None:
    """Garbage, wrong shapes and JSON bombs give InvalidResponse after the retries."""
    spring.garbage = body
    client = client_for(spring, fail_fast=True, retry_max_attempts=2)
    with pytest.raises(InvalidResponse):
        await client.load()
    assert len(spring.seen) == 2
    await client.aclose()


async def test_fail_fast_raises_unavailable_after_the_retries(unused_tcp_port: int) -> None:
    """With the server down and fail_fast, every attempt is made, then ConfigUnavailable."""
    client = AsyncConfigClient(
        f"http://127.0.0.1:{unused_tcp_port}", application="orders", fail_fast=True, retry_max_attempts=3
    )
    with pytest.raises(ConfigUnavailable, match="gave up after 3 attempts") as info:
        await client.load()
    assert info.value.attempts == 3
    await client.aclose()


async def test_a_failed_async_with_frees_the_client(unused_tcp_port: int) -> None:
    """When ``async with`` cannot start (fail_fast, server down) the client is closed anyway."""
    client = AsyncConfigClient(
        f"http://127.0.0.1:{unused_tcp_port}", application="orders", fail_fast=True, retry_max_attempts=1
    )
    with pytest.raises(ConfigUnavailable):
        async with client:
            pytest.fail("the block must not run")
    assert client._transport._session is None  # closed and dropped


async def test_server_down_at_start_falls_back_to_the_cache(spring: SpringServer, tmp_path: Path) -> None:
    """A successful load writes the cache; with the server down a new client starts from it."""
    first = client_for(spring, cache_dir=tmp_path)
    await first.load()
    await first.aclose()
    spring.stop()
    second = client_for(spring, cache_dir=tmp_path)
    snapshot = await second.load()
    assert snapshot.origin == "cache"
    assert dict(snapshot) == {"db.url": "jdbc:prod", "a": 1}
    await second.aclose()


async def test_fail_fast_ignores_the_cache(spring: SpringServer, tmp_path: Path) -> None:
    """fail_fast=True raises even when a cache exists."""
    first = client_for(spring, cache_dir=tmp_path)
    await first.load()
    await first.aclose()
    spring.stop()
    client = client_for(spring, cache_dir=tmp_path, fail_fast=True, retry_max_attempts=2)
    with pytest.raises(ConfigUnavailable):
        await client.load()
    await client.aclose()


async def test_no_server_and_no_cache_raises(spring: SpringServer, tmp_path: Path) -> None:
    """Without a server or a cache there is nothing to start from: the error says both."""
    spring.stop()
    client = client_for(spring, cache_dir=tmp_path / "empty", retry_max_attempts=2)
    with pytest.raises(ConfigUnavailable, match="no usable last-known-good cache"):
        await client.load()
    await client.aclose()


async def test_cache_file_is_private_and_replaced_atomically(spring: SpringServer, tmp_path: Path) -> None:
    """The cache file has mode 0600 and no temporary file is left beside it."""
    client = client_for(spring, cache_dir=tmp_path / "cache")
    await client.load()
    await client.aclose()
    files = list((tmp_path / "cache").iterdir())
    assert len(files) == 1
    assert stat.S_IMODE(os.stat(files[0]).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(tmp_path / "cache").st_mode) == 0o700


async def test_validate_rejecting_the_first_load_raises(spring: SpringServer) -> None:
    """A configuration the validate hook refuses is never served."""

    def need_port(snapshot: object) -> None:
        raise ValueError("port is required")

    client = client_for(spring, validate=need_port, fail_fast=True)
    with pytest.raises(SnapshotRejected, match="port is required"):
        await client.load()
    with pytest.raises(RuntimeError):
        client.get("db.url")
    await client.aclose()


async def test_environment_variables_override_pulled_values(spring: SpringServer) -> None:
    """DB_URL overrides db.url and MY_LIST_0_ overrides my.list[0]; unknown names add nothing."""
    spring.put("orders", "prod", [("s", {"db.url": "jdbc:prod", "my.list[0]": "a", "my.list[1]": "b"})])
    environ = {"DB_URL": "jdbc:local", "MY_LIST_0_": "z", "OTHER_THING": "x"}
    client = client_for(spring, environ=environ)
    await client.load()
    assert dict(client.snapshot) == {"db.url": "jdbc:local", "my.list[0]": "z", "my.list[1]": "b"}
    await client.aclose()
    off = client_for(spring, environ=environ, env_overrides=False)
    await off.load()
    assert off["db.url"] == "jdbc:prod"
    await off.aclose()


async def test_local_file_overrides_the_server_and_env_overrides_both(
    spring: SpringServer, tmp_path: Path
) -> None:
    """Precedence: environment variables, then the local file, then the server."""
    local = tmp_path / "local.yml"
    local.write_text("db:\n  url: jdbc:file\n  user: dev\na: 2\n")
    client = client_for(spring, local_file=local, environ={"A": "3"})
    await client.load()
    assert dict(client.snapshot) == {"db.url": "jdbc:file", "a": "3", "db.user": "dev"}
    await client.aclose()
