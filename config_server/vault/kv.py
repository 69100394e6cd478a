"""Property sources from Vault's KV engine (v1 or v2), in Spring Cloud Config's order.

Keys (reference §7): profiles ``[default] + requested`` de-duplicated then reversed; applications
``[default_key] + requested`` de-duplicated then reversed; for each profile (outer) and
application (inner) the key is ``app`` for profile ``default``, else ``app<sep>profile``. So
``myapp`` with ``pr1`` reads ``myapp,pr1``, ``application,pr1``, ``myapp``, ``application``,
highest precedence first. With ``enable_label`` (Spring's ``enable-label``) every key also
names the profile and the label: ``myapp,default,main``. ``path_to_key`` puts the keys in a folder
of a KV v2 mount (Spring's ``path-to-key``). Each existing, non-empty secret becomes
``PropertySource("vault:<key>")`` whose values are the secret's JSON flattened like YAML
(``a.b``, ``a[0]``) and sorted by key, as Spring's ``YamlPropertiesFactoryBean`` does. A missing
secret (404) is skipped, not an error.

Identity: with ``token`` (the caller's ``X-Config-Token``) secrets are read as the caller, so Vault
policies decide what each service may see; without it, as the server (``VaultClientManager``); with
no server identity configured either, ``InvalidRequest`` (400, "Missing required header"), which is
what Spring answers [reference §7, unverified status].

Stale answers: when Vault is *unavailable* (not when it refuses a token), ``read()`` may answer from
the last successful read of the same keys by the same identity, for at most
``settings.stale_ttl`` seconds after that read (0 disables), and says so with
``VaultResult.stale = True`` so the HTTP layer can add a ``Warning`` header. The cache is keyed by
a SHA-256 of the token, never the token itself, and holds at most ``_CACHE_SIZE`` entries. After
``stale_ttl`` the ``Unavailable`` error goes through. ``property_sources()`` returns the sources
alone, stale or not; call ``read()`` when the flag matters.

Names become Vault paths, so they are checked first: each ``/``-separated segment must be letters,
digits or ``_ - . @ + = : ~`` and not ``.`` or ``..``; anything else is ``InvalidRequest``.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import hvac
import hvac.exceptions
from config_client.wire import PropertySource, PropertyValue

from config_server.caching import LRU
from config_server.errors import Forbidden, InvalidRequest, Unavailable
from config_server.formats import flatten
from config_server.secret import fingerprint
from config_server.vault.client import VaultClientManager, check_token
from config_server.vault.settings import VaultSettings

__all__ = ["VaultResult", "VaultSource", "flatten_secret", "read_kv", "vault_keys"]

log = logging.getLogger(__name__)

_CACHE_SIZE = 1024
_SEGMENT = re.compile(r"[A-Za-z0-9_\-.@+=:~]+")
_MAX_NAME = 255


@dataclass(frozen=True, slots=True)
class VaultResult:
    """Vault's contribution to one request; ``stale`` when served from the last good read."""

    sources: tuple[PropertySource, ...]
    stale: bool = False


def vault_keys(
    applications: Sequence[str],
    profiles: Sequence[str],
    *,
    default_key: str = "application",
    separator: str = ",",
    label: str | None = None,
) -> tuple[str, ...]:
    """The Vault keys to read, highest precedence first (pure; see the module docstring).

    An empty ``default_key`` disables the shared key. With ``label`` (Spring's ``enable-label``)
    every key is ``app<sep>profile<sep>label``, profile ``default`` included. Raises
    ``InvalidRequest`` for a name that is not a safe Vault path.
    """
    apps = _dedup([default_key, *applications] if default_key else list(applications))
    profs = _dedup(["default", *profiles])
    for name in (*apps, *profs, *([label] if label is not None else [])):
        _check_name(name)
    apps.reverse()
    profs.reverse()
    if label is not None:
        return tuple(f"{app}{separator}{prof}{separator}{label}" for prof in profs for app in apps)
    return tuple(app if prof == "default" else f"{app}{separator}{prof}" for prof in profs for app in apps)


