"""The public surface of config_client is deliberate: this pins it."""

from __future__ import annotations

import config_client


def test_public_exports_are_pinned() -> None:
    """Everything in __all__ exists, and nothing is exported by accident."""
    assert sorted(config_client.__all__) == [
        "AsyncConfigClient", "AuthenticationFailed", "BindError", "CacheError", "ChangeEvent", "ConfigClient",
        "ConfigClientError", "ConfigNotFound", "ConfigUnavailable", "Environment", "InvalidResponse",
        "LocalFileError", "OAuth2", "PropertySource", "PropertyValue", "RequestRejected", "Snapshot",
        "SnapshotRejected", "TokenFileError", "bind", "set_testing",
    ]  # fmt: skip
    for name in config_client.__all__:
        assert getattr(config_client, name) is not None


def test_every_error_is_a_config_client_error() -> None:
    """Callers can catch the whole tree with one except clause."""
    errors = [getattr(config_client, n) for n in config_client.__all__ if n.endswith(("Error", "Failed"))]
    errors += [config_client.ConfigNotFound, config_client.ConfigUnavailable, config_client.InvalidResponse]
    errors += [config_client.RequestRejected, config_client.SnapshotRejected]
    assert all(issubclass(e, config_client.ConfigClientError) for e in errors)
