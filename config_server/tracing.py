"""Tracing: the one seam between the server and OpenTelemetry (a no-op tracer without the SDK).

W3C Trace Context (https://www.w3.org/TR/trace-context/) is parsed here, by ``parse_traceparent``,
whether or not OpenTelemetry is installed, so the trace id a caller sends reaches the log line and
the audit line of its request even on a server without the ``otel`` extra.

``span(name, ...)`` opens a span around a block and makes it current (a ``contextvars`` value, so
it follows the asyncio task; a blocking call run in an executor keeps no context: open the span on
the event loop around the ``await``). ``current()`` is the trace and span id the log formatter
prints. Two back ends:

- the OpenTelemetry SDK, once ``configure()`` (at ``serve``, from the standard ``OTEL_*``
  variables) or ``use(provider)`` (tests: an in-memory exporter) gave this module a tracer
  provider; spans are exported by the provider's processors (OTLP over HTTP when
  ``OTEL_EXPORTER_OTLP_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` is set);
- otherwise a light context of ids only: a request's spans carry its caller's trace id and fresh
  span ids, nothing is recorded or exported.

Span names and attributes follow the OpenTelemetry semantic conventions where they exist
(``http.request.method``, ``http.route``, ``http.response.status_code``). Never put a value or a
secret in an attribute.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import re
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

__all__ = [
    "SERVICE_NAME",
    "Span",
    "TraceParent",
    "configure",
    "current",
    "enabled",
    "parse_traceparent",
    "shutdown",
    "span",
    "use",
]

SERVICE_NAME: Final = "config-server"
"""The ``service.name`` resource attribute unless ``OTEL_SERVICE_NAME`` says otherwise."""

_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$")
_TRACESTATE_MAX = 512  # characters kept; the spec lets a vendor truncate (at list members)


@dataclass(frozen=True, slots=True)
class TraceParent:
    """A valid W3C ``traceparent`` (lowercase hex ids) with the ``tracestate`` that came with it."""

    trace_id: str
    parent_id: str
    flags: int
    tracestate: str = ""

    @property
    def sampled(self) -> bool:
        """The caller recorded its span (flag bit 0)."""
        return bool(self.flags & 1)


def parse_traceparent(traceparent: str | None, tracestate: str | None = None) -> TraceParent | None:
    """The trace context of a request's headers, or None when ``traceparent`` is absent or invalid.

    Per the W3C spec: version ``ff`` is invalid; version ``00`` has exactly four fields; a later
    version may add fields after a dash (ignored); an all-zero trace id or parent id is invalid;
    upper-case hex is invalid. ``tracestate`` is kept (trimmed to 512 characters at a list
    member) only with a valid ``traceparent``.
    """
    if not traceparent:
        return None
    match = _TRACEPARENT.match(traceparent.strip())
    if match is None:
        return None
    version, trace_id, parent_id, flags, rest = match.groups()
    if version == "ff" or (version == "00" and rest):
        return None
    if trace_id == "0" * 32 or parent_id == "0" * 16:
        return None
    return TraceParent(trace_id, parent_id, int(flags, 16), _tracestate(tracestate))


def _tracestate(value: str | None) -> str:
    if not value:
        return ""
    members = [m.strip() for m in value.split(",") if m.strip() and "=" in m]
    kept: list[str] = []
    size = 0
    for member in members[:32]:  # the spec's maximum number of list members
        size += len(member) + (1 if kept else 0)
        if size > _TRACESTATE_MAX:
            break
        kept.append(member)
    return ",".join(kept)


class Span:
    """The current span as the server sees it: its ids, and attributes set while it runs."""

    __slots__ = ("_otel", "span_id", "trace_id")

    def __init__(self, trace_id: str, span_id: str, otel: Any = None) -> None:
        self.trace_id = trace_id
        self.span_id = span_id
        self._otel = otel

    def set(self, name: str, value: str | int | float | bool) -> None:
        """Set one attribute (recorded with the SDK; dropped without it)."""
        if self._otel is not None:
            self._otel.set_attribute(name, value)

    def rename(self, name: str) -> None:
        """Give the span its final name (a request's, once its route is known)."""
        if self._otel is not None:
            self._otel.update_name(name)

    def error(self, exc: BaseException) -> None:
        """Mark the span failed with ``exc`` (type and message only; never the locals)."""
        if self._otel is not None:
            from opentelemetry.trace import Status, StatusCode

            self._otel.set_status(Status(StatusCode.ERROR, type(exc).__name__))
            self._otel.set_attribute("error.type", type(exc).__qualname__)


_CURRENT: contextvars.ContextVar[Span | None] = contextvars.ContextVar("config_server_span", default=None)
_tracer: Any = None  # an opentelemetry Tracer once configured
_provider: Any = None  # its TracerProvider


def enabled() -> bool:
    """True when spans are recorded by the OpenTelemetry SDK."""
    return _tracer is not None


def current() -> Span | None:
    """The span the running task is in, or None outside any."""
    return _CURRENT.get()


@contextlib.contextmanager
def span(
    name: str,
    *,
    parent: TraceParent | None = None,
    server: bool = False,
    attributes: Mapping[str, str | int | float | bool] | None = None,
) -> Iterator[Span]:
    """Run the block in a new span, child of ``parent`` (a caller's context) or of the current one.

    ``server`` marks a request's span (kind SERVER). An exception leaving the block marks the span
    failed and propagates. Not thread-safe across threads: open spans on the event loop.
    """
    if _tracer is None:
        outer = _CURRENT.get()
        trace_id = parent.trace_id if parent else outer.trace_id if outer else secrets.token_hex(16)
        light = Span(trace_id, secrets.token_hex(8))
        token = _CURRENT.set(light)
        try:
            yield light
        finally:
            _CURRENT.reset(token)
        return
    from opentelemetry import trace

    context = _remote_context(parent) if parent is not None else None
    kind = trace.SpanKind.SERVER if server else trace.SpanKind.INTERNAL
    with _tracer.start_as_current_span(
        name, context=context, kind=kind, attributes=dict(attributes or {}), record_exception=False
    ) as otel:
        ids = otel.get_span_context()
        handle = Span(f"{ids.trace_id:032x}", f"{ids.span_id:016x}", otel)
        token = _CURRENT.set(handle)
        try:
            yield handle
        except BaseException as exc:
            handle.error(exc)
            raise
        finally:
            _CURRENT.reset(token)


def _remote_context(parent: TraceParent) -> Any:
    from opentelemetry import trace
    from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, TraceState

    state = TraceState.from_header([parent.tracestate]) if parent.tracestate else None
    remote = SpanContext(
        trace_id=int(parent.trace_id, 16),
        span_id=int(parent.parent_id, 16),
        is_remote=True,
        trace_flags=TraceFlags(parent.flags & 0xFF),
        trace_state=state,
    )
    return trace.set_span_in_context(NonRecordingSpan(remote))


def use(provider: Any) -> Any:
    """Record spans with ``provider`` (an SDK ``TracerProvider``; None: the no-op back end).

    Returns the previous provider, so a test can put it back. Not for use while requests run.
    """
    global _tracer, _provider
    previous, _provider = _provider, provider
    _tracer = None if provider is None else provider.get_tracer("config_server")
    return previous


def shutdown() -> None:
    """Export the spans still queued and stop (at the end of ``serve``; blocking, up to ~30 s)."""
    provider = use(None)
    if provider is not None:
        provider.shutdown()


def configure(environ: Mapping[str, str] | None = None) -> bool:
    """Set up the SDK from the standard ``OTEL_*`` variables if it is installed; True if it is.

    With ``OTEL_SDK_DISABLED=true`` or without ``opentelemetry-sdk`` this does nothing (the ids
    of callers still reach the logs). The provider becomes OpenTelemetry's global one too, so a
    library the server calls (and ``config_client``) propagates the same trace. The OTLP exporter
    (``opentelemetry-exporter-otlp-proto-http``) is added when an OTLP endpoint variable is set;
    it reads its own ``OTEL_EXPORTER_OTLP_*`` variables (headers, timeout, compression).
    """
    env = os.environ if environ is None else environ
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    try:
        from opentelemetry import trace
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        return False
    resource = Resource.create({"service.name": env.get("OTEL_SERVICE_NAME") or SERVICE_NAME})
    provider = TracerProvider(resource=resource)
    if env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    use(provider)
    return True
