"""Spring's pattern-repository rules, parsed ``repos:``/``composite:`` entries, and URL routing keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from config_server.live.webhooks import parse_push
from config_server.secret import Secret
from config_server.settings import SettingsError, load_settings
from config_server.sources.git.remote import RemoteAccess
from config_server.sources.git.repos import (
    RepoSpec,
    RepoSpecError,
    expand,
    expand_patterns,
    parse_composite,
    parse_repos,
    repository_key,
)
from tests.support import VECTORS


def spec(*patterns: str, uri: str = "file:///r") -> RepoSpec:
    return RepoSpec(name="t", uri=uri, patterns=expand_patterns(patterns))


@pytest.mark.parametrize(
    ("patterns", "application", "profiles", "matches"),
    [
        # MultipleJGitEnvironmentRepositoryTests#mappingRepo: *test1* serves test1-svc/staging
        (("*test1*",), "test1-svc", ("staging",), True),
        # ...#defaultRepo: bar/staging falls to the default
        (("*test1*",), "bar", ("staging",), False),
        # MultipleJGitEnvironmentRepositoryIntegrationTests#mappingRepoWithProfile
        (("*/staging",), "test1-svc", ("staging",), True),
        # ...#mappingRepoWithProfileDefaultPatterns: */staging also takes staging,cloud
        (("*/staging",), "test1-svc", ("staging", "cloud"), True),
        (("*/staging",), "test1-svc", ("dev",), False),
        # ...#mappingRepoWithJustUri: the repository's name is its pattern
        (("test1-svc",), "test1-svc", ("staging",), True),
        (("test1-svc",), "test1-svc-2", ("staging",), False),
        # MultipleJGitEnvironmentApplicationPlaceholderRepositoryTests: *-config-repo
        (("*-config-repo",), "missing-config-repo", ("staging",), True),
        # the issue's example: payments*, */pci
        (("payments*", "*/pci"), "payments-api", ("dev",), True),
        (("payments*", "*/pci"), "orders", ("pci",), True),
        (("payments*", "*/pci"), "orders", ("dev",), False),
    ],
)
def test_matching_follows_spring(
    patterns: tuple[str, ...], application: str, profiles: tuple[str, ...], matches: bool
) -> None:
    """A repository matches as Spring's PatternMatchingJGitEnvironmentRepository#matches does."""
    repo = spec(*patterns)
    assert repo.matches(application, profiles) is matches
    if matches:
        assert repo.serves(application, profiles) or repo.serves(application, profiles[-1:])


def test_mapping_repo_with_profiles_needs_the_whole_request_to_fit() -> None:
    """IntegrationTests#mappingRepoWithProfiles: cloud,staging is served only with */*,staging."""
    only = spec("*/staging")
    assert only.matches("test1-svc", ("cloud", "staging"))
    assert not only.serves("test1-svc", ("cloud", "staging"))  # Spring falls to the default
    listed = spec("*/staging,*", "*/*,staging", "*/staging")
    assert listed.serves("test1-svc", ("cloud", "staging"))
    assert listed.serves("test1-svc", ("staging", "cloud"))


def test_patterns_are_expanded_as_spring_sets_them() -> None:
    """setPattern: /* for a pattern without a slash, ,* for one not ending in *; no duplicates."""
    assert expand_patterns(["simple"]) == ("simple/*", "simple", "simple,*")
    assert expand_patterns(["*/staging"]) == ("*/staging", "*/staging,*")
    assert expand_patterns(["team-*"]) == ("team-*/*", "team-*")


def test_uri_templates_expand_only_safe_values() -> None:
    """{application}, {profile}, {label} are filled; a value that could change the URL is refused."""
    template = "ssh://git@host/{application}-{profile}/{label}.git"
    assert (
        expand(template, application="orders", profile="dev", label="main")
        == "ssh://git@host/orders-dev/main.git"
    )
    assert (
        expand(template, application="a/b", profile="dev", label="main") == "ssh://git@host/a/b-dev/main.git"
    )
    for bad in ("x?y", "x#y", "x y", "-x", "x:y"):
        assert expand(template, application=bad, profile="dev", label="main") is None


