"""``--serve-last-good``: an application whose label head is broken is served from its last good commit.

``LastGoodSource`` wraps a ``GitConfigSource`` and changes only what ``pin`` names. For each
branch or tag label of a query it judges the application's configuration at the label's head
(``config_server.checks``: every file parses, every ``{cipher}`` value decrypts, every extra
check passes). A good head is pinned as usual. A broken head makes it walk back the label's
first-parent history (at most ``depth`` commits) to the newest commit that is good, and pin that
one, with the problem found at the head. Everything downstream follows from the pin:

- the service caches the answer under that pin, so a later fixed head (a new pin) replaces it;
- the content, and so the ETag, is the last good one's, so long-poll watchers are not woken, and
  the fixing commit wakes them once (with the fix);
- ``version`` is the last good commit's id, and the contribution carries an RFC 7234 ``Warning``.

Verdicts are remembered per (query, commit) and the answer per (query, head), so a running
server judges each commit once and walks once per broken head; a freshly started server walks
again, which is what gives a new client after a restart the last good commit too.

Rules: a commit-id label is served as asked (the client named that exact commit), broken or not.
Comma labels are judged label by label (each label's files on their own). With no good commit
within ``depth``, the head is served as without the flag (the error it raises: 500).
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Awaitable, Callable, Collection, Hashable, Sequence
from dataclasses import dataclass, replace

from config_client.wire import PropertySource, PropertyValue

from config_server import resolve
from config_server.caching import LRU, SingleFlight
from config_server.checks import Check, CheckContext, Problem, problem_of, warning_value
from config_server.crypto.environment import CIPHER
from config_server.errors import ConfigServerError, InvalidConfiguration, LabelNotFound
from config_server.formats.documents import origin_line
from config_server.sources.base import ChangeListener, Contribution, Query, SourceHealth
from config_server.sources.git.files import GitConfigSource
from config_server.validation.problems import format_text

__all__ = ["DEFAULT_DEPTH", "Fallback", "LastGoodSource", "LastGoodSources", "degraded_health"]

_log = logging.getLogger(__name__)

DEFAULT_DEPTH = 50
"""How many commits of a label's history are searched for a good one (the head included)."""

Decrypt = Callable[[Sequence[PropertySource]], Awaitable[tuple[PropertySource, ...]]]
_READ_FILE_TIMEOUT_S = 30.0


@dataclass(frozen=True, slots=True)
class Fallback:
    """One application served from an older commit than its label's head."""

    query: Query
    """Single-label: (applications, profiles, the label)."""
    served: str
    """The last good commit, served."""
    head: str
    """The label's head, broken."""
    problem: Problem
    repository: str = ""
    """The repository's URI without credentials (which of the pattern repositories)."""


@dataclass(frozen=True, slots=True)
class _GuardedPin:
    inner: Hashable
    warnings: tuple[str, ...]


