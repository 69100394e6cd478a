"""The blocking ConfigClient: same machinery on a private loop in a daemon thread."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import pytest
from config_client import ChangeEvent, ConfigClient, ConfigUnavailable

from tests.client.spring_server import SpringServer


@dataclass(frozen=True)
class Db:
    url: str


@dataclass(frozen=True)
class Settings:
    db: Db
    a: int


def test_with_block_loads_reloads_and_binds(long_poll_spring: SpringServer) -> None:
    """`with` loads and starts; changes arrive in the client's thread; bind() works on the snapshot."""
    changed = threading.Event()
    seen: list[ChangeEvent] = []

    def record(event: ChangeEvent) -> None:
        seen.append(event)
        changed.set()

    with ConfigClient(
        long_poll_spring.url, application="orders", profiles=["prod"], long_poll_wait=5
    ) as client:
        client.on_change(record)
        assert client.bind(Settings) == Settings(db=Db("jdbc:prod"), a=1)
        time.sleep(0.2)
        long_poll_spring.put("orders", "prod", [("p", {"db.url": "jdbc:new", "a": "2"})], version="v2")
        assert changed.wait(3)
        assert client.version == "v2"
        assert client.bind(Settings) == Settings(db=Db("jdbc:new"), a=2)
        assert client.nested == {"db": {"url": "jdbc:new"}, "a": "2"}
    assert seen[0].changed["a"] == (1, "2")


def test_close_is_prompt_mid_long_poll_and_stops_the_thread(long_poll_spring: SpringServer) -> None:
    """close() returns at once (not after the 30 s the server holds the long poll), and the thread ends."""
    client = ConfigClient(long_poll_spring.url, application="orders", profiles=["prod"], long_poll_wait=30)
    client.start()
    time.sleep(0.3)
    started = time.monotonic()
    client.close()
    assert time.monotonic() - started < 5.0  # the server would hold it 30 s
    assert not any(t.name == "config-client" and t.is_alive() for t in threading.enumerate())
    client.close()  # idempotent


def test_a_failed_with_block_stops_its_thread(unused_tcp_port: int) -> None:
    """When ``with`` cannot start (fail_fast, server down) no thread or session is left behind."""
    before = {t.name for t in threading.enumerate()}
    with pytest.raises(ConfigUnavailable):  # noqa: SIM117
        with ConfigClient(
            f"http://127.0.0.1:{unused_tcp_port}", application="orders", fail_fast=True, retry_max_attempts=1
        ):
            pytest.fail("the block must not run")
    time.sleep(0.1)
    assert not [t for t in threading.enumerate() if t.name not in before and t.is_alive()]
