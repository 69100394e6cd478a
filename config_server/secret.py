"""``Secret``: a string whose repr and str never show the value; ``fingerprint`` for cache keys."""

from __future__ import annotations

import hashlib

__all__ = ["Secret", "fingerprint"]


def fingerprint(value: str) -> str:
    """A SHA-256 hex digest of ``value`` (a token, a key): safe as a cache key or in a log line."""
    return hashlib.sha256(value.encode()).hexdigest()


class Secret:
    """Wraps a sensitive string. ``reveal()`` is the only way to read it back.

    ``repr``/``str`` print ``**********`` so a settings object, a log line or a traceback that
    includes it never leaks the value.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret value itself."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("Secret values are not picklable")
