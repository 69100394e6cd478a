"""W3C trace context parsing and the no-SDK span context (config_server.tracing)."""

from __future__ import annotations

import pytest

from config_server import tracing
from config_server.tracing import TraceParent, parse_traceparent

TRACE, PARENT = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (f"00-{TRACE}-{PARENT}-01", TraceParent(TRACE, PARENT, 1)),
        (f"  00-{TRACE}-{PARENT}-00 ", TraceParent(TRACE, PARENT, 0)),
        (
            f"01-{TRACE}-{PARENT}-01-future-field",
            TraceParent(TRACE, PARENT, 1),
        ),  # later version: extra ignored
        (f"00-{TRACE}-{PARENT}-01-extra", None),  # version 00 has exactly four fields
        (f"ff-{TRACE}-{PARENT}-01", None),  # version ff is invalid
        (f"00-{'0' * 32}-{PARENT}-01", None),  # all-zero trace id
        (f"00-{TRACE}-{'0' * 16}-01", None),  # all-zero parent id
        (f"00-{TRACE.upper()}-{PARENT}-01", None),  # upper-case hex
        (f"00-{TRACE[:-1]}-{PARENT}-01", None),
        ("", None),
        (None, None),
    ],
)
def test_traceparent_is_parsed_per_the_w3c_spec(header: str | None, expected: TraceParent | None) -> None:
    """Valid traceparent headers give their ids and flags; every invalid form gives None."""
    assert parse_traceparent(header) == expected


def test_tracestate_is_kept_with_a_valid_traceparent_and_trimmed_at_a_member() -> None:
    """tracestate comes along (cut at a list member past 512 characters), and only with a valid parent."""
    long = ",".join(f"v{i}=" + "x" * 40 for i in range(20))
    parsed = parse_traceparent(f"00-{TRACE}-{PARENT}-01", "congo=t61rcWkgMzE, rojo=00f067aa0ba902b7")
    assert parsed is not None and parsed.tracestate == "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"
    trimmed = parse_traceparent(f"00-{TRACE}-{PARENT}-01", long)
    assert trimmed is not None and len(trimmed.tracestate) <= 512 and trimmed.tracestate.endswith("x")
    assert parse_traceparent("garbage", "congo=x") is None


def test_without_the_sdk_spans_carry_the_callers_trace_id_and_fresh_span_ids() -> None:
    """No provider: a request span takes the caller's trace id, its children share it, ids differ."""
    previous = tracing.use(None)
    try:
        with tracing.span("request", parent=TraceParent(TRACE, PARENT, 1), server=True) as outer:
            with tracing.span("resolve") as inner:
                assert tracing.current() is inner
            assert tracing.current() is outer
        assert (outer.trace_id, inner.trace_id) == (TRACE, TRACE)
        assert len({outer.span_id, inner.span_id, PARENT}) == 3
        assert tracing.current() is None
    finally:
        tracing.use(previous)
