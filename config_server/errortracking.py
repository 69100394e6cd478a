"""Exception tracking: an unhandled error gets an id, a stable fingerprint, one log line, a count.

An error no layer expected (a bug: anything outside ``config_server.errors``' tree) is answered
500 with an error id and nothing of the exception (``http.errors``). ``ErrorTracker.report``
gives it:

- an **error id** (16 hex digits), in the answer, the log line and the Sentry event, so an
  operator finds the one from the other;
- a **fingerprint**: the exception type plus the project's innermost frame
  (``KeyError@config_server/service.py:_build``), the same for every repeat of one bug whatever
  its message, line numbers or the library frames below it;
- **one log line per fingerprint per minute** (with the traceback); a repeat within the minute
  is counted, not logged again (``counts`` has every occurrence, for metrics).

With ``SENTRY_DSN`` set and ``sentry-sdk`` installed (the ``sentry`` extra), ``configure_sentry``
sends each logged error to Sentry under its fingerprint, scrubbed by ``scrub``: request headers
that authenticate (``Authorization``, ``X-Config-Token``, ``Cookie``, ``Set-Cookie``,
``Proxy-Authorization``) and any of the server's ``Secret`` settings wherever they appear; no
local variables and no request bodies are sent at all. An exception's message is withheld as in
the log (``logs.exception_message``) unless ``--log-exception-messages``.
"""

from __future__ import annotations

import builtins
import logging
import os
import secrets
import sys
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final

from config_server import logs
from config_server.secret import Secret

if TYPE_CHECKING:
    from config_server.settings import Settings

__all__ = [
    "FILTERED",
    "REPEAT_WINDOW_S",
    "SCRUBBED_HEADERS",
    "ErrorTracker",
    "Incident",
    "close_sentry",
    "configure_sentry",
    "fingerprint",
    "scrub",
    "withhold_messages",
]

log = logging.getLogger(__name__)

REPEAT_WINDOW_S: Final = 60.0
"""A fingerprint logged less than this many seconds ago is counted, not logged again."""
SCRUBBED_HEADERS: Final = frozenset(
    {"authorization", "proxy-authorization", "x-config-token", "cookie", "set-cookie"}
)
"""Request headers whose value never reaches Sentry."""
FILTERED: Final = "[Filtered]"
"""What a scrubbed value becomes."""

_PACKAGE = Path(__file__).resolve().parent


@dataclass(frozen=True, slots=True)
class Incident:
    """One unhandled error as reported: its id, fingerprint, and whether it was logged."""

    error_id: str
    fingerprint: str
    logged: bool
    count: int


def fingerprint(exc: BaseException) -> str:
    """``Type@config_server/module.py:function`` of the project's innermost frame in ``exc``'s
    traceback (``Type@?`` when no frame is the project's). Stable across messages and lines."""
    where = "?"
    tb: TracebackType | None = exc.__traceback__
    for frame, _ in traceback.walk_tb(tb):
        path = Path(frame.f_code.co_filename)
        if path.is_relative_to(_PACKAGE):
            relative = path.relative_to(_PACKAGE.parent).as_posix()
            where = f"{relative}:{frame.f_code.co_name}"
    kind = type(exc)
    name = kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
    return f"{name}@{where}"


class ErrorTracker:
    """Counts unhandled errors per fingerprint and logs each fingerprint at most once a minute.

    Thread-safe. ``clock`` (monotonic seconds) is for tests.
    """

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}
        self._logged_at: dict[str, float] = {}

    def report(self, exc: BaseException, attributes: Mapping[str, Any] | None = None) -> Incident:
        """Count ``exc``; log it (traceback and ``attributes``) and send it to Sentry unless its
        fingerprint was logged within ``REPEAT_WINDOW_S``. Call from the ``except`` block."""
        error_id = secrets.token_hex(8)
        print_ = fingerprint(exc)
        now = self._clock()
        with self._lock:
            count = self._counts[print_] = self._counts.get(print_, 0) + 1
            last = self._logged_at.get(print_)
            logged = last is None or now - last >= REPEAT_WINDOW_S
            if logged:
                self._logged_at[print_] = now
        if logged:
            log.error(
                "unhandled error %s (%s), id %s",
                type(exc).__qualname__,
                print_,
                error_id,
                exc_info=(type(exc), exc, exc.__traceback__),
                extra=logs.fields({**(attributes or {}), "error.id": error_id, "error.fingerprint": print_}),
            )
            _to_sentry(exc, error_id, print_, attributes or {})
        return Incident(error_id, print_, logged, count)

    def counts(self) -> dict[str, int]:
        """Every occurrence so far, per fingerprint, in the order first seen (a copy)."""
        with self._lock:
            return dict(self._counts)


# --- Sentry ---------------------------------------------------------------------------------

_sentry_on = False


