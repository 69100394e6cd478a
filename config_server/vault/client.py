"""The server's own Vault identity and callers' tokens: ``VaultClientManager``.

``VaultClientManager`` logs in (static token or AppRole), renews the token at about two thirds
of its TTL in a background task, logs in again when renewal fails (AppRole), and hands out hvac
clients: ``server_client()`` for the server's identity, ``client_for_token()`` for a caller's
``X-Config-Token``. hvac blocks, so every call goes through ``run()``, which runs it in the
manager's thread pool and translates errors exactly once (``vault.errors`` has the table).

Start-up does not need Vault: if Vault is unreachable when ``start()`` runs, the background task
keeps trying to log in (with back-off) and ``server_client()`` raises ``Unavailable`` meanwhile.
Credentials Vault refuses at start-up are a configuration mistake and raise ``Forbidden``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import hvac
import hvac.exceptions

from config_server import logs, tracing
from config_server.caching import LRU
from config_server.errors import ConfigServerError, Forbidden, InvalidRequest, Unavailable
from config_server.metrics.timings import Timings
from config_server.secret import fingerprint
from config_server.sources.base import SourceHealth
from config_server.vault.errors import call_translated
from config_server.vault.settings import VaultSettings

__all__ = ["VaultClientManager", "check_token"]

log = logging.getLogger(__name__)

T = TypeVar("T")

_RENEW_AT = 2 / 3  # renew when this fraction of the TTL has passed
_MAX_BACKOFF = 30.0
_POLICY_RECHECK = 10.0  # seconds a "the policy forbids it" verdict stands before asking Vault again
_MAX_TOKEN_LENGTH = 4096


def check_token(token: str | None) -> str:
    """Validate a caller's ``X-Config-Token`` before it goes anywhere near an HTTP header.

    Raises ``InvalidRequest`` when it is missing, empty, too long, or not printable ASCII
    without spaces (which also stops header injection). A well-formed token that Vault does not
    know is for Vault to refuse (``Forbidden``).
    """
    if token is None or token == "":
        raise InvalidRequest("Missing required header: X-Config-Token")
    if len(token) > _MAX_TOKEN_LENGTH or not all("!" <= ch <= "~" for ch in token):
        raise InvalidRequest("Malformed X-Config-Token header")
    return token


@dataclass(frozen=True)
class _Login:
    client: hvac.Client
    ttl: float  # seconds granted at login or last renewal; 0 means the token never expires
    renewable: bool
    obtained_at: float  # time.monotonic()
    granted: float  # the TTL the login itself gave; renewals capped below it mean "log in again"


class VaultClientManager:
    """The server's own Vault identity: logs in with a token or AppRole, renews the token before it
    expires (at ~2/3 of the TTL, in a background task), logs in again when renewal fails, and hands
    out hvac clients. Blocking hvac calls only ever run in the manager's executor (``run``).

    Use ``await start()`` in the app's start-up and ``await close()`` at clean-up. hvac clients are
    for use inside ``run()`` only; translate nothing yourself, ``run()`` does it.
    """

    def __init__(
        self,
        settings: VaultSettings,
        *,
        max_workers: int = 4,
        token_cache_ttl: float = 60.0,
        token_cache_size: int = 256,
    ) -> None:
        self.settings = settings
        self._max_workers = max_workers
        self._executor: ThreadPoolExecutor | None = None
        self._task: asyncio.Task[None] | None = None
        self._login: _Login | None = None
        self._failures = 0
        self._last_error: str | None = None
        self._logins = 0
        # Callers' clients by token fingerprint, made in executor threads: used under the lock.
        self._callers: LRU[str, hvac.Client] = LRU(token_cache_size, ttl=token_cache_ttl)
        self._callers_lock = threading.Lock()
        self._wake = asyncio.Event()  # set to make the renewal task log in again at once
        self._policy_checked = -math.inf  # when a refusal last turned out to be the policy's
        self.calls = Timings()
        """Every call made through ``run`` (reads, logins, health): wall time, failures (metrics)."""

    def __repr__(self) -> str:
        return f"VaultClientManager(url={self.settings.url!r}, auth={self.settings.auth_method!r})"

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the executor, log in, and start renewing.

        Raises ``Forbidden`` if Vault refuses the configured credentials. If Vault is
        unavailable, logs a warning and keeps trying in the background instead of failing.
        """
        if self._executor is not None:
            return
        self._executor = ThreadPoolExecutor(max_workers=self._max_workers, thread_name_prefix="vault")
        if self.settings.auth_method == "none":
            return
        try:
            await self._do_login()
        except Unavailable as exc:
            self._note_failure(exc)
        except BaseException:  # refused credentials: nothing of this manager may stay running
            await self.close()
            raise
        self._task = asyncio.create_task(self._maintain(), name="vault-token-renewal")

    async def close(self) -> None:
        """Stop renewing, revoke an AppRole token (a static token is left alone), free threads."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            # wait() rather than awaiting the task under suppress(CancelledError), which would
            # also swallow a cancel of close() itself.
            await asyncio.wait([task])
            if not task.cancelled():
                task.result()  # a renewal task that failed raises here, as it did before
        login, self._login = self._login, None
        if login is not None and self.settings.auth_method == "approle" and self._executor is not None:
            with contextlib.suppress(ConfigServerError):
                await self.run(login.client.auth.token.revoke_self)
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)
        with self._callers_lock:
            clients = self._callers.values()
            self._callers.clear()
        for client in [*clients, *([login.client] if login else [])]:
            client.adapter.close()

    # -- clients -----------------------------------------------------------------------------

    def server_client(self) -> hvac.Client:
        """The hvac client with the server's own token; call inside ``run()``.

        Raises ``Forbidden`` when no server identity is configured and ``Unavailable`` while
        the server is not logged in (Vault was unreachable, or refused a renewal).
        """
        if self.settings.auth_method == "none":
            raise Forbidden("No Vault server identity is configured (set a token or an AppRole)")
        login = self._login
        if login is None:
            raise Unavailable("Vault is unavailable: the server is not logged in")
        return login.client

    def client_for_token(self, token: str) -> hvac.Client:
        """An hvac client that acts as a caller (``X-Config-Token``); cached briefly, thread-safe.

        Raises ``InvalidRequest`` for a missing or malformed token (see ``check_token``).
        """
        check_token(token)
        key = fingerprint(token)
        with self._callers_lock:
            client = self._callers.get(key)
            if client is None:
                client = self._new_client(token)
                self._callers.put(key, client)
            return client

    async def server_refused(self) -> ConfigServerError:
        """The error for a read that Vault refused the server's own token.

        Vault answers 403 both to a token it no longer accepts (revoked, expired early) and to a
        valid token whose policy forbids the path, so ask it (``lookup-self``). A dead token is
        dropped, so health shows Vault DOWN and the renewal task logs in again at once (AppRole),
        and the request is ``Unavailable`` (503: clients keep their last good configuration). A
        live token gives ``Forbidden`` (403) naming the policy as the cause.
        """
        policy = Forbidden("Vault denied the server's token these secrets: check its policy")
        login = self._login
        if login is None:
            return Unavailable("Vault is unavailable: the server is not logged in")
        if time.monotonic() - self._policy_checked < _POLICY_RECHECK:
            return policy
        try:
            await self.run(login.client.auth.token.lookup_self)
        except Forbidden:
            if self._login is login:
                self._login = None
                self._last_error = "Vault no longer accepts the server's token"
                log.warning("Vault no longer accepts the server's token; logging in again")
                self._wake.set()
            return Unavailable("Vault is unavailable: it no longer accepts the server's token")
        except ConfigServerError as exc:
            return exc
        self._policy_checked = time.monotonic()
        return policy

    async def run(self, fn: Callable[[], T]) -> T:
        """Run the blocking ``fn`` in the Vault executor, translating hvac/requests errors."""
        if self._executor is None:
            raise RuntimeError("VaultClientManager.start() has not been awaited")
        loop = asyncio.get_running_loop()
        operation = getattr(fn, "__qualname__", None) or getattr(
            getattr(fn, "func", None), "__qualname__", ""
        )
        with (
            self.calls.timed(ConfigServerError),
            tracing.span("vault", attributes={"code.function": operation or "call"}),
        ):
            return await loop.run_in_executor(self._executor, functools.partial(call_translated, fn))

    # -- status ------------------------------------------------------------------------------

    @property
    def logins(self) -> int:
        """How many times the server has logged in (1 after start; more after re-logins)."""
        return self._logins

    def token_ttl_remaining(self) -> float | None:
        """Seconds until the server's token expires; ``None`` if it never does or no login."""
        login = self._login
        if login is None or login.ttl == 0:
            return None
        return max(0.0, login.obtained_at + login.ttl - time.monotonic())

    async def health(self) -> SourceHealth:
        """UP when Vault is reachable, initialised, unsealed, and (with a server identity) logged in.

        Never includes a token. Does not raise. Not essential: git-only requests still work.
        """
        details: dict[str, Any] = {"url": self.settings.url, "authentication": self.settings.auth_method}
        bare = self._new_client("")
        try:
            status = await self.run(
                lambda: bare.sys.read_health_status(
                    method="GET", standby_ok=True, sealed_code=200, uninit_code=200
                )
            )
        except ConfigServerError as exc:
            return SourceHealth("vault", "DOWN", {**details, "error": exc.message}, essential=False)
        finally:
            bare.adapter.close()
        if not isinstance(status, dict):
            error = "unexpected health response"
            return SourceHealth("vault", "DOWN", {**details, "error": error}, essential=False)
        details.update(
            initialized=bool(status.get("initialized")),
            sealed=bool(status.get("sealed")),
            version=str(status.get("version", "")),
        )
        up = details["initialized"] and not details["sealed"]
        if self.settings.auth_method != "none":
            details["logged_in"] = self._login is not None
            ttl = self.token_ttl_remaining()
            if ttl is not None:
                details["token_ttl_seconds"] = round(ttl)
            if self._login is None:
                up = False
                if self._last_error:
                    details["error"] = self._last_error
        return SourceHealth("vault", "UP" if up else "DOWN", details, essential=False)

    # -- login and renewal -------------------------------------------------------------------

    def _new_client(self, token: str) -> hvac.Client:
        # An explicit token ("" for none) stops hvac from picking one up from VAULT_TOKEN.
        return hvac.Client(
            url=self.settings.url,
            token=token,
            namespace=self.settings.namespace,
            timeout=self.settings.timeout,
            verify=self.settings.verify,
        )

    async def _do_login(self) -> None:
        method = self.settings.auth_method
        attributes = {"vault.auth_method": method}
        with logs.timed_event(
            log, "vault.login", "vault login", attributes, "Vault login with %s: %s", method
        ) as timed:
            await self._login_in_span()
            timed.outcome = "ok"

    async def _login_in_span(self) -> None:
        s = self.settings
        if s.auth_method == "token":
            assert s.token is not None
            client = self._new_client(s.token.reveal())
            try:
                data = (await self.run(client.auth.token.lookup_self))["data"]
            except Forbidden:
                client.adapter.close()
                raise Forbidden(
                    "Vault refused the server's token: it must be valid and allowed "
                    "auth/token/lookup-self and renew-self (Vault's default policy)"
                ) from None
            ttl, renewable = float(data.get("ttl") or 0), bool(data.get("renewable"))
        else:
            assert s.role_id is not None
            role_id, secret_id = s.role_id, s.secret_id.reveal() if s.secret_id else None
            bare = self._new_client("")

            def login() -> dict[str, Any]:
                try:
                    resp = bare.auth.approle.login(
                        role_id=role_id, secret_id=secret_id, use_token=False, mount_point=s.approle_mount
                    )
                except hvac.exceptions.InvalidRequest as exc:  # Vault's answer to a wrong id is 400
                    raise Forbidden("Vault refused the AppRole credentials") from exc
                return dict(resp["auth"])

            try:
                auth = await self.run(login)
            finally:
                bare.adapter.close()
            client = self._new_client(auth["client_token"])
            ttl, renewable = float(auth.get("lease_duration") or 0), bool(auth.get("renewable"))
        self._login = _Login(client, ttl, renewable, time.monotonic(), granted=ttl)
        self._logins += 1
        self._failures, self._last_error = 0, None
        log.info(
            "Logged in to Vault with %s (token TTL %s)", s.auth_method, f"{int(ttl)}s" if ttl else "none"
        )

    async def _renew(self) -> None:
        login = self._login
        assert login is not None
        can_login = self.settings.auth_method == "approle"
        if not login.renewable:
            if can_login:
                await self._do_login()
            return
        try:
            auth = (await self.run(login.client.auth.token.renew_self))["auth"]
        except Forbidden:
            if not can_login:
                self._login = None
                raise
            log.warning("Vault refused to renew the server's token; logging in again")
            await self._do_login()
            return
        except ConfigServerError:
            # Vault answers 500 to a renewal past the max TTL; a fresh login settles it either way
            # (and fails with Unavailable, retried with back-off, if Vault really is down).
            if not can_login:
                raise
            await self._do_login()
            return
        ttl = float(auth.get("lease_duration") or 0)
        # A renewal capped by the max TTL grants less than a login does: log in afresh now, while
        # the current token is still valid, rather than renew into ever shorter leases.
        if can_login and ttl < login.granted:
            await self._do_login()
            return
        self._login = replace(
            login, ttl=ttl, renewable=bool(auth.get("renewable")), obtained_at=time.monotonic()
        )
        self._failures, self._last_error = 0, None

    def _next_delay(self) -> float:
        login = self._login
        backoff = min(_MAX_BACKOFF, 0.5 * 2.0 ** max(0, self._failures - 1))
        if login is None:
            return backoff
        if login.ttl == 0:
            return 3600.0  # the token never expires; nothing to renew
        now = time.monotonic()
        if self._failures:
            # Retry sooner as expiry nears, but never spin against a Vault that is down.
            return max(0.25, min(backoff, (login.obtained_at + login.ttl - now) / 2))
        return max(0.05, login.obtained_at + login.ttl * _RENEW_AT - now)

    async def _maintain(self) -> None:
        while True:
            # asyncio.timeout, not wait_for: Python 3.11's wait_for returns normally when a cancel
            # lands in the loop step the wait finishes in, and close() would wait forever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._next_delay()):
                    await self._wake.wait()
            self._wake.clear()
            login = self._login
            if login is not None and login.ttl and time.monotonic() > login.obtained_at + login.ttl:
                self._login = login = None  # expired while Vault was unreachable: log in afresh
            if login is not None and not login.renewable and self.settings.auth_method == "token":
                log.warning("The server's Vault token cannot be renewed; it expires in %ss", int(login.ttl))
                return
            try:
                if login is None:
                    await self._do_login()
                elif login.ttl != 0:
                    await self._renew()
            except ConfigServerError as exc:
                self._note_failure(exc)

    def _note_failure(self, exc: ConfigServerError) -> None:
        self._failures += 1
        self._last_error = exc.message
        log.warning("Vault %s failed: %s", "login" if self._login is None else "token renewal", exc.message)
