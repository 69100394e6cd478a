"""Which files make up an environment, and their precedence (reference §3), as pure functions."""

from __future__ import annotations

import pytest
from config_client.wire import PropertyValue

from config_server.errors import InvalidConfiguration
from config_server.formats.documents import Document
from config_server.resolve import (
    Candidate,
    assemble,
    candidates,
    config_names,
    expand_profiles,
    resource_candidates,
    search_locations,
)

URI = "https://git.example.com/cfg"


def doc(on_profile: tuple[str, ...] | None = None, **values: object) -> Document:
    return Document({k.replace("_", "."): PropertyValue(v) for k, v in values.items()}, on_profile)  # type: ignore[arg-type]


def paths(cands: list[Candidate]) -> list[str]:
    return [c.path for c in cands]


def test_config_names_are_application_then_the_apps() -> None:
    """application comes first (lowest), then each requested application once."""
    assert config_names(["foo"]) == ["application", "foo"]
    assert config_names(["application"]) == ["application"]
    assert config_names(["foo", "bar", "foo"]) == ["application", "foo", "bar"]


def test_profile_files_beat_plain_files_and_last_profile_wins() -> None:
    """Profile-specific files come first, the last profile's first; app before application."""
    got = paths(candidates(["application", "foo"], ["dev", "mysql"], [""]))
    assert got[:8] == [
        "foo-mysql.properties",
        "foo-mysql.yml",
        "foo-mysql.yaml",
        "foo-mysql.json",
        "application-mysql.properties",
        "application-mysql.yml",
        "application-mysql.yaml",
        "application-mysql.json",
    ]
    assert got.index("foo-dev.properties") < got.index("application-dev.yml") < got.index("foo.properties")
    assert got[-4:] == ["application.properties", "application.yml", "application.yaml", "application.json"]


def test_later_search_location_beats_earlier_even_across_names() -> None:
    """sub/application.yml beats foo.yml at the root (JGitEnvironmentRepositoryTests#nested)."""
    got = paths(candidates(["application", "foo"], ["default"], ["", "sub/"]))
    assert got.index("sub/application.yml") < got.index("foo.properties")


def test_worked_example_from_the_reference() -> None:
    """§3.2: GET /foo/dev,mysql gives exactly this order, with on-profile documents in their file's slot."""
    files = {
        "application.yml": [doc(a="app-default"), doc(("dev",), a="app-dev-doc")],
        "application-dev.yml": [doc(a="app-dev-file")],
        "foo.yml": [doc(a="foo")],
        "foo-dev.properties": [doc(a="foo-dev")],
        "foo-mysql.yml": [doc(a="foo-mysql")],
        "sub/foo.yml": [doc(a="sub-foo")],
    }
    profiles = ["dev", "mysql"]
    locations = search_locations(
        ["sub"], applications=["foo"], profiles=profiles, label=None, dirs={"", "sub"}
    )
    ordered = [c for c in candidates(["application", "foo"], profiles, locations) if c.path in files]
    sources = assemble(ordered, files, profiles=profiles, uri=URI)
    assert [(s.name, s.source["a"].value) for s in sources] == [
        (f"{URI}/foo-mysql.yml", "foo-mysql"),
        (f"{URI}/foo-dev.properties", "foo-dev"),
        (f"{URI}/application-dev.yml", "app-dev-file"),
        (f"{URI}/sub/foo.yml", "sub-foo"),
        (f"{URI}/foo.yml", "foo"),
        (f"{URI}/application.yml (document #1)", "app-dev-doc"),
        (f"{URI}/application.yml (document #0)", "app-default"),
    ]


def test_inactive_documents_are_left_out_but_keep_their_numbers() -> None:
    """GET /foo/default: the dev document is skipped; the other keeps '(document #0)'."""
    files = {"application.yml": [doc(a="base"), doc(("dev",), a="dev")]}
    ordered = [Candidate("application.yml", None)]
    sources = assemble(ordered, files, profiles=["default"], uri=URI)
    assert [s.name for s in sources] == [f"{URI}/application.yml (document #0)"]


def test_profile_expressions_activate_documents() -> None:
    """on-profile supports !, & and | expressions against the requested profiles."""
    files = {"orders.yml": [doc(a="base"), doc(("prod & eu",), a="eu"), doc(("!prod",), a="nonprod")]}
    ordered = [Candidate("orders.yml", None)]
    eu = assemble(ordered, files, profiles=["prod", "eu"], uri=URI)
    assert [s.source["a"].value for s in eu] == ["eu", "base"]
    dev = assemble(ordered, files, profiles=["dev"], uri=URI)
    assert [s.source["a"].value for s in dev] == ["nonprod", "base"]


