"""Connection-level limits of the HTTP server, below the application: aiohttp's protocol, hardened.

``HardenedAppRunner(app, limits=ConnectionLimits(...))`` runs an application like
``web.AppRunner``, with each connection handled by ``HardenedRequestHandler`` (a subclass of
aiohttp's ``RequestHandler``), which adds:

- a header-read timeout: from a connection's accept, and from the first byte of each later
  request on a keep-alive connection, the whole request head must arrive within
  ``header_timeout`` seconds, else the connection is answered 408 (when no response is under
  way) and closed. A request whose head has arrived is never cut, however long its handler
  takes (a long poll); an idle keep-alive connection keeps aiohttp's ``keepalive_timeout``.
- a per-address connection cap: a connection beyond ``max_per_address`` open ones from the same
  client address (an IPv6 client: the same /64) is answered 429 with ``Retry-After: 1`` before
  anything is read, and closed.
- JSON error bodies for requests the HTTP parser rejects (a malformed request line or header, a
  control character, a header over 8190 bytes, over 128 headers): Spring Boot's body of
  ``http.errors`` with status 400, or 431 for a header too large or too many; aiohttp's own
  ``text/plain`` answer repeats the offending bytes, a token among them. Neither the body nor the
  log line holds a byte of the request.

- a stop that lets a request in flight finish: once the server is stopping (SIGTERM), aiohttp
  drops every byte that arrives, so a request whose body was still on its way would wait for it
  until the shutdown timeout; the rest of that body is still read.

The head timer is armed by the bytes the protocol receives, so it works with either of aiohttp's
parsers (the C ``llhttp`` one by default). One bound is not exact: a next request pipelined in
the same read as the end of a previous request's *body* starts its timer at its next read (the
connection is bounded meanwhile by ``keepalive_timeout``, as an idle one is).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import (
    BadHttpMessage,
    BadHttpMethod,
    BadStatusLine,
    HttpProcessingError,
    InvalidHeader,
    InvalidURLError,
    LineTooLong,
)
from aiohttp.streams import EMPTY_PAYLOAD, StreamReader
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

from config_server.http.errors import error_body, status_phrase
from config_server.settings import Settings

__all__ = [
    "LINGER",
    "ConnectionLimits",
    "HardenedAppRunner",
    "HardenedRequestHandler",
    "HardenedServer",
    "address_key",
    "parse_error_answer",
]

log = logging.getLogger(__name__)

LINGER = 1.0
"""Seconds a connection refused or timed out stays half-closed, so that its client reads the
answer before the close (closing with unread input would reset the connection and lose it)."""


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    """Per-connection limits. ``header_timeout`` in seconds and ``max_per_address``: 0 is no limit."""

    header_timeout: float = 10.0
    max_per_address: int = 256

    def __post_init__(self) -> None:
        if not (math.isfinite(self.header_timeout) and self.header_timeout >= 0):
            raise ValueError("header_timeout must be a finite number of seconds >= 0")
        if self.max_per_address < 0:
            raise ValueError("max_per_address must be >= 0")

    @classmethod
    def from_settings(cls, settings: Settings) -> ConnectionLimits:
        """The limits of ``--header-timeout`` and ``--max-connections-per-address``."""
        return cls(settings.header_timeout, settings.max_connections_per_address)


def address_key(peername: Any) -> str | None:
    """The client a connection is counted against: its IP address, the /64 for IPv6, None if unknown.

    One IPv6 host is usually given a whole /64, so counting single addresses would not cap it.
    An IPv4-mapped address (a dual-stack socket) counts as its IPv4 address.
    """
    if not isinstance(peername, tuple) or not peername:
        return None  # a Unix socket
    try:
        ip = ipaddress.ip_address(str(peername[0]).split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def parse_error_answer(exc: HttpProcessingError) -> tuple[int, str]:
    """The status and message answering a request the HTTP parser rejected with ``exc``.

    The message is one of a fixed few: never the exception's own, which quotes request bytes.
    """
    if isinstance(exc, LineTooLong):
        return 431, "Request header too large"
    if isinstance(exc, InvalidHeader):
        return 400, "Bad Request: invalid header"
    if isinstance(exc, BadHttpMethod):
        return 400, "Bad Request: invalid method"
    if isinstance(exc, BadStatusLine):
        return 400, "Bad Request: invalid request line"
    if isinstance(exc, InvalidURLError):
        return 400, "Bad Request: invalid request target"
    if isinstance(exc, BadHttpMessage):
        # The C parser reports most faults as a BadHttpMessage whose message starts with a fixed
        # reason ("Invalid header value char: ..."); only that reason is looked at.
        reason = exc.message.split(":", 1)[0].lower()
        if reason.startswith("too many headers"):
            return 431, "Too many request headers"
        if reason.startswith("missing 'host'"):
            return 400, "Bad Request: missing Host header"
        if "header" in reason:
            return 400, "Bad Request: invalid header"
    return 400, "Bad Request: malformed request"


def _raw_answer(status: int, message: str, headers: Mapping[str, str]) -> bytes:
    """A whole ``Connection: close`` HTTP/1.1 response with the JSON error body."""
    body = error_body(status, message, "")
    lines = [
        f"HTTP/1.1 {status} {status_phrase(status)}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        "Connection: close",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + body


class HardenedServer(web.Server):
    """aiohttp's low-level server whose connections are ``HardenedRequestHandler``s under ``limits``.

    Keeps the count of open connections per client address; the event loop's thread only.
    """

    def __init__(self, handler: Any, *, limits: ConnectionLimits, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self.limits = limits
        self._open: dict[str, int] = {}

    def __call__(self) -> RequestHandler:
        return HardenedRequestHandler(self, loop=self._loop, **self._kwargs)

    def open_connections(self, address: str) -> int:
        """How many connections from ``address`` (an ``address_key``) are open and counted."""
        return self._open.get(address, 0)

    def admit(self, address: str | None) -> bool:
        """Count a new connection from ``address``; False (and not counted) if over the cap."""
        if address is None:
            return True
        count = self._open.get(address, 0)
        if self.limits.max_per_address and count >= self.limits.max_per_address:
            return False
        self._open[address] = count + 1
        return True

    def release(self, address: str | None) -> None:
        """Uncount a connection that ``admit`` counted."""
        if address is None:
            return
        count = self._open.get(address, 0) - 1
        if count > 0:
            self._open[address] = count
        else:
            self._open.pop(address, None)


class HardenedRequestHandler(RequestHandler):
    """aiohttp's HTTP/1 protocol with a header-read timeout, a per-address cap and JSON parser errors.

    Built by ``HardenedServer`` (one per connection); see the module for the rules.
    """

    __slots__ = ("_address", "_admitted", "_head_timer", "_last_payload", "_server")

    def __init__(self, manager: HardenedServer, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._server = manager
        self._address: str | None = None
        self._admitted = False
        self._head_timer: asyncio.TimerHandle | None = None
        # The body of the last request whose head arrived: bytes received before its end are body.
        self._last_payload: StreamReader | None = None

    # -- the connection --------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._address = address_key(transport.get_extra_info("peername"))
        if not self._server.admit(self._address):
            log.debug(
                "refusing a connection from %s: %d open", self._address, self._server.limits.max_per_address
            )
            self._force_close = True  # nothing is parsed; the request handler never starts
            self._answer_and_close(
                transport,  # type: ignore[arg-type]
                429,
                "Too many connections from this address",
                {"Retry-After": "1"},
            )
            return
        self._admitted = True
        super().connection_made(transport)
        self._arm_head_timer()  # a fresh connection's head is due from the accept

    def connection_lost(self, exc: BaseException | None) -> None:
        self._cancel_head_timer()
        if self._admitted:
            self._admitted = False
            self._server.release(self._address)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if (self._force_close or self._close) and self._request_in_progress and not self._body_received():
            self._rest_of_body(data)
            return
        if self._force_close or self._close or self._payload_parser is not None or self._upgraded:
            super().data_received(data)
            return
        if data and self._head_timer is None and self._body_received():
            self._arm_head_timer()  # the first byte of a request head
        count = self._request_count
        super().data_received(data)
        if self._request_count == count:
            return
        self._cancel_head_timer()  # a head arrived (or the parser rejected one)
        self._last_payload = self._messages[-1][1] if self._messages else None
        if data and self._last_payload is EMPTY_PAYLOAD and not data.endswith(b"\r\n\r\n"):
            self._arm_head_timer()  # the read went on into the head of a pipelined request

    def _body_received(self) -> bool:
        return self._last_payload is None or self._last_payload.is_eof()

    def _rest_of_body(self, data: bytes) -> None:
        # A stop (the runner's cleanup) marks every connection closing, and aiohttp then drops
        # what arrives: a request whose body was still on its way would starve until the
        # shutdown timeout cancels it. Its body is still parsed; a request pipelined after it is
        # parsed too but never served (the connection closes after this answer).
        closing = (self._close, self._force_close)
        self._close = self._force_close = False
        try:
            super().data_received(data)
        finally:
            self._close, self._force_close = closing

    # -- the header-read timeout -----------------------------------------------------------------

    def _arm_head_timer(self) -> None:
        timeout = self._server.limits.header_timeout
        if timeout > 0 and self._head_timer is None:
            self._head_timer = self._loop.call_later(timeout, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        transport = self.transport
        if transport is None or self._force_close:
            return
        log.debug(
            "closing a connection from %s: no request head within %ss",
            self._address,
            self._server.limits.header_timeout,
        )
        waiting = self._waiter is not None and not self._waiter.done()
        if waiting and not self._request_in_progress and not self._messages:
            self._stop_handling()
            self._answer_and_close(transport, 408, "Request header not received in time", {})
        else:  # a response is under way on this connection: no answer can be slipped in
            self.force_close()

    def _stop_handling(self) -> None:
        # force_close() without closing the transport: a last answer is still to be written.
        self._force_close = True
        if self._keepalive_handle is not None:
            self._keepalive_handle.cancel()
            self._keepalive_handle = None
        if self._waiter is not None:
            self._waiter.cancel()  # ends the idle request loop

    def _answer_and_close(
        self, transport: asyncio.Transport, status: int, message: str, headers: Mapping[str, str]
    ) -> None:
        transport.write(_raw_answer(status, message, headers))
        if transport.can_write_eof():
            # Half-close: the client reads the answer and EOF; its own close (eof_received) or
            # LINGER closes the socket. Input meanwhile is dropped (data_received: force_close).
            transport.write_eof()
            self._loop.call_later(LINGER, transport.close)
        else:  # TLS: close() flushes the answer and sends close_notify
            transport.close()

    # -- errors before the application -----------------------------------------------------------

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        """Answer an error outside the application with the JSON error body (never the request's bytes)."""
        if isinstance(exc, HttpProcessingError):
            status, text = parse_error_answer(exc)
            path = ""
            # The exception's message quotes the request: log its kind only.
            log.info("rejected a request from %s: %s (%s)", request.remote, text, type(exc).__name__)
        else:
            text = "Internal error" if status == 500 else status_phrase(status)
            path = request.rel_url.raw_path
            if status == 500:
                self.log_exception("Error handling request from %s", request.remote, exc_info=exc)
        if request.writer.output_size > 0:
            raise ConnectionError(
                "Response is sent already, cannot send another response with the error message"
            )
        response = web.Response(
            status=status, body=error_body(status, text, path), content_type="application/json"
        )
        response.force_close()
        return response


class HardenedAppRunner(web.AppRunner):
    """``web.AppRunner`` whose server is a ``HardenedServer`` under ``limits``; other options as aiohttp's."""

    __slots__ = ("_limits",)

    def __init__(self, app: web.Application, *, limits: ConnectionLimits, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self._limits = limits

    async def _make_server(self) -> web.Server:
        # aiohttp builds its own Server (after the application's start-up): keep every option it
        # chose and build ours with them.
        plain = await super()._make_server()
        return HardenedServer(
            plain.request_handler,
            request_factory=plain.request_factory,
            handler_cancellation=plain.handler_cancellation,
            loop=plain._loop,
            limits=self._limits,
            **plain._kwargs,
        )
