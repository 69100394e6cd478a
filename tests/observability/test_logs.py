"""JSON log lines (config_server.logs): OpenTelemetry field names, the current span's ids."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from config_server import logs, tracing
from config_server.tracing import TraceParent

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


def test_the_default_format_is_text_on_a_terminal_and_json_otherwise() -> None:
    """A pipe or a file gets json; a terminal gets text."""

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert (logs.default_format(io.StringIO()), logs.default_format(Tty())) == ("json", "text")
