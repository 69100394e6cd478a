"""Limits that keep one caller from exhausting the server: long polls per principal and in all, body sizes."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from config_server.components import QUOTA
from config_server.http.bodies import BODY_LIMITS
from config_server.http.routes import EndpointKind
from tests.http.conftest import Serve, app_of
from tests.http.test_authorization import FILES, PASSWORDS, POLICY, basic, users_file
from tests.support.gitrepo import GitRemote


async def secured(
    git_remote: GitRemote, serve: Serve, tmp_path: Path, **settings: Any
) -> TestClient[Any, Any]:
    git_remote.write(FILES)
    (tmp_path / "policy.yml").write_text(POLICY, encoding="utf-8")
    return await serve(
        git_remote,
        auth_users=users_file(tmp_path / "users", PASSWORDS),
        access_policy=tmp_path / "policy.yml",
        **settings,
    )


async def long_poll(client: TestClient[Any, Any], who: str, path: str = "/orders/dev") -> int:
    """A long poll of ``who`` on ``path`` (its current ETag, wait=1): the status it ends with."""
    etag = (await client.get(path, headers=basic(who))).headers["ETag"]
    resp = await client.get(path, headers={**basic(who), "If-None-Match": etag, "Prefer": "wait=1"})
    return resp.status


async def held(client: TestClient[Any, Any], count: int) -> None:
    quota = app_of(client)[QUOTA]
    for _ in range(200):
        if quota.held == count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{quota.held} long polls held, expected {count}")


async def test_a_principals_third_long_poll_is_429_while_another_principal_still_can(
    git_remote: GitRemote, serve: Serve, tmp_path: Path
) -> None:
    """max_watchers_per_principal=2: orders' third poll is 429 with Retry-After; ops still gets held."""
    client = await secured(git_remote, serve, tmp_path, max_watchers_per_principal=2)
    first = [asyncio.create_task(long_poll(client, "orders")) for _ in range(2)]
    await held(client, 2)
    etag = (await client.get("/orders/dev", headers=basic("orders"))).headers["ETag"]
    third = await client.get(
        "/orders/dev", headers={**basic("orders"), "If-None-Match": etag, "Prefer": "wait=1"}
    )
    assert third.status == 429
    assert int(third.headers["Retry-After"]) >= 1
    other = asyncio.create_task(long_poll(client, "ops"))
    await held(client, 3)
    assert await asyncio.gather(*first, other) == [304, 304, 304]


async def test_the_total_long_poll_cap_refuses_every_principal(
    git_remote: GitRemote, serve: Serve, tmp_path: Path
) -> None:
    """max_watchers=2: once orders and payments hold one each, ops' first poll is 429."""
    client = await secured(git_remote, serve, tmp_path, max_watchers=2)
    polls = [
        asyncio.create_task(long_poll(client, "orders")),
        asyncio.create_task(long_poll(client, "payments", "/payments/dev")),
    ]
    await held(client, 2)
    etag = (await client.get("/orders/dev", headers=basic("ops"))).headers["ETag"]
    refused = await client.get(
        "/orders/dev", headers={**basic("ops"), "If-None-Match": etag, "Prefer": "wait=1"}
    )
    assert refused.status == 429
    assert "Retry-After" in refused.headers
    assert await asyncio.gather(*polls) == [304, 304]


async def test_an_encrypt_body_over_1_mib_is_413_even_for_an_allowed_principal(
    git_remote: GitRemote, serve: Serve, tmp_path: Path
) -> None:
    """POST /encrypt with 1 MiB + 1 byte is 413 before it is read (ops may encrypt)."""
    from config_server.secret import Secret

    client = await secured(git_remote, serve, tmp_path, encrypt_key=Secret("k" * 32))
    limit = BODY_LIMITS[EndpointKind.ENCRYPT]
    assert limit == 1024 * 1024
    headers = {**basic("ops"), "Content-Type": "text/plain"}
    assert (await client.post("/encrypt", data=b"x" * (limit + 1), headers=headers)).status == 413
    assert (await client.post("/encrypt", data=b"x" * 1000, headers=headers)).status == 200


async def test_an_anonymous_oversized_body_is_413_without_being_read(
    git_remote: GitRemote, serve: Serve, tmp_path: Path
) -> None:
    """The size limit comes before authentication: no credentials, 2 MiB body: 413."""
    client = await secured(git_remote, serve, tmp_path)
    resp = await client.post(
        "/decrypt", data=b"x" * (2 * 1024 * 1024), headers={"Content-Type": "text/plain"}
    )
    assert resp.status == 413


async def test_a_get_with_a_body_is_413(git_remote: GitRemote, serve: Serve, tmp_path: Path) -> None:
    """A read endpoint takes no body: GET /orders/dev with one byte of body is 413."""
    client = await secured(git_remote, serve, tmp_path)
    resp = await client.get("/orders/dev", data=b"x", headers=basic("orders"))
    assert resp.status == 413
    assert (await resp.json())["status"] == 413
