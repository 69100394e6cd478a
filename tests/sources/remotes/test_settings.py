"""The --git-* settings: each in its flag, environment and --config forms, and the RemoteAccess
the server builds from them (``components.git_access``)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from config_server.components import git_access
from config_server.secret import Secret
from config_server.settings import SettingsError, add_arguments, load_settings


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(argv)


def test_git_password_file_is_a_path_in_every_form(tmp_path: Path) -> None:
    """--git-password-file, its variable and its --config key all give a path (read at each
    fetch), never the file's content read once at start-up."""
    token = tmp_path / "token"
    token.write_text("tok-in-file\n")
    cfg = tmp_path / "server.yml"
    cfg.write_text(f"repo: r\ngit-password-file: {token}\n")
    forms = [
        load_settings(parse("--repo", "r", "--git-password-file", str(token)), environ={}),
        load_settings(parse("--repo", "r"), environ={"CONFIG_SERVER_GIT_PASSWORD_FILE": str(token)}),
        load_settings(parse("--config", str(cfg)), environ={}),
    ]
    for settings in forms:
        assert settings.git_password_file == token and settings.git_password is None
        assert git_access(settings).password_file == token


def test_every_git_option_reaches_the_remote_access(tmp_path: Path) -> None:
    """Each --git-* flag lands in the RemoteAccess of the default repository."""
    s = load_settings(
        parse(
            "--repo", "https://git.example.com/config.git",
            "--git-username", "svc",
            "--git-ca-file", "/ca.pem",
            "--git-skip-ssl-validation",
            "--git-proxy", "http://proxy:3128",
            "--git-ssh-key", "/key",
            "--git-known-hosts", "/kh",
            "--git-strict-host-key-checking", "false",
            "--git-use-ssh-config",
            "--git-timeout", "2.5",
        ),
        environ={"CONFIG_SERVER_GIT_PASSWORD": "pw-env", "CONFIG_SERVER_GIT_SSH_PASSPHRASE": "pp-env"},
    )  # fmt: skip
    a = git_access(s)
    assert (a.username, a.ca_file, a.skip_ssl_validation, a.proxy) == (
        "svc",
        Path("/ca.pem"),
        True,
        "http://proxy:3128",
    )
    assert (a.ssh_key, a.known_hosts, a.strict_host_key_checking, a.use_ssh_config) == (
        Path("/key"),
        Path("/kh"),
        False,
        True,
    )
    assert a.timeout == 2.5
    assert a.password == Secret("pw-env") and a.ssh_passphrase == Secret("pp-env")
    assert "pw-env" not in repr(s) and "pp-env" not in repr(a)


def test_git_defaults_are_strict_and_bounded() -> None:
    """By default host keys are checked strictly, ~/.ssh/config is ignored, and git gets 10 s."""
    a = git_access(load_settings(parse("--repo", "r"), environ={}))
    assert a.strict_host_key_checking and not a.use_ssh_config and not a.skip_ssl_validation
    assert a.timeout == 10.0


def test_the_passphrase_can_come_from_a_file(tmp_path: Path) -> None:
    """--git-ssh-passphrase, a secret, has the automatic --git-ssh-passphrase-file form."""
    phrase = tmp_path / "phrase"
    phrase.write_text("from-a-file\n")
    s = load_settings(parse("--repo", "r", "--git-ssh-passphrase-file", str(phrase)), environ={})
    assert s.git_ssh_passphrase == Secret("from-a-file")


@pytest.mark.parametrize("value", ["0", "-1", "soon"])
def test_a_timeout_must_be_a_positive_number(value: str) -> None:
    """--git-timeout 0, negative or not a number is refused, naming the flag."""
    with pytest.raises(SettingsError, match="--git-timeout"):
        load_settings(parse("--repo", "r", "--git-timeout", value), environ={})


def test_tokens_in_uris_are_hidden_in_the_settings_repr(tmp_path: Path) -> None:
    """A token in --repo, a proxy password and a pattern repository's URI token are not in repr()."""
    cfg = tmp_path / "s.yml"
    cfg.write_text(
        "repos:\n  team:\n    uri: https://u:repos-tok-1@h/t.git\n    proxy: http://pu:repos-px-2@p:1\n"
    )
    s = load_settings(
        parse(
            "--repo", "https://u:repo-tok-3@h/r.git",
            "--git-proxy", "http://pu:px-pass-4@proxy:3128",
            "--config", str(cfg),
        ),
        environ={},
    )  # fmt: skip
    text = repr(s) + str(s) + repr(git_access(s)) + repr(s.repos)
    for secret in ("repos-tok-1", "repos-px-2", "repo-tok-3", "px-pass-4"):
        assert secret not in text
    assert "https://h/r.git" in repr(s)  # the URI itself is still shown
