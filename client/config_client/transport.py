"""HTTP to the config server: the request Spring's client sends, plus conditional long polls.

``GET {url}/{application}/{profiles}[/{label}]`` with ``Accept: application/json``; ``/`` in the
application or label is sent as ``(_)``. A change request adds ``If-None-Match`` (the last ETag)
and ``Prefer: wait=<seconds>``; a server that holds long polls answers with
``Preference-Applied``. Statuses and aiohttp errors become :mod:`config_client.errors` here, once.

Credentials that never change are session headers (:class:`Credentials`); a token that does (an
OAuth 2.0 access token, a rotated token file) comes from a :class:`~config_client.auth.BearerTokens`
asked before every request. A ``401`` with such a token renews it and retries the request once.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import math
import os
import socket
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import aiohttp

from config_client import tracecontext
from config_client.auth import BearerTokens
from config_client.errors import (
    AuthenticationFailed,
    ConfigNotFound,
    ConfigUnavailable,
    InvalidResponse,
    RequestRejected,
)
from config_client.wire import Environment

__all__ = [
    "DEFAULT_CLIENT_ID",
    "Credentials",
    "Fetched",
    "Transport",
    "client_id",
    "describe_error",
    "environment_url",
    "split_userinfo",
]

log = logging.getLogger(__name__)

USER_AGENT = "config-client/0.1 (python)"
_SAFE = "(),_-.~@+"  # kept literal in path segments: (_) and comma lists must reach the server as is
DEFAULT_CLIENT_ID = "{hostname}:{pid}"
"""The ``client_id`` a client sends unless told otherwise: this host's name and process id."""
_MAX_CLIENT_ID = 256  # the server ignores longer ones


@dataclass(frozen=True, slots=True)
class Fetched:
    """One answer: a new ``environment`` (200) or ``None`` (304 Not Modified).

    ``tag`` identifies the body (the ETag, or a hash of the body when the server sends none);
    ``long_poll`` says the server held the request (it sent ``Preference-Applied``).
    """

    environment: Environment | None
    etag: str | None
    tag: str | None
    long_poll: bool


@dataclass(frozen=True, slots=True, repr=False)
class Credentials:
    """What goes into ``Authorization`` and ``X-Config-Token``; its repr never shows them."""

    username: str | None = None
    password: str | None = None
    token: str | None = None
    config_token: str | None = None

    def headers(self) -> dict[str, str]:
        out: dict[str, str] = {}
        if self.password is not None:
            # As Spring's client: a password alone means the user "user".
            raw = f"{self.username or 'user'}:{self.password}".encode()
            out["Authorization"] = "Basic " + base64.b64encode(raw).decode("ascii")
        elif self.token is not None:
            out["Authorization"] = f"Bearer {self.token}"
        if self.config_token is not None:
            out["X-Config-Token"] = self.config_token
        return out

    def __repr__(self) -> str:
        return "Credentials(<hidden>)"


def split_userinfo(url: str) -> tuple[str, str | None, str | None]:
    """``http://u:p@host/x`` -> (``http://host/x``, ``u``, ``p``), URL-decoded as Spring does."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("the config server URL must be an absolute http:// or https:// URL")
    if "@" not in parts.netloc:
        return url.rstrip("/"), None, None
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user, sep, password = userinfo.partition(":")
    clean = urlunsplit((parts.scheme, hostport, parts.path, parts.query, parts.fragment)).rstrip("/")
    return clean, unquote(user) or None, unquote(password) if sep else None


def client_id(template: str | None) -> str | None:
    """The ``X-Config-Client-Id`` to send for ``template`` (None or empty: none).

    ``{hostname}`` and ``{pid}`` in it are replaced by ``socket.gethostname()`` and
    ``os.getpid()``. Raises ``ValueError`` when the result is longer than 256 characters or not
    printable ASCII (the server would ignore it); a host name that makes the default so is cut
    or left out instead.
    """
    if not template:
        return None
    host = socket.gethostname()
    if template == DEFAULT_CLIENT_ID:
        host = "".join(ch for ch in host if " " < ch <= "~")[:240] or "unknown-host"
    value = template.replace("{hostname}", host).replace("{pid}", str(os.getpid()))
    if len(value) > _MAX_CLIENT_ID or not all(" " <= ch <= "~" for ch in value):
        raise ValueError("client_id must be printable ASCII of at most 256 characters")
    return value


def environment_url(base: str, application: str, profiles: Sequence[str], label: str | None) -> str:
    """The Environment URL; ``/`` in application or label becomes Spring's ``(_)`` placeholder."""
    segments = [application.replace("/", "(_)"), ",".join(profiles)]
    if label:
        segments.append(label.replace("/", "(_)"))
    return base + "/" + "/".join(quote(s, safe=_SAFE) for s in segments)


