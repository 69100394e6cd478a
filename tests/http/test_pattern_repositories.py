"""Pattern and composite repositories on a real server: three remotes served by ``git daemon``.

The remotes are ``git://127.0.0.1`` URLs, so the server cannot watch them on disk, and background
fetches are an hour apart: a change arrives only through ``POST /monitor``, which shows which
repositories a webhook fetched.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from config_server.components import GIT, REPOSITORIES
from config_server.errors import InvalidConfiguration
from config_server.formats.representations import Representations
from config_server.http.app import create_app
from config_server.http.protocol import ConnectionLimits
from config_server.live.updates import LiveUpdates
from config_server.names import env_request
from config_server.secret import Secret
from config_server.service import EnvironmentService
from config_server.settings import Settings
from config_server.sources.base import Query
from config_server.sources.git.patterns import GitRepositories, Repository
from config_server.sources.git.repos import parse_composite, parse_repos
from tests.http.conftest import HardenedTestServer, app_of
from tests.sources.conftest import pattern_group
from tests.support import VECTORS as SUPPORT_VECTORS
from tests.support.gitdaemon import serve_git
from tests.support.gitrepo import GitRemote
from tests.support.memory_source import MemorySource
from tests.support.openbao import OpenBao

VECTORS = SUPPORT_VECTORS / "webhooks"


@dataclass
class Remotes:
    """Three remotes under one ``git daemon``: default, payments, and team-orders (a template's)."""

    root: Path
    port: int
    default: GitRemote
    payments: GitRemote
    team_orders: GitRemote

    def url(self, name: str) -> str:
        return f"git://127.0.0.1:{self.port}/{name}/remote.git"


@pytest.fixture
def remotes(tmp_path: Path) -> Iterator[Remotes]:
    root = tmp_path / "remotes"
    default, payments, team = (GitRemote(root / name) for name in ("default", "payments", "team-orders"))
    default.write({"application.yml": "who: default\n", "bar.yml": "bar: 1\n"})
    payments.write({"application.yml": "who: payments\n", "payments-api.yml": "api: 1\n"})
    team.write({"application.yml": "who: team-orders\n"})
    with serve_git(root) as port:
        yield Remotes(root, port, default, payments, team)


def repos_of(remotes: Remotes) -> dict[str, Any]:
    return {
        "payments": {"pattern": ["payments*", "*/pci"], "uri": remotes.url("payments")},
        "teams": {"pattern": "team-*", "uri": f"git://127.0.0.1:{remotes.port}/{{application}}/remote.git"},
    }


@pytest.fixture
async def client(aiohttp_client: Any, remotes: Remotes, tmp_path: Path) -> TestClient[Any, Any]:
    settings = Settings(
        repo=remotes.url("default"),
        repos=parse_repos(repos_of(remotes)),
        basedir=tmp_path / "clone",
        refresh_rate=3600,
        default_label="main",
    )
    server = HardenedTestServer(create_app(settings), limits=ConnectionLimits.from_settings(settings))
    return await aiohttp_client(server)  # type: ignore[no-any-return]


async def sources(client: TestClient[Any, Any], path: str) -> list[tuple[str, dict[str, Any]]]:
    resp = await client.get(path)
    assert resp.status == 200, await resp.text()
    return [(ps["name"], ps["source"]) for ps in (await resp.json())["propertySources"]]


def repository(client: TestClient[Any, Any], name: str) -> Repository:
    (group,) = app_of(client)[REPOSITORIES].groups
    return next(r for r in group.repositories() if r.name == name)


async def test_each_request_is_served_by_its_repository(
    client: TestClient[Any, Any], remotes: Remotes
) -> None:
    """payments*, */pci and team-* requests go to their repositories, others to the default, each
    property source named with its concrete repository's URI."""
    payments = await sources(client, "/payments-api/dev")
    assert payments == [
        (f"{remotes.url('payments')}/payments-api.yml", {"api": 1}),
        (f"{remotes.url('payments')}/application.yml", {"who": "payments"}),
    ]
    assert await sources(client, "/orders/pci") == [
        (f"{remotes.url('payments')}/application.yml", {"who": "payments"})
    ]
    assert await sources(client, "/team-orders/default") == [
        (f"{remotes.url('team-orders')}/application.yml", {"who": "team-orders"})
    ]
    assert await sources(client, "/bar/default") == [
        (f"{remotes.url('default')}/bar.yml", {"bar": 1}),
        (f"{remotes.url('default')}/application.yml", {"who": "default"}),
    ]


async def test_template_repository_that_cannot_be_cloned_falls_to_the_default(
    client: TestClient[Any, Any], remotes: Remotes
) -> None:
    """Spring's missingRepo: team-missing matches team-* but has no remote, so the default serves it."""
    assert await sources(client, "/team-missing/default") == [
        (f"{remotes.url('default')}/application.yml", {"who": "default"})
    ]


async def test_a_repositorys_own_search_paths_are_used_for_it_alone(
    aiohttp_client: Any, remotes: Remotes, tmp_path: Path
) -> None:
    """search-paths: ["{application}"] on payments reads payments-api/ there; the default repository
    keeps the server's (none), as in the issue's example."""
    remotes.payments.write({"payments-api/application.yml": "dir: payments\n"})
    remotes.default.write({"orders/application.yml": "dir: default\n"})
    repos = repos_of(remotes)
    repos["payments"]["search-paths"] = ["{application}"]
    settings = Settings(
        repo=remotes.url("default"), repos=parse_repos(repos), basedir=tmp_path / "clone", refresh_rate=3600
    )
    client = await aiohttp_client(
        HardenedTestServer(create_app(settings), limits=ConnectionLimits.from_settings(settings))
    )
    names = [name for name, _ in await sources(client, "/payments-api/default")]
    assert names[0] == f"{remotes.url('payments')}/payments-api/application.yml"
    assert all("/orders/" not in name for name, _ in await sources(client, "/orders/default"))


async def test_health_has_an_entry_per_repository(client: TestClient[Any, Any], remotes: Remotes) -> None:
    """git (the default), git:payments, git:teams and one entry per template clone, each with its status."""
    await sources(client, "/team-orders/default")
    resp = await client.get("/actuator/health")
    assert resp.status == 200
    body = await resp.json()
    assert body["status"] == "UP"
    components = body["components"]
    assert {"git", "git:payments", "git:teams", "git:teams:team-orders"} <= set(components)
    assert components["git"]["details"]["repository"] == remotes.url("default")
    assert components["git:payments"]["details"]["repository"] == remotes.url("payments")
    assert components["git:payments"]["details"]["lastSuccessfulFetch"]
    assert components["git:teams"]["details"]["clones"] == 1
    assert components["git:teams:team-orders"]["details"]["repository"] == remotes.url("team-orders")


async def test_a_repository_that_cannot_be_cloned_is_down_and_passed_over(
    aiohttp_client: Any, remotes: Remotes, tmp_path: Path
) -> None:
    """A pattern repository whose remote is missing at start: the server starts DEGRADED, the entry
    says why, and its applications are served by the default."""
    settings = Settings(
        repo=remotes.url("default"),
        repos=parse_repos({"gone": {"pattern": "gone*", "uri": remotes.url("nowhere")}}),
        basedir=tmp_path / "clone",
        refresh_rate=3600,
    )
    client = await aiohttp_client(
        HardenedTestServer(create_app(settings), limits=ConnectionLimits.from_settings(settings))
    )
    body = await (await client.get("/actuator/health")).json()
    assert body["status"] == "DEGRADED" and body["components"]["git"]["status"] == "UP"
    gone = body["components"]["git:gone"]
    assert gone["status"] == "DOWN" and "nowhere" in gone["details"]["lastError"]
    assert await sources(client, "/gone-api/default") == [
        (f"{remotes.url('default')}/application.yml", {"who": "default"})
    ]


async def test_pattern_repositories_inherit_the_server_settings(client: TestClient[Any, Any]) -> None:
    """A repository that sets no refresh rate, label or search paths runs with the server's."""
    payments = repository(client, "git:payments")
    assert payments.git.refresh_rate == 3600
    assert payments.spec.default_label == "main"
    assert payments.git.repository.basedir != app_of(client)[GIT].repository.basedir


def github_push(url: str | None) -> bytes:
    payload: dict[str, Any] = {"ref": "refs/heads/main", "commits": [{"modified": ["application.yml"]}]}
    if url is not None:
        payload["repository"] = {"clone_url": url, "html_url": url.removesuffix(".git")}
    return json.dumps(payload).encode()


HEADERS = {"Content-Type": "application/json", "X-GitHub-Event": "push"}


async def test_webhook_fetches_only_the_repository_it_names(
    client: TestClient[Any, Any], remotes: Remotes
) -> None:
    """A push webhook naming payments fetches payments only; one naming no known repository fetches all."""
    await sources(client, "/team-orders/default")
    others = [repository(client, name) for name in ("git", "git:teams:team-orders")]
    before = [r.git.status.last_attempt for r in others]
    await asyncio.to_thread(remotes.payments.write, {"application.yml": "who: payments-2\n"})
    # The payload's URL spelled differently from the configured one: scheme, user, port, .git.
    resp = await client.post(
        "/monitor",
        data=github_push("https://svc@127.0.0.1/payments/remote"),
        headers=HEADERS,
    )
    assert resp.status == 200
    assert await sources(client, "/orders/pci") == [
        (f"{remotes.url('payments')}/application.yml", {"who": "payments-2"})
    ]
    assert [r.git.status.last_attempt for r in others] == before
    resp = await client.post("/monitor", data=github_push("https://elsewhere.example/x.git"), headers=HEADERS)
    assert resp.status == 200
    assert all(r.git.status.last_attempt != b for r, b in zip(others, before, strict=True))


LEFT_WAIT = 3.0  # seconds the watch that must not be woken is held (it is held to the end)


async def hold(
    client: TestClient[Any, Any], *, woken: str, left: str
) -> tuple[dict[str, asyncio.Future[Any]], float]:
    """Long polls of ``woken`` (held 10 s: the push must reach it within) and of ``left`` (held
    LEFT_WAIT s), by path, and the time they were sent."""
    etags = {path: (await client.get(path)).headers["ETag"] for path in (woken, left)}
    sent = time.monotonic()
    held = {
        path: asyncio.ensure_future(
            client.get(path, headers={"If-None-Match": etag, "Prefer": f"wait={wait:g}"})
        )
        for (path, etag), wait in zip(etags.items(), (10, LEFT_WAIT), strict=True)
    }
    await asyncio.sleep(0.3)
    return held, sent


async def held_to_the_end(watch: asyncio.Future[Any], sent: float) -> None:
    """``watch`` was never woken: it ends 304, and only once its whole wait is over. Timed from when
    it was sent rather than asserted "still held" at some moment, which a slow machine (whose push
    and fetch can outlast the wait) would fail."""
    resp = await asyncio.wait_for(watch, LEFT_WAIT + 10)
    assert resp.status == 304
    assert time.monotonic() - sent >= LEFT_WAIT - 0.1


async def test_webhook_wakes_only_that_repositorys_watchers(
    client: TestClient[Any, Any], remotes: Remotes
) -> None:
    """A push to payments answers a watch of payments-api and leaves a watch of bar (default repo) held."""
    held, sent = await hold(client, woken="/payments-api/dev", left="/bar/default")
    await asyncio.to_thread(remotes.payments.write, {"payments-api.yml": "api: 2\n"})
    await client.post("/monitor", data=github_push(remotes.url("payments")), headers=HEADERS)
    woken = await asyncio.wait_for(held["/payments-api/dev"], 5)
    assert woken.status == 200 and (await woken.json())["propertySources"][0]["source"] == {"api": 2}
    await held_to_the_end(held["/bar/default"], sent)


async def test_a_broken_push_to_a_pattern_repository_serves_its_last_good_commit(
    aiohttp_client: Any, remotes: Remotes, tmp_path: Path
) -> None:
    """--serve-last-good guards pattern repositories too: payments-api keeps its last good commit
    of the payments repository, with the Warning and a DEGRADED lastGood entry naming it and its
    repository."""
    settings = Settings(
        repo=remotes.url("default"),
        repos=parse_repos(repos_of(remotes)),
        basedir=tmp_path / "clone",
        refresh_rate=3600,
        serve_last_good=True,
    )
    client = await aiohttp_client(
        HardenedTestServer(create_app(settings), limits=ConnectionLimits.from_settings(settings))
    )
    good = (await (await client.get("/payments-api/default")).json())["version"]
    await asyncio.to_thread(remotes.payments.write, {"payments-api.yml": "api: 2\nx: y: z\n"})
    await client.post("/monitor", data=github_push(remotes.url("payments")), headers=HEADERS)
    resp = await client.get("/payments-api/default")
    assert resp.status == 200 and (await resp.json())["version"] == good
    assert resp.headers["Warning"].startswith(f'199 - "serving {good}: payments-api.yml:2: ')
    entry = (await (await client.get("/actuator/health")).json())["components"]["lastGood"]
    assert entry["status"] == "DEGRADED" and entry["details"]["applications"] == "payments-api"
    assert entry["details"]["repositories"] == remotes.url("payments")  # where to look for the file


async def test_composite_serves_its_entries_in_list_order(
    aiohttp_client: Any, remotes: Remotes, tmp_path: Path
) -> None:
    """composite: [git payments, git default]: payments' sources first; health git and git-2."""
    entries = parse_composite(
        [{"type": "git", "uri": remotes.url("payments")}, {"type": "git", "uri": remotes.url("default")}]
    )
    settings = Settings(
        repo=remotes.url("payments"), composite=entries, basedir=tmp_path / "clone", refresh_rate=3600
    )
    client = await aiohttp_client(
        HardenedTestServer(create_app(settings), limits=ConnectionLimits.from_settings(settings))
    )
    assert [name for name, _ in await sources(client, "/bar/default")] == [
        f"{remotes.url('payments')}/application.yml",
        f"{remotes.url('default')}/bar.yml",
        f"{remotes.url('default')}/application.yml",
    ]
    components = (await (await client.get("/actuator/health")).json())["components"]
    assert components["git"]["details"]["repository"] == remotes.url("payments")
    assert components["git-2"]["details"]["repository"] == remotes.url("default")


async def test_composite_serves_vault_at_its_place_in_the_list(
    aiohttp_client: Any, remotes: Remotes, tmp_path: Path
) -> None:
    """composite: [git payments, vault, git default] on a real OpenBao: Vault's sources sit between."""
    with OpenBao() as bao:
        bao.write_kv2("bar", {"who": "vault-bar"})
        entries = parse_composite(
            [
                {"type": "git", "uri": remotes.url("payments")},
                {"type": "vault"},
                {"type": "git", "uri": remotes.url("default")},
            ]
        )
        settings = Settings(
            repo=remotes.url("payments"),
            composite=entries,
            basedir=tmp_path / "clone",
            refresh_rate=3600,
            vault_url=bao.url,
            vault_token=Secret(bao.root_token),
        )
        client = await aiohttp_client(
            HardenedTestServer(create_app(settings), limits=ConnectionLimits.from_settings(settings))
        )
        assert await sources(client, "/bar/default") == [
            (f"{remotes.url('payments')}/application.yml", {"who": "payments"}),
            ("vault:bar", {"who": "vault-bar"}),
            (f"{remotes.url('default')}/bar.yml", {"bar": 1}),
            (f"{remotes.url('default')}/application.yml", {"who": "default"}),
        ]
        await client.close()


@pytest.fixture
async def capped(remotes: Remotes, tmp_path: Path) -> AsyncIterator[GitRepositories]:
    team_b = GitRemote(remotes.root / "team-b")
    team_b.write({"application.yml": "who: team-b\n"})
    (teams,) = parse_repos(
        {"teams": {"pattern": "team-*", "uri": f"git://127.0.0.1:{remotes.port}/{{application}}/remote.git"}}
    )
    group = pattern_group(remotes.url("default"), teams, tmp_path, max_clones=1)
    await group.start()
    yield group
    await group.close()


@pytest.mark.parametrize("key", ["private-key-file", "known-hosts-file", "ca-file", "password-file"])
async def test_a_repository_file_that_cannot_be_read_stops_the_start(
    remotes: Remotes, tmp_path: Path, key: str
) -> None:
    """A pattern repository naming a key, known_hosts, CA or password file that is not there fails
    the start as the server's own --git-* files do, instead of serving its applications from the default."""
    (payments,) = parse_repos(
        {"payments": {"pattern": "payments*", "uri": remotes.url("payments"), key: str(tmp_path / "nope")}}
    )
    group = pattern_group(remotes.url("default"), payments, tmp_path)
    try:
        with pytest.raises(InvalidConfiguration, match=r"nope: cannot read the git .*\(repos\.payments\)"):
            await group.start()
    finally:
        await group.close()


async def test_template_clones_are_bounded_least_recently_used_first(capped: GitRepositories) -> None:
    """Beyond max_clones the least recently used template clone is closed; asking again re-opens it."""
    query = Query(("team-orders",), ("default",))
    first = await capped.read(query, await capped.pin(query))
    assert first.sources[0].source["who"].value == "team-orders"
    await capped.read(Query(("team-b",), ("default",)), None)
    assert [r.name for r in capped.repositories()] == ["git", "git:teams:team-b"]
    again = await capped.read(query, await capped.pin(query))
    assert again.sources[0].source["who"].value == "team-orders"
    assert [r.name for r in capped.repositories()] == ["git", "git:teams:team-orders"]


@dataclass
class Watched:
    """Live updates over a default and a ``payments*`` repository, plus an unpinned source that,
    like Vault, is read once per recomputation of a watched key: its reads count the work."""

    group: GitRepositories
    live: LiveUpdates
    counter: MemorySource

    async def watch(self, name: str, label: str | None = None) -> asyncio.Task[Representations | None]:
        """A held long poll of ``name/default[/label]``, registered when this returns."""
        req = env_request(name, "default", label)
        etag = (await self.live.service.environment(req)).get("v2").etag
        task = asyncio.ensure_future(self.live.wait(req, "v2", None, etag, 10))
        await asyncio.sleep(0.2)  # registered, and its first look done
        return task

    def recomputed(self) -> list[str]:
        """The applications computed since the last call."""
        names = [",".join(query.applications) for query, _ in self.counter.reads]
        self.counter.reads.clear()
        return names


@pytest.fixture
async def watched(remotes: Remotes, tmp_path: Path) -> AsyncIterator[Watched]:
    (payments,) = parse_repos({"payments": {"pattern": "payments*", "uri": remotes.url("payments")}})
    group = pattern_group(remotes.url("default"), payments, tmp_path)
    await group.start()
    counter = MemorySource("counter", pinned=False)
    live = LiveUpdates(EnvironmentService(sources=[group, counter]))
    await live.start()
    yield Watched(group, live, counter)
    await live.close()
    await group.close()


def names_of(reps: Representations | None) -> list[str]:
    assert reps is not None
    return [ps["name"] for ps in json.loads(reps.get("v2").body)["propertySources"]]


async def test_a_fetch_recomputes_only_the_watchers_its_repository_serves(
    watched: Watched, remotes: Remotes
) -> None:
    """A push to the default recomputes bar's watch, not payments-api's; a push to payments the reverse."""
    bar, payments = await watched.watch("bar"), await watched.watch("payments-api")
    watched.recomputed()
    await asyncio.to_thread(remotes.default.write, {"bar.yml": "bar: 2\n"})
    assert await watched.group.refresh([remotes.url("default")]) == ["git"]
    assert watched.recomputed() == ["bar"]
    assert f"{remotes.url('default')}/bar.yml" in names_of(await asyncio.wait_for(bar, 5))
    bar = await watched.watch("bar")
    watched.recomputed()
    await asyncio.to_thread(remotes.payments.write, {"payments-api.yml": "api: 2\n"})
    assert await watched.group.refresh([remotes.url("payments")]) == ["git:payments"]
    assert watched.recomputed() == ["payments-api"]
    assert f"{remotes.url('payments')}/payments-api.yml" in names_of(await asyncio.wait_for(payments, 5))
    assert not bar.done()
    bar.cancel()


async def test_a_label_moving_between_repositories_still_wakes_its_watchers(
    watched: Watched, remotes: Remotes
) -> None:
    """payments-api@feature, served by the default while payments lacks the branch, is recomputed
    by a push to the default's feature, and by payments gaining the branch (which takes it over)."""
    await asyncio.to_thread(remotes.default.checkout, "feature", create=True)
    await asyncio.to_thread(remotes.default.write, {"payments-api.yml": "api: default\n"})
    await watched.group.refresh([remotes.url("default")])
    held = await watched.watch("payments-api", "feature")
    watched.recomputed()
    await asyncio.to_thread(remotes.default.write, {"payments-api.yml": "api: default-2\n"})
    await watched.group.refresh([remotes.url("default")])
    assert watched.recomputed() == ["payments-api"]
    assert names_of(await asyncio.wait_for(held, 5))[0] == f"{remotes.url('default')}/payments-api.yml"
    held = await watched.watch("payments-api", "feature")
    watched.recomputed()
    await asyncio.to_thread(remotes.payments.checkout, "feature", create=True)
    await asyncio.to_thread(remotes.payments.write, {"payments-api.yml": "api: payments\n"})
    await watched.group.refresh([remotes.url("payments")])
    assert watched.recomputed() == ["payments-api"]
    assert names_of(await asyncio.wait_for(held, 5))[0] == f"{remotes.url('payments')}/payments-api.yml"


async def test_a_template_clone_affects_only_its_own_expansions(capped: GitRepositories) -> None:
    """A team-* clone moves team-orders only; the default moves what it serves (an unclonable
    team-missing, an unmatched orders), not what a clone serves."""
    orders = Query(("team-orders",), ("default",))
    await capped.read(orders, await capped.pin(orders))
    clone = next(r for r in capped.repositories() if r.name == "git:teams:team-orders")
    assert await capped.affects(clone, orders)
    assert not await capped.affects(clone, Query(("team-b",), ("default",)))
    assert not await capped.affects(clone, Query(("orders",), ("default",)))
    assert not await capped.affects(capped.default, orders)
    assert await capped.affects(capped.default, Query(("orders",), ("default",)))
    assert await capped.affects(capped.default, Query(("team-missing",), ("default",)))


async def test_gitea_push_listing_no_files_fetches_answers_star_and_wakes_by_etag(
    client: TestClient[Any, Any], remotes: Remotes
) -> None:
    """Spring's Gitea sample (no files listed) answers ["*"] and still fetches the repository it
    names: the watch whose ETag changed wakes, an unchanged one stays held (the broadcast is the
    answer body; waking follows content). Spring's GiteaPropertyPathNotificationExtractorTests#giteaSample."""
    held, sent = await hold(client, woken="/payments-api/dev", left="/bar/default")
    await asyncio.to_thread(remotes.payments.write, {"payments-api.yml": "api: 2\n"})
    payload = json.loads((VECTORS / "gitea.json").read_bytes())
    payload["repository"]["clone_url"] = remotes.url("payments")
    gitea = {"Content-Type": "application/json", "X-Gitea-Event": "push"}
    resp = await client.post("/monitor", data=json.dumps(payload), headers=gitea)
    assert resp.status == 200 and await resp.json() == ["*"]
    woken = await asyncio.wait_for(held["/payments-api/dev"], 5)
    assert woken.status == 200 and (await woken.json())["propertySources"][0]["source"] == {"api": 2}
    await held_to_the_end(held["/bar/default"], sent)