@pytest.mark.parametrize(
    "uri",
    [
        "https://git.example.com/payments/config.git",
        "https://svc:token@GIT.example.com/payments/config",
        "ssh://git@git.example.com/payments/config.git/",
        "git@git.example.com:payments/config.git",
        "git://git.example.com/payments/config",
    ],
)
def test_repository_keys_ignore_scheme_credentials_suffix_and_host_case(uri: str) -> None:
    """Every spelling of one remote gives one routing key."""
    assert repository_key(uri) == repository_key("https://git.example.com/payments/config.git")


def test_repository_keys_tell_repositories_apart() -> None:
    """Two repositories of one host have different keys."""
    assert repository_key("https://h/a/config.git") != repository_key("https://h/b/config.git")


@pytest.mark.parametrize(
    ("vector", "headers", "expected"),
    [
        ("github", {"X-GitHub-Event": "push"}, "https://github.com/baxterthehacker/public-repo"),
        ("gitlab", {"X-Gitlab-Event": "Push Hook"}, "https://example.com/mike/diaspora"),
        ("gitea", {"X-Gitea-Event": "push"}, "https://gitea.lawyers.corp/internal/lawsuits"),
        ("gitee", {"X-Gitee-Event": "Push Hook"}, "https://gitee.com/oschina/webhook"),
        ("gogs", {"X-Gogs-Event": "push"}, "https://github.com/baxterthehacker/public-repo"),
        (
            "bitbucket",
            {"X-Event-Key": "repo:push", "X-Hook-UUID": "u"},
            "https://api.bitbucket.org/bitbucket/bitbucket",
        ),
    ],
)
def test_real_payloads_name_their_repository(vector: str, headers: dict[str, str], expected: str) -> None:
    """Each forge's real push payload names the repository pushed to (routing key of its clone URL)."""
    body = (VECTORS / "webhooks" / f"{vector}.json").read_bytes()
    event = parse_push(headers, body, "application/json")
    assert repository_key(expected) in {repository_key(u) for u in event.repositories}


def test_bitbucket_server_clone_links_are_read() -> None:
    """Bitbucket Server's repository.links.clone[].href name the repository."""
    body = b'{"repository": {"links": {"clone": [{"href": "ssh://git@bb:7999/p/r.git", "name": "ssh"}]}}}'
    event = parse_push({"X-Event-Key": "repo:refs_changed", "X-Request-Id": "1"}, body, "application/json")
    assert event.repositories == ("ssh://git@bb:7999/p/r.git",)


# --- parsing ----------------------------------------------------------------------------------


def test_issue_example_parses_with_spring_keys() -> None:
    """The issue's repos: example: patterns, search paths, credentials; short form = name pattern."""
    specs = parse_repos(
        {
            "payments": {
                "pattern": ["payments*", "*/pci"],
                "uri": "https://git.example.com/payments/config.git",
                "search-paths": ["{application}"],
                "username": "svc-config",
                "password-file": "/run/secrets/payments-token",
            },
            "teams": {"pattern": "team-*", "uri": "ssh://git@git.example.com/{application}-config.git"},
            "simple": "https://git.example.com/simple.git",
        }
    )
    payments, teams, simple = specs
    assert payments.patterns == expand_patterns(["payments*", "*/pci"])
    assert payments.search_paths == ("{application}",)
    assert payments.access == RemoteAccess(
        username="svc-config", password_file=Path("/run/secrets/payments-token")
    )
    assert teams.is_template and not payments.is_template
    assert simple.patterns == expand_patterns(["simple"])


