"""Fixtures for the client tests: a real loopback config server and a sleep-free retry policy."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from config_client import set_testing

from tests.client.spring_server import SpringServer


@pytest.fixture(autouse=True)
def _no_backoff_sleeps() -> Iterator[None]:
    set_testing(True)
    yield
    set_testing(False)


@pytest.fixture
def spring() -> Iterator[SpringServer]:
    """A plain Spring-like server (ETag and 304, no long polls) serving orders/prod."""
    server = SpringServer().start()
    server.put(
        "orders", "prod", [("orders-prod.yml", {"db.url": "jdbc:prod"}), ("application.yml", {"a": 1})]
    )
    yield server
    server.close()


@pytest.fixture
def long_poll_spring() -> Iterator[SpringServer]:
    """The same server, honouring ``Prefer: wait`` (as this project's server does)."""
    server = SpringServer(long_poll=True).start()
    server.put(
        "orders", "prod", [("orders-prod.yml", {"db.url": "jdbc:prod"}), ("application.yml", {"a": 1})]
    )
    yield server
    server.close()
