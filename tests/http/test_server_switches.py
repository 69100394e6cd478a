"""Spring's server-wide switches: accept-empty, strip-document-from-yaml, reverse-location-order."""

from __future__ import annotations

from pathlib import Path

from tests.http.conftest import Serve
from tests.support.gitrepo import GitRemote


async def test_accept_empty_false_answers_404_for_an_application_without_sources(
    git_remote: GitRemote, serve: Serve
) -> None:
    """EnvironmentController#getEnvironment with acceptEmpty=false: EnvironmentNotFoundException,
    404 "Application Not Found", for the JSON and the renderings alike; a known app is 200."""
    git_remote.write({"foo.yml": "a: 1\n"})
    client = await serve(git_remote, accept_empty=False)
    resp = await client.get("/nobody/default")
    assert resp.status == 404
    body = await resp.json()
    assert (body["status"], body["error"], body["message"]) == (404, "Not Found", "Application Not Found")
    assert (await client.get("/nobody-default.yml")).status == 404
    assert (await client.get("/foo/default")).status == 200


async def test_accept_empty_is_the_default_and_overrides_count_as_a_source(
    git_remote: GitRemote, serve: Serve, tmp_path: Path
) -> None:
    """Default accept-empty=true: 200 with no sources; overrides are added before Spring's check."""
    git_remote.write({"foo.yml": "a: 1\n"})
    client = await serve(git_remote)
    resp = await client.get("/nobody/default")
    assert resp.status == 200 and (await resp.json())["propertySources"] == []
    overrides = tmp_path / "overrides.yml"
    overrides.write_text("forced: x\n")
    strict = await serve(git_remote, accept_empty=False, overrides_file=overrides)
    assert (await strict.get("/nobody/default")).status == 200


async def test_accept_empty_false_leaves_plain_text_resources_alone(
    git_remote: GitRemote, serve: Serve
) -> None:
    """ResourceController reads the environment without the accept-empty check: the file is served."""
    git_remote.write({"notes.txt": "hello ${a:x}\n"})
    client = await serve(git_remote, accept_empty=False)
    resp = await client.get("/nobody/default/main/notes.txt")
    assert resp.status == 200 and await resp.text() == "hello x\n"


async def test_strip_document_from_yaml_false_keeps_the_document_key(
    git_remote: GitRemote, serve: Serve
) -> None:
    """EnvironmentController#setStripDocumentFromYaml(false): a list file renders under 'document:'."""
    git_remote.write({"foo.yml": "- c\n- d\n"})
    stripped = await serve(git_remote)
    assert await (await stripped.get("/foo-default.yml")).text() == "- c\n- d\n"
    kept = await serve(git_remote, strip_document_from_yaml=False)
    assert await (await kept.get("/foo-default.yml")).text() == "document:\n- c\n- d\n"


async def test_reverse_location_order_finds_resources_in_the_last_location_first(
    git_remote: GitRemote, serve: Serve
) -> None:
    """CompositeIntegrationTests.ReverseLocationOrderTest: the same file in two locations, the root
    wins by default, the last search path with reverse-location-order."""
    git_remote.write({"bar.properties": "foo: root", "sub/bar.properties": "foo: sub"})
    default = await serve(git_remote, search_paths=("sub",))
    assert await (await default.get("/foo/default/main/bar.properties")).text() == "foo: root"
    reverse = await serve(git_remote, search_paths=("sub",), reverse_location_order=True)
    assert await (await reverse.get("/foo/default/main/bar.properties")).text() == "foo: sub"