def _dedup(items: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _check_name(name: str) -> None:
    if not name or len(name) > _MAX_NAME:
        raise InvalidRequest("Invalid Vault key: empty or too long")
    for segment in name.split("/"):
        if segment in (".", "..") or not _SEGMENT.fullmatch(segment):
            raise InvalidRequest(f"Invalid Vault key: {name!r}")


def flatten_secret(data: Mapping[str, Any]) -> dict[str, PropertyValue]:
    """A secret's JSON flattened like Spring's YAML loader, then sorted by key as Java sorts strings.

    Flattening is ``config_server.formats.flatten`` (``a.b``, ``a[0]``, ``null`` and ``[]`` give
    ``""``, ``{}`` gives nothing); the sort matches Spring's ``SortedProperties``.
    """
    flat = flatten(data)
    # Java compares UTF-16 code units; UTF-16-BE bytes sort the same way.
    return dict(sorted(flat.items(), key=lambda kv: kv[0].encode("utf-16-be", "surrogatepass")))


def read_kv(client: hvac.Client, settings: VaultSettings, path: str) -> dict[str, Any] | None:
    """The data of the secret at ``path`` under ``settings.kv_mount`` (KV v1 or v2); None if absent.

    Blocking: call inside ``VaultClientManager.run`` (which translates hvac errors). A KV v2
    secret whose current version is deleted counts as absent.
    """
    mount = settings.kv_mount
    try:
        if settings.kv_version == 2:
            resp = client.secrets.kv.v2.read_secret_version(
                path=path, mount_point=mount, raise_on_deleted_version=False
            )
            data = (resp.get("data") or {}).get("data")
        else:
            data = client.secrets.kv.v1.read_secret(path=path, mount_point=mount).get("data")
    except hvac.exceptions.InvalidPath:
        return None
    return data if isinstance(data, dict) else None


class VaultSource:
    """Reads configuration secrets from Vault's KV engine; see the module docstring for the rules.

    Safe to share between concurrent requests. Raises ``Forbidden`` (a token refused),
    ``Unavailable`` (Vault down or sealed, nothing fresh enough cached), ``InvalidRequest`` (bad
    names, or no token at all and no server identity).
    """

    def __init__(self, manager: VaultClientManager, settings: VaultSettings) -> None:
        self._manager = manager
        self._settings = settings
        # The last good answer per (identity, keys), for stale answers while Vault is unavailable.
        self._cache: LRU[tuple[str, tuple[str, ...]], tuple[PropertySource, ...]] | None = (
            LRU(_CACHE_SIZE, ttl=settings.stale_ttl) if settings.stale_ttl > 0 else None
        )

    @property
    def label_enabled(self) -> bool:
        """Whether the request's label is part of each key (``enable_label``)."""
        return self._settings.enable_label

    def keys(
        self, applications: Sequence[str], profiles: Sequence[str], labels: Sequence[str | None] = ()
    ) -> tuple[str, ...]:
        """The keys ``read()`` would read for this request, highest precedence first.

        ``labels`` (the request's, None for "the default") count only with ``enable_label``:
        they are joined with ``,`` as the request spelled them (Spring uses the label string
        as it came), and no label gives ``default_label``.
        """
        label = None
        if self._settings.enable_label:
            named = [lbl for lbl in labels if lbl]
            label = ",".join(named) if named else self._settings.default_label
        return vault_keys(
            applications,
            profiles,
            default_key=self._settings.default_key,
            separator=self._settings.profile_separator,
            label=label,
        )

    def own_paths(
        self, applications: Sequence[str], profiles: Sequence[str], labels: Sequence[str | None] = ()
    ) -> frozenset[str]:
        """The paths under the mount that ``read()`` reads for this request (``path_to_key``
        included): the secrets the request's applications own, for ``{vault}:`` references'
        scope. Empty when a name is not a safe Vault path."""
        try:
            keys = self.keys(applications, profiles, labels)
        except InvalidRequest:
            return frozenset()
        return frozenset(self._settings.key_path(key) for key in keys)

    async def property_sources(
        self,
        applications: Sequence[str],
        profiles: Sequence[str],
        *,
        token: str | None = None,
        labels: Sequence[str | None] = (),
    ) -> tuple[PropertySource, ...]:
        """The ``vault:<key>`` sources, highest precedence first (possibly stale: see ``read``)."""
        return (await self.read(applications, profiles, token=token, labels=labels)).sources

    async def read(
        self,
        applications: Sequence[str],
        profiles: Sequence[str],
        *,
        token: str | None = None,
        labels: Sequence[str | None] = (),
    ) -> VaultResult:
        """Like ``property_sources`` but says whether the answer came from the stale cache."""
        keys = self.keys(applications, profiles, labels)
        if token is None:
            if self._settings.auth_method == "none":
                raise InvalidRequest("Missing required header: X-Config-Token")
            identity = "server"
            client_of: Callable[[], hvac.Client] = self._manager.server_client
        else:
            check_token(token)
            identity = fingerprint(token)

            def client_of() -> hvac.Client:
                return self._manager.client_for_token(token)

        cache_key = (identity, keys)
        try:
            secrets = await self._gather(
                [functools.partial(self._read_secret, client_of, key) for key in keys]
            )
        except Forbidden:
            if token is None:
                raise await self._manager.server_refused() from None
            raise Forbidden(
                "Vault refused the X-Config-Token: it is not valid, or its policy does not allow "
                f"reading {', '.join(keys)}"
            ) from None
        except Unavailable:
            stale = self._cached(cache_key)
            if stale is None:
                raise
            log.warning(
                "Vault is unavailable; serving the last known secrets for %s (stale)", ", ".join(keys)
            )
            return VaultResult(stale, stale=True)
        sources = tuple(
            PropertySource(f"vault:{key}", values)
            for key, values in zip(keys, secrets, strict=True)
            if values
        )
        self._remember(cache_key, sources)
        return VaultResult(sources)

    async def secret(self, path: str) -> dict[str, Any] | None:
        """The data of the secret at ``path`` (relative to the mount; no ``path_to_key``), read
        as the server; None when it does not exist. For ``{vault}:`` references.

        Raises ``InvalidRequest`` for a path that is not a safe Vault path, ``Forbidden`` when
        there is no server identity or its policy refuses the path, ``Unavailable`` when Vault
        is down or no longer accepts the server's login.
        """
        # The profile separator joins a key's names (orders,prod): each name must be safe.
        _check_name(
            path.replace(self._settings.profile_separator, "/") if self._settings.profile_separator else path
        )
        if self._settings.auth_method == "none":
            raise Forbidden("No Vault server identity is configured (set a token or an AppRole)")
        try:
            return await self._manager.run(
                lambda: read_kv(self._manager.server_client(), self._settings, path)
            )
        except Forbidden:
            raise await self._manager.server_refused() from None

    async def versions(
        self, applications: Sequence[str], profiles: Sequence[str], labels: Sequence[str | None] = ()
    ) -> dict[str, int]:
        """``{key: version}`` for each existing key, read as the server, to detect changes by polling.

        KV v2: the metadata's ``current_version`` (needs ``read`` on ``<mount>/metadata/*``); a key
        whose current version is deleted or destroyed is left out. KV v1 has no versions: the value
        is a 63-bit fingerprint of the secret's content instead. Raises as ``read`` does, and
        ``Forbidden`` when no server identity is configured.
        """
        keys = self.keys(applications, profiles, labels)
        found = await self._gather([functools.partial(self._read_version, key) for key in keys])
        return {key: v for key, v in zip(keys, found, strict=True) if v is not None}

    # -- blocking reads (run in the manager's executor) -----------------------------------

    async def _gather(self, calls: Sequence[Callable[[], Any]]) -> list[Any]:
        pending: list[Awaitable[Any]] = [self._manager.run(call) for call in calls]
        # Wait for every read so no failed future is left unobserved; report the first failure.
        results = await asyncio.gather(*pending, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return results

    def _read_secret(self, client_of: Callable[[], hvac.Client], key: str) -> dict[str, PropertyValue]:
        data = self._read_data(client_of(), key)
        return flatten_secret(data) if data else {}

    def _read_data(self, client: hvac.Client, key: str) -> dict[str, Any] | None:
        return read_kv(client, self._settings, self._settings.key_path(key))

    def _read_version(self, key: str) -> int | None:
        client = self._manager.server_client()
        if self._settings.kv_version == 1:
            data = self._read_data(client, key)
            if not data:
                return None
            digest = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).digest()
            return int.from_bytes(digest[:8], "big") >> 1
        try:
            meta = client.secrets.kv.v2.read_secret_metadata(
                path=self._settings.key_path(key), mount_point=self._settings.kv_mount
            )
        except hvac.exceptions.InvalidPath:
            return None
        data = meta.get("data") or {}
        current = int(data.get("current_version") or 0)
        info = (data.get("versions") or {}).get(str(current)) or {}
        if current == 0 or info.get("deletion_time") or info.get("destroyed"):
            return None
        return current

    # -- stale cache -----------------------------------------------------------------------

    def _remember(self, key: tuple[str, tuple[str, ...]], sources: tuple[PropertySource, ...]) -> None:
        if self._cache is not None:
            self._cache.put(key, sources)

    def _cached(self, key: tuple[str, tuple[str, ...]]) -> tuple[PropertySource, ...] | None:
        return None if self._cache is None else self._cache.get(key)
