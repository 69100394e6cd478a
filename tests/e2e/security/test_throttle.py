"""Failed-authentication throttling per client address, end to end over loopback addresses."""

from __future__ import annotations

import base64
import http.client
from pathlib import Path

import requests

from tests.e2e.security.conftest import POLICY, htpasswd, running_server
from tests.support.gitrepo import GitRemote

PASSWORD = "orders-throttle-pw"


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_eleven_bad_passwords_lock_out_that_address_only(config_repo: GitRemote, tmp_path: Path) -> None:
    """11 bad passwords from 127.0.0.1: then 429 with Retry-After, even with the good one; 127.0.0.2 reads."""
    htpasswd(tmp_path / "users", "orders", PASSWORD, create=True)
    (tmp_path / "policy.yml").write_text(POLICY)
    with running_server(
        config_repo, tmp_path / "clone", auth_users=tmp_path / "users", access_policy=tmp_path / "policy.yml"
    ) as server:
        url = f"{server.url}/orders/default"
        with requests.Session() as session:
            for attempt in range(11):
                assert session.get(url, auth=("orders", f"guess-{attempt}"), timeout=10).status_code == 401
            locked = session.get(url, auth=("orders", PASSWORD), timeout=10)
        assert locked.status_code == 429
        assert 1 <= int(locked.headers["Retry-After"]) <= 60
        other = http.client.HTTPConnection(
            "127.0.0.1", server.port, source_address=("127.0.0.2", 0), timeout=10
        )
        try:
            other.request("GET", "/orders/default", headers=basic("orders", PASSWORD))
            resp = other.getresponse()
            assert resp.status == 200, resp.read()
        finally:
            other.close()
