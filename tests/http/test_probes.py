"""``/actuator/health/liveness`` and ``/actuator/health/readiness`` against real git and OpenBao."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from config_server.secret import Secret
from tests.http.conftest import Serve
from tests.http.test_authorization import basic, users_file
from tests.support.gitrepo import GitRemote
from tests.support.openbao import OpenBao

READY = "/actuator/health/readiness"
LIVE = "/actuator/health/liveness"


async def _until(client: Any, path: str, status: int, *, timeout: float = 10.0) -> dict[str, Any]:
    """Poll ``path`` until it answers ``status``; its body then."""
    deadline = time.monotonic() + timeout
    while True:
        resp = await client.get(path)
        if resp.status == status:
            body: dict[str, Any] = await resp.json()
            return body
        assert time.monotonic() < deadline, f"{path} still {resp.status}: {await resp.text()}"
        await asyncio.sleep(0.1)


async def test_probes_are_up_after_start(git_remote: GitRemote, serve: Serve) -> None:
    """A started server is live and ready; without authentication the checks are shown."""
    git_remote.write({"a.yml": "a: 1\n"})
    client = await serve(git_remote)
    live = await client.get(LIVE)
    assert live.status == 200
    assert (await live.json())["checks"]["eventLoop"]["status"] == "UP"
    ready = await client.get(READY)
    assert ready.status == 200
    body = await ready.json()
    assert body["status"] == "UP" and body["checks"]["git"]["status"] == "UP"


async def test_probes_are_public_and_details_need_health_details(
    git_remote: GitRemote, serve: Serve, tmp_path: Path
) -> None:
    """With authentication on, anyone gets the probes' status; only health-details the checks."""
    git_remote.write({"a.yml": "a: 1\n"})
    (tmp_path / "policy.yml").write_text(
        'rules:\n  - principals: ["user:ops"]\n    actions: [health-details]\n'
    )
    client = await serve(
        git_remote,
        auth_users=users_file(tmp_path / "users", {"ops": "ops-pw"}),
        access_policy=tmp_path / "policy.yml",
    )
    for path in (LIVE, READY):
        assert await (await client.get(path)).json() == {"status": "UP"}
        detailed = await (await client.get(path, headers=basic("ops", "ops-pw"))).json()
        assert "checks" in detailed


async def test_readiness_down_while_the_remote_is_unreachable_beyond_max_staleness(
    git_remote: GitRemote, serve: Serve
) -> None:
    """A quiet repository stays ready (it is fetched); an unreachable one is 503 once its last
    fetch is older than --max-staleness, and ready again when the remote returns."""
    git_remote.write({"a.yml": "a: 1\n"})
    client = await serve(git_remote, refresh_rate=0.1, max_staleness=0.6)
    await asyncio.sleep(1.0)  # quiet: nothing pushed for longer than max-staleness
    assert (await client.get(READY)).status == 200
    moved = git_remote.bare.with_name("moved.git")
    git_remote.bare.rename(moved)
    try:
        body = await _until(client, READY, 503)
        assert body["status"] == "DOWN" and body["checks"]["git"]["status"] == "DOWN"
        assert "over 0.6 s" in body["checks"]["git"]["detail"]
        assert (await client.get("/a/default")).status == 200  # still served, just not ready
        assert (await client.get(LIVE)).status == 200  # and alive: no restart for this
    finally:
        moved.rename(git_remote.bare)
    assert (await _until(client, READY, 200))["checks"]["git"]["status"] == "UP"


@pytest.fixture
def private_bao() -> Iterator[OpenBao]:
    """An OpenBao of this test's own, to be stopped and started again."""
    with OpenBao() as bao:
        yield bao


async def test_readiness_down_while_openbao_is_stopped(
    git_remote: GitRemote, serve: Serve, private_bao: OpenBao
) -> None:
    """Readiness is 503 with vault DOWN while OpenBao is stopped, and UP again once it is back."""
    git_remote.write({"a.yml": "a: 1\n"})
    client = await serve(git_remote, vault_url=private_bao.url, vault_token=Secret(private_bao.root_token))
    assert (await client.get(READY)).status == 200
    await asyncio.to_thread(private_bao.stop)
    body = await _until(client, READY, 503)
    assert body["checks"]["vault"]["status"] == "DOWN"
    assert body["checks"]["git"]["status"] == "UP"
    assert (await client.get(LIVE)).status == 200
    await asyncio.to_thread(private_bao.start, port=private_bao.port)
    assert (await _until(client, READY, 200))["checks"]["vault"]["status"] == "UP"


async def test_readiness_down_while_the_audit_log_cannot_be_written(
    git_remote: GitRemote, serve: Serve, tmp_path: Path
) -> None:
    """An audit log that cannot be written makes readiness 503 (audit DOWN); writable again, UP."""
    git_remote.write({"a.yml": "a: 1\n"})
    folder = tmp_path / "logs"
    folder.mkdir()
    client = await serve(git_remote, audit_log=str(folder / "audit.log"), audit_key=Secret("k" * 32))
    assert (await client.get(READY)).status == 200
    shutil.rmtree(folder)
    assert (await client.get("/a/default")).status == 503  # the failed write is what shows it
    body = await _until(client, READY, 503)
    assert body["checks"]["audit"]["status"] == "DOWN"
    folder.mkdir()
    assert (await client.get("/a/default")).status == 200
    assert (await _until(client, READY, 200))["checks"]["audit"]["status"] == "UP"
