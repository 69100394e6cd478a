"""The example service runs against a real server and reports the configuration version."""

from __future__ import annotations

import asyncio

from aiohttp.test_utils import TestClient, TestServer

from examples.orders_service import make_app
from tests.client.spring_server import SpringServer


async def test_example_service_reports_version_and_follows_changes(long_poll_spring: SpringServer) -> None:
    """/health shows config.version, and /orders reflects a pushed change without a restart."""
    long_poll_spring.put("orders", "default", [("orders.yml", {"orders.greeting": "hi"})], version="v1")
    async with TestClient(TestServer(make_app(long_poll_spring.url, ["default"]))) as http:
        health = await (await http.get("/health")).json()
        assert health == {"status": "UP", "config": {"version": "v1", "origin": "server"}}
        long_poll_spring.put("orders", "default", [("orders.yml", {"orders.greeting": "hey"})], version="v2")
        for _ in range(40):
            body = await (await http.get("/orders")).json()
            if body["greeting"] == "hey":
                break
            await asyncio.sleep(0.05)
        assert body == {"greeting": "hey", "max_items": 100}
        assert (await (await http.get("/health")).json())["config"]["version"] == "v2"
