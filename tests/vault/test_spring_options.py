"""Spring's Vault repository options against a real OpenBao: default-key, profile-separator,
enable-label (+ default-label), path-to-key, kv-version; and their flags."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest

from config_server.components import vault_settings
from config_server.secret import Secret
from config_server.settings import Settings, add_arguments, load_settings
from config_server.sources import Query
from config_server.sources.vault import VaultConfigSource
from config_server.vault import VaultClientManager, VaultSettings, VaultSource
from tests.support.openbao import OpenBao
from tests.vault.conftest import unique


@pytest.fixture
async def mounted(
    openbao: OpenBao, kv_version: int
) -> AsyncIterator[tuple[VaultSettings, VaultClientManager]]:
    """Settings over a fresh mount of the parametrised KV version, and a started manager."""
    mount = unique(f"kv{kv_version}")
    await asyncio.to_thread(openbao.mount_kv, mount, version=kv_version)
    settings = VaultSettings(
        url=openbao.url, kv_mount=mount, kv_version=kv_version, token=Secret(openbao.root_token)
    )
    manager = VaultClientManager(settings)
    await manager.start()
    yield settings, manager
    await manager.close()


async def write(openbao: OpenBao, settings: VaultSettings, entries: dict[str, dict[str, str]]) -> None:
    for key, data in entries.items():
        if settings.kv_version == 2:
            await asyncio.to_thread(openbao.write_kv2, key, data, mount=settings.kv_mount)
        else:
            await asyncio.to_thread(openbao.write_kv1, key, data, mount=settings.kv_mount)


async def found(
    manager: VaultClientManager,
    settings: VaultSettings,
    apps: list[str],
    profiles: list[str],
    labels: tuple[str | None, ...] = (None,),
) -> list[tuple[str, dict[str, Any]]]:
    sources = await VaultSource(manager, settings).property_sources(apps, profiles, labels=labels)
    return [(ps.name, ps.values()) for ps in sources]


@pytest.mark.parametrize("folder", ["", "mypath"])
async def test_path_to_key_is_a_folder_of_a_kv2_mount_only(
    openbao: OpenBao, mounted: tuple[VaultSettings, VaultClientManager], folder: str
) -> None:
    """KV v2 reads <folder>/<key>, KV v1 ignores the folder; sources keep the bare key name.

    Spring's SpringVaultEnvironmentRepositoryTests#findOneNoDefaultKey, #findOneWithPathKey and
    #findOneWithPathKeyNotUsedWithVersionOne.
    """
    settings, manager = mounted
    prefix = f"{folder}/" if folder and settings.kv_version == 2 else ""
    await write(
        openbao, settings, {f"{prefix}myapp": {"foo": "bar"}, f"{prefix}application": {"def-foo": "def-bar"}}
    )
    assert await found(manager, replace(settings, path_to_key=folder), ["myapp"], []) == [
        ("vault:myapp", {"foo": "bar"}),
        ("vault:application", {"def-foo": "def-bar"}),
    ]


async def test_path_to_key_is_not_where_kv2_reads_without_it(
    openbao: OpenBao, root_settings: VaultSettings, root_manager: VaultClientManager
) -> None:
    """With path-to-key set, keys at the mount's top level are not read (the folder is the only place)."""
    await write(openbao, root_settings, {"myapp": {"foo": "top"}})
    assert await found(root_manager, replace(root_settings, path_to_key="apps/config"), ["myapp"], []) == []


async def test_versions_follow_path_to_key(
    openbao: OpenBao, mounted: tuple[VaultSettings, VaultClientManager]
) -> None:
    """Change polling reads the versions (metadata) where the keys are: under path-to-key."""
    settings, manager = mounted
    settings = replace(settings, path_to_key="apps")
    prefix = "apps/" if settings.kv_version == 2 else ""
    await write(openbao, settings, {f"{prefix}myapp": {"foo": "1"}})
    source = VaultSource(manager, settings)
    first = await source.versions(["myapp"], [])
    await write(openbao, settings, {f"{prefix}myapp": {"foo": "2"}})
    second = await source.versions(["myapp"], [])
    assert set(first) == set(second) == {"myapp"} and first != second