class LastGoodSource:
    """A ``GitConfigSource`` that serves each application its last good commit when the head breaks it.

    ``decrypt``: the service's decryptor (None: no keys, so any ``{cipher}`` value is a problem,
    as it would be served ``invalid``); ``checks``: extra checks (``config_server.checks``);
    ``depth``: commits searched, the head included. Use from one event loop.
    """

    poll_interval = 0.0  # the inner source's fetches call the listeners

    def __init__(
        self,
        *,
        inner: GitConfigSource,
        decrypt: Decrypt | None,
        checks: Sequence[Check] = (),
        depth: int = DEFAULT_DEPTH,
        cache_size: int = 2048,
    ) -> None:
        self.inner = inner
        self.name = inner.name
        self.checks = tuple(checks)
        self.depth = max(1, depth)
        self._decrypt = decrypt
        self._cache_size = max(1, cache_size)
        self._verdicts: LRU[tuple[Query, str], Problem | None] = LRU(cache_size * 4)
        self._answers: LRU[tuple[Query, str], tuple[str, Problem | None]] = LRU(cache_size)
        self._served: LRU[Query, str] = LRU(cache_size)  # the last good commit served, per query
        self._flight: SingleFlight[tuple[Query, str], tuple[str, Problem | None]] = SingleFlight()
        self._degraded: dict[Query, Fallback] = {}
        inner.add_listener(self._recheck)

    # --- the Source protocol --------------------------------------------------------------------

    async def pin(self, query: Query) -> Hashable:
        """The inner pin with each branch or tag label at its last good commit (usually its head).

        Raises ``LabelNotFound``, ``InvalidRequest``, and ``Unavailable`` when git cannot be read.
        """
        git = self.inner.git
        commits: list[str | None] = []
        warnings: list[str] = []
        for label in query.labels:
            found = await self.inner.resolve_label(query, label)
            if found is None:  # left out (continue-on-multiple-label-failure)
                commits.append(None)
                continue
            head = found
            if not git.is_ref(label):  # a commit id: served as asked
                commits.append(head)
                continue
            single = Query(query.applications, query.profiles, (label,))
            commit, problem = await self._answer(single, head)
            commits.append(commit)
            if problem is not None:
                warnings.append(warning_value(commit, problem))
        return _GuardedPin(self.inner.pin_at(query, commits), tuple(warnings))

    async def read(self, query: Query, pin: Hashable | None, *, token: str | None = None) -> Contribution:
        """The inner source's answer at ``pin``, with the ``Warning`` values of any fallback."""
        if not isinstance(pin, _GuardedPin):
            pin = await self.pin(query)
            assert isinstance(pin, _GuardedPin)
        part = await self.inner.read(query, pin.inner, token=token)
        return replace(part, warnings=part.warnings + pin.warnings) if pin.warnings else part

    async def resource(self, query: Query, path: str) -> tuple[bytes, str] | None:
        """Plain-text resources are not judged: served from the head, as without the flag."""
        return await self.inner.resource(query, path)

    async def health(self) -> SourceHealth:
        """The git repository's entry (the fallbacks have their own: ``degraded_health``)."""
        return await self.inner.health()

    def add_listener(self, listener: ChangeListener) -> None:
        self.inner.add_listener(listener)

    async def poll(self, queries: Collection[Query]) -> set[Query]:
        return set()

    # --- what health shows ----------------------------------------------------------------------

    @property
    def fallbacks(self) -> list[Fallback]:
        """The applications served from an older commit right now, oldest fallback first."""
        return list(self._degraded.values())

    def degraded_health(self) -> SourceHealth:
        """``lastGood`` for this repository alone (see ``degraded_health``)."""
        return degraded_health(self.fallbacks)

    # --- judging --------------------------------------------------------------------------------

    async def _answer(self, single: Query, head: str) -> tuple[str, Problem | None]:
        """The commit to serve for a single-label query whose label is at ``head``, and the
        head's problem when that is an older commit. Updates what health shows."""
        key = (single, head)
        answer = self._answers.get(key)
        if answer is None:
            answer = await self._flight.do(key, lambda: self._walk(single, head))
        commit, problem = answer
        if problem is None:
            self._degraded.pop(single, None)
        else:
            self._degraded.pop(single, None)  # re-inserted last: the dict stays in age order
            self._degraded[single] = Fallback(single, commit, head, problem, self.inner.git.display_uri)
            while len(self._degraded) > self._cache_size:
                del self._degraded[next(iter(self._degraded))]
        return answer

    async def _walk(self, single: Query, head: str) -> tuple[str, Problem | None]:
        problem = await self._verdict(single, head)
        answer: tuple[str, Problem | None] = (head, None)
        if problem is None:
            self._served.put(single, head)
        else:
            remembered = self._served.get(single)
            for commit in (await self.inner.git.history(head, self.depth))[1:]:
                # The commit last served was judged good: no need to judge it, or look further.
                if commit == remembered or await self._verdict(single, commit) is None:
                    self._served.put(single, commit)
                    answer = (commit, problem)
                    _log.warning(
                        "%s/%s: the head %s of label %s is broken (%s); serving %s",
                        ",".join(single.applications),
                        ",".join(single.profiles),
                        head,
                        single.labels[0] or "(default)",
                        format_text(problem),
                        commit,
                    )
                    break
            else:
                _log.warning(
                    "%s: no good commit in the last %d of %s", format_text(problem), self.depth, head
                )
        self._answers.put((single, head), answer)
        return answer

    async def _verdict(self, single: Query, commit: str) -> Problem | None:
        """The first problem of a single-label query's configuration at ``commit`` (None: good)."""
        key = (single, commit)
        if key in self._verdicts:
            return self._verdicts.get(key)
        try:
            problem = await self._judge(single, commit)
        except InvalidConfiguration as exc:
            problem = problem_of(exc)
        self._verdicts.put(key, problem)
        return problem

    async def _judge(self, single: Query, commit: str) -> Problem | None:
        part = await self.inner.read(single, self.inner.pin_at(single, [commit]))  # raises the parse error
        sources = part.sources
        uri = self.inner.git.display_uri
        secret_keys = frozenset(
            key for s in sources for key, v in s.source.items() if str(v.value).startswith(CIPHER)
        )
        if secret_keys:
            decrypted = await self._decrypt(sources) if self._decrypt is not None else ()
            problem = _cipher_problem(sources, decrypted, uri)
            if problem is not None:
                return problem
            sources = tuple(
                _with_origins(after, before) for after, before in zip(decrypted, sources, strict=True)
            )
        if not self.checks:
            return None
        git = self.inner.git
        tree = await git.tree(commit)
        loop = asyncio.get_running_loop()

        def read_file(path: str) -> bytes | None:  # from the check's worker thread
            blob = tree.files.get(path)
            if blob is None:
                return None
            return asyncio.run_coroutine_threadsafe(git.read_blob(blob), loop).result(_READ_FILE_TIMEOUT_S)

        context = CheckContext(
            applications=single.applications,
            profiles=single.profiles,
            label=single.labels[0],
            commit=commit,
            files=tree.files,
            sources=tuple(sources),
            read_file=read_file,
            paths={source.name: resolve.source_path(source.name, uri) for source in sources},
            secret_keys=secret_keys,
        )
        for check in self.checks:
            found = await asyncio.to_thread(_run_check, check, context)
            if found is not None:
                return found
        return None

    async def _recheck(self) -> None:
        """After a fetch: judge the new heads of the applications served from older commits, so a
        fix shows in health (and in the log) even before their next request."""
        for fallback in self.fallbacks:
            single = fallback.query
            try:
                await self.pin(single)
            except LabelNotFound:
                self._degraded.pop(single, None)  # the label is gone: nothing is served for it
            except ConfigServerError as exc:
                _log.warning("cannot judge the new head for %s: %s", ",".join(single.applications), exc)


