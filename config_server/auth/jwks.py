"""The keys that verify bearer JWTs: a JSON Web Key Set fetched and cached, or a fixed key file.

::

    KeySet       the usable signature keys of one JWKS (or one PEM key), looked up by kid and alg
    KeySource    what the authenticator asks for a KeySet (the two below)
    StaticKeys   --jwt-public-key: a PEM public key, a certificate or a JWKS file, read at start-up
    JwksCache    --jwt-jwks-url: fetched with aiohttp (timeout, size cap), kept for the response's
                 Cache-Control max-age, fetched again for an unknown kid (at most once per 30 s);
                 a failed fetch keeps the keys it has

Only public members of a JWK are kept (a JWKS that leaks ``d`` does not put a private key in
memory here); symmetric (``oct``) keys, encryption keys (``use: enc``) and keys PyJWT cannot
parse are skipped.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import aiohttp
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from jwt import PyJWK, PyJWTError
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm
from yarl import URL

from config_server.caching import SingleFlight
from config_server.errors import Unavailable

__all__ = [
    "FETCH_TIMEOUT_SECONDS",
    "MAX_JWKS_BYTES",
    "REFRESH_INTERVAL_SECONDS",
    "JwksCache",
    "KeySet",
    "KeySource",
    "StaticKeys",
    "load_key_file",
]

log = logging.getLogger(__name__)

FETCH_TIMEOUT_SECONDS = 5.0
"""Every JWKS fetch (connect, send, read) gives up after this long."""
MAX_JWKS_BYTES = 256 * 1024
"""A JWKS response larger than this is refused (real ones are a few kilobytes)."""
REFRESH_INTERVAL_SECONDS = 30.0
"""At most one fetch per this many seconds once keys are cached (an unknown kid, an expiry)."""
DEFAULT_MAX_AGE_SECONDS = 300.0
"""How long a JWKS is kept when its response has no Cache-Control max-age."""
LONGEST_MAX_AGE_SECONDS = 86400.0
"""A longer max-age is cut to this: a revoked key leaves the cache within a day at the latest."""

_PUBLIC_MEMBERS = ("kty", "kid", "alg", "use", "key_ops", "crv", "n", "e", "x", "y")
_ASYMMETRIC = frozenset({"RSA", "EC", "OKP"})


class KeySet:
    """The usable verification keys of one key set, each a public JWK.

    ``verifiers(kid, alg)`` answers the keys that can check a token's signature: those with the
    token's ``kid`` (a key without a kid, as from a PEM file, matches any), whose own ``alg`` (if
    any) is the token's, and whose type fits ``alg`` (an RSA key never verifies ES256). Not
    thread-safe (it memoises parsed keys): use it from the event loop.
    """

    def __init__(self, jwks: Sequence[Mapping[str, Any]]) -> None:
        self._jwks = tuple(dict(k) for k in jwks)
        self._parsed: dict[tuple[int, str], PyJWK | None] = {}

    @classmethod
    def parse(cls, document: object) -> KeySet:
        """The usable keys of a JWKS document (``{"keys": [...]}``) or of one JWK object.

        Raises ``ValueError`` saying what is wrong (never any key material) when no key is usable.
        """
        if isinstance(document, dict) and "keys" not in document and "kty" in document:
            document = {"keys": [document]}
        if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
            raise ValueError('not a JSON Web Key Set (an object with a "keys" list)')
        usable = [_public_jwk(k) for k in document["keys"] if _usable(k)]
        if not usable:
            raise ValueError("the key set has no usable signature key (RSA, EC or OKP)")
        return cls(usable)

    def has_kid(self, kid: str) -> bool:
        """Whether some key would be tried for a token with this ``kid``."""
        return any(k.get("kid") in (None, kid) for k in self._jwks)

    def verifiers(self, kid: str | None, alg: str) -> list[PyJWK]:
        """The keys, bound to ``alg``, that may verify a token with this header ``kid``/``alg``."""
        found = []
        for index, jwk in enumerate(self._jwks):
            if kid is not None and jwk.get("kid") not in (None, kid):
                continue
            if jwk.get("alg") not in (None, alg):
                continue
            key = self._bound(index, alg)
            if key is not None:
                found.append(key)
        return found

    @property
    def kids(self) -> tuple[str | None, ...]:
        """The keys' ids (for logs and tests)."""
        return tuple(k.get("kid") for k in self._jwks)

    def __len__(self) -> int:
        return len(self._jwks)

    def _bound(self, index: int, alg: str) -> PyJWK | None:
        if (index, alg) not in self._parsed:
            try:  # PyJWK refuses a key whose type or curve does not fit alg
                self._parsed[index, alg] = PyJWK(self._jwks[index], algorithm=alg)
            except PyJWTError:
                self._parsed[index, alg] = None
        return self._parsed[index, alg]


