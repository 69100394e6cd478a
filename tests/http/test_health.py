"""/actuator/health and /health: Spring Boot style status with git details."""

from __future__ import annotations

from tests.http.conftest import Serve, state
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
    await state(client).git.refresh()
    body = await (await client.get("/actuator/health")).json()
    assert body["status"] == "UP"
    assert body["components"]["git"]["details"]["lastError"]
    assert body["components"]["git"]["details"]["ageSeconds"] is not None
