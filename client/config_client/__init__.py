"""Client library for the config server (and any Spring Cloud Config server).

Load the merged configuration, keep it current by long poll (or polling), fall back to a
last-known-good cache, override with environment variables or a local file, and bind it to
dataclasses. ``ConfigClient`` for threaded code, ``AsyncConfigClient`` for asyncio.
"""

from config_client.bind import bind
from config_client.client import AsyncConfigClient
from config_client.errors import (
    AuthenticationFailed,
    BindError,
    CacheError,
    ConfigClientError,
    ConfigNotFound,
    ConfigUnavailable,
    InvalidResponse,
    LocalFileError,
    RequestRejected,
    SnapshotRejected,
    TokenFileError,
)
from config_client.oauth2 import OAuth2
from config_client.retry import set_testing
from config_client.snapshot import ChangeEvent, Snapshot
from config_client.sync import ConfigClient
from config_client.wire import Environment, PropertySource, PropertyValue

__all__ = [
    "AsyncConfigClient",
    "AuthenticationFailed",
    "BindError",
    "CacheError",
    "ChangeEvent",
    "ConfigClient",
    "ConfigClientError",
    "ConfigNotFound",
    "ConfigUnavailable",
    "Environment",
    "InvalidResponse",
    "LocalFileError",
    "OAuth2",
    "PropertySource",
    "PropertyValue",
    "RequestRejected",
    "Snapshot",
    "SnapshotRejected",
    "TokenFileError",
    "bind",
    "set_testing",
]
