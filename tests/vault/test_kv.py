"""VaultSource against a real OpenBao: key order, flattening, KV v1 and v2, versions, caller tokens."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

import pytest

from config_server.errors import Forbidden, InvalidRequest
from config_server.secret import Secret
from config_server.vault import VaultClientManager, VaultSettings, VaultSource
from tests.support.openbao import OpenBao
from tests.vault.conftest import unique

KEYS = [
    "application",
    "myapp",
    "yourapp",
    "mydefaultkey",
    "myapp,pr1",
    "application,pr1",
    "myapp,pr2",
    "application,pr2",
]


def write(openbao: OpenBao, mount: str, version: int, key: str, data: dict[str, object]) -> None:
    if version == 2:
        openbao.write_kv2(key, data, mount=mount)
    else:
        openbao.write_kv1(key, data, mount=mount)


@dataclass(frozen=True)
class KV:
    source: VaultSource
    manager: VaultClientManager
    settings: VaultSettings


@pytest.fixture
async def kv(openbao: OpenBao, kv_version: int) -> AsyncIterator[KV]:
    """A source over a fresh mount of the parametrised KV version holding every key in KEYS."""
    mount = unique(f"kv{kv_version}")
    openbao.mount_kv(mount, version=kv_version)
    for key in KEYS:
        write(openbao, mount, kv_version, key, {"from": key})
    settings = VaultSettings(
        url=openbao.url, kv_mount=mount, kv_version=kv_version, token=Secret(openbao.root_token)
    )
    manager = VaultClientManager(settings)
    await manager.start()
    yield KV(VaultSource(manager, settings), manager, settings)
    await manager.close()


@pytest.mark.parametrize(
    ("apps", "profiles", "expected"),
    [
        (["myapp"], [], ["vault:myapp", "vault:application"]),
        (
            ["myapp"],
            ["pr1"],
            ["vault:myapp,pr1", "vault:application,pr1", "vault:myapp", "vault:application"],
        ),
        (
            ["myapp"],
            ["pr1", "pr2"],
            [
                "vault:myapp,pr2",
                "vault:application,pr2",
                "vault:myapp,pr1",
                "vault:application,pr1",
                "vault:myapp",
                "vault:application",
            ],
        ),
        (["myapp", "yourapp"], [], ["vault:yourapp", "vault:myapp", "vault:application"]),
    ],
)
async def test_sources_come_in_springs_order(
    kv: KV, apps: list[str], profiles: list[str], expected: list[str]
) -> None:
    """Property sources are named vault:<key> in the reference's order, each with its own data."""
    sources = await kv.source.property_sources(apps, profiles)
    assert [ps.name for ps in sources] == expected
    assert [ps.values() for ps in sources] == [{"from": name.removeprefix("vault:")} for name in expected]


async def test_default_key_is_configurable(openbao: OpenBao, kv: KV) -> None:
    """With default_key 'mydefaultkey', that key replaces 'application' (reference example)."""
    other = VaultSource(kv.manager, replace(kv.settings, default_key="mydefaultkey"))
    names = [ps.name for ps in await other.property_sources(["myapp", "yourapp"], [])]
    assert names == ["vault:yourapp", "vault:myapp", "vault:mydefaultkey"]


async def test_missing_and_empty_secrets_are_skipped(openbao: OpenBao, kv: KV, kv_version: int) -> None:
    """A key that does not exist, or holds an empty secret, contributes no source and no error."""
    if kv_version == 2:  # KV v1 refuses to store an empty secret
        write(openbao, kv.settings.kv_mount, kv_version, "emptyapp", {})
    sources = await kv.source.property_sources(["nosuchapp", "emptyapp"], ["nosuchprofile"])
    assert [ps.name for ps in sources] == ["vault:application"]


async def test_nested_secret_is_flattened_and_sorted(openbao: OpenBao, kv: KV, kv_version: int) -> None:
    """Nested JSON becomes a.b / a[0] keys, sorted as Spring sorts them, with JSON types kept."""
    secret = {
        "zeta": "last",
        "db": {"url": "jdbc:x", "pool": {"max": 10}},
        "hosts": ["a", "b"],
        "Upper": True,
        "nothing": None,
    }
    write(openbao, kv.settings.kv_mount, kv_version, "nested", secret)
    (nested, *_rest) = await kv.source.property_sources(["nested"], [])
    assert nested.name == "vault:nested"
    assert list(nested.values().items()) == [
        ("Upper", True),
        ("db.pool.max", 10),
        ("db.url", "jdbc:x"),
        ("hosts[0]", "a"),
        ("hosts[1]", "b"),
        ("nothing", ""),
        ("zeta", "last"),
    ]


async def test_deleted_kv2_secret_is_skipped(openbao: OpenBao, root_manager: VaultClientManager) -> None:
    """A KV v2 key whose latest version is soft-deleted reads as absent."""
    vault = VaultSource(root_manager, root_manager.settings)
    mount = root_manager.settings.kv_mount
    openbao.write_kv2("gone", {"a": 1}, mount=mount)
    openbao.client().secrets.kv.v2.delete_latest_version_of_secret(path="gone", mount_point=mount)
    assert await vault.property_sources(["gone"], []) == ()
    assert await vault.versions(["gone"], []) == {}


async def test_versions_track_kv2_writes(openbao: OpenBao, root_manager: VaultClientManager) -> None:
    """versions() gives current_version per existing key and moves when a key is written."""
    vault = VaultSource(root_manager, root_manager.settings)
    mount = root_manager.settings.kv_mount
    openbao.write_kv2("myapp", {"a": 1}, mount=mount)
    openbao.write_kv2("myapp,dev", {"a": 2}, mount=mount)
    assert await vault.versions(["myapp"], ["dev"]) == {"myapp,dev": 1, "myapp": 1}
    openbao.write_kv2("myapp", {"a": 3}, mount=mount)
    openbao.write_kv2("application", {"b": 1}, mount=mount)
    assert await vault.versions(["myapp"], ["dev"]) == {"myapp,dev": 1, "myapp": 2, "application": 1}


