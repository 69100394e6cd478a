"""Start-up against a real OpenBao: credentials Vault refuses stop the server and leave nothing running."""

from __future__ import annotations

from pathlib import Path

from config_server.errors import Forbidden
from config_server.secret import Secret
from config_server.settings import Settings
from tests.support.gitrepo import GitRemote
from tests.support.lifecycle import assert_failed_start_leaves_nothing_running
from tests.support.openbao import OpenBao


def test_a_token_vault_refuses_stops_the_start_and_leaves_no_thread(
    git_remote: GitRemote, tmp_path: Path, bao: OpenBao
) -> None:
    """A wrong --vault-token is a bad credential: Forbidden, with git and Vault's workers closed."""
    git_remote.write({"application.yml": "a: 1\n"})
    settings = Settings(
        repo=git_remote.uri,
        basedir=tmp_path / "clone",
        port=0,
        vault_url=bao.url,
        vault_token=Secret("not-a-token-vault-knows"),
    )
    error = assert_failed_start_leaves_nothing_running(settings)
    assert isinstance(error, Forbidden)
