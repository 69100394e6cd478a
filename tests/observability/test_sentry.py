"""With SENTRY_DSN, an unhandled error reaches Sentry (a local envelope receiver), scrubbed."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from config_server import errortracking
from config_server.errortracking import ErrorTracker
from config_server.http.errors import ERROR_TRACKER, error_middleware
from config_server.http.telemetry import telemetry_middleware
from config_server.secret import Secret
from config_server.settings import Settings


@dataclass
class Receiver:
    """A Sentry ingest stand-in on loopback: it records every envelope posted to it."""

    dsn: str = ""
    envelopes: list[bytes] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()

    async def envelope(request: web.Request) -> web.Response:
        body = await request.read()  # aiohttp undoes the gzip Content-Encoding
        found.envelopes.append(body)
        found.arrived.set()
        return web.json_response({"id": secrets.token_hex(16)})

    app = web.Application()
    app.router.add_post("/api/{project}/envelope/", envelope)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    found.dsn = f"http://{secrets.token_hex(16)}@127.0.0.1:{port}/42"
    yield found
    await runner.cleanup()


async def test_an_unhandled_error_reaches_sentry_without_any_secret(
    receiver: Receiver, aiohttp_client: Any
) -> None:
    """The envelope names the error's type, id and fingerprint; no seeded key, token or password,
    and not the message, which may quote a configuration value (it is withheld, with its length)."""
    key, token, password, value = (secrets.token_hex(12) for _ in range(4))
    settings = Settings(repo="https://example.invalid/repo.git", encrypt_key=Secret(key))
    assert errortracking.configure_sentry(settings, {"SENTRY_DSN": receiver.dsn})

    async def buggy(request: web.Request) -> web.Response:
        raise ZeroDivisionError(f"a bug that quotes the key {key} and a value {value}")

    app = web.Application(middlewares=[telemetry_middleware, error_middleware])
    app[ERROR_TRACKER] = ErrorTracker()
    app.router.add_get("/orders/default", buggy)
    client = await aiohttp_client(app)
    try:
        headers = {"X-Config-Token": token, "Authorization": f"Basic {password}", "Cookie": f"s={password}"}
        resp = await client.get("/orders/default", headers=headers)
        assert resp.status == 500 and "ZeroDivisionError" not in await resp.text()
        error_id = resp.headers["X-Error-Id"]
        await asyncio.wait_for(receiver.arrived.wait(), 10)
    finally:
        await asyncio.to_thread(errortracking.close_sentry)
    sent = b"\n".join(receiver.envelopes).decode()
    items = [json.loads(line) for line in sent.splitlines() if line.startswith("{")]
    (event,) = [item for item in items if "exception" in item]
    assert event["exception"]["values"][-1]["type"] == "ZeroDivisionError"
    assert event["exception"]["values"][-1]["value"].startswith("[message withheld: ")
    assert event["tags"]["error_id"] == error_id
    # The bug is in the test's handler: the project's innermost frame is the middleware's.
    assert event["fingerprint"] == ["ZeroDivisionError@config_server/http/errors.py:error_middleware"]
    for seeded in (key, token, password, value):
        assert seeded not in sent
