"""A request's trace: its traceparent in the span tree, its JSON log line and its audit line."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from config_server import logs, tracing
from config_server.secret import Secret
from tests.http.conftest import Serve
from tests.support.gitrepo import GitRemote

TRACE, PARENT = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
TRACEPARENT = f"00-{TRACE}-{PARENT}-01"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """The SDK recording every span into memory for the test."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    previous = tracing.use(provider)
    yield exporter
    tracing.use(previous)


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """The server's log as JSON lines, as ``--log-format json`` writes it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


async def test_a_traceparent_reaches_the_span_tree_the_log_line_and_the_audit_line(
    serve: Serve, tmp_path: Path, spans: InMemorySpanExporter, json_log: io.StringIO
) -> None:
    """The caller's trace id is in the request span (its parent's child), resolve, log, audit."""
    remote = GitRemote(tmp_path / "remote")
    remote.write({"orders.yml": "a: 1\n"})
    audit = tmp_path / "audit.log"
    client = await serve(remote, audit_log=str(audit), audit_key=Secret("k" * 32))
    resp = await client.get("/orders/default", headers={"traceparent": TRACEPARENT, "tracestate": "rojo=1"})
    assert resp.status == 200
    await client.close()

    finished = {span.name: span for span in spans.get_finished_spans()}
    request = finished["GET /{application}/{profiles}"]
    assert f"{request.context.trace_id:032x}" == TRACE
    assert request.parent is not None and f"{request.parent.span_id:016x}" == PARENT
    assert request.attributes is not None and request.attributes["http.route"] == "/{application}/{profiles}"
    assert request.attributes["http.response.status_code"] == 200
    resolve = finished["resolve"]
    assert resolve.parent is not None and resolve.parent.span_id == request.context.span_id
    assert resolve.context.trace_id == request.context.trace_id

    (line,) = [entry for entry in _lines(json_log) if entry["logger"] == "config_server.access"]
    assert line["trace_id"] == TRACE and line["span_id"] == f"{request.context.span_id:016x}"
    expected = {
        "http.request.method": "GET",
        "http.route": "/{application}/{profiles}",
        "http.response.status_code": 200,
        "client.address": "127.0.0.1",
        "user.id": "anonymous",
    }
    assert {k: line.get(k) for k in expected} == expected
    assert line["duration_ms"] >= 0

    (audited,) = [json.loads(text) for text in audit.read_text().splitlines() if '"read"' in text]
    assert audited["trace_id"] == TRACE


async def test_without_a_traceparent_the_log_and_audit_lines_share_a_new_trace_id(
    serve: Serve, tmp_path: Path, json_log: io.StringIO
) -> None:
    """With neither SDK nor caller context, the request still gets one trace id, in both lines."""
    previous = tracing.use(None)
    try:
        remote = GitRemote(tmp_path / "remote")
        remote.write({"orders.yml": "a: 1\n"})
        audit = tmp_path / "audit.log"
        client = await serve(remote, audit_log=str(audit), audit_key=Secret("k" * 32))
        assert (await client.get("/orders/default", headers={"traceparent": "00-bad"})).status == 200
        await client.close()
    finally:
        tracing.use(previous)
    (line,) = [entry for entry in _lines(json_log) if entry["logger"] == "config_server.access"]
    (audited,) = [json.loads(text) for text in audit.read_text().splitlines() if '"read"' in text]
    assert len(line["trace_id"]) == 32 and line["trace_id"] == audited["trace_id"]


async def test_a_git_fetch_is_one_json_line_and_one_span(
    serve: Serve, tmp_path: Path, spans: InMemorySpanExporter, json_log: io.StringIO
) -> None:
    """A fetch (a webhook's refresh) logs event git.fetch with its outcome, in a span of its own."""
    remote = GitRemote(tmp_path / "remote")
    remote.write({"orders.yml": "a: 1\n"})
    client = await serve(remote)
    remote.write({"orders.yml": "a: 2\n"})
    assert (await client.post("/monitor", json={"path": "orders.yml"})).status == 200
    await client.close()
    fetches = [entry for entry in _lines(json_log) if entry.get("event.name") == "git.fetch"]
    webhook = fetches[1]  # after the first clone's fetch
    assert webhook["outcome"] == "ok" and len(webhook["trace_id"]) == 32 and webhook["duration_ms"] >= 0
    assert "git fetch" in {span.name for span in spans.get_finished_spans()}


async def test_the_client_library_sends_the_services_trace(
    serve: Serve, tmp_path: Path, spans: InMemorySpanExporter
) -> None:
    """config_client inside a service's OpenTelemetry span: the server's request span is its child."""
    from config_client import AsyncConfigClient
    from opentelemetry import trace

    remote = GitRemote(tmp_path / "remote")
    remote.write({"orders.yml": "a: 1\n"})
    server = await serve(remote)
    service = TracerProvider()  # the service's own SDK, as a service that uses OpenTelemetry has
    with service.get_tracer("service").start_as_current_span("handle order") as outer:
        async with AsyncConfigClient(str(server.make_url("")), application="orders") as client:
            assert (await client.load()).get("a") == 1
    await server.close()
    ours = outer.get_span_context()
    request = next(s for s in spans.get_finished_spans() if s.name.startswith("GET "))
    assert request.context.trace_id == ours.trace_id
    assert request.parent is not None and request.parent.span_id == ours.span_id
    assert not trace.get_current_span().get_span_context().is_valid  # the service's span has ended
