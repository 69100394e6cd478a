"""The core's traversal and git option-injection attempts again, with authentication and a policy on.

Whoever sends them (anonymous, a principal the policy allows, one it denies, the admin), a hostile
name, profile, label or path is a 400 (or 404) from the route table before any credential or git
is consulted: never a 500, never a file from outside the repository, never a git option run.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.http.conftest import Serve, raw_get
from tests.http.test_authorization import FILES, PASSWORDS, POLICY, basic, users_file
from tests.support.gitrepo import GitRemote

MARKER = "pwned"


def hostile_gets(marker: Path) -> list[str]:
    return [
        f"/orders/default/--upload-pack=touch%20{marker}",
        f"/orders/default/--upload-pack=touch%20{marker}/notes.txt",
        f"/--upload-pack=touch%20{marker}/orders-dev.yml",
        f"/orders/default/--upload-pack=touch%20{MARKER}",
        "/orders/dev/-oProxyCommand=x",
        "/orders/default/..%2F..%2Fetc%2Fpasswd",
        "/orders/default/main/..%2F..%2Fetc%2Fpasswd",
        "/orders/default/main/a/../../../etc/passwd",
        "/orders/default/main/%2e%2e/%2e%2e/etc/passwd",
        "/orders/default/(_)etc(_)passwd",
        "/orders/default/(_)etc(_)passwd/notes.txt",
        "/..%2F..%2Fetc/default",
        "/orders/..",
        "/orders/dev,..,x",
        "/orders/default/a%00b",
        "/orders/default/main%0a",
        "/orders%0a/default",
        "/..%2Forders-dev.yml",
    ]


@pytest.mark.parametrize("who", [None, "orders", "payments", "ops"], ids=lambda w: w or "anonymous")
async def test_hostile_requests_are_refused_before_credentials_and_git(
    git_remote: GitRemote, serve: Serve, tmp_path: Path, who: str | None
) -> None:
    """Each hostile GET is 400 or 404 with a JSON error body, no passwd content, and no git option run."""
    git_remote.write(FILES)
    (tmp_path / "policy.yml").write_text(POLICY, encoding="utf-8")
    client = await serve(
        git_remote,
        auth_users=users_file(tmp_path / "users", PASSWORDS),
        access_policy=tmp_path / "policy.yml",
    )
    marker = tmp_path / MARKER
    headers = basic(who) if who else {}
    for path in hostile_gets(marker):
        resp = await raw_get(client, path, headers=headers)
        text = await resp.text()
        assert resp.status in (400, 404), (path, resp.status, text[:200])
        assert (await resp.json())["status"] == resp.status
        assert "root:" not in text
    for path in (
        "/encrypt/..%2Fx/dev",
        "/decrypt/orders/..%2F..",
        f"/encrypt/--upload-pack=touch%20{MARKER}/dev",
    ):
        resp = await client.session.post(
            str(client.make_url("/")).rstrip("/") + path,
            data=b"v",
            headers={**headers, "Content-Type": "text/plain"},
        )
        assert resp.status in (400, 404), (path, resp.status)
    assert not marker.exists() and not Path(MARKER).exists()
    assert (await client.get("/orders/dev", headers=basic("ops"))).status == 200  # the server is fine
