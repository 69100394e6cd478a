"""HashiCorp Vault (and OpenBao) as a configuration backend and a ``{cipher}`` key service.

- ``client``: ``VaultSettings``, ``VaultClientManager`` (the server's own login and renewal,
  callers' ``X-Config-Token`` clients, the executor, hvac error translation).
- ``kv``: ``VaultSource``, property sources from the KV v1/v2 engine in Spring's key order.
- ``transit``: ``VaultTransit``, encrypt/decrypt with the transit engine.
"""

from config_server.vault.client import VaultClientManager, VaultSettings
from config_server.vault.kv import VaultResult, VaultSource, vault_keys
from config_server.vault.transit import VaultTransit

__all__ = [
    "VaultClientManager",
    "VaultResult",
    "VaultSettings",
    "VaultSource",
    "VaultTransit",
    "vault_keys",
]
