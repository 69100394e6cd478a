"""--serve-last-good: a push that breaks one application serves it its last good commit.

Real git (a bare remote on this host, watched for pushes) and the real server on loopback.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from config_server.checks import CheckContext, Problem
from config_server.components import GIT, LAST_GOOD_CHECKS
from config_server.crypto.symmetric import SymmetricEncryptor
from config_server.http.app import create_app
from config_server.http.protocol import ConnectionLimits
from config_server.secret import Secret
from config_server.settings import Settings
from tests.http.conftest import HardenedTestServer, Serve, app_of
from tests.support.gitrepo import GitRemote

Client = TestClient[Any, Any]
WATCH = 1.5  # seconds a watcher is held: long enough for a push to be fetched and judged


async def push(remote: GitRemote, files: dict[str, str]) -> str:
    return await asyncio.to_thread(remote.write, files)


async def fetched(client: Client, sha: str) -> None:
    """Wait until the server's default label is at ``sha`` and its listeners have run."""
    git = app_of(client)[GIT]
    async with asyncio.timeout(5):
        while await git.resolve(None) != sha:
            await asyncio.sleep(0.02)
    await asyncio.sleep(0.1)


async def env(client: Client, path: str) -> tuple[int, dict[str, Any], Any]:
    resp = await client.get(path)
    return resp.status, await resp.json(), resp.headers


def value(body: dict[str, Any], key: str) -> Any:
    return next(s["source"][key] for s in body["propertySources"] if key in s["source"])


async def health(client: Client) -> dict[str, Any]:
    body: dict[str, Any] = await (await client.get("/actuator/health")).json()
    return body


async def broken(git_remote: GitRemote, serve: Serve, **settings: Any) -> tuple[Client, str, str]:
    """A server with --serve-last-good, foo and bar good at commit G, then one push B that breaks
    foo.yml at line 2 and changes bar. Returns the client, G and B."""
    good = git_remote.write({"foo.yml": "a: 1\n", "bar.yml": "b: 1\n"})
    client = await serve(git_remote, serve_last_good=True, **settings)
    assert (await client.get("/foo/default")).status == 200
    bad = await push(git_remote, {"foo.yml": "a: 2\nb: c: d\n", "bar.yml": "b: 2\n"})
    await fetched(client, bad)
    return client, good, bad


async def test_a_broken_push_does_not_wake_a_watcher(git_remote: GitRemote, serve: Serve) -> None:
    """A watcher of the application the push breaks keeps waiting and ends with 304."""
    git_remote.write({"foo.yml": "a: 1\n"})
    client = await serve(git_remote, serve_last_good=True)
    etag = (await client.get("/foo/default")).headers["ETag"]
    held = asyncio.ensure_future(
        client.get("/foo/default", headers={"If-None-Match": etag, "Prefer": f"wait={WATCH}"})
    )
    await asyncio.sleep(0.2)
    await push(git_remote, {"foo.yml": "a: 2\nb: c: d\n"})
    resp = await asyncio.wait_for(held, 10)
    assert resp.status == 304 and resp.headers["ETag"] == etag


async def test_a_new_client_gets_the_last_good_commit_with_a_warning(
    git_remote: GitRemote, serve: Serve
) -> None:
    """A new client gets the last good values, version = the last good commit, and a 199 Warning."""
    client, good, _bad = await broken(git_remote, serve)
    status, body, headers = await env(client, "/foo/default")
    assert status == 200
    assert value(body, "a") == 1 and body["version"] == good
    warning = headers["Warning"]
    assert warning.startswith(f'199 - "serving {good}: foo.yml:2: ') and warning.endswith('"')


async def test_health_is_degraded_naming_the_application_and_the_file(
    git_remote: GitRemote, serve: Serve
) -> None:
    """Health is DEGRADED (200) with a lastGood entry naming the application and the file."""
    client, good, bad = await broken(git_remote, serve)
    await client.get("/foo/default")
    resp = await client.get("/actuator/health")
    body = await resp.json()
    assert resp.status == 200 and body["status"] == "DEGRADED"
    entry = body["components"]["lastGood"]
    assert entry["status"] == "DEGRADED"
    assert entry["details"]["applications"] == "foo" and entry["details"]["files"] == "foo.yml"
    assert good in entry["details"]["problems"] and bad in entry["details"]["problems"]


async def test_other_applications_move_on_to_the_new_head(git_remote: GitRemote, serve: Serve) -> None:
    """An application the push does not break is served the new head, without a Warning."""
    client, _good, bad = await broken(git_remote, serve)
    status, body, headers = await env(client, "/bar/default")
    assert status == 200 and value(body, "b") == 2 and body["version"] == bad
    assert "Warning" not in headers


async def test_a_commit_id_label_is_served_as_asked(git_remote: GitRemote, serve: Serve) -> None:
    """A client that names the broken commit gets it (500 naming the file), not an older one."""
    client, _good, bad = await broken(git_remote, serve)
    resp = await client.get(f"/foo/default/{bad}")
    assert resp.status == 500 and "foo.yml:2" in (await resp.json())["message"]


async def test_a_cipher_that_no_longer_decrypts_is_served_from_the_last_good_commit(
    git_remote: GitRemote, serve: Serve
) -> None:
    """A {cipher} value encrypted with another key makes the commit bad, named by file and line."""
    mine, other = SymmetricEncryptor("mykey", "deadbeef"), SymmetricEncryptor("not-mine", "deadbeef")
    good = git_remote.write({"foo.yml": f"a: 1\npassword: '{{cipher}}{mine.encrypt('s3cret')}'\n"})
    client = await serve(git_remote, serve_last_good=True, encrypt_key=Secret("mykey"))
    leaked = other.encrypt("hunter2")
    bad = await push(git_remote, {"foo.yml": f"a: 2\npassword: '{{cipher}}{leaked}'\n"})
    await fetched(client, bad)
    status, body, headers = await env(client, "/foo/default")
    assert status == 200 and body["version"] == good
    assert value(body, "a") == 1 and value(body, "password") == "s3cret"
    assert headers["Warning"].startswith(f'199 - "serving {good}: foo.yml:2: ')
    assert "password" in headers["Warning"] and leaked not in headers["Warning"]


async def test_a_schema_violation_is_served_from_the_last_good_commit(
    git_remote: GitRemote, serve: Serve
) -> None:
    """The repository's schemas/{application}.schema.json is checked by default (the same rule as
    `config-server validate`); a violation names the file and line, never the (decrypted) value."""
    mine = SymmetricEncryptor("mykey", "deadbeef")
    schema = (
        '{"type": "object", "properties": {"port": {"type": "integer"}, "password": {"type": "integer"}}}'
    )
    good = git_remote.write({"foo.yml": "port: 8080\n", "schemas/foo.schema.json": schema})
    client = await serve(git_remote, serve_last_good=True, encrypt_key=Secret("mykey"))
    bad = await push(
        git_remote, {"foo.yml": f"port: 8080\npassword: '{{cipher}}{mine.encrypt('hunter2')}'\n"}
    )
    await fetched(client, bad)
    status, body, headers = await env(client, "/foo/default")
    assert status == 200 and body["version"] == good
    assert headers["Warning"].startswith(f'199 - "serving {good}: foo.yml:2: ')
    assert "hunter2" not in headers["Warning"]
    assert "hunter2" not in str(await health(client))


def no_debug(ctx: CheckContext) -> Iterable[Problem]:
    """A test-local extra check: ``debug: true`` is not allowed."""
    for source in ctx.sources:
        found = source.source.get("debug")
        if found is not None and found.value is True:
            path = source.name.rsplit("/", 1)[-1]
            yield Problem(path, int((found.origin or "0").split(":")[0]), "debug must be off")