@pytest.mark.parametrize(
    ("default_key", "apps", "expected"),
    [
        ("mydefaultkey", ["myapp"], [("vault:myapp", {"foo": "bar"}), ("vault:mydefaultkey", {"def": "1"})]),
        ("", ["myapp"], [("vault:myapp", {"foo": "bar"})]),
        ("myapp", ["myapp"], [("vault:myapp", {"foo": "bar"})]),
        (
            "mydefaultkey",
            ["myapp", "yourapp"],
            [
                ("vault:yourapp", {"your": "1"}),
                ("vault:myapp", {"foo": "bar"}),
                ("vault:mydefaultkey", {"def": "1"}),
            ],
        ),
    ],
    ids=[
        "findOneWithDefaultKeySet",
        "findOneWithEmptyDefaultKey",
        "findOneWithDefaultKeySetToApplicationName",
        "findOneWithDefaultKeyAndMultipleApplicationNames",
    ],
)
async def test_default_key(
    openbao: OpenBao,
    mounted: tuple[VaultSettings, VaultClientManager],
    default_key: str,
    apps: list[str],
    expected: list[tuple[str, dict[str, str]]],
) -> None:
    """default-key names the shared secret; empty disables it; equal to the app it is read once.

    Spring's SpringVaultEnvironmentRepositoryTests#findOneWithDefaultKeySet,
    #findOneWithEmptyDefaultKey, #findOneWithDefaultKeySetToApplicationName and
    #findOneWithDefaultKeyAndMultipleApplicationNames (the last application first).
    """
    settings, manager = mounted
    await write(
        openbao,
        settings,
        {
            "myapp": {"foo": "bar"},
            "yourapp": {"your": "1"},
            "application": {"app": "x"},
            "mydefaultkey": {"def": "1"},
        },
    )
    assert await found(manager, replace(settings, default_key=default_key), apps, []) == expected


async def test_profile_separator(openbao: OpenBao, mounted: tuple[VaultSettings, VaultClientManager]) -> None:
    """profile-separator joins application and profile: myapp-pr1 with '-'."""
    settings, manager = mounted
    await write(openbao, settings, {"myapp-pr1": {"p": "1"}, "myapp,pr1": {"p": "comma"}})
    names = [
        name for name, _ in await found(manager, replace(settings, profile_separator="-"), ["myapp"], ["pr1"])
    ]
    assert names == ["vault:myapp-pr1"]


@pytest.mark.parametrize(
    ("default_label", "profiles", "labels", "expected"),
    [
        ("main", [], (None,), ["vault:myapp,default,main", "vault:application,default,main"]),
        (
            "main",
            ["pr1"],
            (None,),
            [
                "vault:myapp,pr1,main",
                "vault:application,pr1,main",
                "vault:myapp,default,main",
                "vault:application,default,main",
            ],
        ),
        ("custom", [], (None,), ["vault:myapp,default,custom", "vault:application,default,custom"]),
        ("custom", [], ("my-label",), ["vault:myapp,default,my-label", "vault:application,default,my-label"]),
    ],
    ids=[
        "findOneWithDefaultLabelWhenLabelEnabled",
        "findOneWithProfileAndDefaultLabelWhenLabelEnabled",
        "findOneWithCustomDefaultLabelWhenLabelEnabled",
        "findOneWithCustomLabelWhenLabelEnabled",
    ],
)
async def test_enable_label(
    openbao: OpenBao,
    mounted: tuple[VaultSettings, VaultClientManager],
    default_label: str,
    profiles: list[str],
    labels: tuple[str | None, ...],
    expected: list[str],
) -> None:
    """enable-label: every key is app,profile,label (default profile included), the request's label
    or default-label. Spring's SpringVaultEnvironmentRepositoryTests#find*LabelWhenLabelEnabled."""
    settings, manager = mounted
    keys = [
        f"{app},{prof},{lbl}"
        for app in ("myapp", "application")
        for prof in ("default", "pr1")
        for lbl in ("main", "custom", "my-label")
    ]
    await write(openbao, settings, {key: {"from": key} for key in [*keys, "myapp", "application"]})
    labelled = replace(settings, enable_label=True, default_label=default_label)
    sources = await found(manager, labelled, ["myapp"], profiles, labels)
    assert [name for name, _ in sources] == expected
    assert all(values == {"from": name.removeprefix("vault:")} for name, values in sources)


