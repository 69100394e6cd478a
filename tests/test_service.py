"""EnvironmentService over the Source seam: order is precedence, caching follows the pins.

These tests compose the service over ``MemorySource`` (tests/support/memory_source.py), a tiny
in-memory Source: a new backend plugs in with no change to the service.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from config_client.wire import PropertySource, PropertyValue

from config_server.errors import ResourceNotFound
from config_server.formats.representations import Representations
from config_server.names import env_request
from config_server.service import EnvironmentService, overrides_source
from tests.support.memory_source import MemorySource


def names(reps: Representations) -> list[str]:
    return [ps.name for ps in reps.environment.property_sources]


async def test_a_new_source_plugs_in_without_touching_the_service() -> None:
    """An in-memory Source is served like any backend: its sources, its version."""
    memory = MemorySource(values={"orders": {"a": 1}}, version="v1")
    service = EnvironmentService(sources=[memory])
    reps = await service.environment(env_request("orders", "dev", None))
    env = reps.environment
    assert [ps.name for ps in env.property_sources] == ["memory:orders"]
    assert env.property_sources[0].values() == {"a": 1}
    assert (env.name, env.profiles, env.label, env.version) == ("orders", ("dev",), None, "v1")


async def test_list_order_is_precedence() -> None:
    """The first source's property sources come first, whichever backend it is."""
    first = MemorySource("first", {"orders": {"a": 1}})
    second = MemorySource("second", {"orders": {"a": 2}})
    for order, expected in (([first, second], ["first:orders", "second:orders"]),
                            ([second, first], ["second:orders", "first:orders"])):  # fmt: skip
        service = EnvironmentService(sources=order)
        assert names(await service.environment(env_request("orders", "default", None))) == expected


async def test_overrides_come_before_every_source() -> None:
    """The overrides source is first, ahead of the highest-precedence source."""
    service = EnvironmentService(
        sources=[MemorySource(values={"orders": {"a": 1}})], overrides=overrides_source({"a": "x"})
    )
    reps = await service.environment(env_request("orders", "default", None))
    assert names(reps) == ["overrides", "memory:orders"]


async def test_empty_overrides_add_no_source() -> None:
    """An overrides file with no values adds no property source."""
    service = EnvironmentService(
        sources=[MemorySource(values={"orders": {"a": 1}})], overrides=overrides_source({})
    )
    assert names(await service.environment(env_request("orders", "default", None))) == ["memory:orders"]


async def test_pinned_sources_are_read_once_per_pin() -> None:
    """With every source pinned, repeated requests are served from the cache until the pin moves."""
    memory = MemorySource(values={"orders": {"a": 1}})
    service = EnvironmentService(sources=[memory])
    req = env_request("orders", "default", None)
    first = await service.environment(req)
    assert await service.environment(req) is first
    assert len(memory.reads) == 1
    await memory.set("orders", {"a": 2})
    changed = await service.environment(req)
    assert changed.environment.property_sources[0].values() == {"a": 2}
    assert len(memory.reads) == 2


async def test_an_unpinned_source_is_read_per_request_with_the_token() -> None:
    """An unpinned source (Vault) is read on every request, with the caller's token."""
    secrets = MemorySource("secrets", {"orders": {"p": "s"}}, pinned=False)
    files = MemorySource("files", {"orders": {"a": 1}})
    service = EnvironmentService(sources=[secrets, files])
    req = env_request("orders", "default", None)
    await service.environment(req, token="t1")
    await service.environment(req, token="t2")
    assert [token for _, token in secrets.reads] == ["t1", "t2"]
    assert [token for _, token in files.reads] == [None]  # pinned: read once, shared, no token


async def test_concurrent_identical_requests_read_once() -> None:
    """Single flight: ten concurrent identical requests cost one read."""
    memory = MemorySource(values={"orders": {"a": 1}})
    service = EnvironmentService(sources=[memory])
    req = env_request("orders", "default", None)
    results = await asyncio.gather(*(service.environment(req) for _ in range(10)))
    assert len({id(r) for r in results}) == 1 and len(memory.reads) == 1


async def test_stale_from_any_source_marks_the_environment_stale() -> None:
    """A stale contribution (Vault's last good read) makes the representations stale."""
    service = EnvironmentService(sources=[MemorySource("a", pinned=False, stale=True), MemorySource("b")])
    assert (await service.environment(env_request("orders", "default", None))).stale


@pytest.mark.parametrize(
    ("versions", "expected"),
    [((None, "abc"), "abc"), ((None, None), None), (("abc", "def"), None)],
)
async def test_version_is_the_only_versioned_sources_version(
    versions: tuple[str | None, str | None], expected: str | None
) -> None:
    """``version`` is the one versioned source's version (git's commits); none or several: null."""
    sources = [MemorySource(f"s{i}", version=v) for i, v in enumerate(versions)]
    service = EnvironmentService(sources=sources)
    assert (await service.environment(env_request("orders", "default", None))).environment.version == expected


async def test_cipher_values_are_decrypted_and_the_result_cached() -> None:
    """{cipher} values go through ``decrypt`` once per pin; plain sources skip it."""
    calls = 0

    async def decrypt(sources: Sequence[PropertySource]) -> tuple[PropertySource, ...]:
        nonlocal calls
        calls += 1
        return tuple(
            PropertySource(ps.name, {k: PropertyValue("plain") for k in ps.source}) for ps in sources
        )

    memory = MemorySource(values={"orders": {"p": "{cipher}abc"}, "plain": {"a": 1}})
    service = EnvironmentService(sources=[memory], decrypt=decrypt)
    for _ in range(2):
        reps = await service.environment(env_request("orders", "default", None))
        assert reps.environment.property_sources[0].values() == {"p": "plain"}
    await service.environment(env_request("plain", "default", None))
    assert calls == 1


async def test_resource_comes_from_the_first_source_that_has_it() -> None:
    """Plain-text resources: the first source in order serving the path wins."""
    service = EnvironmentService(
        sources=[
            MemorySource("a"),
            MemorySource("b", resources={"x.txt": b"b"}),
            MemorySource("c", resources={"x.txt": b"c"}),
        ]
    )
    assert await service.resource(env_request("orders", "default", None), "x.txt") == (b"b", "x.txt")


async def test_a_resource_no_source_has_is_not_found() -> None:
    """No source serving the path: ResourceNotFound (404)."""
    service = EnvironmentService(sources=[MemorySource()])
    with pytest.raises(ResourceNotFound):
        await service.resource(env_request("orders", "default", None), "x.txt")


@pytest.mark.parametrize("sources", [[], [MemorySource("a"), MemorySource("a")]], ids=["none", "same-name"])
def test_sources_must_be_given_and_uniquely_named(sources: list[MemorySource]) -> None:
    """A service needs at least one source, and names unique (they key the health components)."""
    with pytest.raises(ValueError):
        EnvironmentService(sources=sources)
