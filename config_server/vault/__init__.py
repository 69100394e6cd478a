"""HashiCorp Vault (and OpenBao) as a configuration backend and a ``{cipher}`` key service.

One adapter, one module per concern (as hvac splits its own):

- ``settings``: ``VaultSettings``, how to reach Vault (validated; the repr hides secrets).
- ``errors``: ``translate_errors``, the one hvac/requests → ``config_server.errors`` table.
- ``client``: ``VaultClientManager`` (the server's own login and renewal, callers'
  ``X-Config-Token`` clients, the executor every hvac call runs in).
- ``kv``: ``VaultSource``, property sources from the KV v1/v2 engine in Spring's key order.
- ``transit``: ``VaultTransit``, encrypt/decrypt with the transit engine.
- ``references``: ``{vault}:path#key`` values in served files, resolved per request as the server.

``config_server.sources.vault`` adapts ``kv`` to the server's ``Source`` seam.
"""

from config_server.vault.client import VaultClientManager
from config_server.vault.kv import VaultResult, VaultSource, vault_keys
from config_server.vault.settings import VaultSettings
from config_server.vault.transit import VaultTransit

__all__ = [
    "VaultClientManager",
    "VaultResult",
    "VaultSettings",
    "VaultSource",
    "VaultTransit",
    "vault_keys",
]
