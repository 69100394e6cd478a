"""``ServerMetrics``: one Prometheus registry per application, and the metrics bumped as events happen.

Each application gets its own ``CollectorRegistry`` (never the process-wide default), so several
servers in one process (tests, ``--workers`` in one interpreter) never share or clash over a
series. What is counted as it happens lives here; what can be read from the server's state at
scrape time is ``metrics.collector``'s. Every name is listed in the README's metrics table.

Label values are bounded: ``http_route`` is the route *template* of the route table (never the raw
path), ``http_request_method`` one of the standard methods or ``_OTHER``, refusal reasons one of a
few fixed words.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import choose_encoder

__all__ = ["HTTP_BUCKETS", "KNOWN_METHODS", "ServerMetrics", "exposition"]

HTTP_BUCKETS = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.075,
    0.1,
    0.25,
    0.5,
    0.75,
    1.0,
    2.5,
    5.0,
    7.5,
    10.0,
    30.0,
    60.0,
    120.0,
)
"""OpenTelemetry's advice for ``http.server.request.duration``, plus 30 s to 120 s for long polls."""

KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE"})
"""Methods reported as they are; any other is ``_OTHER`` (OpenTelemetry's rule, bounding the label)."""


class ServerMetrics:
    """The registry of one server application and its event counters.

    Thread-safe (``prometheus_client`` metrics are): decryption failures are counted from the
    worker thread that decrypts.
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.requests = Histogram(
            "http_server_request_duration_seconds",
            "Duration of HTTP server requests (OpenTelemetry http.server.request.duration).",
            ["http_request_method", "http_route", "http_response_status_code"],
            buckets=HTTP_BUCKETS,
            registry=self.registry,
        )
        self.active_requests = Gauge(
            "http_server_active_requests",
            "HTTP requests being handled now, held long polls and this scrape included "
            "(OpenTelemetry http.server.active_requests).",
            registry=self.registry,
        )
        self.auth_failures = Counter(
            "config_auth_failures",
            "Requests refused 401 or 429 by authentication, by reason: missing-credentials, "
            "bad-basic, bad-bearer, bad-scheme, bad-certificate, throttled.",
            ["reason"],
            registry=self.registry,
        )
        self.auth_denials = Counter(
            "config_auth_denials",
            "Authenticated requests the access policy denied (403), by the action asked for.",
            ["action"],
            registry=self.registry,
        )
        self.decryption_failures = Counter(
            "config_decryption_failures",
            "Values that could not be decrypted or resolved: kind cipher ({cipher}) or "
            "vault-reference ({vault}:path#key).",
            ["kind"],
            registry=self.registry,
        )
        self.served_info_dropped = Counter(
            "config_served_info_dropped",
            "config_served_info series left out by its cap, added up over scrapes "
            "(any increase means the cap bites).",
            registry=self.registry,
        )

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """Record one answered request (``route``: its template, or "" when no route matched)."""
        method = method if method in KNOWN_METHODS else "_OTHER"
        self.requests.labels(method, route, str(status)).observe(seconds)

    def scrape(self, accept: str | None) -> tuple[bytes, str]:
        """The exposition for an ``Accept`` header: ``(body, content type)``; see ``exposition``."""
        return exposition(self.registry, accept)


def exposition(registry: CollectorRegistry, accept: str | None) -> tuple[bytes, str]:
    """``registry`` in the Prometheus text format, or OpenMetrics when ``accept`` asks for
    ``application/openmetrics-text``; returns the body and its content type. Runs every
    collector, so call it on the event loop the collected state belongs to."""
    encoder, content_type = choose_encoder(accept or "")
    return encoder(registry), content_type
