"""Spring's property names in --config: every row maps to a real setting, and nothing is ignored."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest

from config_server.settings import Settings, SettingsError, load_settings
from config_server.spring_names import SPRING_NAMES, Fixed, Setting, Unsupported, kebab, target
from tests.support.paths import REPO_ROOT

S = "spring.cloud.config.server."
FIELDS = {f.name for f in fields(Settings)}


def _load(tmp_path: Path, text: str, **flags: Any) -> Settings:
    cfg = tmp_path / "s.yml"
    cfg.write_text(text)
    return load_settings({"config": str(cfg), **flags}, environ={})


def _refused(tmp_path: Path, text: str) -> str:
    with pytest.raises(SettingsError) as info:
        _load(tmp_path, text)
    return str(info.value)


@pytest.mark.parametrize("name", sorted(SPRING_NAMES))
def test_every_mapped_row_names_a_settings_field(name: str) -> None:
    """A row's target is a field of Settings (a renamed or missing field fails here)."""
    row = SPRING_NAMES[name]
    assert isinstance(row, str | Setting | Fixed | Unsupported)
    field = target(row)
    assert field is None or field in FIELDS, f"{name} -> {field}"


def test_the_nested_form_is_read(tmp_path: Path) -> None:
    """A copied application.yml section (spring: cloud: config: server: git: ...) sets our settings."""
    s = _load(
        tmp_path,
        "spring:\n  cloud:\n    config:\n      server:\n        git:\n          uri: file:///r\n"
        "          search-paths: [a, '{application}']\n          timeout: 7\n"
        "          try-master-branch: false\n",
    )
    assert (s.repo, s.search_paths, s.git_timeout, s.git_try_master_branch) == (
        "file:///r",
        ("a", "{application}"),
        7.0,
        False,
    )


def test_dotted_and_relaxed_names_are_read(tmp_path: Path) -> None:
    """Dotted keys and Spring's relaxed names (camelCase, underscores) are the same option."""
    s = _load(
        tmp_path,
        f"{S}git.uri: file:///r\n{S}git.continueOnMultipleLabelFailure: true\n"
        f"spring.cloud.config.server.git:\n  delete_untracked_branches: false\n",
    )
    assert s.git_continue_on_multiple_label_failure is True
    assert s.git_delete_untracked_branches is False
    assert kebab("tryMasterBranch") == kebab("try_master_branch") == "try-master-branch"


def test_springs_root_encrypt_keys_are_read(tmp_path: Path) -> None:
    """Spring Cloud Commons' encrypt.key-store.* and rsa.* map to our keystore settings."""
    s = _load(
        tmp_path,
        "repo: r\nencrypt:\n  keyStore:\n    location: file:/k/server.jks\n    alias: mykey\n"
        "    type: JKS\n  rsa:\n    algorithm: oaep\n    strong: true\n",
    )
    assert (str(s.encrypt_keystore), s.encrypt_key_alias, s.encrypt_keystore_type) == (
        "/k/server.jks",
        "mykey",
        "jks",
    )
    assert (s.encrypt_rsa_algorithm, s.encrypt_rsa_strong) == ("OAEP", True)


def test_springs_vault_host_port_scheme_make_the_url_and_kv_version_defaults_to_1(tmp_path: Path) -> None:
    """vault.host/port/scheme become vault-url; Spring's kv-version default (1) applies to its section."""
    s = _load(tmp_path, f"repo: r\n{S}vault:\n  host: 127.0.0.1\n  port: 8201\n  backend: kv\n")
    assert (s.vault_url, s.vault_kv_mount, s.vault_kv_version) == ("http://127.0.0.1:8201", "kv", 1)
    s = _load(tmp_path, f"repo: r\nvault-kv-version: 2\n{S}vault.host: 127.0.0.1\n")
    assert s.vault_kv_version == 2


def test_spring_proxy_map_becomes_a_url(tmp_path: Path) -> None:
    """git.proxy's https: {host, port} map is the same as --git-proxy http://host:port."""
    s = _load(tmp_path, f"repo: r\n{S}git.proxy:\n  https: {{host: proxy.local, port: 3128}}\n")
    assert s.git_proxy == "http://proxy.local:3128"


def test_ignore_local_ssh_settings_is_the_opposite_of_use_ssh_config(tmp_path: Path) -> None:
    """Spring's ignore-local-ssh-settings: false reads ~/.ssh/config, which is our git-use-ssh-config."""
    assert _load(tmp_path, f"repo: r\n{S}git.ignore-local-ssh-settings: false\n").git_use_ssh_config is True


def test_a_flag_beats_a_spring_key_in_the_file(tmp_path: Path) -> None:
    """Precedence stays flags > environment > --config, whatever the file's names."""
    assert (
        _load(tmp_path, f"repo: r\n{S}git.default-label: dev\n", default_label="prod").default_label == "prod"
    )