class Transport:
    """One aiohttp session to one server; open it inside the event loop that will use it."""

    def __init__(
        self,
        *,
        url: str,
        headers: Mapping[str, str],
        ssl_context: ssl.SSLContext | None,
        connect_timeout: float,
        request_timeout: float,
        max_body_bytes: int,
        tokens: BearerTokens | None = None,
    ) -> None:
        self.url = url
        self._tokens = tokens
        self._headers = {"Accept": "application/json", "User-Agent": USER_AGENT, **headers}
        self._ssl: ssl.SSLContext | bool = ssl_context if ssl_context is not None else True
        self._connect_timeout = connect_timeout
        self._request_timeout = request_timeout
        self._max_body = max_body_bytes
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        """Close the session and the token provider's (idempotent)."""
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()
        if self._tokens is not None:
            await self._tokens.aclose()

    async def fetch(
        self, *, etag: str | None = None, state: str | None = None, wait: float | None = None
    ) -> Fetched:
        """GET the Environment; with ``wait`` ask the server to hold the request up to that many seconds.

        Raises ``ConfigUnavailable`` (connection, timeout, 5xx, 429), ``AuthenticationFailed``
        (401/403; a 401 is retried once with a renewed token when tokens can be renewed),
        ``ConfigNotFound`` (404), ``RequestRejected`` (other 4xx) or ``InvalidResponse`` (a body
        that is not an Environment, or an unexpected status); the token provider's errors as is.
        """
        if self._session is None:
            self._session = aiohttp.ClientSession(headers=self._headers)
        headers: dict[str, str] = {}
        if etag:
            headers["If-None-Match"] = etag
        if state:
            headers["X-Config-State"] = state  # Spring's send-state (Vault/Consul watch index)
        if wait:
            # RFC 7240 waits are whole seconds; rounding 0.5 down to "wait=0" would ask for no hold.
            headers["Prefer"] = f"wait={max(1, math.ceil(wait))}"
        tracecontext.inject(headers)  # the service's trace, when it uses OpenTelemetry
        # The read timeout must outlast the server's hold, or every long poll would time out.
        timeout = aiohttp.ClientTimeout(
            total=(wait or 0) + self._request_timeout, connect=self._connect_timeout
        )
        token = await self._tokens.token() if self._tokens is not None else None
        renewed = False
        while True:
            if token is not None:
                headers["Authorization"] = f"Bearer {token}"
            outcome = await self._get(self._session, headers, timeout, etag)
            if isinstance(outcome, Fetched):
                return outcome
            if outcome == 401 and not renewed and token is not None and self._tokens is not None:
                # The token may have been revoked or rotated early: renew once, never loop.
                renewed = True
                fresh = await self._tokens.renew(token)
                if fresh is not None:
                    log.info("config_client: %s answered 401; retrying once with a renewed token", self.url)
                    token = fresh
                    continue
            raise _status_error(self.url, outcome)

    async def _get(
        self,
        session: aiohttp.ClientSession,
        headers: Mapping[str, str],
        timeout: aiohttp.ClientTimeout,
        etag: str | None,
    ) -> Fetched | int:
        """One GET: the answer (200, 304), or the status to turn into an error."""
        try:
            async with session.get(
                self.url, headers=headers, timeout=timeout, ssl=self._ssl, allow_redirects=False
            ) as resp:
                status = resp.status
                if status == 200:
                    body = await self._read(resp)
                    return self._parse(body, resp.headers)
                if status == 304:
                    if not etag:
                        raise InvalidResponse(
                            f"{self.url} answered 304 Not Modified to an unconditional request"
                        )
                    return Fetched(None, etag, None, "Preference-Applied" in resp.headers)
                return status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ConfigUnavailable(f"config server {self.url} unreachable ({describe_error(exc)})") from exc

    async def _read(self, resp: aiohttp.ClientResponse) -> bytes:
        chunks: list[bytes] = []
        size = 0
        async for chunk in resp.content.iter_chunked(64 * 1024):
            size += len(chunk)
            if size > self._max_body:
                raise InvalidResponse(f"{self.url} sent more than {self._max_body} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    def _parse(self, body: bytes, headers: Mapping[str, str]) -> Fetched:
        try:
            doc: Any = json.loads(body)
            environment = Environment.from_json(doc)
        except UnicodeDecodeError as exc:
            raise InvalidResponse(f"{self.url} sent a body that is not UTF-8 JSON") from exc
        except json.JSONDecodeError as exc:
            raise InvalidResponse(
                f"{self.url} sent invalid JSON (line {exc.lineno}, column {exc.colno})"
            ) from exc
        except RecursionError as exc:
            raise InvalidResponse(f"{self.url} sent JSON nested too deeply") from exc
        except (ValueError, TypeError, AttributeError) as exc:
            # AttributeError/TypeError: the wire parser meets a non-object where an object belongs.
            raise InvalidResponse(f"{self.url} sent JSON that is not an Environment ({exc})") from exc
        etag = headers.get("ETag")
        tag = etag or "sha256:" + hashlib.sha256(body).hexdigest()
        return Fetched(environment, etag, tag, "Preference-Applied" in headers)


def _status_error(url: str, status: int) -> Exception:
    if status in (401, 403):
        return AuthenticationFailed(f"config server {url} refused the credentials ({status})", status=status)
    if status == 404:
        return ConfigNotFound(f"config server {url} has no such application or label (404)", status=status)
    if status == 429 or status >= 500:
        return ConfigUnavailable(f"config server {url} answered {status}")
    if 400 <= status < 500:
        return RequestRejected(f"config server {url} rejected the request ({status})", status=status)
    if 300 <= status < 400:
        return InvalidResponse(f"config server {url} redirected ({status}); configure the final URL instead")
    return InvalidResponse(f"config server {url} answered an unexpected status {status}")


def describe_error(exc: BaseException) -> str:
    """A short, secret-free cause for an aiohttp or timeout error (no URL, no headers)."""
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return "TLS certificate verification failed"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"cannot connect: {exc.os_error.strerror or type(exc.os_error).__name__}"
    return type(exc).__name__