def configure_sentry(settings: Settings | None, environ: Mapping[str, str] | None = None) -> bool:
    """Start the Sentry SDK when ``SENTRY_DSN`` is set and ``sentry-sdk`` installed; True if so.

    The SDK reads ``SENTRY_ENVIRONMENT`` and ``SENTRY_RELEASE`` itself. Only errors
    ``ErrorTracker`` logs are sent (no log breadcrumbs become events, no performance traces).
    ``settings``' ``Secret`` values are scrubbed from every event (see ``scrub``).
    """
    global _sentry_on
    env = os.environ if environ is None else environ
    dsn = env.get("SENTRY_DSN", "").strip()
    if not dsn:
        return False
    try:
        import sentry_sdk
        from sentry_sdk.integrations.logging import LoggingIntegration
    except ImportError:
        log.warning("SENTRY_DSN is set but sentry-sdk is not installed (pip install 'config-server[sentry]')")
        return False
    hidden = _secret_values(settings)
    messages = settings is not None and settings.log_exception_messages

    def before_send(event: Any, hint: Any) -> Any:
        scrubbed = scrub(event, hidden)
        return scrubbed if messages else withhold_messages(scrubbed)

    sentry_sdk.init(
        dsn=dsn,
        include_local_variables=False,
        max_request_body_size="never",
        traces_sample_rate=None,
        default_integrations=True,
        auto_enabling_integrations=False,  # no framework patching: errortracking reports what it logs
        integrations=[LoggingIntegration(level=None, event_level=None)],
        before_send=before_send,
        before_breadcrumb=lambda crumb, hint: scrub(crumb, hidden),
    )
    _sentry_on = True
    return True


def _secret_values(settings: Settings | None) -> frozenset[str]:
    if settings is None:
        return frozenset()
    found = set()
    for item in fields(settings):
        value = getattr(settings, item.name)
        for one in value if isinstance(value, tuple | list) else (value,):
            if isinstance(one, Secret) and len(one.reveal()) >= 4:  # shorter: would filter common text
                found.add(one.reveal())
    return frozenset(found)


def scrub(event: Any, hidden: frozenset[str] = frozenset()) -> Any:
    """``event`` (a Sentry event or breadcrumb, modified in place) without secrets.

    Headers in ``SCRUBBED_HEADERS`` (in any case, in any ``headers`` mapping or list of pairs)
    and cookies become ``FILTERED``; any string holding one of ``hidden`` has it replaced.
    """
    return _scrub(event, hidden)


def withhold_messages(event: Any) -> Any:
    """``event`` (a Sentry event, modified in place) with each exception's message withheld as
    the log withholds it (``logs.exception_message``): only the project's errors and OS errors
    keep theirs. An exception type that cannot be found is withheld."""
    exception = event.get("exception") if isinstance(event, dict) else None
    values = exception.get("values") if isinstance(exception, dict) else None
    for value in values if isinstance(values, list) else ():
        if not isinstance(value, dict) or not value.get("value"):
            continue
        kind = _exception_class(value.get("module"), value.get("type"))
        if kind is None or not logs.message_is_safe(kind):
            value["value"] = f"[message withheld: {len(str(value['value']))} characters]"
    return event


def _exception_class(module: object, name: object) -> type[BaseException] | None:
    owner = sys.modules.get(module) if isinstance(module, str) and module else builtins
    found = getattr(owner, name, None) if isinstance(name, str) else None
    return found if isinstance(found, type) and issubclass(found, BaseException) else None


def _scrub(node: Any, hidden: frozenset[str]) -> Any:
    if isinstance(node, dict):
        for key, value in list(node.items()):
            lowered = str(key).lower()
            if lowered in SCRUBBED_HEADERS or lowered == "cookies":
                node[key] = FILTERED
            elif lowered == "headers" and isinstance(value, list):
                node[key] = [
                    [name, FILTERED] if str(name).lower() in SCRUBBED_HEADERS else [name, _scrub(v, hidden)]
                    for name, v in value
                ]
            else:
                node[key] = _scrub(value, hidden)
        return node
    if isinstance(node, list):
        return [_scrub(item, hidden) for item in node]
    if isinstance(node, tuple):
        return tuple(_scrub(item, hidden) for item in node)
    if isinstance(node, str):
        for secret in hidden:
            if secret in node:
                node = node.replace(secret, FILTERED)
        return node
    return node


def _to_sentry(exc: BaseException, error_id: str, print_: str, attributes: Mapping[str, Any]) -> None:
    if not _sentry_on:
        return
    import sentry_sdk

    with sentry_sdk.new_scope() as scope:
        scope.fingerprint = [print_]
        scope.set_tag("error_id", error_id)
        for name, value in attributes.items():
            if value is not None:
                scope.set_tag(name, str(value))
        sentry_sdk.capture_exception(exc)


def close_sentry(timeout: float = 2.0) -> None:
    """Send what is queued (up to ``timeout`` seconds) and stop sending (blocking)."""
    global _sentry_on
    if not _sentry_on:
        return
    import sentry_sdk

    _sentry_on = False
    sentry_sdk.get_client().close(timeout=timeout)
