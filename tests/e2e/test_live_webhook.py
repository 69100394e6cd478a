"""Webhooks end to end: a signed push notification makes a remote's change visible at once.

The remote is served by ``git daemon`` (``git://127.0.0.1``), so the server cannot watch it on
disk, and background fetches are an hour apart: only ``POST /monitor`` can bring the change in.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest
from config_client import AsyncConfigClient

from config_server.components import GIT, LIVE
from config_server.secret import Secret
from tests.e2e.live_support import ChangeLog, LiveServer, local_settings, wait_until
from tests.support.gitdaemon import git_daemon
from tests.support.gitrepo import GitRemote

SECRET = "hook-s3cret"
WEBHOOK_TO_CALLBACK_BOUND = 3.0


pytestmark = pytest.mark.usefixtures("no_backoff_sleeps")


@pytest.fixture
def daemon_uri(git_remote: GitRemote) -> Iterator[str]:
    """``git://`` URL of the test's bare remote, served read-only by ``git daemon`` on loopback."""
    with git_daemon(git_remote) as uri:
        yield uri


@pytest.fixture
async def server(git_remote: GitRemote, daemon_uri: str, tmp_path: Path) -> AsyncIterator[LiveServer]:
    """The real server on that remote with --monitor-secret and refresh_rate=3600."""
    git_remote.write({"orders.yml": "greeting: hello\n"})
    live = LiveServer(local_settings(daemon_uri, tmp_path / "clone", monitor_secret=Secret(SECRET)))
    await live.start()
    yield live
    await live.stop()


def github_push(*paths: str) -> bytes:
    """A GitHub push payload naming ``paths`` as modified."""
    return json.dumps(
        {"ref": "refs/heads/main", "commits": [{"added": [], "removed": [], "modified": list(paths)}]}
    ).encode()


def signed(body: bytes, secret: str) -> dict[str, str]:
    """GitHub's headers for ``body`` signed with ``secret`` (HMAC-SHA256)."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/json",
        "X-GitHub-Event": "push",
        "X-Hub-Signature-256": f"sha256={digest}",
    }


async def post_monitor(server: LiveServer, body: bytes, headers: dict[str, str]) -> tuple[int, object]:
    """POST the webhook; its status and JSON answer."""
    url = server.url + "/monitor"
    async with aiohttp.ClientSession() as http, http.post(url, data=body, headers=headers) as resp:
        return resp.status, await resp.json()


async def test_signed_webhook_delivers_a_push_at_once(server: LiveServer, git_remote: GitRemote) -> None:
    """The push is invisible until a correctly signed webhook; then the callback follows at once."""
    assert server.app[GIT].repository.local_path is None  # really not watchable on disk
    changes = ChangeLog()
    async with AsyncConfigClient(server.url, application="orders", long_poll_wait=30) as client:
        client.on_change(changes)
        live = server.app[LIVE]
        assert live is not None
        await wait_until(live.hub.watcher_count, 5)
        sha = await asyncio.to_thread(git_remote.write, {"orders.yml": "greeting: hooked\n"})
        await asyncio.sleep(0.5)
        assert changes.events == [] and client["greeting"] == "hello"  # nothing can see it yet

        body = github_push("orders.yml")
        sent = time.monotonic()
        status, names = await post_monitor(server, body, signed(body, SECRET))
        assert (status, names) == (200, ["orders"])
        arrived, event = await changes.next(WEBHOOK_TO_CALLBACK_BOUND + 2)
        assert arrived - sent < WEBHOOK_TO_CALLBACK_BOUND
        assert event.changed == {"greeting": ("hello", "hooked")} and client.version == sha


@pytest.mark.parametrize(
    "headers",
    [
        {"Content-Type": "application/json", "X-GitHub-Event": "push"},
        signed(github_push("orders.yml"), "not-the-secret"),
        {**signed(github_push("orders.yml"), SECRET), "X-Hub-Signature-256": "sha256=" + "0" * 64},
        {**signed(github_push("orders.yml"), SECRET), "X-Hub-Signature-256": "sha1=abc"},
    ],
    ids=["unsigned", "wrong-secret", "wrong-digest", "malformed"],
)
async def test_badly_signed_webhook_changes_nothing(
    server: LiveServer, git_remote: GitRemote, headers: dict[str, str]
) -> None:
    """A webhook without a valid signature is refused with 401 and fetches nothing."""
    async with AsyncConfigClient(server.url, application="orders", long_poll_wait=30) as client:
        changes = ChangeLog()
        client.on_change(changes)
        before = client.version
        await asyncio.to_thread(git_remote.write, {"orders.yml": "greeting: forged\n"})
        status, answer = await post_monitor(server, github_push("orders.yml"), headers)
        assert status == 401
        assert isinstance(answer, dict) and SECRET not in json.dumps(answer)
        await asyncio.sleep(0.3)
        assert changes.events == [] and client["greeting"] == "hello"
        assert await server.app[GIT].resolve(None) == before
