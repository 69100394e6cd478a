"""The fleet view: which client instances hold which configuration (``GET /actuator/clients``).

A client names itself with ``X-Config-Client-Id`` (the client library sends ``host:pid``); an
instance is that id under its principal, or, without a (valid) id, the triple (principal, address,
user agent). Each instance is tracked per watched environment (application, profiles, label):
the ETag and commit it was last answered, since when it holds that ETag, when it was last seen,
and whether it holds a long poll now. An instance is listed while it holds a long poll or was
seen in the last ``window`` seconds (5 minutes).

Memory is bounded: at most ``capacity`` instances (10,000) are tracked; past it the least recently
seen is dropped and counted (``dropped``). Nothing here is a secret: the ETag is a content hash,
the commit a git id; a client id or user agent is stored only after validation or sanitising.
"""

from __future__ import annotations

import contextlib
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass

__all__ = ["MAX_CLIENT_ID", "MAX_USER_AGENT", "Fleet", "Instance", "Sighting", "parse_client_id"]

MAX_CLIENT_ID = 256
"""The longest accepted ``X-Config-Client-Id`` (a host name is up to 253 characters, then ``:pid``)."""
MAX_USER_AGENT = 200
"""User agents are truncated to this many characters (they are free text, any length)."""
_WINDOW_S = 300.0
_CAPACITY = 10_000


def parse_client_id(value: str | None) -> str | None:
    """The client id ``value`` names, or None when absent or invalid (empty, longer than
    ``MAX_CLIENT_ID``, or anything but printable ASCII): an invalid id is ignored, never kept."""
    if value is None:
        return None
    value = value.strip()
    if not value or len(value) > MAX_CLIENT_ID:
        return None
    if not all(" " <= ch <= "~" for ch in value):
        return None
    return value


def _sanitised(user_agent: str | None) -> str | None:
    """A user agent fit to show: printable ASCII (others become ``?``), at most ``MAX_USER_AGENT``."""
    if not user_agent:
        return None
    text = user_agent[:MAX_USER_AGENT]
    return "".join(ch if " " <= ch <= "~" else "?" for ch in text)


@dataclass(frozen=True, slots=True)
class Sighting:
    """One request of an instance for an environment (what the server learnt from it)."""

    application: str
    profiles: str
    label: str | None
    client_id: str | None
    principal: str
    address: str | None
    user_agent: str | None

    @classmethod
    def of(
        cls,
        *,
        application: str,
        profiles: str,
        label: str | None,
        client_id: str | None,
        principal: str,
        address: str | None,
        user_agent: str | None,
    ) -> Sighting:
        """A sighting from a request's raw values: the client id validated (``parse_client_id``),
        the user agent truncated and made printable (it is stored, so it must be bounded)."""
        return cls(
            application,
            profiles,
            label,
            parse_client_id(client_id),
            principal,
            address,
            _sanitised(user_agent),
        )

    @property
    def watch(self) -> tuple[str, str, str | None]:
        """The environment it asked for."""
        return (self.application, self.profiles, self.label)

    @property
    def key(self) -> tuple[object, ...]:
        """Who the instance is, within its environment."""
        if self.client_id is not None:
            return (*self.watch, self.principal, self.client_id)
        return (*self.watch, self.principal, self.address, self.user_agent)


@dataclass(frozen=True, slots=True)
class Instance:
    """One instance as listed: times are seconds since the epoch."""

    application: str
    profiles: str
    label: str | None
    client_id: str | None
    principal: str
    address: str | None
    user_agent: str | None
    etag: str | None
    version: str | None
    since: float
    last_seen: float
    polling: bool


class _Tracked:
    __slots__ = ("etag", "last_seen", "polls", "sighting", "since", "version")

    def __init__(self, sighting: Sighting, now: float) -> None:
        self.sighting = sighting
        self.etag: str | None = None
        self.version: str | None = None
        self.since = now
        self.last_seen = now
        self.polls = 0


class Fleet:
    """The instances seen polling, per environment. Event loop only (not thread-safe).

    ``capacity``: instances tracked at most; ``window``: seconds an instance stays listed after it
    was last seen; ``clock``: wall-clock seconds (a parameter for tests).
    """

    def __init__(
        self,
        *,
        capacity: int = _CAPACITY,
        window: float = _WINDOW_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if capacity < 1 or not window > 0:
            raise ValueError("capacity must be at least 1 and window a positive number of seconds")
        self.capacity = capacity
        self.window = window
        self._clock = clock
        self._tracked: OrderedDict[tuple[object, ...], _Tracked] = OrderedDict()  # least recent first
        self.dropped = 0
        """Instances dropped because the cap was reached, ever."""

    def _touch(self, sighting: Sighting) -> _Tracked:
        now = self._clock()
        key = sighting.key
        tracked = self._tracked.get(key)
        if tracked is None:
            tracked = self._tracked[key] = _Tracked(sighting, now)
            while len(self._tracked) > self.capacity:
                self._tracked.popitem(last=False)
                self.dropped += 1
        else:
            self._tracked.move_to_end(key)
            tracked.sighting = sighting  # the address of an instance with an id may change
            tracked.last_seen = now
        return tracked

    def seen(self, sighting: Sighting, etag: str, version: str | None) -> None:
        """Record that the instance of ``sighting`` now holds ``etag`` (commit ``version``)."""
        self._seen(sighting, etag, version)

    def _seen(self, sighting: Sighting, etag: str, version: str | None) -> _Tracked:
        tracked = self._touch(sighting)
        if tracked.etag != etag:
            tracked.etag, tracked.since = etag, tracked.last_seen
        tracked.version = version
        return tracked

    @contextlib.contextmanager
    def polling(self, sighting: Sighting, etag: str, version: str | None) -> Iterator[None]:
        """Mark the instance as holding a long poll on ``etag`` while the block runs; it is seen
        again when the block ends, however it ends (a client gone cancels it)."""
        tracked = self._seen(sighting, etag, version)
        tracked.polls += 1
        try:
            yield
        finally:
            tracked.polls -= 1
            if self._tracked.get(sighting.key) is tracked:  # not dropped meanwhile
                self._touch(sighting)

    def instances(self) -> list[Instance]:
        """The instances holding a long poll or seen within the window, by environment and id;
        forgets the others."""
        cutoff = self._clock() - self.window
        for key in [k for k, t in self._tracked.items() if not t.polls and t.last_seen < cutoff]:
            del self._tracked[key]
        out = [
            Instance(
                application=t.sighting.application,
                profiles=t.sighting.profiles,
                label=t.sighting.label,
                client_id=t.sighting.client_id,
                principal=t.sighting.principal,
                address=t.sighting.address,
                user_agent=t.sighting.user_agent,
                etag=t.etag,
                version=t.version,
                since=t.since,
                last_seen=t.last_seen,
                polling=t.polls > 0,
            )
            for t in self._tracked.values()
        ]
        out.sort(key=lambda i: (i.application, i.profiles, i.label or "", i.client_id or "", i.principal))
        return out

    def __len__(self) -> int:
        return len(self._tracked)
