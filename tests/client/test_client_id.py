"""``client_id``: what ``X-Config-Client-Id`` a client sends (``config_client.transport.client_id``)."""

from __future__ import annotations

import os
import socket

import pytest
from config_client import AsyncConfigClient
from config_client.transport import DEFAULT_CLIENT_ID, client_id


def test_the_default_is_the_host_name_and_pid() -> None:
    """``{hostname}:{pid}`` becomes this host's name and this process's id."""
    assert client_id(DEFAULT_CLIENT_ID) == f"{socket.gethostname()}:{os.getpid()}"


@pytest.mark.parametrize("disabled", [None, ""])
def test_none_or_empty_sends_no_id(disabled: str | None) -> None:
    """None and the empty string turn the header off."""
    assert client_id(disabled) is None


def test_a_given_id_is_sent_as_is_with_placeholders_replaced() -> None:
    """A template of the caller's keeps its text; only ``{pid}`` and ``{hostname}`` change."""
    assert client_id("orders-{pid}") == f"orders-{os.getpid()}"


@pytest.mark.parametrize("bad", ["x" * 257, "tab\there", "caf\u00e9"])
def test_an_id_the_server_would_ignore_is_refused_at_construction(bad: str) -> None:
    """Too long or not printable ASCII: ``ValueError`` before any request."""
    with pytest.raises(ValueError, match="client_id"):
        AsyncConfigClient("http://127.0.0.1:1", application="orders", client_id=bad)