def test_comma_string_patterns_are_split() -> None:
    """pattern: "special*/dev*,*special*/dev*" (reference §6.4) is two patterns."""
    (repo,) = parse_repos({"special": {"pattern": "special*/dev*,*special*/dev*", "uri": "file:///x"}})
    assert repo.matches("special-a", ("dev1",)) and repo.matches("my-special", ("dev",))


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"uri": "file:///x", "patern": "a*"}, "unknown key 'patern'"),
        ({"pattern": "a*"}, "uri is required"),
        ({"uri": "file:///x", "private-key": "-----BEGIN"}, "private-key-file"),
        ({"uri": "https://{application}.example.com/x"}, "not the host"),
        ({"uri": "file:///x", "timeout": "soon"}, "number of seconds"),
        ({"uri": "file:///x", "host-key": "AAAA"}, r"'host-key' \(a Spring key .*known-hosts-file"),
        ({"uri": "file:///x", "basedir": "/srv"}, r"unknown key 'basedir' \(a Spring key .*--basedir"),
        ({"uri": "file:///x", "clone-submodules": True}, r"unknown key 'clone-submodules' \(a Spring key"),
    ],
)
def test_malformed_entries_are_refused_naming_the_key(entry: dict[str, object], message: str) -> None:
    """A repository entry with an unknown, missing or malformed key is refused, naming it."""
    with pytest.raises(RepoSpecError, match=message):
        parse_repos({"payments": entry})


def test_unset_settings_are_inherited_and_own_username_keeps_own_password() -> None:
    """Unset credentials, timeout, label, refresh rate are the server's (Spring's setCorrectCredentials)."""
    server = RemoteAccess(
        username="server", password=Secret("server-pass"), timeout=30.0, skip_ssl_validation=True
    )
    bare, own = parse_repos(
        {"a": "file:///a", "b": {"uri": "file:///b", "username": "b-user", "refresh-rate": 7}}
    )
    a = bare.resolved(access=server, default_label="trunk", refresh_rate=60.0, search_paths=("common",))
    assert (a.access.username, a.access.password, a.access.timeout) == ("server", Secret("server-pass"), 30.0)
    assert (a.default_label, a.refresh_rate, a.search_paths) == ("trunk", 60.0, ("common",))
    b = own.resolved(access=server, default_label="trunk", refresh_rate=60.0, search_paths=())
    assert (b.access.username, b.access.password, b.access.skip_ssl_validation) == ("b-user", None, True)
    assert b.refresh_rate == 7.0


def test_composite_keeps_list_order_and_needs_git() -> None:
    """composite: entries in list order; vault takes no keys; at least one git entry."""
    entries = parse_composite(
        [{"type": "vault"}, {"type": "git", "uri": "file:///a", "repos": {"x": "file:///x"}}]
    )
    assert [e.type for e in entries] == ["vault", "git"]
    assert entries[1].repos[0].name == "x"
    with pytest.raises(RepoSpecError, match="at least one git"):
        parse_composite([{"type": "vault"}])
    with pytest.raises(RepoSpecError, match="unknown key 'host'"):
        parse_composite([{"type": "vault", "host": "x"}, {"type": "git", "uri": "file:///a"}])


def test_config_file_refuses_an_unknown_repo_key_at_start(tmp_path: Path) -> None:
    """load_settings refuses a --config whose repos entry has an unknown key, naming entry and key."""
    config = tmp_path / "config.yml"
    config.write_text("repo: file:///d\nrepos:\n  payments:\n    uri: file:///p\n    usename: x\n")
    with pytest.raises(SettingsError, match=r"repos\.payments: unknown key 'usename'"):
        load_settings({"config": str(config)}, environ={})


def test_config_file_composite_sets_the_default_repository(tmp_path: Path) -> None:
    """With composite:, the first git entry is the default repository; repo alongside is refused."""
    config = tmp_path / "config.yml"
    config.write_text(
        "composite:\n  - type: git\n    uri: file:///first\n  - type: git\n    uri: file:///second\n"
    )
    settings = load_settings({"config": str(config)}, environ={})
    assert settings.repo == "file:///first" and len(settings.composite) == 2
    with pytest.raises(SettingsError, match="composite replaces repo"):
        load_settings({"config": str(config), "repo": "file:///x"}, environ={})
