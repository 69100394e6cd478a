"""The access policy file re-read while the server runs: a valid one takes effect, an invalid one does not."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.e2e.security.conftest import POLICY, Server, htpasswd, running_server, write_atomically
from tests.support.gitrepo import GitRemote
from tests.support.polling import eventually

PASSWORD = "orders-policy-pw"

WIDER = """
rules:
  - principals: ["user:orders"]
    applications: ["orders", "payments"]
    actions: [read]
"""

TYPO = """
rules:
  - principals: ["user:orders"]
    application: ["payments"]
    actions: [read]
"""


@dataclass(frozen=True)
class Running:
    server: Server
    policy: Path

    def status(self, application: str) -> int:
        resp = requests.get(f"{self.server.url}/{application}/default", auth=("orders", PASSWORD), timeout=10)
        return resp.status_code


@pytest.fixture
def running(config_repo: GitRemote, tmp_path: Path) -> Iterator[Running]:
    """A server of this test alone with user orders and POLICY (orders reads only orders)."""
    htpasswd(tmp_path / "users", "orders", PASSWORD, create=True)
    policy = tmp_path / "policy.yml"
    policy.write_text(POLICY)
    with running_server(
        config_repo, tmp_path / "clone", auth_users=tmp_path / "users", access_policy=policy
    ) as server:
        yield Running(server, policy)


def test_a_new_policy_takes_effect_without_a_restart(running: Running) -> None:
    """A policy that lets orders read payments too: payments turns from 403 to 200 without a restart."""
    assert running.status("payments") == 403
    write_atomically(running.policy, WIDER)
    assert eventually(lambda: running.status("payments") == 200)


def test_an_invalid_policy_is_refused_and_the_old_one_kept(
    running: Running, caplog: pytest.LogCaptureFixture
) -> None:
    """A policy with the unknown key application: is refused (logged); orders still reads only orders."""
    caplog.set_level(logging.INFO, logger="config_server.policy")
    write_atomically(running.policy, TYPO)

    def refusal() -> str | None:
        return next((r.getMessage() for r in caplog.records if "policy not reloaded" in r.getMessage()), None)

    assert eventually(lambda: refusal() is not None)
    message = refusal()
    assert (
        message is not None and "unknown key(s) application" in message and "keeping the previous" in message
    )
    assert running.status("orders") == 200
    assert running.status("payments") == 403
