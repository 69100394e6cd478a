"""``StateCollector``: the metrics read from the server's state when Prometheus scrapes.

Nothing here is counted as it happens: each scrape reads what the components keep anyway (each
git clone's status and fetch ``Timings``, the Vault manager's call ``Timings``, the service's
caches and resolution ``Timings``, the long-poll hub, the loop monitor) and renders it. A resource
not started yet (or without a configuration: no Vault) is simply left out.

``config_served_info`` has one series per watched environment (application, profile, label, and
the version its watchers hold), at most ``MAX_SERVED_SERIES``; what the cap leaves out is added to
``config_served_info_dropped_total``. ``config_unhandled_errors_total`` has one series per
fingerprint (``errortracking``), for the first ``MAX_ERROR_FINGERPRINTS`` seen; the others add
up under ``_other``. The fleet view's size and drops are ``config_fleet_instances`` and
``config_fleet_dropped_total``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from aiohttp import web
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from config_server import components
from config_server.metrics.timings import TimingsSnapshot
from config_server.names import EnvRequest

__all__ = ["MAX_ERROR_FINGERPRINTS", "MAX_SERVED_SERIES", "OTHER_FINGERPRINT", "StateCollector"]

MAX_SERVED_SERIES = 10_000
"""The most ``config_served_info`` series one scrape returns."""
MAX_ERROR_FINGERPRINTS = 100
"""The most ``config_unhandled_errors_total`` series (the fingerprints seen first)."""
OTHER_FINGERPRINT = "_other"
"""The fingerprint label under which the errors past ``MAX_ERROR_FINGERPRINTS`` add up."""


class StateCollector:
    """A ``prometheus_client`` collector over one application's state (event loop only)."""

    def __init__(
        self,
        app: web.Application,
        *,
        max_served: int = MAX_SERVED_SERIES,
        max_fingerprints: int = MAX_ERROR_FINGERPRINTS,
    ) -> None:
        self._app = app
        self._max_served = max_served
        self._max_fingerprints = max_fingerprints

    def collect(self) -> Iterator[Metric]:
        """Every family this collector knows, from the state now."""
        yield from self._git()
        yield from self._vault()
        yield from self._service()
        yield from self._live()
        yield self._errors()
        monitor = self._app.get(components.LOOP)
        if monitor is not None:
            lag = GaugeMetricFamily(
                "config_event_loop_lag_seconds", "How late the event loop's last heartbeat woke."
            )
            lag.add_metric([], monitor.lag)
            yield lag

    def _git(self) -> Iterator[Metric]:
        repositories = self._app.get(components.REPOSITORIES)
        if repositories is None:
            return
        labels = ["repository"]
        duration = _histogram(
            "config_git_fetch_duration_seconds", "Duration of git fetches, failed ones included.", labels
        )
        failures = CounterMetricFamily("config_git_fetch_failures", "Git fetches that failed.", labels=labels)
        last = GaugeMetricFamily(
            "config_git_last_fetch_success_timestamp_seconds",
            "Unix time of the last successful clone or fetch (an earlier run's, after a restart "
            "with the remote unreachable).",
            labels=labels,
        )
        age = GaugeMetricFamily(
            "config_git_fetch_age_seconds",
            "Seconds since the last successful fetch (what readiness compares with --max-staleness).",
            labels=labels,
        )
        disk = GaugeMetricFamily(
            "config_git_disk_free_bytes",
            "Free bytes where the clone lives, as of the last fetch.",
            labels=labels,
        )
        now = datetime.now(UTC)
        for group in repositories.groups:
            for repo in group.repositories():
                if not repo.started:
                    continue
                name, fetches, status = [repo.name], repo.git.fetches.snapshot(), repo.git.status
                _add(duration, name, fetches)
                failures.add_metric(name, fetches.failures)
                if status.last_success is not None:
                    last.add_metric(name, status.last_success.timestamp())
                    age.add_metric(name, max(0.0, (now - status.last_success).total_seconds()))
                if status.disk is not None:
                    disk.add_metric(name, status.disk.free_bytes)
        yield from (duration, failures, last, age, disk)

    def _vault(self) -> Iterator[Metric]:
        manager = self._app.get(components.VAULT)
        calls = TimingsSnapshot((), 0, 0.0, 0) if manager is None else manager.calls.snapshot()
        duration = _histogram(
            "config_vault_request_duration_seconds",
            "Duration of calls to Vault (reads, logins, health), failed ones included.",
            [],
        )
        errors = CounterMetricFamily(
            "config_vault_request_errors", "Calls to Vault that failed (unreachable, refused, sealed)."
        )
        if manager is not None:  # without Vault: the families, so every name is listed, no samples
            _add(duration, [], calls)
            errors.add_metric([], calls.failures)
        yield from (duration, errors)

    def _service(self) -> Iterator[Metric]:
        service = self._app.get(components.SERVICE)
        if service is None:
            return
        hits = CounterMetricFamily(
            "config_cache_hits", "Cache lookups that found an entry.", labels=["cache"]
        )
        misses = CounterMetricFamily(
            "config_cache_misses", "Cache lookups that found none.", labels=["cache"]
        )
        for name, cache in service.caches().items():
            hits.add_metric([name], cache.hits)
            misses.add_metric([name], cache.misses)
        resolutions = service.resolutions.snapshot()
        duration = _histogram(
            "config_resolution_duration_seconds",
            "Duration of resolving an environment (cached answers included), failed ones included.",
            [],
        )
        _add(duration, [], resolutions)
        failures = CounterMetricFamily(
            "config_resolution_failures", "Environment resolutions that failed (404, 500, 503)."
        )
        failures.add_metric([], resolutions.failures)
        yield from (hits, misses, duration, failures)

    def _live(self) -> Iterator[Metric]:
        live = self._app.get(components.LIVE)
        if live is None:
            return
        open_polls = GaugeMetricFamily("config_long_polls_open", "Long polls (Prefer: wait) held now.")
        open_polls.add_metric([], live.hub.watcher_count())
        sent = CounterMetricFamily(
            "config_notifications", "Long polls woken by a change of their configuration."
        )
        sent.add_metric([], live.hub.notified)
        yield from (open_polls, sent)
        yield self._served(live.served())
        fleet = self._app.get(components.FLEET)
        if fleet is not None:
            instances = GaugeMetricFamily(
                "config_fleet_instances", "Client instances the fleet view (/actuator/clients) tracks now."
            )
            instances.add_metric([], len(fleet))
            dropped = CounterMetricFamily(
                "config_fleet_dropped", "Client instances the fleet view forgot because its cap was reached."
            )
            dropped.add_metric([], fleet.dropped)
            yield from (instances, dropped)

    def _errors(self) -> Metric:
        from config_server.http.errors import ERROR_TRACKER  # the http layer owns the tracker's key

        family = CounterMetricFamily(
            "config_unhandled_errors",
            "Unhandled errors (answered 500 with an error id), by fingerprint: the exception type "
            "and the project's innermost frame; repeats not logged again are counted too.",
            labels=["fingerprint"],
        )
        tracker = self._app.get(ERROR_TRACKER)
        # First seen, first kept: a fingerprint never moves between its series and _other, so
        # every series only grows (a counter).
        counts = list(tracker.counts().items()) if tracker is not None else []
        for fingerprint, count in counts[: self._max_fingerprints]:
            family.add_metric([fingerprint], count)
        rest = sum(count for _, count in counts[self._max_fingerprints :])
        if rest:
            family.add_metric([OTHER_FINGERPRINT], rest)
        return family

    def _served(self, served: Iterable[tuple[EnvRequest, str | None]]) -> Metric:
        info = GaugeMetricFamily(
            "config_served_info",
            "1 per watched environment and the version its long polls hold.",
            labels=["application", "profile", "label", "version"],
        )
        kept: set[tuple[str, str, str, str]] = set()
        dropped: set[tuple[str, str, str, str]] = set()
        for request, version in served:
            labels = (request.name, request.profiles_raw, request.label or "", version or "")
            if labels in kept:
                continue
            if len(kept) >= self._max_served:
                dropped.add(labels)
                continue
            kept.add(labels)
            info.add_metric(list(labels), 1)
        metrics = self._app.get(components.METRICS)
        if dropped and metrics is not None:
            metrics.served_info_dropped.inc(len(dropped))
        return info


def _histogram(name: str, documentation: str, labels: list[str]) -> HistogramMetricFamily:
    return HistogramMetricFamily(name, documentation, labels=labels)


def _add(family: HistogramMetricFamily, labels: list[str], snapshot: TimingsSnapshot) -> None:
    buckets = [("+Inf" if bound == float("inf") else repr(bound), count) for bound, count in snapshot.buckets]
    family.add_metric(labels, buckets, snapshot.sum)
