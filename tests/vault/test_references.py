"""``{vault}:path#key`` references (config_server/vault/references.py), read from a real OpenBao."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from dataclasses import replace
from typing import Any

import pytest
from config_client.wire import PropertySource

from config_server.errors import Unavailable
from config_server.secret import Secret
from config_server.vault import VaultClientManager, VaultSettings, VaultSource
from config_server.vault.references import (
    MAX_REFERENCE_PATHS,
    ReferenceScope,
    VaultReference,
    parse_reference,
    resolve_references,
)
from tests.support.openbao import OpenBao
from tests.vault.conftest import unique


class KV(VaultSource):
    """A VaultSource that also tells its settings (for tests that vary them)."""

    def __init__(self, manager: VaultClientManager, settings: VaultSettings) -> None:
        super().__init__(manager, settings)
        self.settings = settings


@pytest.fixture
async def kv(openbao: OpenBao, kv_version: int) -> AsyncIterator[KV]:
    """A VaultSource over a fresh mount of the parametrised version holding accounts/mypay."""
    mount = unique(f"kv{kv_version}")
    await asyncio.to_thread(openbao.mount_kv, mount, version=kv_version)
    data = {"access_key": "mysecret", "port": 5432, "on": True, "nested": {"a": [1, "b"]}}
    if kv_version == 2:
        await asyncio.to_thread(openbao.write_kv2, "accounts/mypay", data, mount=mount)
    else:
        await asyncio.to_thread(openbao.write_kv1, "accounts/mypay", data, mount=mount)
    settings = VaultSettings(
        url=openbao.url, kv_mount=mount, kv_version=kv_version, token=Secret(openbao.root_token)
    )
    manager = VaultClientManager(settings)
    await manager.start()
    yield KV(manager, settings)
    await manager.close()


ANYWHERE = ReferenceScope(patterns=("**",))
"""Spring's scope: any path the server's login can read (``--vault-reference-paths '**'``)."""


async def resolved(kv: VaultSource, value: str, **options: Any) -> dict[str, Any]:
    options.setdefault("scope", ANYWHERE)
    (source,) = await resolve_references([PropertySource.of("a", {"name": value})], kv.secret, **options)
    return source.values()


async def test_reference_is_replaced_by_the_key_of_the_secret(kv: VaultSource) -> None:
    """{vault}:accounts/mypay#access_key gives that key's value, on KV v2 and v1 (path under the mount).

    Spring's VaultEnvironmentEncryptorTests#shouldResolveProperty."""
    assert await resolved(kv, "{vault}:accounts/mypay#access_key") == {"name": "mysecret"}


async def test_missing_key_is_invalid(kv: VaultSource) -> None:
    """A key the secret lacks gives invalid.name: <n/a>, never the name (Spring puts null there; its
    documentation calls it invalid).

    Spring's VaultEnvironmentEncryptorTests#shouldReturnNullIfPropertyNotFoundInVault."""
    assert await resolved(kv, "{vault}:accounts/mypay#another_key") == {"invalid.name": "<n/a>"}


async def test_missing_secret_is_invalid(kv: VaultSource) -> None:
    """A path with no secret gives invalid.name: <n/a>."""
    assert await resolved(kv, "{vault}:accounts/nobody#access_key") == {"invalid.name": "<n/a>"}


async def test_value_not_starting_with_the_prefix_is_left_alone(kv: VaultSource) -> None:
    """Only values that start with {vault} are references.

    Spring's VaultEnvironmentEncryptorTests#shouldSkipPropertyWithNotVaultPrefix."""
    value = "test{vault}:accounts/mypay#access_key"
    assert await resolved(kv, value) == {"name": value}


@pytest.mark.parametrize(
    "value",
    ["{vault}:accounts/mypay", "{vault}:accounts/mypay#", "{vault}test:accounts/mypay#", "{vault}:#xxx"],
    ids=[
        "shouldMarkAsInvalidPropertyWithNoKeyValue",
        "shouldMarkAsInvalidPropertyWithNoEmptyValue",
        "shouldMarkAsInvalidPropertyWithWrongFormat",
        "shouldMarkAsInvalidPropertyWithWrongFormat2",
    ],
)
async def test_malformed_reference_is_invalid(kv: VaultSource, value: str) -> None:
    """No key, an empty key, no ':' after {vault}, or an empty path: invalid.name: <n/a> and no name.

    Spring's VaultEnvironmentEncryptorTests#shouldMarkAsInvalidPropertyWith* (the test ids)."""
    assert await resolved(kv, value) == {"invalid.name": "<n/a>"}


