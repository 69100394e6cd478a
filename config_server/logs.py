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

An exception's message is written only when it cannot quote a value: the project's own errors
(``config_server.errors``: written from names, to be shown) and ``OSError`` (an errno and a path).
Any other exception (a library's parse error, a bug's ``KeyError``) may quote a configuration
value or a secret, so its message becomes ``[message withheld: N characters]`` in both formats;
the type and every frame are still written. ``--log-exception-messages`` writes them all.

``--log-format text`` keeps the terminal format: ``TIME LEVEL LOGGER: MESSAGE``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
import time
import traceback
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, Final, TextIO

from config_server import tracing
from config_server.errors import ConfigServerError

__all__ = [
    "FIELDS_ATTR",
    "TEXT_FORMAT",
    "JsonFormatter",
    "TextFormatter",
    "Timed",
    "configure",
    "default_format",
    "exception_message",
    "fields",
    "format_exception",
    "message_is_safe",
    "timed_event",
]

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


class Timed:
    """What ``timed_event``'s block reports: its ``outcome`` (``failed`` until the block sets it)
    and its ``span``, for attributes."""

    __slots__ = ("outcome", "span")

    def __init__(self, span: tracing.Span) -> None:
        self.outcome = "failed"
        self.span = span


@contextlib.contextmanager
def timed_event(
    logger: logging.Logger, event: str, span: str, attributes: Mapping[str, str], message: str, *args: object
) -> Iterator[Timed]:
    """Run the block in the span ``span`` (with ``attributes``) and then write one INFO line:
    ``message % (*args, outcome)`` with the fields ``event.name``, ``attributes``, ``outcome`` and
    ``duration_ms``. The outcome is what the block set, ``cancelled`` when it was cancelled, and
    ``failed`` when it raised or set nothing."""
    start = time.perf_counter()
    with tracing.span(span, attributes=attributes) as opened:
        timed = Timed(opened)
        try:
            yield timed
        except asyncio.CancelledError:
            timed.outcome = "cancelled"
            raise
        finally:
            logger.info(
                message,
                *args,
                timed.outcome,
                extra=fields(
                    {
                        "event.name": event,
                        **attributes,
                        "outcome": timed.outcome,
                        "duration_ms": round((time.perf_counter() - start) * 1000, 3),
                    }
                ),
            )


def message_is_safe(kind: type[BaseException]) -> bool:
    """Whether exceptions of ``kind`` have messages that never quote a value (see the module)."""
    return issubclass(kind, ConfigServerError | OSError)


def exception_message(exc: BaseException, *, messages: bool = False) -> str:
    """``str(exc)``, or ``[message withheld: N characters]`` unless ``messages`` or its type is
    ``message_is_safe``. Never raises (an exception whose ``__str__`` fails gets a placeholder)."""
    try:
        text = str(exc)
    except Exception:
        return "[message unprintable]"
    if messages or message_is_safe(type(exc)) or not text:
        return text
    return f"[message withheld: {len(text)} characters]"


_CAUSE = "\nThe above exception was the direct cause of the following exception:\n\n"
_CONTEXT = "\nDuring handling of the above exception, another exception occurred:\n\n"


def format_exception(exc: BaseException, *, messages: bool = False) -> str:
    """``exc`` and its causes and contexts as Python prints them (frames and source lines), each
    message as ``exception_message`` gives it. No trailing newline."""
    chain: list[tuple[BaseException, str]] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    link = ""
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append((current, link))
        if current.__cause__ is not None:
            current, link = current.__cause__, _CAUSE
        elif current.__context__ is not None and not current.__suppress_context__:
            current, link = current.__context__, _CONTEXT
        else:
            current = None
    parts: list[str] = []
    for one, link in reversed(chain):
        if one.__traceback__ is not None:
            parts.append("Traceback (most recent call last):\n")
            parts.extend(traceback.format_list(traceback.extract_tb(one.__traceback__)))
        message = exception_message(one, messages=messages)
        parts.append(f"{_type_name(type(one))}: {message}\n" if message else f"{_type_name(type(one))}\n")
        parts.append(link)
    return "".join(parts).rstrip("\n")


def _type_name(kind: type[BaseException]) -> str:
    module = kind.__module__
    return kind.__qualname__ if module in ("builtins", "__main__") else f"{module}.{kind.__qualname__}"


class TextFormatter(logging.Formatter):
    """``TEXT_FORMAT`` lines; a traceback as ``format_exception`` writes it (messages withheld
    unless ``exception_messages``)."""

    def __init__(self, *, exception_messages: bool = False) -> None:
        super().__init__(TEXT_FORMAT)
        self.exception_messages = exception_messages

    def formatException(self, ei: Any) -> str:
        return format_exception(ei[1], messages=self.exception_messages)

    def format(self, record: logging.LogRecord) -> str:
        # logging caches a record's traceback text; another handler's formatter may have cached
        # one with every message in it, so this one formats its own.
        cached, record.exc_text = record.exc_text, None
        try:
            return super().format(record)
        finally:
            record.exc_text = cached


class JsonFormatter(logging.Formatter):
    """One compact JSON object per record, OpenTelemetry field names (see the module).

    ``exception_messages``: write every exception's message (default: only ``message_is_safe``
    ones)."""

    def __init__(self, *, exception_messages: bool = False) -> None:
        super().__init__()
        self.exception_messages = exception_messages

    def formatException(self, ei: Any) -> str:
        return format_exception(ei[1], messages=self.exception_messages)

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
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            line["exception.type"] = type(exc).__qualname__
            line["exception.message"] = exception_message(exc, messages=self.exception_messages)
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


def configure(level: str, log_format: str | None = None, *, exception_messages: bool = False) -> None:
    """Send the root logger to standard error in ``log_format`` (None: ``default_format()``);
    ``exception_messages``: write every exception's message (see the module).

    Like ``logging.basicConfig``, does nothing when the root logger has handlers already (a host
    that configured logging itself, a test harness).
    """
    root = logging.getLogger()
    if root.handlers:
        return
    chosen = log_format or default_format()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter(exception_messages=exception_messages)
        if chosen == "json"
        else TextFormatter(exception_messages=exception_messages)
    )
    root.addHandler(handler)
    root.setLevel(level)
