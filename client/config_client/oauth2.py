"""OAuth 2.0 client-credentials grant (RFC 6749 section 4.4): access tokens for the config server.

:class:`OAuth2` is the setting (a value); :class:`OAuth2Tokens` obtains tokens with it and keeps
one until shortly before it expires. The token endpoint's answers become the client's errors
once, here: refused client credentials are ``AuthenticationFailed``, a network failure, timeout,
429 or 5xx is ``ConfigUnavailable``, an unusable 200 is ``InvalidResponse``. No message, log line
or repr contains the client secret or a token.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import math
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote_plus, urlsplit, urlunsplit

import aiohttp

from config_client.errors import (
    AuthenticationFailed,
    ConfigClientError,
    ConfigUnavailable,
    InvalidResponse,
    RequestRejected,
)
from config_client.tls import client_ssl_context
from config_client.transport import USER_AGENT, describe_error

__all__ = ["OAuth2", "OAuth2Tokens"]

log = logging.getLogger(__name__)

AuthMethod = Literal["client_secret_basic", "client_secret_post"]
_MAX_BODY = 64 * 1024  # a token response is a few kilobytes; more is not a token endpoint
_ERROR_CODE = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
# Error codes that mean "these client credentials are not accepted" (RFC 6749 section 5.2).
_REFUSED = {"invalid_client", "unauthorized_client", "invalid_grant", "access_denied"}


@dataclass(frozen=True, slots=True)
class OAuth2:
    """Client-credentials settings; ``repr`` leaves the secret out.

    ``auth_method``: how the client authenticates to the token endpoint, HTTP Basic
    (``client_secret_basic``, the default every server must support) or form fields
    (``client_secret_post``). ``scope`` (space-separated) and ``resource`` (an RFC 8707 resource
    indicator) are sent when given. ``timeout``: seconds for the whole token request.
    ``refresh_margin``: seconds before expiry at which a token is replaced; ``None`` means
    min(60 s, 10% of its lifetime). ``ca``: PEM CAs to verify the token endpoint with instead of
    the system's (the config server's ``ca`` does not apply: the two are often different).
    Raises ``ValueError`` for an unusable value.
    """

    token_url: str
    client_id: str
    client_secret: str = field(repr=False)
    scope: str | None = None
    resource: str | None = None
    auth_method: AuthMethod = "client_secret_basic"
    timeout: float = 10.0
    refresh_margin: float | None = None
    ca: str | os.PathLike[str] | None = None

    def __post_init__(self) -> None:
        parts = urlsplit(self.token_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("OAuth2 token_url must be an absolute http:// or https:// URL")
        if "@" in parts.netloc:
            raise ValueError("OAuth2 token_url must not carry credentials; use client_id and client_secret")
        if not self.client_id or not self.client_secret:
            raise ValueError("OAuth2 needs a non-empty client_id and client_secret")
        if self.auth_method not in ("client_secret_basic", "client_secret_post"):
            raise ValueError("OAuth2 auth_method must be 'client_secret_basic' or 'client_secret_post'")
        if not self.timeout > 0 or (self.refresh_margin is not None and not self.refresh_margin >= 0):
            raise ValueError("OAuth2 timeout must be > 0 and refresh_margin >= 0 (seconds)")

    def margin(self, lifetime: float) -> float:
        """Seconds before expiry at which a token of ``lifetime`` seconds is replaced."""
        if self.refresh_margin is not None:
            return self.refresh_margin
        return min(60.0, 0.1 * lifetime)


class OAuth2Tokens:
    """Access tokens from the token endpoint, cached until ``margin`` before they expire.

    One token request at a time (an ``asyncio.Lock``); use from one event loop. When an early
    refresh fails while the current token is still valid, that token is used and the failure
    logged. The TLS context for ``ca`` is built at construction (``ValueError`` if unusable).
    """

    def __init__(self, settings: OAuth2, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self._clock = clock
        self._ssl: Any = client_ssl_context(ca=settings.ca) or True
        parts = urlsplit(settings.token_url)
        self._where = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))  # no query in messages
        self._session: aiohttp.ClientSession | None = None
        self._lock = asyncio.Lock()
        self._token: str | None = None
        self._refresh_at = math.inf
        self._expires_at = math.inf

    def __repr__(self) -> str:
        return f"OAuth2Tokens({self._where!r}, client_id={self.settings.client_id!r})"

    async def token(self) -> str:
        """A current access token, fetching a new one when none is held or it is due for refresh."""
        if self._token is not None and self._clock() < self._refresh_at:
            return self._token
        async with self._lock:
            if self._token is not None and self._clock() < self._refresh_at:
                return self._token  # another request refreshed it while this one waited
            try:
                return await self._fetch()
            except ConfigClientError as exc:
                if self._token is None or self._clock() >= self._expires_at:
                    raise
                log.warning("config_client: early token refresh failed, using the current token: %s", exc)
                return self._token

    async def renew(self, rejected: str) -> str | None:
        """After the config server refused ``rejected`` (401): a fresh token (once per rejection)."""
        async with self._lock:
            if self._token is not None and self._token != rejected:
                return self._token  # already replaced by a concurrent request
            return await self._fetch()

    async def aclose(self) -> None:
        """Close the token endpoint's HTTP session (idempotent)."""
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    async def _fetch(self) -> str:
        settings = self.settings
        form = {"grant_type": "client_credentials"}
        if settings.scope:
            form["scope"] = settings.scope
        if settings.resource:
            form["resource"] = settings.resource
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        if settings.auth_method == "client_secret_basic":
            # RFC 6749 section 2.3.1: both parts are form-urlencoded before Basic encoding.
            raw = f"{quote_plus(settings.client_id)}:{quote_plus(settings.client_secret)}"
            headers["Authorization"] = "Basic " + base64.b64encode(raw.encode()).decode("ascii")
        else:
            form["client_id"] = settings.client_id
            form["client_secret"] = settings.client_secret
        if self._session is None:
            self._session = aiohttp.ClientSession()
        started = self._clock()
        try:
            async with self._session.post(
                settings.token_url,
                data=form,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=settings.timeout),
                ssl=self._ssl,
                allow_redirects=False,
            ) as resp:
                status = resp.status
                body = await _read(resp, self._where)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ConfigUnavailable(
                f"OAuth 2.0 token endpoint {self._where} unreachable ({describe_error(exc)})"
            ) from exc
        if status != 200:
            raise self._refusal(status, body)
        token, lifetime = self._parse(body)
        self._token = token
        if lifetime is None:
            self._refresh_at = self._expires_at = math.inf  # no expiry given: keep it until a 401
        else:
            self._expires_at = started + lifetime
            self._refresh_at = self._expires_at - settings.margin(lifetime)
        log.debug("config_client: new access token from %s (expires in %s s)", self._where, lifetime)
        return token

    def _parse(self, body: bytes) -> tuple[str, float | None]:
        try:
            doc = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            raise InvalidResponse(
                f"OAuth 2.0 token endpoint {self._where} sent a body that is not JSON"
            ) from exc
        token = doc.get("access_token") if isinstance(doc, dict) else None
        if not isinstance(token, str) or not token or not token.isascii() or not token.isprintable():
            raise InvalidResponse(f"OAuth 2.0 token endpoint {self._where} sent no usable access_token")
        token_type = doc.get("token_type", "Bearer")
        if not isinstance(token_type, str) or token_type.lower() != "bearer":
            raise InvalidResponse(
                f"OAuth 2.0 token endpoint {self._where} sent a token that is not a Bearer token"
            )
        expires_in = doc.get("expires_in")
        try:
            lifetime = float(expires_in) if expires_in is not None else None
        except (TypeError, ValueError):
            lifetime = None  # RFC 6749 makes it optional; an unreadable one is treated as absent
        if lifetime is not None and not (math.isfinite(lifetime) and lifetime > 0):
            lifetime = None
        return token, lifetime

    def _refusal(self, status: int, body: bytes) -> ConfigClientError:
        code = _error_code(body)
        what = f"{status} {code}" if code else str(status)
        where = f"OAuth 2.0 token endpoint {self._where}"
        client = self.settings.client_id
        if status == 401 or (status in (400, 403) and code in _REFUSED):
            return AuthenticationFailed(f"{where} refused client {client!r} ({what})", status=status)
        if status == 429 or status >= 500:
            return ConfigUnavailable(f"{where} answered {what}")
        if 400 <= status < 500:
            return RequestRejected(
                f"{where} rejected the token request for {client!r} ({what})", status=status
            )
        return InvalidResponse(f"{where} answered an unexpected status {status}")


async def _read(resp: aiohttp.ClientResponse, where: str) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in resp.content.iter_chunked(16 * 1024):
        size += len(chunk)
        if size > _MAX_BODY:
            raise InvalidResponse(f"OAuth 2.0 token endpoint {where} sent more than {_MAX_BODY} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _error_code(body: bytes) -> str | None:
    """The RFC 6749 ``error`` code, if it is a plain code (the description is never repeated)."""
    try:
        doc = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return None
    code = doc.get("error") if isinstance(doc, dict) else None
    return code if isinstance(code, str) and _ERROR_CODE.fullmatch(code) else None
