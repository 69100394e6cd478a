"""``/actuator/prometheus``: formats, bounded labels, who may scrape, and the server's own metrics."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import generate_latest

from config_server.components import LIVE, METRICS
from config_server.metrics.collector import StateCollector
from config_server.secret import Secret
from tests.http.conftest import Serve, app_of
from tests.http.test_authorization import basic, users_file
from tests.metrics.scrape import scrape, serve_scraped, value
from tests.support.gitrepo import GitRemote

REQUESTS = "http_server_request_duration_seconds_count"


async def test_request_histogram_uses_route_templates(git_remote: GitRemote, serve: Serve) -> None:
    """Requests are counted by method, route template and status; no raw path is ever a label."""
    git_remote.write({"orders.yml": "a: 1\n"})
    client = await serve(git_remote)
    for path in ("/orders/default", "/orders/dev", "/orders/default/main", "/orders-default.yml"):
        assert (await client.get(path)).status == 200
    assert (await client.get("/orders/default/no-such-label")).status == 404
    assert (await client.get("/actuator/nothing")).status == 404
    samples = await scrape(client)
    get = {"http_request_method": "GET", "http_response_status_code": "200"}
    assert value(samples, REQUESTS, http_route="/{application}/{profiles}", **get) == 2
    assert value(samples, REQUESTS, http_route="/{application}/{profiles}/{label}", **get) == 1
    assert value(samples, REQUESTS, http_route="/{application}-{profiles}.{format}", **get) == 1
    missing = {"http_request_method": "GET", "http_response_status_code": "404"}
    assert value(samples, REQUESTS, http_route="/{application}/{profiles}/{label}", **missing) == 1
    assert value(samples, REQUESTS, http_route="", **missing) == 1  # no route matched
    routes = {dict(labels).get("http_route") for name, labels in samples if name == REQUESTS}
    assert not any(route and ("orders" in route or "nothing" in route) for route in routes)


async def test_openmetrics_when_accept_asks(git_remote: GitRemote, serve: Serve) -> None:
    """Accept: application/openmetrics-text gets OpenMetrics; anything else the text format."""
    git_remote.write({"a.yml": "a: 1\n"})
    client = await serve(git_remote)
    plain = await client.get("/actuator/prometheus")
    assert plain.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    om = await client.get("/actuator/prometheus", headers={"Accept": "application/openmetrics-text"})
    assert om.headers["Content-Type"].startswith("application/openmetrics-text; version=1.0.0")
    assert (await om.text()).endswith("# EOF\n")


async def test_scrape_needs_admin_and_refusals_are_counted(
    git_remote: GitRemote, serve: Serve, tmp_path: Path
) -> None:
    """With authentication on, only an ``admin`` principal scrapes; 401s and 403s are counted by
    reason and action, never by user name."""
    git_remote.write({"orders.yml": "a: 1\n"})
    client = await serve_scraped(serve, git_remote, tmp_path)
    assert (await client.get("/actuator/prometheus")).status == 401
    assert (await client.get("/actuator/prometheus", headers=basic("orders", "orders-pw"))).status == 403
    assert (await client.get("/orders/default", headers=basic("orders", "wrong"))).status == 401
    assert (await client.get("/actuator/health/liveness")).status == 200  # probes stay public
    samples = await scrape(client, **basic("scraper", "scraper-pw"))
    assert value(samples, "config_auth_failures_total", reason="missing-credentials") == 1
    assert value(samples, "config_auth_failures_total", reason="bad-basic") == 1
    assert value(samples, "config_auth_denials_total", action="admin") == 1
    labels = {v for _, ls in samples for _, v in ls}
    assert "orders" not in labels


async def test_decryption_failures_are_counted(git_remote: GitRemote, serve: Serve) -> None:
    """A {cipher} value the key cannot decrypt bumps config_decryption_failures_total{kind="cipher"}."""
    git_remote.write({"a.yml": "password: '{cipher}00112233445566778899aabbccddeeff'\n"})
    client = await serve(git_remote, encrypt_key=Secret("k" * 32))
    assert (await client.get("/a/default")).status == 200
    samples = await scrape(client)
    assert value(samples, "config_decryption_failures_total", kind="cipher") == 1


async def holding(client: TestClient[Any, Any], count: int) -> None:
    """Wait until the server holds ``count`` long polls (up to 10 s: a busy machine is slow)."""
    live = app_of(client)[LIVE]
    assert live is not None
    async with asyncio.timeout(10):
        while live.hub.watcher_count() < count:
            await asyncio.sleep(0.01)


async def test_long_polls_notifications_and_served_info(git_remote: GitRemote, serve: Serve) -> None:
    """A held long poll is open and listed in config_served_info with its commit; the push that
    wakes it is one notification."""
    git_remote.write({"orders.yml": "a: 1\n"})
    client = await serve(git_remote)
    first = await client.get("/orders/dev")
    version = (await first.json())["version"]
    wait = {"If-None-Match": first.headers["ETag"], "Prefer": "wait=20"}
    held = asyncio.ensure_future(client.get("/orders/dev", headers=wait))
    await holding(client, 1)
    samples = await scrape(client)
    assert value(samples, "config_long_polls_open") == 1
    info = {"application": "orders", "profile": "dev", "label": "", "version": version}
    assert value(samples, "config_served_info", **info) == 1
    await asyncio.to_thread(git_remote.write, {"orders.yml": "a: 2\n"})
    assert (await asyncio.wait_for(held, 10)).status == 200
    samples = await scrape(client)
    assert value(samples, "config_notifications_total") == 1
    assert value(samples, "config_long_polls_open") == 0


async def test_active_requests_count_held_polls_and_the_scrape(git_remote: GitRemote, serve: Serve) -> None:
    """http_server_active_requests is what is being handled now: a held long poll and the scrape
    itself; once the poll is answered, only the scrape."""
    git_remote.write({"orders.yml": "a: 1\n"})
    client = await serve(git_remote)
    first = await client.get("/orders/dev")
    assert value(await scrape(client), "http_server_active_requests") == 1
    wait = {"If-None-Match": first.headers["ETag"], "Prefer": "wait=20"}
    held = asyncio.ensure_future(client.get("/orders/dev", headers=wait))
    await holding(client, 1)
    assert value(await scrape(client), "http_server_active_requests") == 2
    await asyncio.to_thread(git_remote.write, {"orders.yml": "a: 2\n"})
    assert (await asyncio.wait_for(held, 10)).status == 200
    assert value(await scrape(client), "http_server_active_requests") == 1


async def test_served_info_is_capped_and_the_drop_counted(git_remote: GitRemote, serve: Serve) -> None:
    """Past the cap, config_served_info leaves series out and counts them."""
    git_remote.write({"a.yml": "a: 1\n"})
    client = await serve(git_remote)
    held = []
    for app in ("a", "b", "c"):
        etag = (await client.get(f"/{app}/default")).headers["ETag"]
        held.append(
            asyncio.ensure_future(
                client.get(f"/{app}/default", headers={"If-None-Match": etag, "Prefer": "wait=20"})
            )
        )
    await holding(client, 3)
    app_: web.Application = app_of(client)
    registry = CollectorRegistry()
    registry.register(StateCollector(app_, max_served=2))
    text = generate_latest(registry).decode()
    assert text.count("config_served_info{") == 2
    samples = await scrape(client)
    assert value(samples, "config_served_info_dropped_total") == 1
    app_[LIVE].release_watchers()
    await asyncio.gather(*held)


async def test_each_app_has_its_own_registry(git_remote: GitRemote, serve: Serve, tmp_path: Path) -> None:
    """Two servers in one process count their own requests only."""
    git_remote.write({"a.yml": "a: 1\n"})
    one = await serve(git_remote)
    two = await serve(git_remote, basedir=tmp_path / "second")
    await one.get("/a/default")
    route = {"http_route": "/{application}/{profiles}", "http_request_method": "GET"}
    assert value(await scrape(one), REQUESTS, http_response_status_code="200", **route) == 1
    assert value(await scrape(two), REQUESTS, http_response_status_code="200", **route) == 0


async def test_a_throttled_address_is_counted_as_throttled(
    git_remote: GitRemote, serve: Serve, tmp_path: Path
) -> None:
    """Past the failed-login limit, refusals (429) count as reason="throttled"."""
    git_remote.write({"a.yml": "a: 1\n"})
    client = await serve(git_remote, auth_users=users_file(tmp_path / "users", {"orders": "orders-pw"}))
    statuses = [(await client.get("/a/default", headers=basic("orders", "wrong"))).status for _ in range(12)]
    assert statuses[-1] == 429
    registry = app_of(client)[METRICS].registry
    assert registry.get_sample_value("config_auth_failures_total", {"reason": "throttled"}) == statuses.count(
        429
    )
    assert registry.get_sample_value("config_auth_failures_total", {"reason": "bad-basic"}) == statuses.count(
        401
    )
