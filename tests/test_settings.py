"""The server's settings: flag beats env beats file beats default; secrets never shown."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from config_server.secret import Secret
from config_server.settings import SettingsError, add_arguments, load_settings


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(argv)


def test_defaults() -> None:
    """Only --repo is required; the rest has documented defaults."""
    s = load_settings(parse("--repo", "/srv/repo.git"), environ={})
    assert (s.repo, s.default_label, s.host, s.port, s.refresh_rate) == (
        "/srv/repo.git",
        "main",
        "127.0.0.1",
        8888,
        5.0,
    )
    assert s.search_paths == ()


def test_flag_beats_env_beats_file_beats_default(tmp_path: Path) -> None:
    """Each layer overrides the next."""
    cfg = tmp_path / "server.yml"
    cfg.write_text("repo: /from/file\nport: 7000\nrefresh-rate: 9\nsearch-paths: [a, b]\n")
    env = {"CONFIG_SERVER_PORT": "7100", "CONFIG_SERVER_REPO": "/from/env"}
    s = load_settings(parse("--config", str(cfg), "--repo", "/from/flag"), environ=env)
    assert s.repo == "/from/flag"
    assert s.port == 7100
    assert s.refresh_rate == 9.0
    assert s.search_paths == ("a", "b")


def test_comma_lists_from_env() -> None:
    """CONFIG_SERVER_SEARCH_PATHS is a comma list."""
    s = load_settings(
        parse(), environ={"CONFIG_SERVER_REPO": "r", "CONFIG_SERVER_SEARCH_PATHS": "x, {application} ,"}
    )
    assert s.search_paths == ("x", "{application}")


def test_missing_repo_is_a_clear_error() -> None:
    """Without a repository the server cannot start, and says how to give one."""
    with pytest.raises(SettingsError, match="--repo is required"):
        load_settings(parse(), environ={})


def test_bad_values_name_the_option() -> None:
    """A malformed number says which flag or variable was wrong."""
    with pytest.raises(SettingsError, match="CONFIG_SERVER_PORT"):
        load_settings(parse("--repo", "r"), environ={"CONFIG_SERVER_PORT": "eighty"})


def test_bad_default_label_is_a_settings_error() -> None:
    """A default label git could read as an option is refused before anything starts."""
    with pytest.raises(SettingsError, match="--default-label"):
        load_settings(parse("--repo", "r", "--default-label=--upload-pack=x"), environ={})


def test_broken_settings_file_names_the_place_but_never_echoes_it(tmp_path: Path) -> None:
    """Invalid YAML in --config gives file, line and column; the line (maybe a key) is not quoted."""
    cfg = tmp_path / "s.yml"
    cfg.write_text('repo: r\nencrypt-key: "TOPSECRET-KEY-123\n')
    with pytest.raises(SettingsError) as info:
        load_settings(parse("--config", str(cfg)), environ={})
    assert "line 3, column 1" in str(info.value)
    assert "TOPSECRET" not in str(info.value)


def test_unknown_file_keys_are_rejected(tmp_path: Path) -> None:
    """A typo in the settings file is an error, not silently ignored."""
    cfg = tmp_path / "s.yml"
    cfg.write_text("repo: r\nrefresh_rat: 3\n")
    with pytest.raises(SettingsError, match="refresh_rat"):
        load_settings(parse("--config", str(cfg)), environ={})


def test_a_mapping_where_one_value_is_expected_is_rejected(tmp_path: Path) -> None:
    """repo: given a mapping (repo: for repos:) stops the start naming the key, not a clone of "{...}"."""
    cfg = tmp_path / "s.yml"
    cfg.write_text("repo:\n  payments: file:///x\n")
    with pytest.raises(SettingsError, match=r"s\.yml: repo: expected one value, not a mapping"):
        load_settings(parse("--config", str(cfg)), environ={})


@pytest.mark.parametrize(
    ("spring", "ours"),
    [("uri", "repo"), ("username", "git-username"), ("timeout", "git-timeout"), ("proxy", "git-proxy")],
)
def test_springs_git_keys_at_the_top_level_name_ours(tmp_path: Path, spring: str, ours: str) -> None:
    """A key copied from Spring's spring.cloud.config.server.git section says which setting it is here."""
    cfg = tmp_path / "s.yml"
    cfg.write_text(f"repo: r\n{spring}: x\n")
    with pytest.raises(SettingsError) as info:
        load_settings(parse("--config", str(cfg)), environ={})
    assert f"unknown setting '{spring}' (Spring's git.{spring} is '{ours}'" in str(info.value)


