"""Unhandled errors: stable fingerprints, one log line a minute per fingerprint, Sentry scrubbing."""

from __future__ import annotations

import logging

import pytest

from config_server.errortracking import FILTERED, ErrorTracker, fingerprint, scrub, withhold_messages


def _bug(message: str) -> BaseException:
    try:
        {}[message]  # the bug under test
    except KeyError as exc:
        return exc
    raise AssertionError("unreachable")


def test_the_fingerprint_is_the_type_and_the_projects_innermost_frame() -> None:
    """Two messages of one bug share a fingerprint; a frame of the tests is not the project's."""
    from config_server.formats.properties import load_properties

    found = []
    for text in (None, 42):  # two different messages, one bug
        try:
            load_properties("a.properties", text)  # type: ignore[arg-type]
        except TypeError as exc:
            found.append(fingerprint(exc))
    assert found == ["TypeError@config_server/formats/properties.py:load_properties"] * 2
    assert fingerprint(_bug("a")) == fingerprint(_bug("b")) == "KeyError@?"


def test_a_repeat_within_a_minute_is_counted_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    """The same fingerprint is logged once, counted every time, and logged again after a minute."""
    now = [1000.0]
    tracker = ErrorTracker(clock=lambda: now[0])
    with caplog.at_level(logging.ERROR, logger="config_server.errortracking"):
        first, second = tracker.report(_bug("x")), tracker.report(_bug("y"))
        now[0] += 61
        third = tracker.report(_bug("z"))
    assert (first.logged, second.logged, third.logged) == (True, False, True)
    assert len({first.error_id, second.error_id, third.error_id}) == 3
    assert tracker.counts() == {first.fingerprint: 3}
    assert len(caplog.records) == 2


def test_scrub_filters_credentials_headers_and_secret_values() -> None:
    """Authorization, X-Config-Token and cookies become [Filtered]; a secret inside any string too."""
    event = {
        "request": {
            "headers": {"Authorization": "Basic abc", "X-Config-Token": "t0k", "Accept": "*/*"},
            "cookies": "session=1",
        },
        "exception": {"values": [{"value": "failed with hunter22 inside"}]},
        "breadcrumbs": [["X-Config-Token", "t0k"]],
    }
    scrubbed = scrub(event, frozenset({"hunter22"}))
    assert scrubbed["request"]["headers"] == {
        "Authorization": FILTERED,
        "X-Config-Token": FILTERED,
        "Accept": "*/*",
    }
    assert scrubbed["request"]["cookies"] == FILTERED
    assert scrubbed["exception"]["values"][0]["value"] == f"failed with {FILTERED} inside"
    assert scrub({"headers": [["authorization", "x"], ["a", "b"]]})["headers"] == [
        ["authorization", FILTERED],
        ["a", "b"],
    ]


def test_sentry_events_keep_only_the_messages_the_log_keeps() -> None:
    """A library's or a bug's message is withheld with its length; the project's errors and OS
    errors keep theirs; a type that cannot be found is withheld."""
    event = {
        "exception": {
            "values": [
                {"module": "yaml.scanner", "type": "ScannerError", "value": "found 'hunter2'"},
                {"module": None, "type": "KeyError", "value": "'db.password'"},
                {"module": "config_server.errors", "type": "LabelNotFound", "value": "No such label: v9"},
                {"module": None, "type": "FileNotFoundError", "value": "[Errno 2] gone: '/x'"},
            ]
        }
    }
    values = withhold_messages(event)["exception"]["values"]
    assert [v["value"] for v in values] == [
        "[message withheld: 15 characters]",
        "[message withheld: 13 characters]",
        "No such label: v9",
        "[Errno 2] gone: '/x'",
    ]
