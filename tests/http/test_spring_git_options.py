"""Spring's git options: try-master-branch, continue-on-multiple-label-failure, delete-untracked-branches."""

from __future__ import annotations

from pathlib import Path

from config_server.components import GIT
from tests.http.conftest import Serve, app_of
from tests.support.gitrepo import GitRemote, git


def _master_only(tmp_path: Path) -> GitRemote:
    remote = GitRemote(tmp_path / "remote", branch="master")
    remote.write({"bar.properties": "foo=bar\n"})
    return remote


async def test_default_main_falls_back_to_master(tmp_path: Path, serve: Serve) -> None:
    """Only master at the remote: served as the default (JGitEnvironmentRepositoryTests#tryMasterBranch)."""
    client = await serve(_master_only(tmp_path))
    resp = await client.get("/bar/staging")
    assert resp.status == 200
    assert (await resp.json())["propertySources"][0]["source"] == {"foo": "bar"}


async def test_try_master_branch_false_does_not_fall_back(tmp_path: Path, serve: Serve) -> None:
    """git-try-master-branch=false: no main is a missing label, 404
    (JGitEnvironmentRepositoryIntegrationTests#shouldFailIfNotTryingMaster, #doNotTryMasterBranch)."""
    client = await serve(_master_only(tmp_path), git_try_master_branch=False)
    assert (await client.get("/bar/staging")).status == 404
    assert (await client.get("/bar/staging/master")).status == 200


async def _labels(git_remote: GitRemote) -> None:
    git_remote.write({"bar.properties": "foo=main\n"})
    git_remote.checkout("foo", create=True)
    git_remote.write({"bar.properties": "foo=foo\n"})
    git_remote.checkout("raw", create=True)
    git_remote.write({"bar.properties": "foo=raw\n"})


async def test_a_failing_label_of_several_fails_the_request(git_remote: GitRemote, serve: Serve) -> None:
    """One unknown label of several: 404 (JGitEnvironmentRepositoryTests#multipleLabelsWithFailure)."""
    await _labels(git_remote)
    client = await serve(git_remote)
    assert (await client.get("/bar/staging/main,doesnotexist,foo,raw")).status == 404


async def test_continue_on_multiple_label_failure_leaves_the_label_out(
    git_remote: GitRemote, serve: Serve
) -> None:
    """With the option, the other labels' sources are served, last label first, and the version
    names only them (JGitEnvironmentRepositoryTests#multipleLabelsWithFailureButContinues)."""
    await _labels(git_remote)
    client = await serve(git_remote, git_continue_on_multiple_label_failure=True)
    resp = await client.get("/bar/staging/main,doesnotexist,foo,raw")
    assert resp.status == 200
    body = await resp.json()
    assert [ps["source"]["foo"] for ps in body["propertySources"]] == ["raw", "foo", "main"]
    assert len(body["version"].split(",")) == 3


async def test_continue_on_multiple_label_failure_still_fails_a_single_label(
    git_remote: GitRemote, serve: Serve
) -> None:
    """One unknown label alone: 404 (JGitEnvironmentRepositoryTests#singleLabelWithFailureButContinues)."""
    await _labels(git_remote)
    client = await serve(git_remote, git_continue_on_multiple_label_failure=True)
    assert (await client.get("/bar/staging/doesnotexist")).status == 404


async def test_continue_on_multiple_label_failure_leaves_out_a_broken_label(
    git_remote: GitRemote, serve: Serve
) -> None:
    """A label whose file does not parse is left out too (Spring catches any failure of a label)."""
    await _labels(git_remote)
    git_remote.checkout("broken", create=True)
    git_remote.write({"bar.yml": "a: [1\n"})
    client = await serve(git_remote, git_continue_on_multiple_label_failure=True)
    body = await (await client.get("/bar/staging/main,broken")).json()
    assert [ps["source"]["foo"] for ps in body["propertySources"]] == ["main"]
    assert (await client.get("/bar/staging/broken")).status == 500


async def _delete_branch(git_remote: GitRemote, serve: Serve, **settings: object) -> int:
    git_remote.write({"bar.properties": "foo=main\n"})
    git_remote.checkout("feature", create=True)
    git_remote.write({"bar.properties": "foo=feature\n"})
    client = await serve(git_remote, **settings)
    assert (await client.get("/bar/default/feature")).status == 200
    git(git_remote.work, "push", "-q", "origin", "--delete", "feature")
    await app_of(client)[GIT].refresh()
    return (await client.get("/bar/default/feature")).status


async def test_a_branch_deleted_at_the_remote_is_pruned(git_remote: GitRemote, serve: Serve) -> None:
    """By default a deleted branch is 404 at the next fetch (Spring with delete-untracked-branches:
    true, JGitEnvironmentRepositoryIntegrationTests#testShouldFailIfRemoteBranchWasDeleted)."""
    assert await _delete_branch(git_remote, serve) == 404


async def test_delete_untracked_branches_false_keeps_serving_it(git_remote: GitRemote, serve: Serve) -> None:
    """git-delete-untracked-branches=false keeps serving the last fetched copy (Spring's default,
    JGitEnvironmentRepositoryIntegrationTests#testShouldReturnEnvironmentFromLocalBranchInCaseRemoteDeleted)."""
    assert await _delete_branch(git_remote, serve, git_delete_untracked_branches=False) == 200
