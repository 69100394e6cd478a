"""Immutable snapshots of the merged configuration and the change events between two of them.

Pure data, no I/O. Readers hold one ``Snapshot`` at a time and the client swaps the whole object
on reload, so a reader never sees half of an update.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

from config_client.merge import unflatten
from config_client.wire import Environment, Scalar

__all__ = ["ChangeEvent", "Origin", "Snapshot", "diff"]

Origin = Literal["server", "cache"]


class Snapshot(Mapping[str, Scalar]):
    """One whole, read-only configuration: flat keys (``db.url``, ``hosts[0]``) to values.

    ``environment`` is what the server sent (after ``validate``), ``origin`` says whether it came
    from the server or from the last-known-good cache; the values also include the local-file and
    environment-variable overrides. Safe to share between threads.
    """

    __slots__ = ("_nested", "_values", "environment", "origin")

    def __init__(self, values: Mapping[str, Scalar], *, environment: Environment, origin: Origin) -> None:
        self._values: Mapping[str, Scalar] = MappingProxyType(dict(values))
        self._nested: Mapping[str, Any] | None = None
        self.environment = environment
        self.origin: Origin = origin

    def __getitem__(self, key: str) -> Scalar:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        # Values are left out on purpose: configuration holds secrets and reprs end up in logs.
        return f"<Snapshot version={self.version!r} origin={self.origin} keys={len(self)}>"

    @property
    def version(self) -> str | None:
        """The server's version of this configuration (a git commit id for git backends)."""
        return self.environment.version

    @property
    def nested(self) -> Mapping[str, Any]:
        """The nested read-only view (maps and tuples); see :func:`config_client.merge.unflatten`."""
        if self._nested is None:
            # Racing threads compute the same value; the last assignment wins harmlessly.
            self._nested = unflatten(self._values)
        return self._nested


@dataclass(frozen=True, slots=True)
class ChangeEvent:
    """What changed between two snapshots: ``changed`` maps a key to ``(old, new)``.

    ``added`` holds the new keys with their values, ``removed`` the vanished keys with their last
    values; ``version`` is the new snapshot's version and ``snapshot`` the new snapshot itself.
    """

    changed: Mapping[str, tuple[Scalar, Scalar]]
    added: Mapping[str, Scalar]
    removed: Mapping[str, Scalar]
    version: str | None
    previous_version: str | None
    snapshot: Snapshot

    @property
    def keys(self) -> frozenset[str]:
        """Every key that was changed, added or removed."""
        return frozenset(self.changed) | frozenset(self.added) | frozenset(self.removed)

    def __repr__(self) -> str:
        # Key names only; the values may be secrets.
        return (
            f"ChangeEvent(version={self.version!r}, changed={sorted(self.changed)}, "
            f"added={sorted(self.added)}, removed={sorted(self.removed)})"
        )


def diff(old: Snapshot | None, new: Snapshot) -> ChangeEvent | None:
    """The event from ``old`` to ``new``, or ``None`` when the merged values are identical."""
    before: Mapping[str, Scalar] = old if old is not None else {}
    changed = {k: (before[k], v) for k, v in new.items() if k in before and not _same(before[k], v)}
    added = {k: v for k, v in new.items() if k not in before}
    removed = {k: v for k, v in before.items() if k not in new}
    if not (changed or added or removed):
        return None
    return ChangeEvent(
        changed=MappingProxyType(changed),
        added=MappingProxyType(added),
        removed=MappingProxyType(removed),
        version=new.version,
        previous_version=old.version if old is not None else None,
        snapshot=new,
    )


def _same(a: Scalar, b: Scalar) -> bool:
    # 1 == True == 1.0 in Python, but a YAML edit from 1 to true is a real change.
    return type(a) is type(b) and (a == b or (a != a and b != b))  # NaN equals itself here
