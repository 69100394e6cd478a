"""The server's log: text for a terminal, one JSON object per line for a collector.

``--log-format json`` (the default when standard error is not a terminal) writes lines such as::

    {"timestamp":"2026-01-31T12:00:00.123Z","severity":"INFO","logger":"config_server.access",
     "message":"GET /{application}/{profile} 200","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736",
     "span_id":"00f067aa0ba902b7","http.request.method":"GET","http.route":"/{application}/{profile}",
     "http.response.status_code":200,"duration_ms":3.1,"client.address":"10.0.0.7","user.id":"orders"}

Field names are OpenTelemetry's where it has one. ``trace_id`` and ``span_id`` are the current
span's (``config_server.tracing``). Structured fields ride on a record as ``extra=fields({...})``;
only those a caller put there are written, so a line never carries a value it was not given, and
callers give names and outcomes, never configuration values or secrets. An exception is written
as ``exception.type``, ``exception.message`` and ``exception.stacktrace``.

``--log-format text`` keeps the terminal format: ``TIME LEVEL LOGGER: MESSAGE``.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final, TextIO

from config_server import tracing

__all__ = ["FIELDS_ATTR", "TEXT_FORMAT", "JsonFormatter", "configure", "default_format", "fields"]

FIELDS_ATTR: Final = "otel_fields"
"""The record attribute that carries a line's structured fields (see ``fields``)."""
TEXT_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s: %(message)s"
"""The text format (unchanged from before JSON logs)."""


def fields(values: Mapping[str, Any]) -> dict[str, Any]:
    """``extra=`` for a log call: structured fields (OpenTelemetry names) for the JSON line.

    Values must be JSON-serialisable (others are written as their ``str``); None values are left
    out. Never pass a configuration value or a secret.
    """
    return {FIELDS_ATTR: {k: v for k, v in values.items() if v is not None}}


class JsonFormatter(logging.Formatter):
    """One compact JSON object per record, OpenTelemetry field names (see the module)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "timestamp": _timestamp(record.created),
            "severity": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        span = tracing.current()
        if span is not None:
            line["trace_id"], line["span_id"] = span.trace_id, span.span_id
        extra = getattr(record, FIELDS_ATTR, None)
        if isinstance(extra, Mapping):
            line.update(extra)
        if record.exc_info and record.exc_info[0] is not None:
            exc = record.exc_info[1]
            line["exception.type"] = record.exc_info[0].__qualname__
            line["exception.message"] = str(exc)
            line["exception.stacktrace"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception.stacktrace"] = record.exc_text
        return json.dumps(line, ensure_ascii=False, default=str, separators=(",", ":"))


def _timestamp(created: float) -> str:
    moment = datetime.fromtimestamp(created, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def default_format(stream: TextIO | None = None) -> str:
    """``text`` when ``stream`` (standard error) is a terminal, else ``json``."""
    stream = sys.stderr if stream is None else stream
    try:
        return "text" if stream.isatty() else "json"
    except (AttributeError, ValueError):  # a replaced or closed stream
        return "json"


def configure(level: str, log_format: str | None = None) -> None:
    """Send the root logger to standard error in ``log_format`` (None: ``default_format()``).

    Like ``logging.basicConfig``, does nothing when the root logger has handlers already (a host
    that configured logging itself, a test harness).
    """
    root = logging.getLogger()
    if root.handlers:
        return
    chosen = log_format or default_format()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if chosen == "json" else logging.Formatter(TEXT_FORMAT))
    root.addHandler(handler)
    root.setLevel(level)
