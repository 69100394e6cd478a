"""``VaultSettings``: how to reach Vault and read configuration from it (validated, secrets hidden)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from config_server.secret import Secret

__all__ = ["VaultSettings"]


@dataclass(frozen=True)
class VaultSettings:
    """How to reach Vault and read configuration from it.

    ``token`` or ``role_id`` (+ ``secret_id``) give the server its own identity; with neither,
    every read needs the caller's ``X-Config-Token`` (Spring's default). The server's token must
    be allowed ``auth/token/lookup-self`` and ``renew-self`` (Vault's ``default`` policy grants
    both). ``kv_version`` is 1 or 2 (the engine mounted at ``kv_mount``). The key rules follow
    Spring's Vault repository: ``default_key`` is the secret shared by every application (empty:
    none), ``profile_separator`` joins application and profile; with ``enable_label`` every key
    is ``app<sep>profile<sep>label`` (profile ``default`` included; ``default_label`` when the
    request names none); ``path_to_key`` is a folder under a KV v2 mount that holds the keys (read
    as ``<mount>/data/<path_to_key>/<key>``; ignored for KV v1, as Spring does). ``stale_ttl`` (seconds,
    0 disables) is how long the KV source may answer from its last good read while Vault is
    unavailable. ``timeout`` is per HTTP request, in seconds. ``verify`` is passed to requests
    (``False`` or a CA bundle path).

    Raises ``ValueError`` for inconsistent or malformed settings. The ``repr`` hides secrets.
    """

    url: str
    kv_mount: str = "secret"
    kv_version: int = 2
    namespace: str | None = None
    token: Secret | None = None
    role_id: str | None = None
    secret_id: Secret | None = None
    approle_mount: str = "approle"
    profile_separator: str = ","
    default_key: str = "application"
    enable_label: bool = False
    default_label: str = "main"
    path_to_key: str = ""
    timeout: float = 5.0
    stale_ttl: float = 30.0
    verify: bool | str = True

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("vault url must be an http(s) URL with a host, e.g. http://127.0.0.1:8200")
        if parts.username or parts.password or parts.query or parts.fragment:
            raise ValueError("vault url must not carry credentials, a query or a fragment")
        if self.kv_version not in (1, 2):
            raise ValueError(f"vault kv_version must be 1 or 2, not {self.kv_version!r}")
        for name, value in (("kv_mount", self.kv_mount), ("approle_mount", self.approle_mount)):
            if not value or value.strip("/") != value or ".." in value.split("/") or "//" in value:
                raise ValueError(f"vault {name} must be a mount path like 'secret', not {value!r}")
        if self.path_to_key and (
            self.path_to_key.strip("/") != self.path_to_key
            or any(part in ("", ".", "..") for part in self.path_to_key.split("/"))
        ):
            raise ValueError(
                f"vault path_to_key must be a folder like 'apps/config', not {self.path_to_key!r}"
            )
        if self.enable_label and not self.default_label:
            raise ValueError("vault default_label must not be empty when labels are enabled")
        if not self.profile_separator or "/" in self.profile_separator:
            raise ValueError("vault profile_separator must be non-empty and contain no '/'")
        if self.token is not None and self.role_id is not None:
            raise ValueError("configure either a vault token or an AppRole role_id, not both")
        if self.secret_id is not None and self.role_id is None:
            raise ValueError("a vault secret_id needs a role_id")
        if self.token is not None and not self.token.reveal():
            raise ValueError("the vault token is empty")
        if not self.timeout > 0:
            raise ValueError("vault timeout must be positive")
        if not self.stale_ttl >= 0:
            raise ValueError("vault stale_ttl must be zero or positive")

    def key_path(self, key: str) -> str:
        """Where ``key`` is read under ``kv_mount``: below ``path_to_key`` on KV v2 (Spring puts
        it there for KV v2 only), else the key itself."""
        folder = self.path_to_key
        return f"{folder}/{key}" if folder and self.kv_version == 2 else key

    @property
    def auth_method(self) -> Literal["token", "approle", "none"]:
        """How the server authenticates itself: ``token``, ``approle``, or ``none`` (callers only)."""
        if self.token is not None:
            return "token"
        if self.role_id is not None:
            return "approle"
        return "none"
