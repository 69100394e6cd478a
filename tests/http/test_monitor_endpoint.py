"""POST /monitor: forge webhooks fetch at once and answer the affected service names."""

from __future__ import annotations

import hashlib
import hmac
import json

from config_server.secret import Secret
from tests.http.conftest import Serve
from tests.support import VECTORS as SUPPORT_VECTORS
from tests.support.gitrepo import GitRemote

VECTORS = SUPPORT_VECTORS / "webhooks"


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def test_form_path_triggers_fetch_and_names_services(git_remote: GitRemote, serve: Serve) -> None:
    """path=... form posts (Spring's fallback) fetch now and answer names like Spring."""
    git_remote.write({"foo.yml": "a: 1\n"})
    client = await serve(git_remote)
    git_remote.write({"foo.yml": "a: 2\n"})
    resp = await client.post("/monitor", data={"path": ["/foo-dev.yml", "application.yml"]})
    assert resp.status == 200
    assert await resp.json() == ["foo-dev", "foo", "*"]
    body = await (await client.get("/foo/default")).json()
    assert body["propertySources"][0]["source"]["a"] == 2


async def test_github_webhook_with_valid_signature(git_remote: GitRemote, serve: Serve) -> None:
    """A signed GitHub push is accepted when --monitor-secret is set."""
    git_remote.write({"foo.yml": "a: 1\n"})
    client = await serve(git_remote, monitor_secret=Secret("s3cret"))
    body = (VECTORS / "github.json").read_bytes()
    resp = await client.post(
        "/monitor",
        data=body,
        headers={
            "Content-Type": "application/json",
            "X-GitHub-Event": "push",
            "X-Hub-Signature-256": sign("s3cret", body),
        },
    )
    assert resp.status == 200
    assert isinstance(await resp.json(), list)


async def test_bad_or_missing_signature_is_rejected(git_remote: GitRemote, serve: Serve) -> None:
    """Unsigned or wrongly signed webhooks are refused (401) with a JSON body; the secret is not echoed."""
    git_remote.write({"foo.yml": "a: 1\n"})
    client = await serve(git_remote, monitor_secret=Secret("s3cret"))
    body = (VECTORS / "github.json").read_bytes()
    base = {"Content-Type": "application/json", "X-GitHub-Event": "push"}
    for headers in (base, {**base, "X-Hub-Signature-256": sign("wrong", body)}):
        resp = await client.post("/monitor", data=body, headers=headers)
        assert resp.status == 401
        text = await resp.text()
        assert "s3cret" not in text and json.loads(text)["status"] == 401


async def test_gitlab_token(git_remote: GitRemote, serve: Serve) -> None:
    """GitLab's X-Gitlab-Token must equal the secret."""
    git_remote.write({"foo.yml": "a: 1\n"})
    client = await serve(git_remote, monitor_secret=Secret("s3cret"))
    body = (VECTORS / "gitlab.json").read_bytes()
    headers = {"Content-Type": "application/json", "X-Gitlab-Event": "Push Hook"}
    ok = await client.post("/monitor", data=body, headers={**headers, "X-Gitlab-Token": "s3cret"})
    assert ok.status == 200
    bad = await client.post("/monitor", data=body, headers={**headers, "X-Gitlab-Token": "nope"})
    assert bad.status == 401


async def test_garbage_webhook_is_400(git_remote: GitRemote, serve: Serve) -> None:
    """A body that is not JSON is a clear 400."""
    git_remote.write({"foo.yml": "a: 1\n"})
    client = await serve(git_remote)
    resp = await client.post(
        "/monitor", data=b"{not json", headers={"Content-Type": "application/json", "X-GitHub-Event": "push"}
    )
    assert resp.status == 400
    assert (await resp.json())["status"] == 400
