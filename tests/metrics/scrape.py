"""Reading ``/actuator/prometheus`` in tests: the samples of one scrape by name and labels, and a
server that only a ``scraper`` principal may scrape."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient
from prometheus_client.parser import text_string_to_metric_families

from tests.http.conftest import Serve
from tests.http.test_authorization import users_file
from tests.support.gitrepo import GitRemote

SCRAPER_POLICY = """
rules:
  - principals: ["user:scraper"]
    actions: [admin]
  - principals: ["user:orders"]
    applications: ["{name}"]
    actions: [read]
"""
SCRAPER_PASSWORDS = {"scraper": "scraper-pw", "orders": "orders-pw"}


async def serve_scraped(serve: Serve, remote: GitRemote, tmp_path: Path) -> TestClient[Any, Any]:
    """A server with Basic users ``scraper`` (``admin``: it may scrape) and ``orders`` (reads its
    own application), passwords ``SCRAPER_PASSWORDS``."""
    (tmp_path / "policy.yml").write_text(SCRAPER_POLICY)
    users = users_file(tmp_path / "users", SCRAPER_PASSWORDS)
    return await serve(remote, auth_users=users, access_policy=tmp_path / "policy.yml")


async def scrape(client: Any, **headers: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of one scrape: ``(name, labels) -> value``."""
    resp = await client.get("/actuator/prometheus", headers=headers)
    assert resp.status == 200, await resp.text()
    out: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family in text_string_to_metric_families(await resp.text()):
        for sample in family.samples:
            out[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return out


def value(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    """The sample ``name`` with exactly ``labels`` (0 when absent: a counter not bumped yet)."""
    return samples.get((name, frozenset(labels.items())), 0.0)