async def test_versions_fingerprint_kv1_content(openbao: OpenBao) -> None:
    """KV v1 has no versions: versions() changes exactly when a secret's content changes."""
    mount = unique("kv1")
    openbao.mount_kv(mount, version=1)
    openbao.write_kv1("myapp", {"a": 1}, mount=mount)
    settings = VaultSettings(url=openbao.url, kv_mount=mount, kv_version=1, token=Secret(openbao.root_token))
    manager = VaultClientManager(settings)
    await manager.start()
    try:
        vault = VaultSource(manager, settings)
        first = await vault.versions(["myapp"], [])
        assert list(first) == ["myapp"]
        assert await vault.versions(["myapp"], []) == first
        openbao.write_kv1("myapp", {"a": 2}, mount=mount)
        second = await vault.versions(["myapp"], [])
        assert second["myapp"] != first["myapp"]
    finally:
        await manager.close()


# -- caller tokens (X-Config-Token) -----------------------------------------------------------


@pytest.fixture
async def callers_only(openbao: OpenBao, mount: str) -> AsyncIterator[VaultSource]:
    """A source with no server identity (Spring's default): every read needs a caller token."""
    for key in ("myapp", "myapp,dev", "application", "yourapp"):
        openbao.write_kv2(key, {"owner": key}, mount=mount)
    settings = VaultSettings(url=openbao.url, kv_mount=mount)
    manager = VaultClientManager(settings)
    await manager.start()
    yield VaultSource(manager, settings)
    await manager.close()


def myapp_token(openbao: OpenBao, mount: str) -> str:
    policy = unique("myapp-reader")
    openbao.write_policy(
        policy,
        f"""
        path "{mount}/data/myapp" {{ capabilities = ["read"] }}
        path "{mount}/data/myapp,*" {{ capabilities = ["read"] }}
        path "{mount}/data/application" {{ capabilities = ["read"] }}
        path "{mount}/data/application,*" {{ capabilities = ["read"] }}
        """,
    )
    return openbao.create_token(policies=[policy], ttl="5m")


async def test_caller_token_reads_its_own_application(
    openbao: OpenBao, mount: str, callers_only: VaultSource
) -> None:
    """A policy-limited X-Config-Token reads the keys its policy allows."""
    token = myapp_token(openbao, mount)
    sources = await callers_only.property_sources(["myapp"], ["dev"], token=token)
    assert [ps.name for ps in sources] == ["vault:myapp,dev", "vault:myapp", "vault:application"]


async def test_caller_token_is_forbidden_another_application(
    openbao: OpenBao, mount: str, callers_only: VaultSource
) -> None:
    """The same token asking for another application's secrets is Forbidden (403)."""
    token = myapp_token(openbao, mount)
    with pytest.raises(Forbidden, match="Vault refused the X-Config-Token"):
        await callers_only.property_sources(["yourapp"], [], token=token)


async def test_garbage_token_is_forbidden(callers_only: VaultSource) -> None:
    """A well-formed token Vault does not know is Forbidden."""
    with pytest.raises(Forbidden, match="Vault refused the X-Config-Token"):
        await callers_only.property_sources(["myapp"], [], token="hvs.not-a-real-token")


@pytest.mark.parametrize("token", ["", "two words", "evil\r\nX-Vault-Token: root"])
async def test_malformed_token_is_a_bad_request(callers_only: VaultSource, token: str) -> None:
    """An empty token or one that could not be a header value is InvalidRequest, not sent anywhere."""
    with pytest.raises(InvalidRequest, match="X-Config-Token"):
        await callers_only.property_sources(["myapp"], [], token=token)


async def test_no_token_and_no_server_identity_is_a_bad_request(callers_only: VaultSource) -> None:
    """Without a caller token or a server identity, the header is reported missing (Spring's 400)."""
    with pytest.raises(InvalidRequest, match="Missing required header: X-Config-Token"):
        await callers_only.property_sources(["myapp"], [])


async def test_caller_token_is_used_even_with_a_server_identity(
    openbao: OpenBao, root_manager: VaultClientManager
) -> None:
    """With a token, reads happen as the caller, not as the (more powerful) server."""
    mount = root_manager.settings.kv_mount
    openbao.write_kv2("yourapp", {"x": 1}, mount=mount)
    vault = VaultSource(root_manager, root_manager.settings)
    assert [ps.name for ps in await vault.property_sources(["yourapp"], [])] == ["vault:yourapp"]
    with pytest.raises(Forbidden):
        await vault.property_sources(["yourapp"], [], token=myapp_token(openbao, mount))


async def test_namespace_is_sent_to_vault(openbao: OpenBao, mount: str) -> None:
    """With a namespace configured, keys are read inside that namespace, not the root one."""
    namespace = unique("team")
    openbao.create_namespace(namespace)
    openbao.mount_kv(mount, namespace=namespace)
    openbao.write_kv2("myapp", {"where": "namespace"}, mount=mount, namespace=namespace)
    openbao.write_kv2("myapp", {"where": "root"}, mount=mount)
    settings = VaultSettings(
        url=openbao.url, kv_mount=mount, namespace=namespace, token=Secret(openbao.root_token)
    )
    manager = VaultClientManager(settings)
    await manager.start()
    try:
        (source,) = await VaultSource(manager, settings).property_sources(["myapp"], [])
        assert source.values() == {"where": "namespace"}
    finally:
        await manager.close()
