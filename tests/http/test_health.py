"""/actuator/health and /health: Spring Boot style status with git details."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

import pytest

from config_server.components import GIT
from config_server.http.health import overall_status, render
from config_server.sources.base import SourceHealth
from tests.http.conftest import Serve, app_of
from tests.support.gitrepo import GitRemote


async def test_health_up_with_git_details(git_remote: GitRemote, serve: Serve) -> None:
    """UP with the repository, last successful fetch and its age."""
    git_remote.write({"a.yml": "a: 1\n"})
    client = await serve(git_remote)
    for path in ("/actuator/health", "/health"):
        resp = await client.get(path)
        assert resp.status == 200
        body = await resp.json()
        assert body["status"] == "UP"
        git = body["components"]["git"]
        assert git["status"] == "UP"
        assert git["details"]["lastSuccessfulFetch"] is not None
        assert git["details"]["ageSeconds"] >= 0
        assert git["details"]["lastError"] is None


async def test_health_reports_fetch_failure_and_age(git_remote: GitRemote, serve: Serve) -> None:
    """With the remote gone, health still says UP (stale data is served) and shows the error."""
    git_remote.write({"a.yml": "a: 1\n"})
    client = await serve(git_remote)
    git_remote.bare.rename(git_remote.bare.with_name("moved.git"))
    await app_of(client)[GIT].refresh()
    body = await (await client.get("/actuator/health")).json()
    assert body["status"] == "UP"
    assert body["components"]["git"]["details"]["lastError"]
    assert body["components"]["git"]["details"]["ageSeconds"] is not None


async def test_restart_with_remote_gone_serves_the_clone_and_stays_up(
    git_remote: GitRemote, serve: Serve
) -> None:
    """Restarted on its old clone while the remote is unreachable: UP, data served, age from the
    earlier run's last fetch, and the error shown."""
    git_remote.write({"a.yml": "a: 1\n"})
    first = await serve(git_remote)
    fetched = (await (await first.get("/actuator/health")).json())["components"]["git"]["details"]
    await first.close()
    closed = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    git_remote.bare.rename(git_remote.bare.with_name("moved.git"))
    client = await serve(git_remote)
    resp = await client.get("/actuator/health")
    assert resp.status == 200
    body = await resp.json()
    assert body["status"] == "UP" and body["components"]["git"]["status"] == "UP"
    details = body["components"]["git"]["details"]
    # The first run's last fetch: the one health showed, or a background one after it (the
    # watcher's catch-up), never later than its close. ISO-8601 UTC strings compare as times.
    assert fetched["lastSuccessfulFetch"] <= details["lastSuccessfulFetch"] <= closed
    assert details["ageSeconds"] is not None and details["lastError"]
    assert (await (await client.get("/a/default")).json())["propertySources"][0]["source"] == {"a": 1}


def test_a_health_entry_renders_in_spring_boots_shape() -> None:
    """Detail names are camelCased and times ISO-8601 UTC; status as given."""
    when = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    entry = SourceHealth("git", "UP", {"last_successful_fetch": when, "age_seconds": 1.5, "last_error": None})
    assert render(entry) == {
        "status": "UP",
        "details": {"lastSuccessfulFetch": "2026-12-01T09:30:00Z", "ageSeconds": 1.5, "lastError": None},
    }


@pytest.mark.parametrize(
    ("entries", "overall"),
    [
        ([("UP", True), ("UP", False)], "UP"),
        ([("UP", True), ("DOWN", False)], "DEGRADED"),
        ([("DOWN", True), ("UP", False)], "DOWN"),
        ([("DOWN", True), ("DOWN", False)], "DOWN"),
    ],
)
def test_overall_status_is_down_only_for_an_essential_source(
    entries: list[tuple[Literal["UP", "DOWN"], bool]], overall: str
) -> None:
    """An essential source down (git, no data) is DOWN; any other source down is DEGRADED."""
    health = [
        SourceHealth(f"s{i}", status, essential=essential) for i, (status, essential) in enumerate(entries)
    ]
    assert overall_status(health) == overall
