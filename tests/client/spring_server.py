"""A small, real loopback config server for the client tests, in its own thread and event loop.

It answers ``GET /{app}/{profiles}[/{label}]`` like a plain Spring Cloud Config server (JSON
Environment, ``ETag``, ``304`` for a matching ``If-None-Match``, no long polls). With
``long_poll=True`` it also honours ``Prefer: wait=<n>``: it holds a conditional request until the
environment changes or the wait ends, and says so with ``Preference-Applied``. Running in its own
thread lets blocking (sync) clients and async clients talk to it alike.

``ssl_context`` serves HTTPS instead (a context with ``CERT_REQUIRED`` demands client
certificates); ``authorize(request)`` runs before each answer and returns a status to refuse
with (``401`` gets ``WWW-Authenticate: Bearer``), or ``None`` to serve.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import re
import ssl
import threading
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from config_client.wire import Environment, PropertySource, Scalar

_WAIT = re.compile(r"\bwait=(\d+)")


@dataclass(frozen=True)
class Seen:
    """One request as the server received it."""

    path: str
    headers: Mapping[str, str]


class SpringServer:
    """Serves environments set with :meth:`put`; ``fail_with``/``garbage`` simulate a sick server."""

    def __init__(
        self,
        *,
        long_poll: bool = False,
        send_etag: bool = True,
        ssl_context: ssl.SSLContext | None = None,
        authorize: Callable[[web.Request], int | None] | None = None,
    ) -> None:
        self.long_poll = long_poll
        self.send_etag = send_etag
        self.ssl_context = ssl_context
        self.authorize = authorize
        self.fail_with: int | None = None
        self.garbage: bytes | None = None
        self.seen: list[Seen] = []
        self.port = 0
        self._envs: dict[tuple[str, str, str | None], Environment] = {}
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="spring-server", daemon=True)
        self._thread.start()
        self._changed = self._call(self._new_event())
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        scheme = "https" if self.ssl_context is not None else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def put(
        self,
        app: str,
        profiles: str,
        sources: list[tuple[str, Mapping[str, Scalar]]],
        *,
        label: str | None = None,
        version: str | None = "v1",
        state: str | None = "",
    ) -> None:
        """Serve this environment (sources highest precedence first) and wake held long polls."""
        env = Environment(
            name=app,
            profiles=(profiles,),
            label=label,
            version=version,
            state=state,
            property_sources=tuple(PropertySource.of(n, v) for n, v in sources),
        )
        self._envs[(app, profiles, label)] = env
        self._call(self._bump())

    def start(self, port: int = 0) -> SpringServer:
        """Listen on ``port`` (0: any free port; the same one again after :meth:`stop`)."""
        self._call(self._start(port or self.port))
        return self

    def stop(self) -> None:
        """Stop listening (connections in flight are dropped): the server is down."""
        self._call(self._stop())

    def close(self) -> None:
        """Stop and end the thread."""
        self.stop()
        self._call(self._cancel_held())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    def _call(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    async def _new_event(self) -> asyncio.Event:
        return asyncio.Event()

    async def _bump(self) -> None:
        old, self._changed = self._changed, asyncio.Event()
        old.set()

    async def _start(self, port: int) -> None:
        app = web.Application()
        app.router.add_get("/{app}/{profiles}", self._handle)
        app.router.add_get("/{app}/{profiles}/{label}", self._handle)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port, ssl_context=self.ssl_context)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def _cancel_held(self) -> None:
        # Long polls still held when the test ends; finish them so the loop closes cleanly.
        held = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in held:
            task.cancel()
        await asyncio.gather(*held, return_exceptions=True)

    async def _stop(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    def _render(self, key: tuple[str, str, str | None]) -> tuple[bytes, str] | None:
        env = self._envs.get(key)
        if env is None:
            return None
        body = json.dumps(env.to_json()).encode()
        return body, '"' + hashlib.sha256(body).hexdigest()[:20] + '"'

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.seen.append(Seen(request.path_qs, dict(request.headers)))
        if self.authorize is not None and (refusal := self.authorize(request)) is not None:
            challenge = {"WWW-Authenticate": 'Bearer error="invalid_token"'} if refusal == 401 else {}
            return web.Response(status=refusal, headers=challenge, text="refused")
        if self.fail_with is not None:
            return web.Response(status=self.fail_with, text="broken")
        if self.garbage is not None:
            return web.Response(body=self.garbage, content_type="application/json")
        label = request.match_info.get("label")
        key = (
            request.match_info["app"].replace("(_)", "/"),
            request.match_info["profiles"],
            label.replace("(_)", "/") if label else None,
        )
        rendered = self._render(key)
        if rendered is None:
            return web.Response(status=404, text="no such label")
        headers: dict[str, str] = {}
        wait = _WAIT.search(request.headers.get("Prefer", ""))
        if self.long_poll and wait:
            headers["Preference-Applied"] = f"wait={wait.group(1)}"
        if_none_match = request.headers.get("If-None-Match")
        if self.long_poll and wait and if_none_match == rendered[1]:
            changed = self._changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), int(wait.group(1)))
            rendered = self._render(key) or rendered
        body, etag = rendered
        if self.send_etag:
            headers["ETag"] = etag
            if if_none_match == etag:
                return web.Response(status=304, headers=headers)
        return web.Response(body=body, headers=headers, content_type="application/json")