def test_secrets_are_hidden_in_repr_and_errors() -> None:
    """The settings repr never shows a token or key, and errors never echo a secret value."""
    s = load_settings(
        parse("--repo", "r", "--vault-token", "s.hunter2-token", "--encrypt-key", "my-very-secret-key"),
        environ={},
    )
    assert isinstance(s.vault_token, Secret)
    assert s.vault_token.reveal() == "s.hunter2-token"
    text = repr(s) + str(s)
    assert "hunter2" not in text and "my-very-secret-key" not in text


def test_help_documents_every_flag_without_secret_defaults() -> None:
    """config-server serve --help lists the flags and their environment variables."""
    out = subprocess.run(
        [sys.executable, "-m", "config_server", "serve", "--help"],
        capture_output=True,
        text=True,
        check=True,
        env={"CONFIG_SERVER_VAULT_TOKEN": "s.leaky", "PATH": ""},
    ).stdout
    for flag in (
        "--repo",
        "--search-paths",
        "--default-label",
        "--host",
        "--port",
        "--basedir",
        "--refresh-rate",
        "--overrides-file",
        "--config",
        "CONFIG_SERVER_REPO",
        "--vault-url",
        "--encrypt-key",
    ):
        assert flag in out
    assert "s.leaky" not in out


def test_every_setting_is_declared_once_with_flag_env_and_help() -> None:
    """Each Settings field is an option (flag, CONFIG_SERVER_* variable, help); none is declared twice."""
    from dataclasses import fields

    from config_server.settings import OPTIONS, Settings

    assert [o.name for o in OPTIONS] == [f.name for f in fields(Settings) if not f.metadata.get("file_only")]
    for opt in OPTIONS:
        assert opt.help and opt.flag == "--" + opt.name.replace("_", "-")
        assert opt.env == "CONFIG_SERVER_" + opt.name.upper()
        default = next(f.default for f in fields(Settings) if f.name == opt.name)
        assert opt.default == (None if opt.name == "repo" else default)


def test_serve_last_good_is_off_by_default_and_on_by_flag_env_or_file(tmp_path: Path) -> None:
    """--serve-last-good (bare flag), CONFIG_SERVER_SERVE_LAST_GOOD and serve-last-good: in --config."""
    assert load_settings(parse("--repo", "/r"), environ={}).serve_last_good is False
    assert load_settings(parse("--repo", "/r", "--serve-last-good"), environ={}).serve_last_good is True
    env = {"CONFIG_SERVER_SERVE_LAST_GOOD": "true"}
    assert load_settings(parse("--repo", "/r"), environ=env).serve_last_good is True
    cfg = tmp_path / "server.yml"
    cfg.write_text("serve-last-good: true\n")
    assert load_settings(parse("--repo", "/r", "--config", str(cfg)), environ={}).serve_last_good is True


def test_history_flags_are_booleans_off_by_default() -> None:
    """--git-shallow and --serve-unreachable-commits are off unless given (flag or environment)."""
    assert not load_settings(parse("--repo", "/r"), environ={}).git_shallow
    s = load_settings(
        parse("--repo", "/r", "--git-shallow"), environ={"CONFIG_SERVER_SERVE_UNREACHABLE_COMMITS": "true"}
    )
    assert s.git_shallow and s.serve_unreachable_commits


def test_spring_server_switches_have_springs_defaults() -> None:
    """accept-empty and strip-document-from-yaml default true, reverse-location-order false
    (ConfigServerProperties); each reads as a flag."""
    s = load_settings(parse("--repo", "r"), environ={})
    assert (s.accept_empty, s.strip_document_from_yaml, s.reverse_location_order) == (True, True, False)
    s = load_settings(
        parse(
            "--repo", "r", "--accept-empty=false", "--strip-document-from-yaml=no", "--reverse-location-order"
        ),
        environ={},
    )
    assert (s.accept_empty, s.strip_document_from_yaml, s.reverse_location_order) == (False, False, True)


def test_validate_profiles_false_is_refused_by_name(tmp_path: Path) -> None:
    """spring.profiles.validate=false is not silently ignored: start-up fails naming the option."""
    cfg = tmp_path / "server.yml"
    cfg.write_text("repo: r\nvalidate-profiles: false\n")
    with pytest.raises(SettingsError, match="validate-profiles=false"):
        load_settings(parse("--config", str(cfg)), environ={})
    assert load_settings(parse("--repo", "r", "--validate-profiles=true"), environ={}).validate_profiles
