"""The fleet view end to end: real clients long-polling a real server, ``GET /actuator/clients``.

Three clients of the library (two ``AsyncConfigClient``, one ``ConfigClient``), each with its own
client id, watch ``orders``; one is stopped before a push, so it still holds the old commit while
the other two are woken with the new one. The operator asks ``/actuator/clients`` with the
``admin`` action (Basic user ``ops``); services (their own Basic users) are refused it.
"""

from __future__ import annotations

import asyncio
import base64
import os
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import bcrypt
import pytest
from config_client import AsyncConfigClient, ConfigClient
from config_client.transport import DEFAULT_CLIENT_ID

from config_server.components import GIT, LIVE
from tests.e2e.live_support import LiveServer, local_settings, wait_until
from tests.support.gitrepo import GitRemote

POLICY = """\
rules:
  - principals: ["user:*"]
    applications: ["{name}"]
    actions: [read]
  - principals: ["user:ops"]
    actions: [admin]
"""
PASSWORD = "pw"
OPS = {"Authorization": "Basic " + base64.b64encode(f"ops:{PASSWORD}".encode()).decode()}
ORDERS = {"Authorization": "Basic " + base64.b64encode(f"orders:{PASSWORD}".encode()).decode()}


pytestmark = pytest.mark.usefixtures("no_backoff_sleeps")


@pytest.fixture
async def server(git_remote: GitRemote, tmp_path: Path) -> AsyncIterator[LiveServer]:
    """The real server with Basic users ``orders`` (reads orders) and ``ops`` (admin)."""
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode()
    (tmp_path / "users").write_text(f"orders:{hashed}\nops:{hashed}\n", encoding="utf-8")
    (tmp_path / "policy.yml").write_text(POLICY, encoding="utf-8")
    git_remote.write({"orders.yml": "greeting: hello\n"})
    settings = local_settings(
        git_remote.uri,
        tmp_path / "clone",
        auth_users=tmp_path / "users",
        access_policy=tmp_path / "policy.yml",
    )
    live = LiveServer(settings)
    await live.start()
    yield live
    await live.stop()


def client_options(server: LiveServer, client_id: str) -> dict[str, Any]:
    return {
        "application": "orders",
        "username": "orders",
        "password": PASSWORD,
        "client_id": client_id,
        "long_poll_wait": 30,
    }


async def fleet(server: LiveServer, auth: dict[str, str] | None = OPS) -> tuple[int, Any]:
    """``GET /actuator/clients`` as ``auth``: the status and the JSON (or the text of an error)."""
    async with (
        aiohttp.ClientSession(headers=auth) as session,
        session.get(f"{server.url}/actuator/clients") as resp,
    ):
        body = await resp.json() if resp.status == 200 else await resp.text()
        return resp.status, body


def watchers(server: LiveServer) -> int:
    return server.app[LIVE].hub.watcher_count()


async def test_the_fleet_view_lists_three_clients_on_two_versions(
    server: LiveServer, git_remote: GitRemote
) -> None:
    """After a push, the two running clients are on the new commit, the stopped one on the old."""
    old = await server.app[GIT].resolve(None)
    first = AsyncConfigClient(server.url, **client_options(server, "orders-a:1"))
    stopped = AsyncConfigClient(server.url, **client_options(server, "orders-c:3"))
    synced = ConfigClient(server.url, **client_options(server, "orders-b:2"))
    try:
        await first.start()
        await stopped.start()
        await asyncio.to_thread(synced.start)
        await wait_until(lambda: watchers(server) == 3, 5)
        await stopped.aclose()
        await wait_until(lambda: watchers(server) == 2, 5)
        new = await asyncio.to_thread(git_remote.write, {"orders.yml": "greeting: hi\n"})
        await wait_until(lambda: first.version == new and synced.version == new and watchers(server) == 2, 5)
        status, body = await fleet(server)
    finally:
        await first.aclose()
        await stopped.aclose()
        await asyncio.to_thread(synced.close)
    assert status == 200
    [orders] = body["environments"]
    assert (orders["application"], orders["profiles"], orders["label"]) == ("orders", "default", None)
    assert orders["versions"] == {new: 2, old: 1}
    held = {i["id"]: (i["version"], i["polling"], i["principal"]) for i in orders["instances"]}
    assert held == {
        "orders-a:1": (new, True, "user:orders"),
        "orders-b:2": (new, True, "user:orders"),
        "orders-c:3": (old, False, "user:orders"),
    }
    for instance in orders["instances"]:
        assert instance["address"] == "127.0.0.1"
        assert instance["userAgent"].startswith("config-client/")
        assert instance["etag"].startswith('"')
    assert body["tracked"] == 3 and body["dropped"] == 0


@pytest.mark.parametrize(("auth", "status"), [(None, 401), (ORDERS, 403)])
async def test_only_an_admin_sees_the_fleet(
    server: LiveServer, auth: dict[str, str] | None, status: int
) -> None:
    """An anonymous caller is asked to authenticate; a service without admin is refused."""
    assert (await fleet(server, auth))[0] == status


async def test_an_invalid_client_id_is_not_echoed(server: LiveServer) -> None:
    """An id with a control character, a non-ASCII one, or one too long, is ignored: the instance
    is listed without an id (by its user agent here), and the id is nowhere in the answer."""
    marker = "evil" + "x" * 300
    async with aiohttp.ClientSession(headers=ORDERS) as session:
        for bad in ("evil\tid", "evil-\u00e9", marker):
            headers = {"X-Config-Client-Id": bad, "User-Agent": f"probe-{len(bad)}"}
            async with session.get(f"{server.url}/orders/default", headers=headers) as resp:
                assert resp.status == 200
    status, body = await fleet(server)
    assert status == 200
    [orders] = body["environments"]
    assert {(i["id"], i["userAgent"]) for i in orders["instances"]} == {
        (None, "probe-7"),
        (None, "probe-6"),
        (None, "probe-304"),
    }
    assert "evil" not in str(body)


async def test_the_client_library_names_itself_by_host_and_pid(server: LiveServer) -> None:
    """By default a client sends ``host:pid``; with ``client_id=None`` it is listed without an id."""
    options = client_options(server, "")
    named = {**options, "client_id": DEFAULT_CLIENT_ID}
    anonymous = {**options, "client_id": None, "headers": {"User-Agent": "anon"}}
    async with AsyncConfigClient(server.url, **named), AsyncConfigClient(server.url, **anonymous):
        await wait_until(lambda: watchers(server) == 2, 5)  # the id-less one is seen once it polls
        [orders] = (await fleet(server))[1]["environments"]
    assert {i["id"] for i in orders["instances"]} == {f"{socket.gethostname()}:{os.getpid()}", None}