def _usable(jwk: object) -> bool:
    if not isinstance(jwk, dict) or jwk.get("kty") not in _ASYMMETRIC:
        return False
    if jwk.get("use", "sig") != "sig":
        return False
    ops = jwk.get("key_ops")
    if ops is not None and (not isinstance(ops, list) or "verify" not in ops):
        return False
    if not isinstance(jwk.get("kid", ""), str) or not isinstance(jwk.get("alg", ""), str):
        return False
    try:
        PyJWK(_public_jwk(jwk))
    except PyJWTError:
        return False
    return True


def _public_jwk(jwk: Mapping[str, Any]) -> dict[str, Any]:
    return {name: jwk[name] for name in _PUBLIC_MEMBERS if name in jwk}


def load_key_file(path: Path) -> KeySet:
    """The keys in a PEM public key, a PEM certificate, a JWKS or a single JWK file.

    Blocking (reads the file): call it at start-up. Raises ``ValueError`` saying what is wrong
    (without the file's content); ``OSError`` when the file cannot be read.
    """
    data = path.read_bytes()
    text = data.lstrip()
    if text.startswith(b"{"):
        try:
            document = json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise ValueError("not valid JSON (a JWKS file) nor PEM") from None
        return KeySet.parse(document)
    if b"PRIVATE KEY-----" in data:
        raise ValueError("holds a private key: give the public key only")
    try:
        if b"-----BEGIN CERTIFICATE-----" in data:
            public_key: Any = x509.load_pem_x509_certificate(data).public_key()
        else:
            public_key = load_pem_public_key(data)
    except ValueError:
        raise ValueError("not a PEM public key, a PEM certificate or a JWKS (JSON)") from None
    if isinstance(public_key, rsa.RSAPublicKey):
        jwk = RSAAlgorithm.to_jwk(public_key, as_dict=True)
    elif isinstance(public_key, ec.EllipticCurvePublicKey):
        jwk = ECAlgorithm.to_jwk(public_key, as_dict=True)
    elif isinstance(public_key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
        jwk = OKPAlgorithm.to_jwk(public_key, as_dict=True)
    else:
        raise ValueError(f"a {type(public_key).__name__} cannot verify JWTs (RSA, EC or Ed25519)")
    return KeySet.parse({"keys": [jwk]})


class KeySource(Protocol):
    """Where the authenticator gets its keys."""

    async def start(self) -> None:
        """Get ready (a first fetch); never raises for an unreachable issuer."""

    async def key_set(self, kid: str | None) -> KeySet:
        """The keys to verify a token with header ``kid``; raises ``Unavailable`` if there are none."""
        ...

    async def close(self) -> None:
        """Release what ``start`` opened."""


class StaticKeys:
    """A fixed key set (``--jwt-public-key``): never refreshed, never unavailable."""

    def __init__(self, keys: KeySet) -> None:
        self._keys = keys

    async def start(self) -> None:
        """Nothing to open."""

    async def key_set(self, kid: str | None) -> KeySet:
        """The file's keys, whatever the ``kid``."""
        return self._keys

    async def close(self) -> None:
        """Nothing to close."""


class JwksCache:
    """A JWKS URL's keys, fetched with aiohttp and cached.

    - Nothing cached (the first fetch failed): every lookup tries a fetch (concurrent lookups
      share one); when it fails the lookup raises ``Unavailable``.
    - A ``kid`` no cached key has: the lookup waits for a fetch, unless one was tried less than
      ``refresh_interval`` seconds ago (an attacker sending made-up kids cannot hammer the issuer).
    - The cached set is older than its ``Cache-Control: max-age`` (``no-store``/``no-cache``:
      0; absent: ``default_max_age``; cut to between ``refresh_interval`` and a day): the lookup
      answers the cached keys at once and a fetch runs in the background.
    - A failed fetch (refused, timed out, not 200, over ``max_bytes``, not a usable JWKS) is
      logged and keeps the cached keys.

    ``clock`` (seconds, monotonic) is injectable so tests need not sleep. Use one instance from
    one event loop; ``close()`` waits for a fetch under way to end.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float = FETCH_TIMEOUT_SECONDS,
        max_bytes: int = MAX_JWKS_BYTES,
        refresh_interval: float = REFRESH_INTERVAL_SECONDS,
        default_max_age: float = DEFAULT_MAX_AGE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self._shown_url = str(URL(url).with_user(None).with_query(None))  # no credentials in logs
        self._timeout = timeout
        self._max_bytes = max_bytes
        self._refresh_interval = refresh_interval
        self._default_max_age = default_max_age
        self._clock = clock
        self._session: aiohttp.ClientSession | None = None
        self._closed = False
        self._keys: KeySet | None = None
        self._expires_at = 0.0
        self._last_attempt: float | None = None
        self._flight: SingleFlight[str, bool] = SingleFlight()
        self._tasks: set[asyncio.Task[Any]] = set()
        self.fetches = 0
        """Fetch attempts so far (successful or not)."""

    async def start(self) -> None:
        """Open the HTTP session and fetch the keys; a failure is logged, not raised."""
        self._open()
        await self._refresh()

    async def key_set(self, kid: str | None) -> KeySet:
        """The cached keys, fetched first when needed (see the class docstring).

        Raises ``Unavailable`` when no key set was ever fetched and fetching fails now.
        """
        keys = self._keys
        if keys is None:
            await self._refresh()
            if self._keys is None:
                raise Unavailable("The keys that verify bearer tokens cannot be fetched now")
            return self._keys
        if kid is not None and not keys.has_kid(kid) and (self._flight or self._may_refresh()):
            await self._refresh()
            return self._keys or keys
        if self._clock() >= self._expires_at and not self._flight and self._may_refresh():
            self._track(asyncio.ensure_future(self._refresh()))
        return keys

    async def settle(self) -> None:
        """Wait for any fetch under way (tests use it after an expiry-triggered refresh)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def close(self) -> None:
        """Close the session; a fetch under way then fails at once and is waited for."""
        self._closed = True
        session, self._session = self._session, None
        if session is not None:
            await session.close()
        await self.settle()

    @property
    def keys(self) -> KeySet | None:
        """The cached key set, None before the first successful fetch."""
        return self._keys

    def _open(self) -> aiohttp.ClientSession:
        if self._closed:
            raise RuntimeError("the JWKS cache is closed")
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self._timeout),
                headers={"Accept": "application/jwk-set+json, application/json"},
            )
        return self._session

    def _may_refresh(self) -> bool:
        last = self._last_attempt
        return last is None or self._clock() - last >= self._refresh_interval

    def _track(self, task: asyncio.Future[Any]) -> None:
        t = asyncio.ensure_future(task)
        self._tasks.add(t)
        t.add_done_callback(self._tasks.discard)

    async def _refresh(self) -> bool:
        return await self._flight.do("jwks", self._tracked_fetch)

    async def _tracked_fetch(self) -> bool:
        task = asyncio.current_task()
        if task is not None:
            self._track(task)
        return await self._fetch()

    async def _fetch(self) -> bool:
        self._last_attempt = self._clock()
        self.fetches += 1
        try:
            body, max_age = await self._get()
            keys = KeySet.parse(json.loads(body))
        except (aiohttp.ClientError, TimeoutError, ValueError, RecursionError) as exc:
            kept = "keeping the cached keys" if self._keys is not None else "no keys yet"
            log.warning("cannot fetch the JWKS from %s (%s); %s", self._shown_url, _why(exc), kept)
            return False
        fetched_at = self._last_attempt
        lifetime = min(max(max_age, self._refresh_interval), LONGEST_MAX_AGE_SECONDS)
        self._keys, self._expires_at = keys, fetched_at + lifetime
        log.debug("fetched %d JWT keys from %s (kids %s)", len(keys), self._shown_url, keys.kids)
        return True

    async def _get(self) -> tuple[bytes, float]:
        async with self._open().get(self.url) as resp:
            if resp.status != 200:
                raise ValueError(f"HTTP {resp.status}")
            if (resp.content_length or 0) > self._max_bytes:
                raise ValueError(f"larger than {self._max_bytes} bytes")
            body = bytearray()
            async for chunk in resp.content.iter_chunked(16384):
                body += chunk
                if len(body) > self._max_bytes:
                    raise ValueError(f"larger than {self._max_bytes} bytes")
            return bytes(body), self._max_age(resp.headers.get("Cache-Control"))

    def _max_age(self, cache_control: str | None) -> float:
        if cache_control is None:
            return self._default_max_age
        directives = [d.strip().lower() for d in cache_control.split(",")]
        if "no-store" in directives or "no-cache" in directives:
            return 0.0
        for d in directives:
            name, _, value = d.partition("=")
            if name.strip() == "max-age":
                try:
                    return max(0.0, float(int(value.strip().strip('"'))))
                except ValueError:
                    break
        return self._default_max_age


def _why(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, json.JSONDecodeError | UnicodeDecodeError | RecursionError):
        return "not JSON"
    return str(exc) or type(exc).__name__