@pytest.mark.parametrize(
    ("value", "kept"),
    [
        ("{vault}:accounts/mypay", "accounts/mypay"),
        ("{vault}test:accounts/mypay#", "test:accounts/mypay#"),
        ("{vault}:accounts/mypay#another_key", "accounts/mypay#another_key"),
    ],
)
async def test_without_prefix_invalid_the_key_keeps_the_reference_text(
    kv: VaultSource, value: str, kept: str
) -> None:
    """prefix-invalid-properties false: the key stays, holding the reference without {vault}:.

    Spring's VaultEnvironmentEncryptorTests#shouldNotPrefixInvalidPropertyWithNoKeyValue."""
    assert await resolved(kv, value, prefix_invalid=False) == {"name": kept}


@pytest.mark.parametrize(
    ("key", "text"),
    [("port", "5432"), ("on", "true"), ("nested", '{"a":[1,"b"]}')],
    ids=["int", "bool", "object"],
)
async def test_values_that_are_not_strings_become_text(kv: VaultSource, key: str, text: str) -> None:
    """Numbers and booleans as text, objects and arrays as JSON."""
    assert await resolved(kv, f"{{vault}}:accounts/mypay#{key}") == {"name": text}


async def test_resolved_keys_move_to_the_end_and_invalid_ones_are_appended(kv: VaultSource) -> None:
    """As Spring's LinkedHashMap remove-then-put: resolved and invalid keys go after the others."""
    source = PropertySource.of(
        "a", {"x": "{vault}:accounts/mypay#access_key", "y": "{vault}:bad", "z": "plain"}
    )
    (out,) = await resolve_references([source], kv.secret, scope=ANYWHERE)
    assert list(out.values().items()) == [("z", "plain"), ("x", "mysecret"), ("invalid.y", "<n/a>")]


async def test_each_path_is_read_once_per_call(kv: VaultSource) -> None:
    """Several references to one path, in several sources, read it once (Spring's per-request cache)."""
    reads: list[str] = []

    async def counting(path: str) -> Mapping[str, Any] | None:
        reads.append(path)
        return await kv.secret(path)

    sources = [
        PropertySource.of(
            "a", {"k": "{vault}:accounts/mypay#access_key", "p": "{vault}:accounts/mypay#port"}
        ),
        PropertySource.of("b", {"k": "{vault}:accounts/mypay#on", "o": "{vault}:other#x"}),
    ]
    out = await resolve_references(sources, counting, scope=ANYWHERE)
    assert sorted(reads) == ["accounts/mypay", "other"]
    assert [s.values() for s in out] == [{"k": "mysecret", "p": "5432"}, {"k": "true", "invalid.o": "<n/a>"}]


async def test_a_path_the_servers_policy_refuses_is_invalid(openbao: OpenBao, kv: KV) -> None:
    """A secret the server's token may not read gives invalid.name, not an error for the whole request."""
    token = await asyncio.to_thread(openbao.create_token, policies=["default"])
    settings = replace(kv.settings, token=Secret(token))
    manager = VaultClientManager(settings)
    await manager.start()
    try:
        assert await resolved(VaultSource(manager, settings), "{vault}:accounts/mypay#access_key") == {
            "invalid.name": "<n/a>"
        }
    finally:
        await manager.close()


async def test_without_a_server_identity_references_are_invalid(kv: KV) -> None:
    """With no server login there is nobody to read as: invalid.name, not the reference text."""
    settings = replace(kv.settings, token=None)
    manager = VaultClientManager(settings)
    await manager.start()
    try:
        source = VaultSource(manager, settings)
        assert await resolved(source, "{vault}:accounts/mypay#access_key") == {"invalid.name": "<n/a>"}
    finally:
        await manager.close()


