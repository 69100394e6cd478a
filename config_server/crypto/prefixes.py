"""The ``{name:value}`` prefixes that may lead a plaintext or a ciphertext (reference §1.4, §5.2).

``{key:mytestkey}{secret:x}AQB...`` selects the key ``mytestkey``; ``{plain}`` ends the prefixes
so that a plaintext may itself start with ``{``. Pure functions, no I/O.

Deliberate difference from Spring's ``EnvironmentPrefixHelper``: Spring splits the whole text on
every ``}`` and keeps only what follows the *last* one, so encrypting ``a}b`` silently encrypts
``b``. Here prefixes are read only from the start of the text, one ``{name:value}`` group after
another, and the payload is everything after them, untouched. For every ciphertext Spring writes
(hex or Base64, which never contain braces) both readings agree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["PLAIN", "Prefixed", "join_prefixes", "split_prefixes"]

PLAIN = "{plain}"

# A name is what Spring would accept as a map key here; a value may be empty or contain ':'.
_GROUP = re.compile(r"\{([^{}:]+)(?::([^{}]*))?\}")


@dataclass(frozen=True, slots=True)
class Prefixed:
    """A text split into its leading ``{name:value}`` pairs (in order) and the payload after them."""

    pairs: tuple[tuple[str, str], ...]
    payload: str

    def get(self, name: str) -> str | None:
        """The value of the first pair called ``name``, or None."""
        for k, v in self.pairs:
            if k == name:
                return v
        return None

    def without(self, *names: str) -> tuple[tuple[str, str], ...]:
        """The pairs minus every pair whose name is in ``names`` (order kept)."""
        return tuple((k, v) for k, v in self.pairs if k not in names)


def split_prefixes(text: str) -> Prefixed:
    """Read the leading ``{name:value}`` groups of ``text``; ``{plain}`` ends them explicitly.

    Leading whitespace before the first group is ignored (as Spring trims its tokens). A later
    pair with the same name replaces an earlier one, as in Spring's map.
    """
    pos = len(text) - len(text.lstrip()) if text.lstrip().startswith("{") else 0
    pairs: dict[str, str] = {}
    while True:
        if text.startswith(PLAIN, pos):
            return Prefixed(tuple(pairs.items()), text[pos + len(PLAIN) :])
        m = _GROUP.match(text, pos)
        if m is None:
            return Prefixed(tuple(pairs.items()), text[pos:])
        pairs[m.group(1)] = m.group(2) or ""
        pos = m.end()


def join_prefixes(pairs: tuple[tuple[str, str], ...] | list[tuple[str, str]], payload: str) -> str:
    """Serialise ``pairs`` as ``{name:value}`` groups in front of ``payload``, as Spring does."""
    return "".join(f"{{{k}:{v}}}" for k, v in pairs) + payload