async def test_without_enable_label_the_label_is_ignored(
    openbao: OpenBao, mounted: tuple[VaultSettings, VaultClientManager]
) -> None:
    """Labels are not part of keys by default (Spring keeps compatibility the same way)."""
    settings, manager = mounted
    await write(openbao, settings, {"myapp": {"foo": "bar"}})
    assert await found(manager, settings, ["myapp"], [], ("v1",)) == [("vault:myapp", {"foo": "bar"})]


async def test_source_passes_the_request_label_and_polls_per_label(
    openbao: OpenBao, root_settings: VaultSettings, root_manager: VaultClientManager
) -> None:
    """Behind the Source seam the query's label picks the key, and polls tell labels apart."""
    settings, manager = root_settings, root_manager
    await write(openbao, settings, {"myapp,default,v1": {"l": "1"}, "myapp,default,v2": {"l": "2"}})
    labelled = replace(settings, enable_label=True, default_key="")
    source = VaultConfigSource(kv=VaultSource(manager, labelled), manager=manager, poll_interval=1)
    v1, v2 = Query(("myapp",), ("default",), ("v1",)), Query(("myapp",), ("default",), ("v2",))
    part = await source.read(v2, None, token=None)
    assert [ps.values() for ps in part.sources] == [{"l": "2"}]
    assert await source.poll({v1, v2}) == {v1, v2}
    await write(openbao, settings, {"myapp,default,v2": {"l": "3"}})
    assert await source.poll({v1, v2}) == {v2}


def settings_of(*argv: str) -> Settings:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return load_settings(parser.parse_args(argv), environ={})


def test_flags_reach_the_vault_settings() -> None:
    """--vault-default-key, -profile-separator, -enable-label, -default-label, -path-to-key and
    -kv-version become the adapter's settings; the defaults are Spring's (kv-version aside: 2)."""
    base = ["--repo", "r", "--vault-url", "http://127.0.0.1:8200"]
    defaults = vault_settings(settings_of(*base))
    assert defaults is not None
    assert (defaults.default_key, defaults.profile_separator, defaults.enable_label) == (
        "application",
        ",",
        False,
    )
    assert (defaults.default_label, defaults.path_to_key, defaults.kv_version) == ("main", "", 2)
    flags = [
        "--vault-default-key=",
        "--vault-profile-separator=-",
        "--vault-enable-label=true",
        "--vault-default-label=trunk",
        "--vault-path-to-key=apps/config",
        "--vault-kv-version=1",
    ]
    chosen = vault_settings(settings_of(*base, *flags))
    assert chosen is not None
    assert (chosen.default_key, chosen.profile_separator, chosen.enable_label) == ("", "-", True)
    assert (chosen.default_label, chosen.path_to_key, chosen.kv_version) == ("trunk", "apps/config", 1)


@pytest.mark.parametrize("folder", ["/apps", "apps/", "a//b", "a/../b"])
def test_malformed_path_to_key_is_refused(folder: str) -> None:
    """A path-to-key that is not a plain folder is refused at start-up, naming the option."""
    with pytest.raises(ValueError, match="path_to_key"):
        VaultSettings(url="http://127.0.0.1:8200", path_to_key=folder)