async def test_vault_unavailable_fails_the_request() -> None:
    """Unavailable propagates (503: clients keep their last good configuration), unlike Spring's <n/a>."""

    async def down(path: str) -> Mapping[str, Any] | None:
        raise Unavailable("Vault is unavailable")

    with pytest.raises(Unavailable):
        await resolve_references([PropertySource.of("a", {"k": "{vault}:p#k"})], down, scope=ANYWHERE)


@pytest.mark.parametrize(
    ("value", "ref"),
    [
        ("{vault}:accounts/mypay#access_key", VaultReference("accounts/mypay", "access_key")),
        ("{vault}:a#b#c", VaultReference("a", "b")),
        ("{vault}:a##", None),
        ("{vault}:a##b", None),
        ("{vault}:#", None),
        ("{vault}", None),
    ],
)
def test_parse_reference_splits_like_java(value: str, ref: VaultReference | None) -> None:
    """The path runs to the first '#', the key to the next; trailing empty parts are dropped (Java split)."""
    assert parse_reference(value) == ref


async def test_a_reference_out_of_the_requests_scope_is_invalid(kv: VaultSource) -> None:
    """A pusher's {vault}:accounts/mypay#access_key in another application's file is not read with
    the server's login: invalid.name, like a missing secret (not in Spring, which reads any path)."""
    scope = ReferenceScope(own=frozenset({"orders", "application"}))
    assert await resolved(kv, "{vault}:accounts/mypay#access_key", scope=scope) == {"invalid.name": "<n/a>"}


async def test_a_path_matching_a_reference_pattern_is_read(kv: VaultSource) -> None:
    """--vault-reference-paths accounts/* lets references read accounts/mypay."""
    scope = ReferenceScope(patterns=("accounts/*",))
    assert await resolved(kv, "{vault}:accounts/mypay#access_key", scope=scope) == {"name": "mysecret"}


@pytest.mark.parametrize(
    ("patterns", "path", "allowed"),
    [
        (("*",), "accounts/mypay", False),
        (("accounts/*",), "accounts/mypay/deeper", False),
        (("accounts/**",), "accounts/mypay/deeper", True),
        (("**",), "payments", True),
        (("**",), "orders/../payments", False),
        (("orders/**",), "orders/./x", False),
        (("**",), "a//b", False),
        (("acc?unts",), "accounts", False),
        (("a.b",), "aXb", False),
    ],
)
def test_scope_patterns_match_segments_and_never_dot_segments(
    patterns: tuple[str, ...], path: str, allowed: bool
) -> None:
    """* stays within a segment, ** crosses them, other characters are literal; . and .. never pass."""
    assert ReferenceScope(patterns=patterns).allows(path) is allowed


def test_own_paths_are_the_requests_vault_keys_with_path_to_key(kv: KV) -> None:
    """The scope's own paths are exactly the keys the Vault source reads (path-to-key included on KV v2)."""
    settings = replace(kv.settings, path_to_key="team")
    source = VaultSource(VaultClientManager(settings), settings)
    prefix = "team/" if settings.kv_version == 2 else ""
    assert source.own_paths(["orders"], ["prod"]) == {
        prefix + p for p in ("orders,prod", "application,prod", "orders", "application")
    }
    assert source.own_paths(["../x"], ["prod"]) == frozenset()


async def test_one_environment_reads_at_most_max_reference_paths() -> None:
    """A pushed file with 5,000 distinct reference paths reads MAX_REFERENCE_PATHS of them (in path
    order); the rest are invalid without a read: one request cannot occupy the Vault workers."""
    reads: list[str] = []

    async def counting(path: str) -> Mapping[str, Any] | None:
        reads.append(path)
        return {"k": path}

    values = {f"v{i:04d}": f"{{vault}}:p{i:04d}#k" for i in range(5000)}
    (out,) = await resolve_references([PropertySource.of("a", values)], counting, scope=ANYWHERE)
    assert sorted(reads) == [f"p{i:04d}" for i in range(MAX_REFERENCE_PATHS)]
    resolved = out.values()
    assert resolved["v0000"] == "p0000" and resolved["invalid.v4999"] == "<n/a>"
