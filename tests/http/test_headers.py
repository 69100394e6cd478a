"""Specification of the request-header parsers: RFC 7240 ``Prefer: wait``, ``Accept-Charset``."""

from __future__ import annotations

import pytest

from config_server.http.headers import accepted_charset, parse_prefer_wait


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("wait=30", 30.0),
        ("wait=0", 0.0),
        ("Wait=10", 10.0),
        ("respond-async, wait=10", 10.0),
        ("respond-async,wait=10,handling=lenient", 10.0),
        ("  wait = 15  ", 15.0),
        ('wait="20"', 20.0),
        ('wait=" 20 "', 20.0),
        ("wait=5; foo=bar", 5.0),
        ('return=minimal; note="a, wait=99", wait=7', 7.0),
        ("wait=2.5", 2.5),
        ("wait=1, wait=2", 1.0),
        ("wait=600", 120.0),
        ("wait=" + "9" * 5000, 120.0),
        ("wait=-5", None),
        ("wait=abc", None),
        ("wait=", None),
        ("wait", None),
        ("wait=1e3", None),
        ("wait=1.2.3", None),
        ("wait=٣", None),
        ("wait=inf", None),
        ("wait=nan", None),
        ('wait="', None),
        ("respond-async", None),
        ("waiting=5", None),
        ("", None),
        (None, None),
    ],
)
def test_prefer_wait_table(header: str | None, expected: float | None) -> None:
    """RFC 7240 wait: found among other preferences, quoted or not, capped; anything invalid is None."""
    assert parse_prefer_wait(header) == expected


def test_prefer_wait_cap_is_configurable() -> None:
    """The cap is the caller's (usually the hub's max_wait)."""
    assert parse_prefer_wait("wait=30", cap=5) == 5.0
    assert parse_prefer_wait("wait=3", cap=5) == 3.0


@pytest.mark.parametrize(
    ("header", "charset"),
    [
        (None, "utf-8"),
        ("", "utf-8"),
        ("ISO-8859-1", "iso8859-1"),
        ("latin1;q=0.9, utf-8", "iso8859-1"),
        ("no-such-charset", "utf-8"),
        ("UTF-16", "utf-16"),
    ],
)
def test_accepted_charset(header: str | None, charset: str) -> None:
    """The first charset of Accept-Charset that Python knows, by its canonical name; else UTF-8."""
    assert accepted_charset(header) == charset
