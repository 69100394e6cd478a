"""The pure core: key parsing, merging with the server's precedence, the nested view, env names."""

from __future__ import annotations

from typing import Any

import pytest
from config_client.envvars import apply_env_overrides
from config_client.keys import env_name, format_key, parse_key
from config_client.merge import merge_sources, unflatten
from config_client.wire import PropertySource, Scalar
from hypothesis import given
from hypothesis import strategies as st


def plain(view: Any) -> Any:
    if hasattr(view, "items"):
        return {k: plain(v) for k, v in view.items()}
    if isinstance(view, tuple):
        return [plain(v) for v in view]
    return view


@pytest.mark.parametrize(
    ("key", "tokens"),
    [
        ("a.b[0].c", ("a", "b", 0, "c")),
        ("b[hello]", ("b[hello]",)),
        ("a[0][1]", ("a", 0, 1)),
        ("[0]", (0,)),
        ("a[", ("a[",)),
        ("x[1234567890]", ("x[1234567890]",)),
    ],
)
def test_parse_key(key: str, tokens: tuple[object, ...]) -> None:
    """Keys split into names and indexes; a non-numeric bracket stays in the name."""
    assert parse_key(key) == tokens
    assert format_key(tokens) == key


@pytest.mark.parametrize(
    ("sources", "merged"),
    [
        # first source (highest precedence) wins, a key keeps its first-seen position
        ([{"A": "Z", "S": 3}, {"A": "Y", "S": 2, "Y": 0}], {"A": "Z", "S": 3, "Y": 0}),
        # Spring's arrayOverridenInYaml: the higher list replaces the lower one whole
        (
            [{"a.b[0]": "f", "a.b[1]": "h"}, {"a.b[0]": "c", "a.b[1]": "d", "a.b[2]": "z"}],
            {"a.b[0]": "f", "a.b[1]": "h"},
        ),
        # same value as the lower list in element 0 still replaces the group
        ([{"a[0]": 1}, {"a[0]": 1, "a[1]": 2}], {"a[0]": 1}),
        # bracketed map keys are groups too; indexed keys come after plain ones
        ([{"m[x]": 1}, {"m[y]": 2, "k": 0}], {"k": 0, "m[x]": 1}),
        # a lower list survives when no higher source touches it
        ([{"k": 1}, {"l[0]": "a", "l[1]": "b"}], {"k": 1, "l[0]": "a", "l[1]": "b"}),
        ([{"spring.profiles": "dev", "x": 1}], {"x": 1}),
        ([], {}),
    ],
)
def test_merge_sources(sources: list[dict[str, Scalar]], merged: dict[str, Scalar]) -> None:
    """merge_sources follows the server's rendering precedence."""
    result = merge_sources([PropertySource.of(f"s{i}", s) for i, s in enumerate(sources)])
    assert result == merged
    assert list(result) == list(merged)


@pytest.mark.parametrize(
    ("flat", "nested"),
    [
        ({"a.b.c": "d"}, {"a": {"b": {"c": "d"}}}),
        ({"b[0].c": "d", "b[1].c": "e"}, {"b": [{"c": "d"}, {"c": "e"}]}),
        ({"x[0]": 1, "x[2]": 3}, {"x": [1, None, 3]}),
        ({"b[hello]": "c"}, {"b[hello]": "c"}),
        (
            {"org.springframework": "WARN", "org.springframework.cloud": "ERROR"},
            {"org": {"springframework": "WARN", "springframework.cloud": "ERROR"}},
        ),
        (
            {"org.springframework.cloud": "ERROR", "org.springframework": "WARN"},
            {"org": {"springframework.cloud": "ERROR", "springframework": "WARN"}},
        ),
        ({"a.b": 1, "a[0]": 2}, {"a": {"b": 1}, "a[0]": 2}),
        ({"x[0]": 1, "x[99999]": 2}, {"x": [1], "x[99999]": 2}),
    ],
)
def test_unflatten(flat: dict[str, Scalar], nested: dict[str, Any]) -> None:
    """The nested view builds maps and lists, keeping conflicting keys whole rather than losing them."""
    assert plain(unflatten(flat)) == nested


@given(
    st.dictionaries(st.from_regex(r"[a-c](\.[a-c]|\[[0-3]\])*", fullmatch=True), st.integers(), max_size=12)
)
def test_unflatten_never_loses_a_value(flat: dict[str, int]) -> None:
    """Every flat value appears somewhere in the nested view, whatever the key shapes."""
    found: list[Any] = []

    def walk(node: Any) -> None:
        if hasattr(node, "values"):
            for v in node.values():
                walk(v)
        elif isinstance(node, tuple):
            for v in node:
                walk(v)
        elif node is not None:
            found.append(node)

    walk(unflatten(flat))
    assert sorted(found) == sorted(flat.values())


@pytest.mark.parametrize(
    ("key", "name"),
    [
        ("db.url", "DB_URL"),
        ("my.list[0]", "MY_LIST_0_"),
        ("my.service[0].other", "MY_SERVICE_0_OTHER"),
        ("server.max-threads", "SERVER_MAXTHREADS"),
        ("dbUrl", "DBURL"),
        ("a[0][1]", "A_0_1_"),
    ],
)
def test_env_name(key: str, name: str) -> None:
    """Spring Boot's environment variable name for a property key."""
    assert env_name(key) == name


def test_env_overrides_replace_only_known_keys_with_optional_prefix() -> None:
    """Only keys the configuration has are overridden, as strings, honouring the prefix."""
    values: dict[str, Scalar] = {"db.url": "x", "port": 1}
    environ = {"APP_DB_URL": "y", "PORT": "2", "APP_NEW_KEY": "z"}
    assert apply_env_overrides(values, environ, prefix="APP_") == {"db.url": "y", "port": 1}
    assert apply_env_overrides(values, environ) == {"db.url": "x", "port": "2"}
