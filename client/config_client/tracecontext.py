"""W3C trace context for the client's requests, when the service uses OpenTelemetry.

If the ``opentelemetry`` API is importable and a span is current in the calling service,
``inject(headers)`` adds ``traceparent`` (and ``tracestate``) through OpenTelemetry's configured
propagators, so the server's spans and log lines join the service's trace. OpenTelemetry is
never a dependency of this library: without it (or with no current span) nothing is added.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, MutableMapping
from typing import Any

__all__ = ["inject"]


@functools.cache
def _injector() -> Callable[[MutableMapping[str, str]], None] | None:
    try:
        from opentelemetry import propagate
    except ImportError:
        return None
    inject: Callable[..., Any] = propagate.inject
    return lambda carrier: inject(carrier)


def inject(headers: MutableMapping[str, str]) -> None:
    """Add the current OpenTelemetry context's ``traceparent``/``tracestate`` to ``headers``.

    A no-op without OpenTelemetry installed or without a valid current span (the propagator then
    writes nothing). Never raises: tracing must not break fetching configuration.
    """
    injector = _injector()
    if injector is None:
        return
    try:
        injector(headers)
    except Exception:  # a misconfigured propagator in the service must not cost it its config
        return