def test_an_unknown_spring_option_is_refused_naming_it(tmp_path: Path) -> None:
    """A misspelt Spring option stops the start, with the option it probably meant."""
    message = _refused(tmp_path, f"repo: r\n{S}uri: file:///r\n")
    assert f"unknown Spring option '{S}uri'" in message and f"'{S}git.uri', which is repo" in message


def test_an_unsupported_spring_option_is_refused_with_what_to_use(tmp_path: Path) -> None:
    """An option we do not offer is refused with the reason and our equivalent."""
    message = _refused(tmp_path, f"repo: r\n{S}git.host-key: AAAA\n")
    assert f"'{S}git.host-key' is not supported here" in message and "use git-known-hosts" in message


def test_another_backend_is_refused(tmp_path: Path) -> None:
    """A whole other backend's section (native, jdbc...) is refused, not ignored."""
    assert "not supported here" in _refused(tmp_path, f"repo: r\n{S}native:\n  search-locations: x\n")


@pytest.mark.parametrize(
    ("line", "accepted"),
    [
        (f"{S}git.clone-submodules: false", True),
        (f"{S}git.clone-submodules: true", False),
        (f"{S}git.clone-on-start: true", True),
        (f"{S}vault.authentication: APPROLE", True),
        (f"{S}vault.authentication: KUBERNETES", False),
    ],
)
def test_fixed_behaviours_accept_only_what_we_do(tmp_path: Path, line: str, accepted: bool) -> None:
    """A Spring option naming what this server always does is accepted; asking otherwise is refused."""
    text = f"repo: r\n{line}\n"
    if accepted:
        _load(tmp_path, text)
    else:
        assert "is not supported here" in _refused(tmp_path, text)


def test_our_key_and_springs_for_one_setting_are_refused_naming_both(tmp_path: Path) -> None:
    """repo and spring...git.uri together: refused, naming both."""
    message = _refused(tmp_path, f"repo: file:///a\n{S}git.uri: file:///b\n")
    assert f"'repo' and Spring's '{S}git.uri'" in message


def test_two_spring_keys_for_one_setting_are_refused(tmp_path: Path) -> None:
    """Spring's server default-label and git.default-label both set ours: refused, naming both."""
    message = _refused(tmp_path, f"repo: r\n{S}default-label: a\n{S}git.default-label: b\n")
    assert f"'{S}default-label' and '{S}git.default-label'" in message


def test_springs_refresh_rate_0_is_refused(tmp_path: Path) -> None:
    """Spring's refresh-rate 0 (fetch per request) would mean never here: refused, saying so."""
    assert "fetches on every request" in _refused(tmp_path, f"repo: r\n{S}git.refresh-rate: 0\n")


def test_a_secret_value_never_appears_in_an_error(tmp_path: Path) -> None:
    """An invalid Spring option next to a password does not echo the password."""
    message = _refused(tmp_path, f"repo: r\n{S}git.password: hunter2-secret\n{S}git.private-key: x\n")
    assert "hunter2" not in message


@pytest.mark.parametrize(
    "line",
    [f"{S}vault.app-role.role: s3cr3t-role-id", f"{S}vault.authentication: s3cr3t-token"],
)
def test_a_refused_fixed_option_never_echoes_its_value(tmp_path: Path, line: str) -> None:
    """A value pasted into the wrong Spring option (a role id, a token) is refused without echoing it."""
    message = _refused(tmp_path, f"repo: r\n{line}\n")
    assert "is not supported here" in message and "s3cr3t" not in message


def test_springs_repos_entries_take_relaxed_names(tmp_path: Path) -> None:
    """git.repos entries copied with camelCase keys (searchPaths) are read as Spring binds them."""
    s = _load(
        tmp_path,
        f"{S}git:\n  uri: file:///r\n  repos:\n    team:\n      pattern: team-*\n"
        "      uri: file:///t\n      searchPaths: conf\n",
    )
    assert s.repos[0].search_paths == ("conf",)


def test_spring_proxy_non_proxy_hosts_is_refused(tmp_path: Path) -> None:
    """git.proxy.https.non-proxy-hosts has no equivalent: refused rather than dropped."""
    text = f"repo: r\n{S}git.proxy:\n  https: {{host: p, port: 1, non-proxy-hosts: a}}\n"
    assert "non-proxy-hosts" in _refused(tmp_path, text)


