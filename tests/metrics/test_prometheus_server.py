"""A real Prometheus (Debian's ``prometheus``) scrapes the server: its query API sees our metrics.

The server runs with Basic authentication and a policy that gives ``admin`` to one scraper
principal only, so the scrape also proves ``/actuator/prometheus`` can be opened to a scraper.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.http.conftest import Serve
from tests.http.test_authorization import basic
from tests.metrics.scrape import serve_scraped
from tests.support.gitrepo import GitRemote
from tests.support.prometheus import Prometheus, prometheus_binary

pytestmark = pytest.mark.skipif(
    prometheus_binary() is None, reason="prometheus is not installed (apt-get install prometheus)"
)


async def test_prometheus_scrapes_request_counter_and_fetch_age(
    git_remote: GitRemote, serve: Serve, tmp_path: Path
) -> None:
    """After real requests, Prometheus' query API returns the request counter by route template
    and the fetch-age gauge of the repository."""
    git_remote.write({"orders.yml": "limit: 10\n"})
    client = await serve_scraped(serve, git_remote, tmp_path)
    for _ in range(3):
        assert (await client.get("/orders/default", headers=basic("orders", "orders-pw"))).status == 200
    prom = Prometheus(
        tmp_path / "prometheus",
        target=f"127.0.0.1:{client.port}",
        path="/actuator/prometheus",
        basic_auth=("scraper", "scraper-pw"),
    )
    await asyncio.to_thread(prom.start)
    try:
        requests = await asyncio.to_thread(
            prom.wait_for,
            'http_server_request_duration_seconds_count{http_route="/{application}/{profiles}",'
            'http_request_method="GET",http_response_status_code="200"}',
        )
        assert float(requests[0]["value"][1]) == 3
        age = await asyncio.to_thread(prom.wait_for, 'config_git_fetch_age_seconds{repository="git"}')
        assert 0 <= float(age[0]["value"][1]) < 60
        up = await asyncio.to_thread(prom.query, 'up{job="config-server"}')
        assert float(up[0]["value"][1]) == 1  # scraped with the scraper's credentials
    finally:
        await asyncio.to_thread(prom.stop)
