"""JSON log lines (config_server.logs): OpenTelemetry field names, the current span's ids."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator

import pytest

from config_server import logs, tracing
from config_server.errors import LabelNotFound
from config_server.tracing import TraceParent

SEEDED = "hunter2-secret"  # a configuration value an exception quotes
TRACE, PARENT = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    logger = logging.getLogger("tests.logs")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)
    logger.propagate = True


def test_a_line_is_one_json_object_with_the_spans_ids_and_the_fields(
    captured: tuple[logging.Logger, io.StringIO],
) -> None:
    """Inside a span the line has timestamp, severity, message, trace_id, span_id and its fields."""
    logger, stream = captured
    with tracing.span("request", parent=TraceParent(TRACE, PARENT, 1)) as span:
        logger.info(
            "GET %s 200", "/{application}/{profile}", extra=logs.fields({"http.route": "/x", "a": None})
        )
    (line,) = stream.getvalue().splitlines()
    record = json.loads(line)
    assert record["message"] == "GET /{application}/{profile} 200"
    assert (record["severity"], record["trace_id"], record["span_id"]) == ("INFO", TRACE, span.span_id)
    assert record["http.route"] == "/x" and "a" not in record
    assert record["timestamp"].endswith("Z")


def test_an_exception_is_one_line_with_its_type_and_stacktrace(
    captured: tuple[logging.Logger, io.StringIO],
) -> None:
    """A logged exception stays on one line (newlines escaped), with exception.type and the stack."""
    logger, stream = captured
    try:
        raise ValueError("broken")
    except ValueError:
        logger.exception("it failed")
    (line,) = stream.getvalue().splitlines()
    record = json.loads(line)
    assert record["exception.type"] == "ValueError" and "Traceback" in record["exception.stacktrace"]
    assert "trace_id" not in record


def _raise_chained(value: str) -> None:
    try:
        {"port": 1}[value]
    except KeyError as exc:
        raise ValueError(f"cannot convert {value!r}") from exc


@pytest.mark.parametrize("formatter", [logs.JsonFormatter(), logs.TextFormatter()], ids=["json", "text"])
def test_a_message_that_may_quote_a_value_is_withheld(formatter: logging.Formatter) -> None:
    """A library's or a bug's exception message (and its cause's) is written as its length only;
    the type and the frames stay."""
    try:
        _raise_chained(SEEDED)
    except ValueError:
        record = logging.LogRecord("t", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    written = formatter.format(record)
    assert "hunter2" not in written
    assert "ValueError: [message withheld: 31 characters]" in written
    assert "KeyError: [message withheld: 16 characters]" in written
    assert "direct cause" in written and "_raise_chained" in written


def test_the_servers_own_errors_and_os_errors_keep_their_messages() -> None:
    """ConfigServerError messages are written from names to be shown, OSError is an errno and a
    path: both are written as they are."""
    formatter = logs.JsonFormatter()
    for exc in (LabelNotFound("No such label: v9"), FileNotFoundError(2, "No such file", "/srv/x")):
        record = logging.LogRecord("t", logging.ERROR, __file__, 1, "failed", None, (type(exc), exc, None))
        line = json.loads(formatter.format(record))
        assert line["exception.message"] == str(exc) and str(exc) in line["exception.stacktrace"]


def test_exception_messages_on_writes_every_message() -> None:
    """--log-exception-messages: the message is written as it is, in both formats."""
    try:
        _raise_chained(SEEDED)
    except ValueError:
        record = logging.LogRecord("t", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    line = json.loads(logs.JsonFormatter(exception_messages=True).format(record))
    assert line["exception.message"] == "cannot convert 'hunter2-secret'"
    assert "KeyError: 'hunter2-secret'" in logs.TextFormatter(exception_messages=True).format(record)


def test_a_traceback_another_handler_cached_is_not_reused() -> None:
    """A record another handler already formatted (logging caches its traceback text) is still
    written with the message withheld."""
    try:
        _raise_chained(SEEDED)
    except ValueError:
        record = logging.LogRecord("t", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    assert "hunter2" in logging.Formatter().format(record)  # caches record.exc_text
    assert "hunter2" not in logs.TextFormatter().format(record)


def test_the_default_format_is_text_on_a_terminal_and_json_otherwise() -> None:
    """A pipe or a file gets json; a terminal gets text."""

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert (logs.default_format(io.StringIO()), logs.default_format(Tty())) == ("json", "text")