def test_the_readme_example_loads(tmp_path: Path) -> None:
    """The README's Spring-named --config example is read as it says."""
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("**Spring's names in the file.**", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    s = _load(tmp_path, block)
    assert s.repo == "https://git.example.com/org/config.git" and s.git_try_master_branch is False
    assert s.health_repositories[0].profiles == "prod" and s.encrypt_key_alias == "config"


def test_the_compatibility_sections_example_loads(tmp_path: Path) -> None:
    """The example atop the README's compatibility table (Spring's nested names, a Spring
    keystore) is read as it says."""
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Spring Cloud Config compatibility", 1)[1]
    block = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    s = _load(tmp_path, block)
    assert s.repo == "https://git.example.com/platform/config.git" and s.search_paths == ("{application}",)
    assert s.git_username == "svc-config" and s.git_try_master_branch is False and s.encrypt_enabled
    assert str(s.encrypt_keystore) == "/run/secrets/server.jks" and s.encrypt_key_alias == "mytestkey"


def test_composite_profile_with_a_composite_list_loads(tmp_path: Path) -> None:
    """Spring's composite example (composite-repositories.adoc: spring.profiles.active: composite and
    a composite list of git entries) loads as our composite."""
    s = _load(
        tmp_path,
        "spring:\n  profiles:\n    active: composite\n  cloud:\n    config:\n      server:\n"
        "        composite:\n        - type: git\n          uri: file:///rex\n"
        "        - type: git\n          uri: file:///walter\n",
    )
    assert [e.git.uri for e in s.composite if e.git is not None] == ["file:///rex", "file:///walter"]


def test_git_and_vault_profiles_load(tmp_path: Path) -> None:
    """spring.profiles.active: git, vault with both sections (composite-repositories.adoc, order
    left out) is git plus Vault."""
    s = _load(
        tmp_path,
        "spring:\n  profiles:\n    active: git, vault\n  cloud.config.server:\n"
        "    git.uri: file:///r\n    vault: {host: 127.0.0.1, port: 8200}\n",
    )
    assert (s.repo, s.vault_url) == ("file:///r", "http://127.0.0.1:8200")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            f"spring.profiles.active: composite\n{S}git.uri: file:///r\n",
            "no spring.cloud.config.server.composite",
        ),
        (
            f"spring.profiles.active: git,vault\n{S}git.uri: file:///r\n",
            "no spring.cloud.config.server.vault",
        ),
        (f"spring.profiles.active: vault\n{S}vault.host: h\n", "git is always served"),
        (f"spring.profiles.active: native\n{S}git.uri: file:///r\n", "'native'"),
    ],
    ids=["composite-without-list", "vault-without-section", "vault-only", "native"],
)
def test_profiles_that_do_not_match_the_settings_are_refused(tmp_path: Path, text: str, message: str) -> None:
    """A backend profile whose section is missing, or a backend not served here, stops the start."""
    assert message in _refused(tmp_path, text)


def test_dotted_names_below_map_options_are_read(tmp_path: Path) -> None:
    """Dotted keys inside Spring's maps (git.repos.<name>.*, health.repositories.<key>.*,
    git.proxy.https.*), as application.properties writes them, bind like the nested form; the
    names of entries keep their case."""
    s = _load(
        tmp_path,
        f"{S}git.uri: file:///r\n{S}git.repos.myTeam.pattern: 'team-*'\n{S}git.repos.myTeam.uri: file:///t\n"
        f"{S}git.repos.myTeam.searchPaths: conf\n{S}health.repositories.myService.profiles: prod\n"
        f"{S}git.proxy.https.host: proxy.example\n{S}git.proxy.https.port: 3128\n",
    )
    (repo,) = s.repos
    assert (repo.name, repo.uri, repo.patterns[-1], repo.search_paths) == (
        "myTeam",
        "file:///t",
        "team-*",
        ("conf",),
    )
    (health,) = s.health_repositories
    assert (health.key, health.name, health.profiles) == ("myService", "myService", "prod")
    assert s.git_proxy is not None and "proxy.example:3128" in s.git_proxy


def test_dotted_and_nested_forms_of_one_map_merge(tmp_path: Path) -> None:
    """One repos map written partly nested and partly dotted is one map; a leaf given twice is refused."""
    nested = f"{S}git:\n  uri: file:///r\n  repos:\n    team:\n      pattern: 'team-*'\n"
    s = _load(tmp_path, nested + f"{S}git.repos.team.uri: file:///t\n")
    assert [r.uri for r in s.repos] == ["file:///t"]
    assert f"'{S}git.repos.team.pattern' is given twice" in _refused(
        tmp_path, nested + f"{S}git.repos.team.pattern: 'x-*'\n{S}git.repos.team.uri: u\n"
    )


def test_monitor_extractors_may_be_named_enabled_but_not_disabled(tmp_path: Path) -> None:
    """monitor.<forge>.enabled: true is what we do (Spring's default); false stops the start."""
    assert _load(tmp_path, f"{S}git.uri: file:///r\n{S}monitor.github.enabled: true\n").repo == "file:///r"
    assert "only 'true'" in _refused(tmp_path, f"{S}git.uri: file:///r\n{S}monitor.gitlab.enabled: false\n")
