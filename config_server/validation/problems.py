"""``Problem``: one thing wrong with a configuration repository, at a file and line; its printed forms.

Pure. Paths come from file names in a pushed tree, so they are untrusted: both forms escape them
(a file name with a newline cannot forge a second line, or a second GitHub annotation).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from config_server.errors import InvalidConfiguration

__all__ = ["FORMATS", "Problem", "format_github", "format_text", "problem_of", "sorted_problems"]


@dataclass(frozen=True, slots=True, order=True)
class Problem:
    """What is wrong (``message``, never a secret value), in which file (repository-relative
    posix path) and at which 1-based line (None when the whole file, or no one line, is meant)."""

    path: str
    line: int | None
    message: str


def problem_of(exc: InvalidConfiguration) -> Problem:
    """The problem an ``InvalidConfiguration`` (a file that does not parse) names."""
    return Problem(exc.path, exc.line, exc.problem)


def sorted_problems(problems: Iterable[Problem]) -> tuple[Problem, ...]:
    """De-duplicated, by path, then line (whole-file problems first), then message."""
    return tuple(sorted(set(problems), key=lambda p: (p.path, p.line or 0, p.message)))


def _printable(text: str) -> str:
    # Control and format characters (newlines, escapes, bidi overrides) shown as \x.. escapes.
    return "".join(
        ch.encode("unicode_escape").decode("ascii") if unicodedata.category(ch) in ("Cc", "Cf") else ch
        for ch in text
    )


def format_text(problem: Problem) -> str:
    """``path:line: message`` (``path: message`` without a line), on one line whatever the path."""
    where = _printable(problem.path) + ("" if problem.line is None else f":{problem.line}")
    return f"{where}: {_printable(problem.message)}"


def _data(text: str) -> str:
    # GitHub's escaping of a workflow command's message (actions/toolkit, command.ts).
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def format_github(problem: Problem) -> str:
    """A GitHub Actions ``::error file=F,line=L::message`` workflow command (an annotation)."""
    props = f"file={_property(problem.path)}" + ("" if problem.line is None else f",line={problem.line}")
    return f"::error {props}::{_data(problem.message)}"


FORMATS = {"text": format_text, "github": format_github}
"""The ``--format`` choices of ``config-server validate``."""
