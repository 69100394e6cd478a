"""``ConfigClient``: the blocking face of :class:`~config_client.client.AsyncConfigClient`.

The async client runs on a private event loop in a daemon thread; blocking calls submit
coroutines to it and wait. Reads (``get``, ``[]``, ``nested``, ``version``, ``bind``) read the
current snapshot reference directly and never block. ``on_change`` callbacks run in that thread.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable, Coroutine, Mapping, Sequence
from types import TracebackType
from typing import Any, TypeVar

from config_client.client import AsyncConfigClient, ChangeCallback
from config_client.oauth2 import OAuth2
from config_client.snapshot import Snapshot
from config_client.transport import DEFAULT_CLIENT_ID
from config_client.wire import Scalar

__all__ = ["ConfigClient"]

T = TypeVar("T")
R = TypeVar("R")


class ConfigClient:
    """Configuration from a Spring Cloud Config server, for threaded (non-asyncio) code.

    Same options and errors as :class:`~config_client.AsyncConfigClient`. ``load()`` fetches now,
    ``start()`` also reloads in the background, ``close()`` stops (within a second, even in the
    middle of a long poll); ``with ConfigClient(...) as client:`` does all three. Thread-safe.
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
        self._client = AsyncConfigClient(
            url,
            application=application,
            profiles=profiles,
            label=label,
            fail_fast=fail_fast,
            retry_initial=retry_initial,
            retry_multiplier=retry_multiplier,
            retry_max_interval=retry_max_interval,
            retry_max_attempts=retry_max_attempts,
            cache_dir=cache_dir,
            cache_key_env=cache_key_env,
            validate=validate,
            env_overrides=env_overrides,
            env_prefix=env_prefix,
            environ=environ,
            local_file=local_file,
            username=username,
            password=password,
            token=token,
            token_file=token_file,
            oauth2=oauth2,
            config_token=config_token,
            ca=ca,
            cert=cert,
            key=key,
            ca_file=ca_file,
            headers=headers,
            client_id=client_id,
            long_poll_wait=long_poll_wait,
            poll_interval=poll_interval,
            connect_timeout=connect_timeout,
            request_timeout=request_timeout,
            max_body_bytes=max_body_bytes,
        )
        self._guard = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._closed = False

    def __repr__(self) -> str:
        return f"<ConfigClient {self._client.url} version={self.version!r}>"

    # -- reading (no I/O, no locking: one reference read) ---------------------------------------

    @property
    def snapshot(self) -> Snapshot:
        """The current snapshot; raises ``RuntimeError`` before the first successful ``load()``."""
        return self._client.snapshot

    @property
    def version(self) -> str | None:
        """The current snapshot's version (``None`` before loading)."""
        return self._client.version

    @property
    def nested(self) -> Mapping[str, Any]:
        """The current configuration as a read-only nested mapping."""
        return self._client.nested

    def get(self, key: str, default: Any = None) -> Any:
        """The value of flat ``key``, else ``default``."""
        return self._client.get(key, default)

    def __getitem__(self, key: str) -> Scalar:
        return self._client[key]

    def bind(self, target: type[T], *, prefix: str = "") -> T:
        """Fill the ``target`` dataclass from the current snapshot; raises ``BindError``."""
        return self._client.bind(target, prefix=prefix)

    def on_change(self, callback: ChangeCallback) -> Callable[[], None]:
        """Call ``callback(event)`` (in the client's thread) after each change; returns an unsubscribe."""
        return self._client.on_change(callback)

    # -- lifecycle ----------------------------------------------------------------------------

    def __enter__(self) -> ConfigClient:
        try:
            self.start()
        except BaseException:
            self.close()  # no __exit__ follows a failed __enter__: free the thread and session now
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def load(self) -> Snapshot:
        """Fetch now (blocking, with retries); returns the snapshot. Errors as ``AsyncConfigClient.load``."""
        return self._run(self._client.load())

    def start(self) -> None:
        """Load if needed, then reload in the background thread until :meth:`close`."""
        self._run(self._client.start())

    def close(self) -> None:
        """Stop background reloading and the thread (idempotent)."""
        with self._guard:
            if self._closed:
                return
            self._closed = True
            loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self._client.aclose(), loop).result(timeout=5)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=5)
            if not thread.is_alive():
                loop.close()

    def _run(self, coro: Coroutine[Any, Any, R]) -> R:
        loop = self._ensure_loop(coro)
        if threading.current_thread() is self._thread:
            coro.close()
            raise RuntimeError("ConfigClient methods that wait cannot be called from its own callbacks")
        return asyncio.run_coroutine_threadsafe(coro, loop).result()

    def _ensure_loop(self, coro: Coroutine[Any, Any, Any]) -> asyncio.AbstractEventLoop:
        with self._guard:
            if self._closed:
                coro.close()
                raise RuntimeError("the client is closed")
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="config-client", daemon=True)
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop
