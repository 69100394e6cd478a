"""GET /{application}/{profiles}[/{label}]: the Environment JSON, labels, errors, ETags."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from config_client.wire import V2_MEDIA_TYPE

from config_server.components import GIT
from tests.http.conftest import Serve, app_of, raw_get
from tests.support.gitrepo import GitRemote

WORKED_EXAMPLE = {
    "application.yml": (
        "a: app-default\nshared: 1\n---\nspring.config.activate.on-profile: dev\na: app-dev-doc\n"
    ),
    "application-dev.yml": "a: app-dev-file\n",
    "foo.yml": "a: foo\nnested:\n  list: [x, y]\n  enabled: yes\n",
    "foo-dev.properties": "a=foo-dev\n",
    "foo-mysql.yml": "a: foo-mysql\nport: 8080\nratio: 0.5\n",
    "sub/foo.yml": "a: sub-foo\n",
}


def names(body: dict[str, Any]) -> list[str]:
    return [ps["name"] for ps in body["propertySources"]]


async def test_environment_json_shape_and_precedence(git_remote: GitRemote, serve: Serve) -> None:
    """The reference's worked example: envelope fields exactly, sources highest first."""
    sha = git_remote.write(WORKED_EXAMPLE)
    client = await serve(git_remote, search_paths=("sub",))
    resp = await client.get("/foo/dev,mysql")
    assert resp.status == 200
    assert resp.content_type == "application/json"
    body = await resp.json()
    assert list(body) == ["name", "profiles", "label", "version", "state", "propertySources"]
    assert (body["name"], body["profiles"], body["label"], body["version"], body["state"]) == (
        "foo",
        ["dev,mysql"],
        None,
        sha,
        "",
    )
    uri = git_remote.uri
    assert names(body) == [
        f"{uri}/foo-mysql.yml",
        f"{uri}/foo-dev.properties",
        f"{uri}/application-dev.yml",
        f"{uri}/sub/foo.yml",
        f"{uri}/foo.yml",
        f"{uri}/application.yml (document #1)",
        f"{uri}/application.yml (document #0)",
    ]
    first = body["propertySources"][0]["source"]
    assert first == {"a": "foo-mysql", "port": 8080, "ratio": 0.5}
    foo = body["propertySources"][4]["source"]
    assert foo == {"a": "foo", "nested.list[0]": "x", "nested.list[1]": "y", "nested.enabled": True}


async def test_v2_media_type_gives_values_with_origins(git_remote: GitRemote, serve: Serve) -> None:
    """Accept: the V2 media type wraps each value as {value, origin} with origin line:column."""
    git_remote.write({"foo.yml": "a: 1\nb:\n  c: two\n", "foo.properties": "x=y\n"})
    client = await serve(git_remote)
    resp = await client.get("/foo/default", headers={"Accept": V2_MEDIA_TYPE})
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith(V2_MEDIA_TYPE)
    body = await resp.json()
    props, yml = body["propertySources"]
    assert props["source"] == {"x": {"value": "y", "origin": "1:3"}}
    assert yml["source"] == {"a": {"value": 1, "origin": "1:4"}, "b.c": {"value": "two", "origin": "3:6"}}


async def test_labels_branch_tag_commit_and_slash(git_remote: GitRemote, serve: Serve) -> None:
    """A label may be a branch, a tag, a full or abbreviated commit id; (_) stands for /."""
    first = git_remote.write({"foo.yml": "v: main-1\n"})
    git_remote.tag("v1.0")
    git_remote.checkout("feature/x", create=True)
    git_remote.write({"foo.yml": "v: feature\n"})
    git_remote.checkout("main")
    git_remote.write({"foo.yml": "v: main-2\n"})
    client = await serve(git_remote)

    async def value(path: str) -> Any:
        resp = await client.get(path)
        assert resp.status == 200, await resp.text()
        return (await resp.json())["propertySources"][0]["source"]["v"]

    assert await value("/foo/default") == "main-2"
    assert await value("/foo/default/main") == "main-2"
    assert await value("/foo/default/v1.0") == "main-1"
    assert await value(f"/foo/default/{first}") == "main-1"
    assert await value(f"/foo/default/{first[:8]}") == "main-1"
    assert await value("/foo/default/feature(_)x") == "feature"
    body = await (await client.get("/foo/default/feature(_)x")).json()
    assert body["label"] == "feature/x"


async def test_comma_labels_put_the_last_label_first(git_remote: GitRemote, serve: Serve) -> None:
    """Multiple labels: each one's sources appended, last label first; versions joined in order."""
    one = git_remote.write({"foo.yml": "v: one\n"})
    git_remote.tag("one")
    two = git_remote.write({"foo.yml": "v: two\n"})
    client = await serve(git_remote)
    body = await (await client.get("/foo/default/one,main")).json()
    assert [ps["source"]["v"] for ps in body["propertySources"]] == ["two", "one"]
    assert body["version"] == f"{one},{two}"


async def test_label_search_path_follows_each_label(git_remote: GitRemote, serve: Serve) -> None:
    """{label} in a search path expands per request, even for two labels at the same commit."""
    git_remote.write({"foo.yml": "z: root\n", "main/foo.yml": "z: main-dir\n", "v1/foo.yml": "z: v1-dir\n"})
    git_remote.tag("v1")
    client = await serve(git_remote, search_paths=("{label}",))
    for label, expected in [("v1", "v1-dir"), ("main", "main-dir"), ("v1", "v1-dir")]:
        body = await (await client.get(f"/foo/default/{label}")).json()
        assert body["propertySources"][0]["source"]["z"] == expected, label


async def test_label_search_path_without_a_label_is_the_default_label(
    git_remote: GitRemote, serve: Serve, tmp_path: Path
) -> None:
    """With no label in the request, {label} is the default label (master after the fallback)."""
    git_remote.write({"foo.yml": "z: root\n", "main/foo.yml": "z: main-dir\n", "main/only.txt": "in main/"})
    client = await serve(git_remote, search_paths=("{label}",))
    body = await (await client.get("/foo/default")).json()
    assert [ps["source"]["z"] for ps in body["propertySources"]] == ["main-dir", "root"]
    assert await (await client.get("/foo/default/only.txt?useDefaultLabel")).text() == "in main/"
    remote = GitRemote(tmp_path / "m", branch="master")
    remote.write({"foo.yml": "z: root\n", "master/foo.yml": "z: master-dir\n"})
    other = await serve(remote, search_paths=("{label}",), basedir=tmp_path / "clone-m")
    body = await (await other.get("/foo/default")).json()
    assert body["propertySources"][0]["source"]["z"] == "master-dir"


async def test_unknown_label_is_404_naming_it(git_remote: GitRemote, serve: Serve) -> None:
    """An unknown branch/tag/commit answers 404 with a JSON body that names the label."""
    git_remote.write({"foo.yml": "a: 1\n"})
    client = await serve(git_remote)
    resp = await client.get("/foo/default/no-such-branch")
    assert resp.status == 404
    body = await resp.json()
    assert body["status"] == 404 and body["error"] == "Not Found"
    assert "no-such-branch" in body["message"]
    assert body["path"] == "/foo/default/no-such-branch"


async def test_main_falls_back_to_master(tmp_path: Path, serve: Serve) -> None:
    """With the default label main, a repository that only has master is served from master."""
    remote = GitRemote(tmp_path / "m", branch="master")
    remote.write({"foo.yml": "a: from-master\n"})
    client = await serve(remote)
    body = await (await client.get("/foo/default")).json()
    assert body["propertySources"][0]["source"]["a"] == "from-master"


async def test_hostile_labels_are_400_and_run_nothing(
    git_remote: GitRemote, serve: Serve, tmp_path: Path
) -> None:
    """Option injection and traversal in labels, names and profiles are rejected before git sees them."""
    git_remote.write({"foo.yml": "a: 1\n"})
    client = await serve(git_remote)
    marker = tmp_path / "pwned"
    for path in (
        f"/foo/default/--upload-pack=touch {marker}",
        f"/foo/default/--upload-pack=touch%20{marker}",
        "/foo/default/..%2F..%2Fetc%2Fpasswd",
        "/foo/default/(_)etc(_)passwd",
        "/..%2F..%2Fetc/default",
        "/foo/..",
        "/foo/bar%2Ffoo",
        "/foo/dev,..,x",
        "/foo/default/a%00b",
        "/foo/default/main%0a",
        "/foo%0a/default",
        "/foo/de%0av",
    ):
        resp = await raw_get(client, path)
        assert resp.status == 400, (path, resp.status)
        if " " in path:  # a raw space is refused by the HTTP parser itself, before any handler
            continue
        body = await resp.json()
        assert body["status"] == 400 and "Invalid" in body["message"]
    assert not marker.exists()


async def test_profile_with_extension_is_not_an_environment(git_remote: GitRemote, serve: Serve) -> None:
    """/foo/dev.yml is not the environment endpoint (404), while /foo/dev-yml is."""
    git_remote.write({"foo.yml": "a: 1\n"})
    client = await serve(git_remote)
    assert (await client.get("/foo/dev.yml")).status == 404
    assert (await client.get("/foo/dev-yml")).status == 200


async def test_unknown_application_gets_shared_sources(git_remote: GitRemote, serve: Serve) -> None:
    """An application with no files of its own still gets application.yml (200, not 404)."""
    git_remote.write({"application.yml": "a: 1\n"})
    client = await serve(git_remote)
    body = await (await client.get("/nobody/default")).json()
    assert names(body) == [f"{git_remote.uri}/application.yml"]


async def test_broken_file_is_500_naming_file_and_line_and_breaks_nothing_else(
    git_remote: GitRemote, serve: Serve
) -> None:
    """Unparseable YAML fails only the requests that need it, with the file and line in the message."""
    git_remote.write(
        {"bad.yml": "a: 1\nb: [unclosed\nc: 3\n", "good.yml": "a: ok\n", "dup.yml": "a: 1\na: 2\n"}
    )
    client = await serve(git_remote)
    resp = await client.get("/bad/default")
    assert resp.status == 500
    body = await resp.json()
    assert ("bad.yml" in body["message"] and ":2" in body["message"]) or "line" in body["message"]
    assert "Traceback" not in await resp.text()
    dup = await (await client.get("/dup/default")).json()
    assert dup["status"] == 500 and "dup.yml" in dup["message"]
    assert (await client.get("/good/default")).status == 200


async def test_etag_and_if_none_match(git_remote: GitRemote, serve: Serve) -> None:
    """A strong content ETag; If-None-Match with it answers 304 without a body."""
    git_remote.write({"foo.yml": "a: 1\n"})
    client = await serve(git_remote)
    resp = await client.get("/foo/default")
    etag = resp.headers["ETag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    again = await client.get("/foo/default", headers={"If-None-Match": etag})
    assert again.status == 304
    assert await again.read() == b""
    assert again.headers["ETag"] == etag
    other = await client.get("/foo/default", headers={"If-None-Match": '"nope"'})
    assert other.status == 200


async def test_etag_ignores_commits_that_do_not_change_the_content(
    git_remote: GitRemote, serve: Serve
) -> None:
    """An unrelated commit changes version but not the ETag; a real change changes both."""
    git_remote.write({"foo.yml": "a: 1\n"})
    client = await serve(git_remote)
    first = await client.get("/foo/default")
    git_remote.write({"other.yml": "z: 1\n"})
    await app_of(client)[GIT].refresh()
    second = await client.get("/foo/default")
    assert (await second.json())["version"] != (await first.json())["version"]
    assert second.headers["ETag"] == first.headers["ETag"]
    git_remote.write({"foo.yml": "a: 2\n"})
    await app_of(client)[GIT].refresh()
    third = await client.get("/foo/default")
    assert third.headers["ETag"] != first.headers["ETag"]


async def test_push_is_served_after_a_fetch(git_remote: GitRemote, serve: Serve) -> None:
    """Configuration changed by git push is served once the server has fetched."""
    git_remote.write({"foo.yml": "a: before\n"})
    client = await serve(git_remote)
    assert (await (await client.get("/foo/default")).json())["propertySources"][0]["source"]["a"] == "before"
    git_remote.write({"foo.yml": "a: after\n"})
    await app_of(client)[GIT].refresh()
    assert (await (await client.get("/foo/default")).json())["propertySources"][0]["source"]["a"] == "after"


async def test_overrides_come_first(git_remote: GitRemote, serve: Serve, tmp_path: Path) -> None:
    """--overrides-file adds an 'overrides' source above everything, with \\${ un-escaped.

    Values are text, as Spring's Map<String, String> of overrides serves them.
    """
    git_remote.write({"foo.yml": "a: 1\n"})
    overrides = tmp_path / "overrides.yml"
    overrides.write_text("forced: true\nraw: \\${HOME}\npool: 8\n")
    client = await serve(git_remote, overrides_file=overrides)
    body = await (await client.get("/foo/default")).json()
    assert body["propertySources"][0] == {
        "name": "overrides",
        "source": {"forced": "true", "raw": "${HOME}", "pool": "8"},
    }


async def test_remote_gone_keeps_serving_last_state(git_remote: GitRemote, serve: Serve) -> None:
    """When the remote disappears after start the last fetched state is still served."""
    git_remote.write({"foo.yml": "a: 1\n"})
    client = await serve(git_remote)
    git_remote.bare.rename(git_remote.bare.with_name("gone.git"))
    await app_of(client)[GIT].refresh()
    resp = await client.get("/foo/default")
    assert resp.status == 200
    assert (await resp.json())["propertySources"][0]["source"]["a"] == 1


async def test_v2_keeps_values_without_origin_plain(git_remote: GitRemote, serve: Serve) -> None:
    """In V2, values with no known origin (overrides have one; decrypted values do not) stay plain."""
    from config_server.crypto.symmetric import SymmetricEncryptor
    from config_server.secret import Secret

    cipher = SymmetricEncryptor("k3y").encrypt("s3cret")
    git_remote.write({"foo.yml": f"user: bob\npassword: '{{cipher}}{cipher}'\n"})
    client = await serve(git_remote, encrypt_key=Secret("k3y"))
    body = await (await client.get("/foo/default", headers={"Accept": V2_MEDIA_TYPE})).json()
    bob = {"value": "bob", "origin": "1:7"}
    assert body["propertySources"][0]["source"] == {"user": bob, "password": "s3cret"}


async def test_several_applications_at_once(git_remote: GitRemote, serve: Serve) -> None:
    """/foo,bar/default loads application, foo and bar; the later application wins."""
    git_remote.write({"application.yml": "a: app\n", "foo.yml": "a: foo\n", "bar.yml": "a: bar\n"})
    client = await serve(git_remote)
    body = await (await client.get("/foo,bar/default")).json()
    uri = git_remote.uri
    assert names(body) == [f"{uri}/bar.yml", f"{uri}/foo.yml", f"{uri}/application.yml"]
    assert body["name"] == "foo,bar"


async def test_default_profile_loads_default_files(git_remote: GitRemote, serve: Serve) -> None:
    """The default profile is a profile like any other: application-default.yml is loaded."""
    git_remote.write({"application.yml": "a: 1\n", "application-default.yml": "a: 2\n"})
    client = await serve(git_remote)
    body = await (await client.get("/foo/default")).json()
    assert [ps["source"]["a"] for ps in body["propertySources"]] == [2, 1]


async def test_wrong_method_is_405_json(git_remote: GitRemote, serve: Serve) -> None:
    """Methods other than GET on the environment answer 405 with a JSON body."""
    git_remote.write({"foo.yml": "a: 1\n"})
    client = await serve(git_remote)
    resp = await client.delete("/foo/default")
    assert resp.status == 405
    assert (await resp.json())["status"] == 405


async def test_profile_groups_and_includes_load_their_files(git_remote: GitRemote, serve: Serve) -> None:
    """A group named in application.yml loads its members' files; default ignores it (Boot)."""
    git_remote.write(
        {
            "application.yml": "spring.profiles.group.prod: proddb\nspring.profiles.include: common\n",
            "application-common.yml": "a: common\n",
            "application-proddb.yml": "a: proddb\n",
            "foo-prod.yml": "a: prod\n",
        }
    )
    client = await serve(git_remote)
    body = await (await client.get("/foo/prod")).json()
    uri = git_remote.uri
    assert names(body) == [
        f"{uri}/application-proddb.yml",
        f"{uri}/foo-prod.yml",
        f"{uri}/application-common.yml",
        f"{uri}/application.yml",
    ]
    assert body["profiles"] == ["prod"]
    default = await (await client.get("/foo/default")).json()
    assert names(default) == [f"{uri}/application.yml"]
