"""``AsyncConfigClient``: load, merge, validate, cache, and hot reload by long poll or polling.

The one implementation; :class:`config_client.ConfigClient` runs it on a private event loop.
Readers always see one whole :class:`~config_client.snapshot.Snapshot`: a reload builds a new one
and swaps a single reference.

Layers, lowest to highest precedence: the server's property sources (first source wins), the
``local_file``, then environment variables (see :mod:`config_client.envvars`).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from config_client.auth import BearerTokens
from config_client.bind import bind as bind_values
from config_client.cache import LastGoodCache, load_fernet
from config_client.envvars import apply_env_overrides
from config_client.errors import (
    CacheError,
    ConfigClientError,
    ConfigUnavailable,
    InvalidResponse,
    LocalFileError,
    RequestRejected,
    SnapshotRejected,
)
from config_client.localfile import read_local_file, watch_local_file
from config_client.merge import merge_sources
from config_client.oauth2 import OAuth2, OAuth2Tokens
from config_client.retry import Backoff, is_testing
from config_client.snapshot import ChangeEvent, Origin, Snapshot, diff
from config_client.tls import client_ssl_context
from config_client.tokenfile import FileToken
from config_client.transport import (
    DEFAULT_CLIENT_ID,
    Credentials,
    Fetched,
    Transport,
    environment_url,
    split_userinfo,
)
from config_client.transport import client_id as client_id_of
from config_client.wire import Environment, PropertySource, Scalar

__all__ = ["AsyncConfigClient", "ChangeCallback"]

log = logging.getLogger(__name__)

T = TypeVar("T")
ChangeCallback = Callable[[ChangeEvent], "Awaitable[None] | None"]

# Shortest time between two requests of the reload loop, so a server that answers long polls at
# once (or a proxy that strips the wait) cannot make the client spin.
_MIN_SPACING = 1.0
_MIN_SPACING_TESTING = 0.05


class AsyncConfigClient:
    """Configuration from a Spring Cloud Config server, for asyncio services.

    ``await load()`` fetches now (retrying with backoff) and returns the snapshot; ``await start()``
    also keeps it current in the background; ``await aclose()`` stops. ``async with`` does all
    three. Reading (``get``, ``[]``, ``nested``, ``version``, ``bind``) never does I/O.

    Raises from ``load()``/``start()``: ``ConfigUnavailable`` or ``InvalidResponse`` after the
    retries, ``RequestRejected`` subclasses at once, ``SnapshotRejected`` when ``validate``
    refuses, ``LocalFileError``, ``TokenFileError`` and ``CacheError``; with ``fail_fast=False``
    a failed fetch falls back to the last-known-good cache first. Not thread-safe: use it from one
    event loop (:class:`~config_client.ConfigClient` is the thread-safe face).

    Authentication, at most one of: ``username``/``password`` (or ``http://user:pass@host``),
    ``token`` (fixed bearer), ``token_file`` (bearer re-read when the file changes), ``oauth2``
    (client-credentials grant, refreshed before expiry). With ``token_file`` or ``oauth2`` a 401
    renews the token and retries once. TLS: ``ca`` (PEM CAs to trust instead of the system's;
    ``ca_file`` is its older name), ``cert`` and ``key`` (a client certificate). ``client_id`` is
    sent as ``X-Config-Client-Id`` so the server's fleet view (``/actuator/clients``) can tell
    instances apart: by default ``"{hostname}:{pid}"`` (both placeholders are replaced); None or
    ``""`` sends none. The constructor raises ``ValueError`` for conflicting options, an invalid
    ``client_id`` (over 256 characters or not printable ASCII) or unreadable TLS files; it does no
    network I/O.
    """

    def __init__(
        self,
        url: str,
        *,
        application: str,
        profiles: Sequence[str] | str = ("default",),
        label: str | None = None,
        fail_fast: bool = False,
        retry_initial: float = 1.0,
        retry_multiplier: float = 1.5,
        retry_max_interval: float = 30.0,
        retry_max_attempts: int = 6,
        cache_dir: str | os.PathLike[str] | None = None,
        cache_key_env: str | None = None,
        validate: Callable[[Snapshot], object] | None = None,
        env_overrides: bool = True,
        env_prefix: str = "",
        environ: Mapping[str, str] | None = None,
        local_file: str | os.PathLike[str] | None = None,
        username: str | None = None,
        password: str | None = None,
        token: str | None = None,
        token_file: str | os.PathLike[str] | None = None,
        oauth2: OAuth2 | None = None,
        config_token: str | None = None,
        ca: str | os.PathLike[str] | None = None,
        cert: str | os.PathLike[str] | None = None,
        key: str | os.PathLike[str] | None = None,
        ca_file: str | os.PathLike[str] | None = None,
        headers: Mapping[str, str] | None = None,
        client_id: str | None = DEFAULT_CLIENT_ID,
        long_poll_wait: float = 60.0,
        poll_interval: float = 30.0,
        connect_timeout: float = 10.0,
        request_timeout: float = 30.0,
        max_body_bytes: int = 32 * 1024 * 1024,
    ) -> None:
        base, url_user, url_password = split_userinfo(url)
        profile_list = (
            [p.strip() for p in profiles.split(",")] if isinstance(profiles, str) else list(profiles)
        )
        _check_names(application, profile_list, label)
        given = [
            name
            for name, value in [
                ("password", password if password is not None else url_password),
                ("token", token),
                ("token_file", token_file),
                ("oauth2", oauth2),
            ]
            if value is not None
        ]
        if len(given) > 1:
            raise ValueError(
                f"give only one of password, token, token_file or oauth2 (got {' and '.join(given)})"
            )
        extra = dict(headers or {})
        instance = client_id_of(client_id)
        if instance is not None:  # the server's fleet view (GET /actuator/clients) lists it
            extra.setdefault("X-Config-Client-Id", instance)
        if any(k.lower() == "authorization" for k in extra) and given:
            raise ValueError(f"an Authorization header cannot be combined with {given[0]}")
        if ca is not None and ca_file is not None:
            raise ValueError("give ca or its older name ca_file, not both")
        if long_poll_wait < 0 or poll_interval <= 0 or connect_timeout <= 0 or request_timeout <= 0:
            raise ValueError("long_poll_wait must be >= 0 and poll_interval and timeouts > 0 (seconds)")
        self.application = application
        self.profiles = tuple(profile_list)
        self.label = label
        self.fail_fast = fail_fast
        self._backoff = Backoff(retry_initial, retry_multiplier, retry_max_interval, retry_max_attempts)
        self._validate = validate
        self._env_overrides = env_overrides
        self._env_prefix = env_prefix
        self._environ: Mapping[str, str] = environ if environ is not None else os.environ
        self._local_path = Path(local_file) if local_file is not None else None
        self._wait = long_poll_wait
        self._poll_interval = poll_interval
        credentials = Credentials(
            username=username if username is not None else url_user,
            password=password if password is not None else url_password,
            token=token,
            config_token=config_token,
        )
        self.url = environment_url(base, application, profile_list, label)
        tokens: BearerTokens | None = None
        if oauth2 is not None:
            tokens = OAuth2Tokens(oauth2)
        elif token_file is not None:
            tokens = FileToken(token_file)
        self._transport = Transport(
            url=self.url,
            headers={**extra, **credentials.headers()},
            ssl_context=client_ssl_context(ca=ca if ca is not None else ca_file, cert=cert, key=key),
            connect_timeout=connect_timeout,
            request_timeout=request_timeout,
            max_body_bytes=max_body_bytes,
            tokens=tokens,
        )
        self._cache: LastGoodCache | None = None
        if cache_dir is not None:
            cipher = load_fernet(cache_key_env, self._environ) if cache_key_env else None
            identity = "\n".join([base, application, ",".join(profile_list), label or ""])
            name = f"{application}-{','.join(profile_list)}" + (f"-{label}" if label else "")
            self._cache = LastGoodCache(Path(cache_dir), identity=identity, name=name, cipher=cipher)
        self._snapshot: Snapshot | None = None
        self._local: dict[str, Scalar] = {}
        self._etag: str | None = None  # the last 200's ETag, accepted or not, for If-None-Match
        self._seen: str | None = None  # the last 200's tag, so a rejected body is not offered again
        self._callbacks: list[ChangeCallback] = []
        self._lock = asyncio.Lock()
        self._closed = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def __repr__(self) -> str:
        # No credentials here: the URL carries none (userinfo was split off) and headers are left out.
        return f"<AsyncConfigClient {self.url} version={self.version!r}>"

    # -- reading -------------------------------------------------------------------------------

    @property
    def snapshot(self) -> Snapshot:
        """The current snapshot; raises ``RuntimeError`` before the first successful ``load()``."""
        if self._snapshot is None:
            raise RuntimeError("no configuration yet: call load() (or start()) first")
        return self._snapshot

    @property
    def version(self) -> str | None:
        """The current snapshot's version, or ``None`` before loading (or if the server sends none)."""
        return self._snapshot.version if self._snapshot is not None else None

    @property
    def nested(self) -> Mapping[str, Any]:
        """The current configuration as a read-only nested mapping (lists are tuples)."""
        return self.snapshot.nested

    def get(self, key: str, default: Any = None) -> Any:
        """The value of ``key`` (a flat key such as ``db.url`` or ``hosts[0]``), else ``default``."""
        return self.snapshot.get(key, default)

    def __getitem__(self, key: str) -> Scalar:
        return self.snapshot[key]

    def bind(self, target: type[T], *, prefix: str = "") -> T:
        """Fill the ``target`` dataclass from the current snapshot; see :func:`config_client.bind.bind`."""
        return bind_values(target, self.snapshot, prefix=prefix)

    def on_change(self, callback: ChangeCallback) -> Callable[[], None]:
        """Call ``callback(event)`` after each change (plain or async); returns an unsubscribe function.

        Callbacks run one after another on the client's event loop, so keep them short; one that
        raises is logged and the others still run.
        """
        self._callbacks.append(callback)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._callbacks.remove(callback)

        return unsubscribe

    # -- lifecycle -----------------------------------------------------------------------------

    async def __aenter__(self) -> AsyncConfigClient:
        try:
            await self.start()
        except BaseException:
            await self.aclose()  # no __aexit__ follows a failed __aenter__
            raise
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def load(self) -> Snapshot:
        """Fetch the configuration now and make it current; see the class docstring for errors."""
        if self._closed.is_set():
            raise RuntimeError("the client is closed")
        if self._local_path is not None:
            self._local = await asyncio.to_thread(read_local_file, self._local_path)
        fetched: Fetched | None = None
        error: ConfigClientError | None = None
        attempts = 0
        for attempts in range(1, self._backoff.max_attempts + 1):
            try:
                fetched = await self._transport.fetch(state=self._state())
                break
            except (ConfigUnavailable, InvalidResponse) as exc:
                error = exc
                log.warning("config_client: attempt %d failed: %s", attempts, exc)
                if attempts < self._backoff.max_attempts and await self._pause(self._backoff.delay(attempts)):
                    raise RuntimeError("the client was closed while loading") from exc
            except ConfigClientError as exc:  # 4xx: the same request will fail again
                error = exc
                break
        if fetched is not None and fetched.environment is not None:
            try:
                return await self._install(fetched.environment, "server", fetched)
            except SnapshotRejected as exc:
                error = exc
        assert error is not None
        if isinstance(error, ConfigUnavailable):
            error = ConfigUnavailable(
                f"{error.message} (gave up after {attempts} attempts)", attempts=attempts
            )
        if self.fail_fast or self._cache is None:
            raise error
        return await self._load_from_cache(error)

    async def start(self) -> None:
        """Load (if not loaded yet) and keep the configuration current in the background."""
        if self._tasks:
            return
        if self._snapshot is None:
            await self.load()
        self._tasks.append(asyncio.create_task(self._reload_loop(), name="config-client-reload"))
        if self._local_path is not None:
            stop = asyncio.Event()
            self._tasks.append(asyncio.create_task(self._watch_local(stop), name="config-client-local-file"))

    async def aclose(self) -> None:
        """Stop the background work and close the HTTP session; returns promptly, even mid long poll."""
        self._closed.set()
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._transport.close()

    # -- internals -----------------------------------------------------------------------------

    def _state(self) -> str | None:
        return (self._snapshot.environment.state or None) if self._snapshot is not None else None

    async def _pause(self, seconds: float) -> bool:
        """Sleep ``seconds`` unless closed first; returns whether the client was closed."""
        if seconds > 0:
            # asyncio.timeout, not wait_for: Python 3.11's wait_for swallows a cancel that lands in
            # the loop step the wait finishes in (aclose() sets the event, then cancels).
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(seconds):
                    await self._closed.wait()
        return self._closed.is_set()

    async def _load_from_cache(self, error: ConfigClientError) -> Snapshot:
        assert self._cache is not None
        try:
            environment = await asyncio.to_thread(self._cache.load)
        except CacheError as exc:
            log.error("config_client: the last-known-good cache is unusable: %s", exc)
            environment = None
        if environment is None:
            raise _amend(error, "and there is no usable last-known-good cache") from error
        log.warning(
            "config_client: starting from the last-known-good cache (%s): %s", self._cache.path, error
        )
        return await self._install(environment, "cache", None)

    async def _install(self, environment: Environment, origin: Origin, fetched: Fetched | None) -> Snapshot:
        """Build, validate, swap and announce a snapshot; raises ``SnapshotRejected``."""
        async with self._lock:
            if fetched is not None:
                self._etag, self._seen = fetched.etag, fetched.tag
            snapshot = self._build(environment, origin)
            self._check(snapshot)
            old, self._snapshot = self._snapshot, snapshot
            if origin == "server" and self._cache is not None:
                await self._save_cache(environment)
            event = diff(old, snapshot) if old is not None else None
            if event is not None:
                await self._emit(event)
            return snapshot

    def _build(self, environment: Environment, origin: Origin) -> Snapshot:
        sources: list[PropertySource] = list(environment.property_sources)
        if self._local:
            sources.insert(0, PropertySource.of("local_file", self._local))
        values: Mapping[str, Scalar] = merge_sources(sources)
        if self._env_overrides:
            values = apply_env_overrides(values, self._environ, prefix=self._env_prefix)
        return Snapshot(values, environment=environment, origin=origin)

    def _check(self, snapshot: Snapshot) -> None:
        if self._validate is None:
            return
        try:
            self._validate(snapshot)
        except Exception as exc:
            raise SnapshotRejected(
                f"validate rejected configuration version {snapshot.version!r}: {type(exc).__name__}: {exc}"
            ) from exc

    async def _save_cache(self, environment: Environment) -> None:
        assert self._cache is not None
        try:
            await asyncio.to_thread(self._cache.save, environment, etag=self._etag)
        except CacheError as exc:
            log.error("config_client: %s", exc)

    async def _emit(self, event: ChangeEvent) -> None:
        for callback in list(self._callbacks):
            try:
                result = callback(event)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("config_client: change callback %r failed", callback)

    async def _reload_loop(self) -> None:
        loop = asyncio.get_running_loop()
        failures = 0
        while not self._closed.is_set():
            started = loop.time()
            pause = self._poll_interval
            try:
                fetched = await self._transport.fetch(etag=self._etag, state=self._state(), wait=self._wait)
            except ConfigClientError as exc:
                failures += 1
                pause = self._backoff.delay(failures)
                log.warning(
                    "config_client: reload failed (%d in a row), keeping version %r: %s",
                    failures,
                    self.version,
                    exc,
                )
            else:
                failures = 0
                if fetched.long_poll:
                    pause = 0.0
                if fetched.environment is not None and fetched.tag != self._seen:
                    try:
                        await self._install(fetched.environment, "server", fetched)
                    except SnapshotRejected as exc:
                        log.error("config_client: %s; keeping version %r", exc, self.version)
                elif fetched.environment is not None:
                    self._etag = fetched.etag
            spacing = _MIN_SPACING_TESTING if is_testing() else _MIN_SPACING
            if await self._pause(max(pause, spacing - (loop.time() - started))):
                return

    async def _watch_local(self, stop: asyncio.Event) -> None:
        assert self._local_path is not None
        try:
            await watch_local_file(self._local_path, self._reload_local, stop, force_polling=None)
        finally:
            stop.set()

    async def _reload_local(self) -> None:
        assert self._local_path is not None
        try:
            local = await asyncio.to_thread(read_local_file, self._local_path)
        except LocalFileError as exc:
            if not self._local_path.exists():
                log.info("config_client: %s was removed; dropping its overrides", self._local_path)
                local = {}
            else:
                log.error("config_client: %s; keeping the previous local overrides", exc)
                return
        previous, self._local = self._local, local
        if self._snapshot is None:
            return
        try:
            await self._install(self._snapshot.environment, self._snapshot.origin, None)
        except SnapshotRejected as exc:
            self._local = previous
            log.error("config_client: %s (after a local file change); keeping version %r", exc, self.version)


def _amend(error: ConfigClientError, note: str) -> ConfigClientError:
    """The same kind of error with ``note`` appended (the constructors differ by keywords)."""
    message = f"{error.message}; {note}"
    if isinstance(error, ConfigUnavailable):
        return ConfigUnavailable(message, attempts=error.attempts)
    if isinstance(error, RequestRejected):
        return type(error)(message, status=error.status)
    return type(error)(message)


def _check_names(application: str, profiles: list[str], label: str | None) -> None:
    if not application or not application.strip():
        raise ValueError("application must be a non-empty name")
    if not profiles or any(not p for p in profiles):
        raise ValueError("profiles must be a non-empty list of non-empty names")
    for value, what in [
        (application, "application"),
        *((p, "profile") for p in profiles),
        (label or "", "label"),
    ]:
        if ".." in value or "#" in value or any(ord(c) < 32 for c in value) or value.startswith("(_)"):
            raise ValueError(f"{what} {value!r} contains '..', '#', '(_)' or control characters")
    if any("/" in p or "," in p for p in profiles):
        raise ValueError("a profile cannot contain '/' or ','; pass several profiles as a list")
