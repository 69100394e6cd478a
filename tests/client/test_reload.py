"""Hot reload over real HTTP: long poll, polling fallback, validation, failures, local file, close."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from config_client import AsyncConfigClient, ChangeEvent

from tests.client.spring_server import SpringServer


def client_for(server: SpringServer, **options: object) -> AsyncConfigClient:
    options.setdefault("long_poll_wait", 5)
    options.setdefault("poll_interval", 0.1)
    return AsyncConfigClient(server.url, application="orders", profiles=["prod"], **options)  # type: ignore[arg-type]


async def next_event(queue: asyncio.Queue[ChangeEvent], timeout: float = 3.0) -> ChangeEvent:
    return await asyncio.wait_for(queue.get(), timeout)


async def test_long_poll_change_reaches_the_callback(long_poll_spring: SpringServer) -> None:
    """A change on the server wakes the held request and the callback gets changed/added/removed."""
    events: asyncio.Queue[ChangeEvent] = asyncio.Queue()
    async with client_for(long_poll_spring, poll_interval=30) as client:
        client.on_change(events.put_nowait)
        await asyncio.sleep(0.2)  # the long poll is now held by the server
        long_poll_spring.put("orders", "prod", [("p", {"db.url": "jdbc:new", "b": True})], version="v2")
        event = await next_event(events, timeout=2)  # far below poll_interval: it was the long poll
        assert event.changed == {"db.url": ("jdbc:prod", "jdbc:new")}
        assert event.added == {"b": True}
        assert event.removed == {"a": 1}
        assert (event.version, event.previous_version) == ("v2", "v1")
        assert client.version == "v2" and client["db.url"] == "jdbc:new"
    held = [s for s in long_poll_spring.seen if "If-None-Match" in s.headers]
    assert held and held[0].headers["Prefer"] == "wait=5"


async def test_plain_spring_server_is_polled_with_if_none_match(spring: SpringServer) -> None:
    """Without Preference-Applied the client polls every poll_interval, sending the ETag."""
    events: asyncio.Queue[ChangeEvent] = asyncio.Queue()
    async with client_for(spring) as client:
        client.on_change(events.put_nowait)
        await asyncio.sleep(0.3)
        spring.put("orders", "prod", [("p", {"db.url": "jdbc:new"})], version="v2")
        event = await next_event(events)
        assert event.changed == {"db.url": ("jdbc:prod", "jdbc:new")}
    conditional = [s for s in spring.seen if "If-None-Match" in s.headers]
    assert len(conditional) >= 2


async def test_without_etag_a_changed_body_is_detected_by_hash(spring: SpringServer) -> None:
    """A server that sends no ETag is polled and changes are found by comparing bodies."""
    spring.send_etag = False
    events: asyncio.Queue[ChangeEvent] = asyncio.Queue()
    async with client_for(spring) as client:
        client.on_change(events.put_nowait)
        await asyncio.sleep(0.3)
        assert events.empty()  # identical bodies are not changes
        spring.put("orders", "prod", [("p", {"db.url": "jdbc:prod", "a": 2})], version="v2")
        event = await next_event(events)
        assert event.changed == {"a": (1, 2)}


async def test_a_new_version_with_the_same_values_emits_nothing(long_poll_spring: SpringServer) -> None:
    """Events fire only when the merged view changed, though the version moves on."""
    events: asyncio.Queue[ChangeEvent] = asyncio.Queue()
    async with client_for(long_poll_spring) as client:
        client.on_change(events.put_nowait)
        await asyncio.sleep(0.1)
        long_poll_spring.put(
            "orders", "prod", [("renamed", {"db.url": "jdbc:prod"}), ("other", {"a": 1})], version="v2"
        )
        for _ in range(50):
            if client.version == "v2":
                break
            await asyncio.sleep(0.05)
        assert client.version == "v2"
        assert events.empty()


async def test_validate_rejects_a_snapshot_and_keeps_the_old(long_poll_spring: SpringServer) -> None:
    """A rejected snapshot is not served and not announced; the next good one is."""

    def url_required(snapshot: object) -> None:
        if "db.url" not in snapshot:  # type: ignore[operator]
            raise ValueError("db.url is required")

    events: asyncio.Queue[ChangeEvent] = asyncio.Queue()
    async with client_for(long_poll_spring, validate=url_required) as client:
        client.on_change(events.put_nowait)
        await asyncio.sleep(0.1)
        long_poll_spring.put("orders", "prod", [("p", {"a": 5})], version="bad")
        await asyncio.sleep(0.5)
        assert client.version == "v1" and client["db.url"] == "jdbc:prod"
        long_poll_spring.put("orders", "prod", [("p", {"db.url": "jdbc:ok"})], version="good")
        event = await next_event(events)
        assert event.version == "good" and event.previous_version == "v1"


async def test_a_raising_callback_is_logged_and_the_others_still_run(
    long_poll_spring: SpringServer, caplog: object
) -> None:
    """One failing callback does not stop the others or the reload loop."""
    events: asyncio.Queue[ChangeEvent] = asyncio.Queue()

    def broken(event: ChangeEvent) -> None:
        raise RuntimeError("callback bug")

    async def also_async(event: ChangeEvent) -> None:
        await events.put(event)

    async with client_for(long_poll_spring) as client:
        client.on_change(broken)
        client.on_change(also_async)
        await asyncio.sleep(0.1)
        long_poll_spring.put("orders", "prod", [("p", {"a": 2})], version="v2")
        await next_event(events)
        long_poll_spring.put("orders", "prod", [("p", {"a": 3})], version="v3")
        assert (await next_event(events)).version == "v3"
    assert "callback bug" in caplog.text  # type: ignore[attr-defined]


async def test_server_errors_and_garbage_keep_the_old_snapshot(spring: SpringServer) -> None:
    """500s, garbage and an outage leave the snapshot untouched; recovery picks up changes."""
    events: asyncio.Queue[ChangeEvent] = asyncio.Queue()
    async with client_for(spring) as client:
        client.on_change(events.put_nowait)
        spring.fail_with = 500
        await asyncio.sleep(0.3)
        spring.fail_with, spring.garbage = None, b"{not json"
        await asyncio.sleep(0.3)
        spring.garbage = None
        spring.stop()
        await asyncio.sleep(0.3)
        assert client.version == "v1" and client["db.url"] == "jdbc:prod"
        assert events.empty()
        spring.put("orders", "prod", [("p", {"db.url": "jdbc:back"})], version="v2")
        spring.start()
        event = await next_event(events)
        assert event.changed == {"db.url": ("jdbc:prod", "jdbc:back")}


async def test_local_file_changes_are_applied_live(spring: SpringServer, tmp_path: Path) -> None:
    """Editing the local file re-merges and announces the change; a broken edit is ignored."""
    local = tmp_path / "local.properties"
    local.write_text("db.url=jdbc:file\n")
    events: asyncio.Queue[ChangeEvent] = asyncio.Queue()
    async with client_for(spring, local_file=local, poll_interval=30) as client:
        client.on_change(events.put_nowait)
        assert client["db.url"] == "jdbc:file"
        await asyncio.sleep(0.3)  # the watcher is running
        local.write_text("db.url=jdbc:edited\nextra=1\n")
        event = await next_event(events, timeout=5)
        assert event.changed == {"db.url": ("jdbc:file", "jdbc:edited")}
        assert event.added == {"extra": "1"}
        local.write_text("bad=\\uZZZZ\n")
        await asyncio.sleep(0.6)
        assert client["db.url"] == "jdbc:edited"
        local.unlink()
        event = await next_event(events, timeout=5)
        assert event.changed == {"db.url": ("jdbc:edited", "jdbc:prod")}


async def test_close_returns_promptly_in_the_middle_of_a_long_poll(long_poll_spring: SpringServer) -> None:
    """aclose() cancels a held request at once instead of waiting for the server."""
    client = client_for(long_poll_spring, long_poll_wait=30)
    await client.start()
    await asyncio.sleep(0.3)
    started = time.monotonic()
    await client.aclose()
    assert time.monotonic() - started < 5.0  # the server would hold it 30 s