def degraded_health(fallbacks: Sequence[Fallback]) -> SourceHealth:
    """``lastGood``: UP, or DEGRADED naming each application served from an older commit, the
    file (and line) that broke its head and the repository holding it. Not essential: the server
    still serves."""
    if not fallbacks:
        return SourceHealth(name="lastGood", status="UP", details={}, essential=False)
    apps = sorted({",".join(f.query.applications) for f in fallbacks})
    files = sorted({f.problem.path for f in fallbacks})
    repositories = sorted({f.repository for f in fallbacks if f.repository})
    problems = "; ".join(
        f"{','.join(f.query.applications)}/{','.join(f.query.profiles)}"
        f" (label {f.query.labels[0] or 'default'}): serving {f.served} instead of {f.head}:"
        f" {format_text(f.problem)}"
        for f in fallbacks
    )
    return SourceHealth(
        name="lastGood",
        status="DEGRADED",
        details={
            "applications": ", ".join(apps),
            "files": ", ".join(files),
            "repositories": ", ".join(repositories),
            "problems": problems,
        },
        essential=False,
    )


class LastGoodSources:
    """Makes the ``LastGoodSource`` of each concrete repository (``wrap``, given to
    ``GitRepositories``) and gives them one health entry. Holds them weakly: a template clone
    closed by its LRU takes its source with it.

    ``decrypt`` is set once the key ring exists (after the clones are made, before any request).
    """

    def __init__(self, *, checks: Sequence[Check] = (), cache_size: int = 2048) -> None:
        self.decrypt: Decrypt | None = None
        self._checks = tuple(checks)
        self._cache_size = cache_size
        self._made: weakref.WeakSet[LastGoodSource] = weakref.WeakSet()

    def wrap(self, inner: GitConfigSource) -> LastGoodSource:
        source = LastGoodSource(
            inner=inner, decrypt=self._decrypt, checks=self._checks, cache_size=self._cache_size
        )
        self._made.add(source)
        return source

    def degraded_health(self) -> SourceHealth:
        """``lastGood`` over every repository."""
        return degraded_health([f for source in list(self._made) for f in source.fallbacks])

    async def _decrypt(self, sources: Sequence[PropertySource]) -> tuple[PropertySource, ...]:
        if self.decrypt is None:
            raise RuntimeError("LastGoodSources.decrypt is set by the composition root before serving")
        return tuple(await self.decrypt(sources))


def _run_check(check: Check, context: CheckContext) -> Problem | None:
    """The first problem ``check`` finds. A check that fails unexpectedly (a bug in it) is logged
    and passes: it must not hold every application back."""
    try:
        return next(iter(check(context)), None)
    except ConfigServerError:
        raise
    except Exception:
        _log.exception("the check %r failed; ignoring it", check)
        return None


def _cipher_problem(
    raw: Sequence[PropertySource], decrypted: Sequence[PropertySource], uri: str
) -> Problem | None:
    """The first ``{cipher}`` value that did not decrypt (decryption removes its key and adds
    ``invalid.<key>``); names the file and line, never the value."""
    for index, before in enumerate(raw):
        after = decrypted[index].source if index < len(decrypted) else {}
        for key, value in before.source.items():
            if str(value.value).startswith(CIPHER) and key not in after:
                return Problem(
                    resolve.source_path(before.name, uri),
                    origin_line(value.origin),
                    f"the {{cipher}} value of {key} does not decrypt",
                )
    return None


def _with_origins(decrypted: PropertySource, raw: PropertySource) -> PropertySource:
    """``decrypted`` with each decrypted value's ``line:column`` origin put back (decryption, as
    Spring's, serves plain values), so a check can name the line of a secret it objects to."""
    values = {
        key: PropertyValue(value.value, raw.source[key].origin)
        if value.origin is None and key in raw.source
        else value
        for key, value in decrypted.source.items()
    }
    return PropertySource(decrypted.name, values)
