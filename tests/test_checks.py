"""The problem type and the RFC 7234 Warning value that names it (pure)."""

from __future__ import annotations

import re

import pytest

from config_server.checks import Problem, problem_of, warning_value
from config_server.errors import InvalidConfiguration
from config_server.validation.problems import format_text

SHA = "a" * 40
# RFC 7234 §5.5 warning-value with warn-agent "-" and a quoted-string warn-text (RFC 7230 §3.2.6).
WARNING = re.compile(r'199 - "(?:[\t !#-\[\]-~]|\\[\t -~])*"')


def test_a_problem_is_named_by_file_line_and_reason() -> None:
    """A parse error becomes file:line: reason; without a line, file: reason."""
    parse_error = InvalidConfiguration("a/foo.yml", "bad indent", line=3)
    assert format_text(problem_of(parse_error)) == "a/foo.yml:3: bad indent"
    assert format_text(Problem("foo.yml", None, "no line")) == "foo.yml: no line"


def test_the_warning_names_commit_file_line_and_reason() -> None:
    """The value is 199 - "serving <sha>: <file>:<line>: <reason>"."""
    assert warning_value(SHA, Problem("foo.yml", 2, "bad")) == f'199 - "serving {SHA}: foo.yml:2: bad"'


@pytest.mark.parametrize(
    "reason",
    [
        'a "quoted" key',
        "back\\slash",
        "two\nlines\r\n",
        "tab\there",
        "caf\u00e9 \u2603",
        "nul\x00",
        "x" * 999,
    ],
)
def test_the_warning_is_one_valid_quoted_string(reason: str) -> None:
    """Quotes and backslashes are escaped; control and non-ASCII characters never reach the header."""
    value = warning_value(SHA, Problem("foo.yml", 1, reason))
    assert WARNING.fullmatch(value), value
    assert len(value) < 500
