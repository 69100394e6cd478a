"""Is an application's configuration at a commit good? The problem type, the seam for checks.

The server's answer (``--serve-last-good``, see ``sources.git.lastgood``) is: every file parses,
every ``{cipher}`` value decrypts, and every extra ``Check`` passed in finds nothing. A ``Check``
is a plain function, so a JSON Schema check (or any other) plugs in without this package knowing
it::

    def no_debug_in_prod(ctx: CheckContext) -> list[Problem]:
        ...  # look at ctx.sources (decrypted), ctx.files / ctx.read_file(path)

Checks run in a worker thread (they may block: ``read_file`` waits for git), once per
(application, profiles, label, commit): their verdict is remembered. A problem's ``reason`` is
shown to clients in a ``Warning`` header and in health, so its message must never quote a value (the
sources a check sees are decrypted).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from config_client.wire import PropertySource

from config_server.validation.problems import Problem, format_text, problem_of

__all__ = ["Check", "CheckContext", "Problem", "problem_of", "warning_value"]

_WARN_TEXT_LIMIT = 400  # characters of problem text in one Warning value


@dataclass(frozen=True, slots=True)
class CheckContext:
    """What a ``Check`` sees of one application's configuration at one commit."""

    applications: tuple[str, ...]
    profiles: tuple[str, ...]
    label: str | None
    """The label asked for (None: the default label)."""
    commit: str
    """The full commit id being judged."""
    files: Mapping[str, str]
    """Every file of the commit: repository-relative path → blob id."""
    sources: tuple[PropertySource, ...]
    """The application's property sources at the commit, assembled and decrypted, highest
    precedence first (names are ``<repository URI>/<path>``, values carry ``line:column`` origins)."""
    read_file: Callable[[str], bytes | None]
    """The bytes of a file of the commit by path (None if absent); blocking, so call it only from
    the check (which runs in a worker thread)."""
    paths: Mapping[str, str] = field(default_factory=dict)
    """Each property source's name → the repository-relative path of its file."""
    secret_keys: frozenset[str] = frozenset()
    """Flat keys whose value was a ``{cipher}``: a problem about them never quotes the value."""


Check = Callable[[CheckContext], Iterable[Problem]]
"""An extra check: the problems it finds (none: good). Runs in a worker thread; may raise only
``config_server.errors`` (an ``InvalidConfiguration`` counts as its problem)."""


def warning_value(commit: str, problem: Problem) -> str:
    """``199 - "serving <commit>: <file>:<line>: <reason>"``, an RFC 7234 §5.5 warning-value.

    The text is a valid quoted-string on one line: ``"`` and ``\\`` are escaped, control and
    non-ASCII characters become ``?`` or a space, and it is cut at a bounded length.
    """
    text = f"serving {commit}: {format_text(problem)}"
    if len(text) > _WARN_TEXT_LIMIT:
        text = text[: _WARN_TEXT_LIMIT - 3] + "..."
    return f'199 - "{_quoted(text)}"'


def _quoted(text: str) -> str:
    out: list[str] = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif char in "\t\r\n":
            out.append(" ")
        elif " " <= char <= "~":
            out.append(char)
        else:
            out.append("?")
    return "".join(out)