def test_malformed_on_profile_is_a_configuration_error_naming_the_file() -> None:
    """A broken expression is a 500 that says which file."""
    files = {"orders.yml": [doc(a="x"), doc(("a & b | c",), a="y")]}
    with pytest.raises(InvalidConfiguration, match=r"orders\.yml"):
        assemble([Candidate("orders.yml", None)], files, profiles=["a"], uri=URI)


@pytest.mark.parametrize(
    ("search_paths", "dirs", "expected"),
    [
        ([], {""}, [""]),
        (["sub"], {"", "sub"}, ["", "sub/"]),
        (["missing"], {""}, [""]),
        (["{application}"], {"", "orders", "payments"}, ["", "orders/"]),
        (["teams/{application}"], {"", "teams", "teams/orders"}, ["", "teams/orders/"]),
        (["{profile}"], {"", "dev", "prod"}, ["", "dev/", "prod/"]),
        (["conf*"], {"", "config", "conf-b", "other"}, ["", "conf-b/", "config/"]),
        (["**/shared"], {"", "a", "a/shared", "shared"}, ["", "a/shared/", "shared/"]),
        (["../outside", "/abs/../x"], {"", "abs"}, [""]),
        (["{label}"], {"", "main"}, [""]),
    ],
)
def test_search_locations(search_paths: list[str], dirs: set[str], expected: list[str]) -> None:
    """The root comes first; placeholders expand per app x profile; wildcards match existing dirs."""
    got = search_locations(
        search_paths, applications=["orders"], profiles=["dev", "prod"], label=None, dirs=dirs
    )
    assert got == expected


def test_label_placeholder_expands_to_the_label() -> None:
    """{label} in a search path is the requested label."""
    got = search_locations(["{label}"], applications=["a"], profiles=["p"], label="v1", dirs={"", "v1"})
    assert got == ["", "v1/"]


def test_resource_lookup_tries_profile_variants_first_in_each_location() -> None:
    """For resources the FIRST profile wins and default is skipped (reference §1.3)."""
    assert resource_candidates("nginx.conf", ["default", "dev", "prod"], ["", "sub/"]) == [
        "nginx-dev.conf",
        "nginx-prod.conf",
        "nginx.conf",
        "sub/nginx-dev.conf",
        "sub/nginx-prod.conf",
        "sub/nginx.conf",
    ]
    assert resource_candidates("dir/README", ["dev"], [""]) == ["dir/README-dev", "dir/README"]


def props(on_profile: tuple[str, ...] | None = None, **values: object) -> Document:
    """A document with literal (dotted) keys."""
    return Document({k: PropertyValue(v) for k, v in values.items()}, on_profile)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("requested", "documents", "expected"),
    [
        # nothing to widen
        (["dev"], [props(a=1)], ["dev"]),
        # included profiles come first, so the requested ones still win
        (["dev"], [props(**{"spring.profiles.include": "common, metrics"})], ["common", "metrics", "dev"]),
        (["dev"], [props(**{"spring.profiles.include[0]": "common"})], ["common", "dev"]),
        # includes from several files, highest first, each once
        (
            ["dev"],
            [props(**{"spring.profiles.include": "a"}), props(**{"spring.profiles.include": "b,a"})],
            ["a", "b", "dev"],
        ),
        # a group is followed by its members, recursively and once
        (
            ["prod"],
            [props(**{"spring.profiles.group.prod[0]": "proddb", "spring.profiles.group.prod[1]": "mq"})],
            ["prod", "proddb", "mq"],
        ),
        (
            ["prod"],
            [props(**{"spring.profiles.group.prod": "db", "spring.profiles.group.db": "pg,prod"})],
            ["prod", "db", "pg"],
        ),
        # the highest file's definition of a group wins
        (
            ["prod"],
            [props(**{"spring.profiles.group.prod": "x"}), props(**{"spring.profiles.group.prod": "y"})],
            ["prod", "x"],
        ),
        # default first: Boot ignores profile properties (IGNORE_PROFILES)
        (["default"], [props(**{"spring.profiles.include": "common"})], ["default"]),
        # documents activated by on-profile do not take part
        (["dev"], [props(("dev",), **{"spring.profiles.include": "common"})], ["dev"]),
        # spring.profiles.active in a file is overruled by the request
        (["dev"], [props(**{"spring.profiles.active": "prod"})], ["dev"]),
    ],
)
def test_include_and_groups_widen_the_profiles(
    requested: list[str], documents: list[Document], expected: list[str]
) -> None:
    """spring.profiles.include and spring.profiles.group.* as Boot applies them (reference §3.1)."""
    assert expand_profiles(requested, documents) == expected
