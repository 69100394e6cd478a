"""Kubernetes-style probes: is the process alive (liveness), may it take traffic (readiness)?

**Liveness** is about the event loop. ``LoopMonitor`` runs a heartbeat task that sleeps
``interval`` seconds and records how late it woke (the loop's *lag*). A loop blocked for more than
``block_limit`` (2 s) seconds is DOWN. While it is blocked, nothing on it answers, so a probe
times out, which kubelet and Docker's ``HEALTHCHECK`` count as a failure already; the monitor's
part is what comes after: once the loop runs again, liveness stays DOWN for ``remember`` seconds
(10 s), so a probe that arrives just after a long block still sees it, and a loop that blocks
again and again (each block shorter than a probe's timeout) fails its probes instead of passing
them all. A heartbeat task that died is DOWN for good. The values are plain attributes written by
the loop and read anywhere (a float or a bool is replaced atomically), so a thread may ask too.

**Readiness** (``readiness``) is UP when every one of these holds:

- the process is live (the event loop check above: a loop that blocks cannot serve traffic);
- every repository (the default and fixed pattern ones of every git source) has been cloned and
  has a branch or tag to serve (template clones are made on demand, so they are not waited for);
- each such repository's last successful fetch is no older than ``max_staleness`` seconds. A
  fetch that finds nothing new still succeeds, so a quiet repository is fresh; one whose remote is
  unreachable ages. A repository fetched less often than that (``refresh_rate`` above half of
  ``max_staleness``) is judged against twice its refresh rate, and one never fetched in the
  background (``refresh_rate`` 0) is not judged by age at all;
- Vault, when configured, is reachable, initialised, unsealed and (with a server identity) logged
  in, as its health entry says;
- the audit log, when configured, is writable.

Each check is a ``ProbeCheck`` naming what failed, for the probe's JSON body.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from config_server.sources.base import SourceHealth
from config_server.sources.git.patterns import GitRepositories, Repository

__all__ = ["LoopMonitor", "ProbeCheck", "readiness"]

BLOCK_LIMIT = 2.0
"""Seconds of event-loop blocking that make liveness DOWN."""


@dataclass(frozen=True, slots=True)
class ProbeCheck:
    """One condition of a probe: its name (``git``, ``git:payments``, ``vault``, ``audit``,
    ``eventLoop``), whether it holds, and why not (or a detail when it holds)."""

    name: str
    up: bool
    detail: str = ""


class LoopMonitor:
    """Measures the event loop's lag with a heartbeat task; ``check()`` is the liveness answer.

    ``start()`` and ``close()`` from the loop; ``check()``, ``lag`` and ``worst_lag`` from
    anywhere. ``clock`` is ``time.monotonic`` unless a test passes another.
    """

    def __init__(
        self,
        *,
        interval: float = 0.25,
        block_limit: float = BLOCK_LIMIT,
        remember: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.interval = interval
        self.block_limit = block_limit
        self.remember = remember
        self._clock = clock
        self.lag = 0.0
        """How late the last heartbeat woke, in seconds."""
        self.worst_lag = 0.0
        """The largest lag seen so far, in seconds."""
        self._beat = clock()  # when the heartbeat last ran
        self._blocked_until: float | None = None  # when the last block over the limit ended
        self._blocked_for = 0.0
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the heartbeat task."""
        self._beat = self._clock()
        self._task = asyncio.create_task(self._heartbeat(), name="loop-heartbeat")

    async def close(self) -> None:
        """Stop the heartbeat task."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _heartbeat(self) -> None:
        while True:
            expected = self._clock() + self.interval
            await asyncio.sleep(self.interval)
            now = self._clock()
            self.lag = max(0.0, now - expected)
            self.worst_lag = max(self.worst_lag, self.lag)
            self._beat = now
            if self.lag > self.block_limit:
                self._blocked_until, self._blocked_for = now, self.lag

    def check(self) -> ProbeCheck:
        """``eventLoop`` UP, or DOWN: blocked now, blocked recently, or the heartbeat died."""
        now = self._clock()
        if self._task is None or self._task.done():
            return ProbeCheck("eventLoop", False, "the loop heartbeat is not running")
        silent = now - self._beat - self.interval
        if silent > self.block_limit:  # only a thread can see this: the loop is blocked now
            return ProbeCheck("eventLoop", False, f"blocked for {silent:.1f} s")
        if self._blocked_until is not None and now - self._blocked_until < self.remember:
            ago = now - self._blocked_until
            return ProbeCheck("eventLoop", False, f"blocked for {self._blocked_for:.1f} s, {ago:.0f} s ago")
        return ProbeCheck("eventLoop", True, f"lag {self.lag * 1000:.0f} ms")


class _Health(Protocol):
    async def health(self) -> SourceHealth: ...


class _Audit(Protocol):
    def health(self) -> SourceHealth: ...


async def readiness(
    *,
    groups: Sequence[GitRepositories],
    max_staleness: float,
    loop: LoopMonitor | None = None,
    vault: _Health | None = None,
    auditor: _Audit | None = None,
    now: datetime | None = None,
) -> list[ProbeCheck]:
    """Every readiness condition (see the module); the server is ready when all are ``up``.

    Asks Vault for its health (one call in the Vault executor); never raises.
    """
    now = now or datetime.now(UTC)
    checks = [] if loop is None else [loop.check()]
    checks += [_repository(repo, max_staleness, now) for group in groups for repo in _fixed(group)]
    if vault is not None:
        entry = await vault.health()
        checks.append(ProbeCheck("vault", entry.status == "UP", _why(entry.details)))
    if auditor is not None:
        entry = auditor.health()
        checks.append(ProbeCheck("audit", entry.status == "UP", _why(entry.details)))
    return checks


def _fixed(group: GitRepositories) -> list[Repository]:
    # The default and the fixed pattern repositories: template clones come and go on demand.
    return [repo for repo in group.repositories() if repo.index == -1 or not repo.spec.is_template]


def _repository(repo: Repository, max_staleness: float, now: datetime) -> ProbeCheck:
    if not repo.started:
        return ProbeCheck(repo.name, False, f"not cloned yet: {repo.error or 'cloning'}")
    if not repo.git.has_data:
        return ProbeCheck(repo.name, False, "nothing to serve: the remote has no branch or tag")
    status = repo.git.status
    age = status.age_seconds(now)
    if age is None:
        return ProbeCheck(repo.name, False, "never fetched")
    rate = repo.git.refresh_rate
    if rate <= 0:
        return ProbeCheck(repo.name, True, f"last fetched {age:.0f} s ago (no background fetch)")
    limit = max(max_staleness, 2 * rate)
    if age > limit:
        error = f": {status.last_error}" if status.last_error else ""
        return ProbeCheck(repo.name, False, f"last fetched {age:.0f} s ago, over {limit:g} s{error}")
    return ProbeCheck(repo.name, True, f"last fetched {age:.0f} s ago")


def _why(details: Mapping[str, Any]) -> str:
    if details.get("error"):
        return str(details["error"])
    return "sealed" if details.get("sealed") else ""
