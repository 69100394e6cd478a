"""Specification of the pre-receive hook: a real ``git push`` to a bare repository with the hook."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from config_server.cli import main
from config_server.crypto.symmetric import SymmetricEncryptor
from tests.support.gitrepo import GitRemote, git
from tests.validation.test_validate import GOOD

KEY = "hook-test-key-0123"


def push(remote: GitRemote) -> subprocess.CompletedProcess[str]:
    """``git push`` as a user runs it; its stderr carries the hook's ``remote:`` lines."""
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0"}
    env.pop("CONFIG_SERVER_ENCRYPT_KEY", None)
    command = ["git", "push", "origin", "HEAD"]
    return subprocess.run(command, cwd=remote.work, env=env, capture_output=True, text=True, timeout=60)


@pytest.fixture
def hooked(git_remote: GitRemote, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> GitRemote:
    """A remote holding GOOD, with the hook installed, keys from a --config file."""
    git_remote.write(GOOD)
    config = tmp_path / "server.yml"
    config.write_text(f"encrypt-key: {KEY}\nsearch-paths: teams/{{application}}\n", encoding="utf-8")
    assert main(["hook", "install", git_remote.path, "--config", str(config)]) == 0
    capsys.readouterr()
    return git_remote


def test_a_good_push_passes(hooked: GitRemote) -> None:
    """A push whose configuration validates (a {cipher} made with the configured key) lands."""
    value = SymmetricEncryptor(KEY).encrypt("pw")
    hooked.write({"orders-dev.yml": f"pool-size: 3\npassword: '{{cipher}}{value}'\n"}, push=False)
    done = push(hooked)
    assert done.returncode == 0, done.stderr
    assert git(hooked.bare, "rev-parse", "main") == hooked.head()


def test_a_bad_push_is_refused_with_file_and_line(hooked: GitRemote) -> None:
    """A schema violation, a broken file under a search path and a bad {cipher}: refused, the
    author sees each as ``remote: file:line: message``, and the branch does not move."""
    before = git(hooked.bare, "rev-parse", "main")
    other = SymmetricEncryptor("not-the-key").encrypt("pw")
    hooked.write(
        {
            "orders-dev.yml": "pool-size: none\n",
            "teams/billing/application.yml": "a: [\n",
            "payments.properties": f"password={{cipher}}{other}\n",
        },
        push=False,
    )
    done = push(hooked)
    assert done.returncode != 0
    assert "remote: orders-dev.yml:1: pool-size: 'none' is not of type 'integer'" in done.stderr
    assert "remote: teams/billing/application.yml:2: " in done.stderr
    assert "remote: payments.properties:1: password: the {cipher} value does not decrypt" in done.stderr
    assert "pre-receive hook declined" in done.stderr
    assert git(hooked.bare, "rev-parse", "main") == before


def test_with_encryption_disabled_a_foreign_cipher_is_pushed(
    git_remote: GitRemote, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The hook reads encrypt.enabled from --config (Spring's name): false lets a {cipher} made
    with another key land, as the server would serve it as it is."""
    git_remote.write(GOOD)
    config = tmp_path / "server.yml"
    config.write_text(
        f"encrypt-key: {KEY}\nspring.cloud.config.server.encrypt.enabled: false\n", encoding="utf-8"
    )
    assert main(["hook", "install", git_remote.path, "--config", str(config)]) == 0
    capsys.readouterr()
    other = SymmetricEncryptor("not-the-key").encrypt("pw")
    git_remote.write({"payments.properties": f"password={{cipher}}{other}\n"}, push=False)
    done = push(git_remote)
    assert done.returncode == 0, done.stderr
    assert git(git_remote.bare, "rev-parse", "main") == git_remote.head()


def test_deleting_a_branch_is_not_validated(hooked: GitRemote) -> None:
    """A deletion has no commit to check: it goes through even when the branch was broken."""
    hooked.write({"orders.yml": "a: [\n"}, push=False)
    git(hooked.bare, "fetch", "-q", str(hooked.work), "HEAD:refs/heads/old")  # no hook on fetch
    git(hooked.work, "reset", "-q", "--hard", "HEAD~1")
    git(hooked.work, "push", "-q", "origin", ":old")
    assert git(hooked.bare, "branch", "--list", "old") == ""


def test_the_hook_holds_no_secret_and_keeps_foreign_hooks(
    git_remote: GitRemote, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The hook names the config file, not its key; a hook of someone else's is kept unless --force."""
    config = tmp_path / "server.yml"
    config.write_text(f"encrypt-key: {KEY}\n", encoding="utf-8")
    hook = git_remote.bare / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    assert main(["hook", "install", git_remote.path, "--config", str(config)]) == 2
    assert "not installed by config-server" in capsys.readouterr().err
    assert hook.read_text(encoding="utf-8") == "#!/bin/sh\nexit 0\n"
    assert main(["hook", "install", git_remote.path, "--config", str(config), "--force"]) == 0
    text = hook.read_text(encoding="utf-8")
    assert str(config) in text and KEY not in text
    assert os.access(hook, os.X_OK)
    assert main(["hook", "install", git_remote.path, "--profile", "prod"]) == 0  # ours: replaced
    assert main(["hook", "install", str(git_remote.work)]) == 2  # not bare