async def test_a_failing_extra_check_is_served_from_the_last_good_commit(
    git_remote: GitRemote, aiohttp_client: Any, tmp_path: Path
) -> None:
    """A commit an extra check rejects is treated as broken: the last good one is served."""
    good = git_remote.write({"foo.yml": "a: 1\ndebug: false\n"})
    settings = Settings(
        repo=git_remote.uri, basedir=tmp_path / "clone", refresh_rate=3600, serve_last_good=True
    )
    app = create_app(settings)
    app[LAST_GOOD_CHECKS] = (no_debug,)
    client = await aiohttp_client(HardenedTestServer(app, limits=ConnectionLimits.from_settings(settings)))
    bad = await push(git_remote, {"foo.yml": "a: 2\ndebug: true\n"})
    await fetched(client, bad)
    status, body, headers = await env(client, "/foo/default")
    assert status == 200 and body["version"] == good and value(body, "a") == 1
    assert headers["Warning"] == f'199 - "serving {good}: foo.yml:2: debug must be off"'


async def test_a_fixing_commit_wakes_the_watcher_once_and_clears_the_warning(
    git_remote: GitRemote, serve: Serve
) -> None:
    """After a fix lands the watcher is woken with it, without a Warning, and health is UP again."""
    client, _good, _bad = await broken(git_remote, serve)
    etag = (await client.get("/foo/default")).headers["ETag"]
    held = asyncio.ensure_future(
        client.get("/foo/default", headers={"If-None-Match": etag, "Prefer": "wait=10"})
    )
    await asyncio.sleep(0.2)
    fix = await push(git_remote, {"foo.yml": "a: 3\n"})
    resp = await asyncio.wait_for(held, 10)
    assert resp.status == 200 and "Warning" not in resp.headers
    body = await resp.json()
    assert value(body, "a") == 3 and body["version"] == fix
    again = await client.get(
        "/foo/default", headers={"If-None-Match": resp.headers["ETag"], "Prefer": "wait=0.5"}
    )
    assert again.status == 304  # woken once: nothing more to see
    status = await health(client)
    assert status["status"] == "UP" and status["components"]["lastGood"]["status"] == "UP"


async def test_a_restarted_server_serves_the_last_good_commit(
    git_remote: GitRemote, serve: Serve, tmp_path: Path
) -> None:
    """A server started after two broken pushes walks back and serves a new client the last good commit."""
    good = git_remote.write({"foo.yml": "a: 1\n"})
    first = await serve(git_remote, serve_last_good=True)
    assert (await first.get("/foo/default")).status == 200
    await first.close()
    git_remote.write({"foo.yml": "a: 2\nb: c: d\n"})
    git_remote.write({"foo.yml": "a: 3\nb: c: d\n", "bar.yml": "b: 1\n"})
    client = await serve(git_remote, serve_last_good=True)
    status, body, headers = await env(client, "/foo/default")
    assert status == 200 and body["version"] == good and value(body, "a") == 1
    assert headers["Warning"].startswith(f'199 - "serving {good}: foo.yml:2: ')


async def test_without_the_flag_a_broken_head_is_a_500_naming_file_and_line(
    git_remote: GitRemote, serve: Serve
) -> None:
    """Without --serve-last-good the broken head answers 500 naming the file and line, as before."""
    git_remote.write({"foo.yml": "a: 1\n"})
    client = await serve(git_remote)
    bad = await push(git_remote, {"foo.yml": "a: 2\nb: c: d\n"})
    await fetched(client, bad)
    resp = await client.get("/foo/default")
    assert resp.status == 500
    assert "foo.yml:2" in (await resp.json())["message"] and "Warning" not in resp.headers
    assert "lastGood" not in (await health(client))["components"]


async def test_comma_labels_are_judged_label_by_label(git_remote: GitRemote, serve: Serve) -> None:
    """With main,feature only the broken label falls back: the other is served at its head."""
    good = git_remote.write({"foo.yml": "a: 1\n"})
    git_remote.checkout("feature", create=True)
    feature = git_remote.write({"foo.yml": "a: 1\nf: 1\n"})
    git_remote.checkout("main")
    client = await serve(git_remote, serve_last_good=True)
    bad = await push(git_remote, {"foo.yml": "a: 2\nb: c: d\n"})
    await fetched(client, bad)
    status, body, headers = await env(client, "/foo/default/main,feature")
    assert status == 200 and body["version"] == f"{good},{feature}"
    assert value(body, "f") == 1
    assert headers["Warning"].startswith(f'199 - "serving {good}: foo.yml:2: ')
