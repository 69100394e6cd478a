"""Decrypting ``{cipher}`` values in property sources before they are served (reference §5.3).

Mirrors Spring's ``CipherEnvironmentEncryptor`` exactly: each value whose string form starts
with ``{cipher}`` is removed from its source's map and put back at the end, decrypted, as a plain
string; a value that cannot be decrypted is removed and ``invalid.<key>`` = ``"<n/a>"`` is put
at the end instead, or, with ``prefix_invalid=False`` (Spring's
``spring.cloud.config.server.encrypt.prefix-invalid-properties``), ``<key>`` = the value without
its ``{cipher}`` marker (what Spring's encryptor holds when the decryption throws). Map semantics
are Java's ``LinkedHashMap``: putting a key that already exists keeps its position. Pure apart
from the ``on_failure`` callback.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from config_client.wire import PropertySource, PropertyValue

from config_server.crypto.keyring import NO_KEY_INSTALLED, KeyRing
from config_server.crypto.prefixes import split_prefixes
from config_server.errors import CryptoError, NoKey

__all__ = ["CIPHER", "INVALID_VALUE", "decrypt_sources"]

CIPHER = "{cipher}"
INVALID_VALUE = "<n/a>"


def decrypt_sources(
    sources: Sequence[PropertySource],
    ring: KeyRing | None,
    *,
    on_failure: Callable[[str, str, str | None], None] | None = None,
    prefix_invalid: bool = True,
) -> tuple[PropertySource, ...]:
    """The sources with every ``{cipher}`` value decrypted, or replaced by ``invalid.<key>``.

    ``on_failure(source name, property key, key alias or None)`` is called for each value that
    fails (for logging and metrics); it never sees the value. With ``ring`` None every
    ``{cipher}`` value fails; ``prefix_invalid`` chooses how a failure is served (module
    docstring). Sources without a ``{cipher}`` value are returned unchanged.
    Only crypto errors make a value invalid: Unavailable or Forbidden from a transit engine
    propagate, so an outage fails the request (clients keep their last good configuration)
    instead of serving ``<n/a>`` in place of secrets.
    """
    return tuple(_decrypt_source(source, ring, on_failure, prefix_invalid) for source in sources)


def _decrypt_source(
    source: PropertySource,
    ring: KeyRing | None,
    on_failure: Callable[[str, str, str | None], None] | None,
    prefix_invalid: bool,
) -> PropertySource:
    ciphered = [k for k, v in source.source.items() if str(v.value).startswith(CIPHER)]
    if not ciphered:
        return source
    out: dict[str, PropertyValue] = dict(source.source)
    for key in ciphered:
        # The original value, as Spring iterates over a snapshot of the entries.
        text = str(source.source[key].value)[len(CIPHER) :]
        out.pop(key, None)
        try:
            if ring is None:
                raise NoKey(NO_KEY_INSTALLED)
            out[key] = PropertyValue(ring.decrypt(text))
        except CryptoError:
            if prefix_invalid:
                out[f"invalid.{key}"] = PropertyValue(INVALID_VALUE)
            else:
                out[key] = PropertyValue(text)
            if on_failure is not None:
                alias = ring.key_alias(text) if ring is not None else split_prefixes(text).get("key")
                on_failure(source.name, key, alias)
    return PropertySource(source.name, out)
