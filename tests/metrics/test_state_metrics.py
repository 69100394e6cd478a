"""Exported counts the issue promises beyond the request histogram: unhandled errors per
fingerprint (bounded), and the fleet view's size and drops."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from config_server.components import FLEET
from config_server.errortracking import ErrorTracker
from config_server.http.errors import ERROR_TRACKER
from config_server.metrics.collector import StateCollector
from tests.http.conftest import Serve, app_of
from tests.metrics.scrape import scrape, value
from tests.support.gitrepo import GitRemote
from tests.support.paths import REPO_ROOT

ERRORS = "config_unhandled_errors_total"
README = REPO_ROOT / "README.md"


def _report(tracker: ErrorTracker, kind: type[Exception]) -> str:
    try:
        raise kind("boom")
    except Exception as exc:  # a stand-in for a bug, reported as the error middleware does
        return tracker.report(exc).fingerprint


async def test_unhandled_errors_are_counted_per_fingerprint(git_remote: GitRemote, serve: Serve) -> None:
    """Every unhandled error counts under its fingerprint, repeats (not logged again) included."""
    git_remote.write({"a.yml": "a: 1\n"})
    client = await serve(git_remote)
    tracker = app_of(client)[ERROR_TRACKER]
    printed = {_report(tracker, ZeroDivisionError) for _ in range(3)}
    (fingerprint,) = printed
    samples = await scrape(client)
    assert value(samples, ERRORS, fingerprint=fingerprint) == 3


async def test_error_fingerprints_past_the_cap_are_summed_as_other(
    git_remote: GitRemote, serve: Serve
) -> None:
    """The first max_fingerprints fingerprints seen have a series; the later ones add up as "_other"."""
    git_remote.write({"a.yml": "a: 1\n"})
    client = await serve(git_remote)
    app: web.Application = app_of(client)
    for kind in (KeyError, KeyError, ValueError, TypeError, LookupError):
        _report(app[ERROR_TRACKER], kind)
    registry = CollectorRegistry()
    registry.register(StateCollector(app, max_fingerprints=2))
    text = generate_latest(registry).decode()
    assert text.count(ERRORS + "{") == 3
    assert ERRORS + '{fingerprint="KeyError@?"} 2.0' in text
    assert ERRORS + '{fingerprint="_other"} 2.0' in text


async def test_the_fleet_views_size_and_drops_are_metrics(git_remote: GitRemote, serve: Serve) -> None:
    """Instances the fleet view tracks, and those its cap dropped, are exported."""
    git_remote.write({"orders.yml": "a: 1\n"})
    client = await serve(git_remote)
    app_of(client)[FLEET].capacity = 1
    for n in range(3):
        assert (await client.get("/orders/dev", headers={"X-Config-Client-Id": f"host:{n}"})).status == 200
    samples = await scrape(client)
    assert value(samples, "config_fleet_instances") == 1
    assert value(samples, "config_fleet_dropped_total") == 2


async def test_every_exported_metric_is_in_the_readme_table(git_remote: GitRemote, serve: Serve) -> None:
    """Each family a scrape holds is a row of the README's metrics table (counters by their _total)."""
    git_remote.write({"a.yml": "a: 1\n"})
    client = await serve(git_remote)
    assert (await client.get("/a/default")).status == 200
    resp = await client.get("/actuator/prometheus")
    families = text_string_to_metric_families(await resp.text())
    names = {f.name + ("_total" if f.type == "counter" else "") for f in families}
    names = {name for name in names if not name.endswith("_created")}  # the text format's extra gauges
    table = README.read_text()
    assert {name for name in names if f"`{name}`" not in table} == set()
