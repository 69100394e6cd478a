"""Configuration backends behind one async seam, the ``Source`` protocol (``sources.base``).

- ``base``: ``Source``, ``Query``, ``Contribution``, ``SourceHealth``: the seam itself.
- ``git``: configuration files from a git remote (``GitConfigSource`` over ``GitSource``).
- ``vault``: ``VaultConfigSource``, secrets from Vault's KV engine (adapting ``config_server.vault``).
"""

from config_server.sources.base import ChangeListener, Contribution, Detail, Query, Source, SourceHealth

__all__ = ["ChangeListener", "Contribution", "Detail", "Query", "Source", "SourceHealth"]
