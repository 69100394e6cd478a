"""The ``{name:value}`` prefixes that may lead a plaintext or a ciphertext (reference §1.4, §5.2).

``{key:mytestkey}{secret:x}AQB...`` selects the key ``mytestkey``; ``{plain}`` ends the prefixes
so that a plaintext may itself start with ``{``. Pure functions, no I/O.

Spring's ``EnvironmentPrefixHelper`` strips, as the payload, the leading run of groups that each
hold a ``:`` (``stripPrefix``), or everything up to the first ``{plain}``. Here too only leading
groups are read, and only ``{name:value}`` groups (a colon is required), so ``{flag}x`` and
``textwith}brace`` are payloads that encrypt and decrypt whole, as in Spring. Two deliberate
differences, for texts no Spring client writes: a ``{plain}`` that is not at a prefix position is
part of the payload (Spring encrypts only what follows it), and a group's value may not contain
a brace (Spring's lazy regex can span ``}{``). For every ciphertext Spring writes (hex or Base64,
which never contain braces) both readings agree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["PLAIN", "Prefixed", "join_prefixes", "split_prefixes"]

PLAIN = "{plain}"

# Spring's stripPrefix only strips groups with a ':'; a value may be empty or contain ':'.
_GROUP = re.compile(r"\{([^{}:]+):([^{}]*)\}")


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
        pairs[m.group(1)] = m.group(2)
        pos = m.end()


def join_prefixes(pairs: tuple[tuple[str, str], ...] | list[tuple[str, str]], payload: str) -> str:
    """Serialise ``pairs`` as ``{name:value}`` groups in front of ``payload``, as Spring does."""
    return "".join(f"{{{k}:{v}}}" for k, v in pairs) + payload
