"""``spring.config.import`` in served git files over HTTP (NativeEnvironmentRepositoryTests import cases)."""

from __future__ import annotations

from tests.http.conftest import Serve
from tests.support.gitrepo import GitRemote

SPRING_TEST_DIR = {  # spring-cloud-config-server/src/test/resources/test/, as a git repository
    "test/import.yml": "foo: importing\n\nspring.config.import:\n  - bar.yml\n  - import/foo.yml\n",
    "test/bar.yml": "client:\n  test: Default\n\n---\n\nspring:\n  config:\n    activate:\n"
    "      on-profile: development\n\nclient:\n  test: Development\n",
    "test/import/foo.yml": "foo: imported\n",
}


async def test_imported_files_are_served_above_the_importing_file(
    git_remote: GitRemote, serve: Serve
) -> None:
    """NativeEnvironmentRepositoryTests#testImportPrefixedWithClasspath: 3 sources, imports relative
    to the importing file, sources[0] foo=imported, sources[2] foo=importing."""
    git_remote.write(SPRING_TEST_DIR)
    client = await serve(git_remote, search_paths=("test",))
    resp = await client.get("/import/default/main")
    assert resp.status == 200
    sources = (await resp.json())["propertySources"]
    uri = git_remote.uri
    assert [s["name"] for s in sources] == [
        f"{uri}/test/import/foo.yml",
        f"{uri}/test/bar.yml (document #0)",
        f"{uri}/test/import.yml",
    ]
    assert (sources[0]["source"]["foo"], sources[2]["source"]["foo"]) == ("imported", "importing")


async def test_a_profile_activates_the_imported_documents_and_variants(
    git_remote: GitRemote, serve: Serve
) -> None:
    """An imported file's on-profile document and its -{profile} variant join for that profile."""
    git_remote.write({**SPRING_TEST_DIR, "test/import/foo-development.yml": "foo: imported-dev\n"})
    client = await serve(git_remote, search_paths=("test",))
    body = await (await client.get("/import/development")).json()
    uri = git_remote.uri
    assert [s["name"] for s in body["propertySources"]] == [
        f"{uri}/test/import/foo-development.yml",
        f"{uri}/test/import/foo.yml",
        f"{uri}/test/bar.yml (document #1)",
        f"{uri}/test/bar.yml (document #0)",
        f"{uri}/test/import.yml",
    ]


async def test_a_traversing_import_is_a_500_naming_file_and_line(git_remote: GitRemote, serve: Serve) -> None:
    """A location outside the repository is refused like a broken file: 500, file:line in the body."""
    git_remote.write({"foo.yml": "a: 1\nspring.config.import: file:/etc/passwd.yml\n"})
    client = await serve(git_remote)
    resp = await client.get("/foo/default")
    assert resp.status == 500
    text = await resp.text()
    assert "foo.yml:2" in text and "outside the repository" in text


async def test_an_imported_file_can_include_profiles(git_remote: GitRemote, serve: Serve) -> None:
    """Boot activates profiles after the first imports: spring.profiles.include in an imported file
    counts like one in foo.yml (ConfigDataEnvironment: include read from every active contributor)."""
    git_remote.write(
        {
            "foo.yml": "a: foo\nspring.config.import: common/base.yml\n",
            "common/base.yml": "spring.profiles.include: extra\n",
            "foo-extra.yml": "a: extra\n",
        }
    )
    client = await serve(git_remote)
    body = await (await client.get("/foo/dev")).json()
    uri = git_remote.uri
    assert [s["name"] for s in body["propertySources"]] == [
        f"{uri}/foo-extra.yml",
        f"{uri}/common/base.yml",
        f"{uri}/foo.yml",
    ]
