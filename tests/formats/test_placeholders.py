"""Specification of ``${}`` placeholder resolution and Java ``toString`` rendering (reference §4.4)."""

from __future__ import annotations

import pytest
from config_client.wire import PropertySource

from config_server.errors import InvalidConfiguration
from config_server.formats.placeholders import (
    MAX_DEPTH,
    PlaceholderResolver,
    java_string,
    lookup_from_sources,
    resolve_placeholders,
)

VALUES = {
    "foo": "bar",
    "empty": "",
    "colon": "1:2",
    "chained": "${foo}-${colon}",
    "name": "foo",
    "a": "${b}",
    "b": "${a}",
    "self": "${self}",
    "uses.cycle": "x${a}x",
    "escaped": "\\${foo}",
}


def resolve(text: str) -> str:
    return resolve_placeholders(text, VALUES.get)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain text", "plain text"),
        ("${foo}", "bar"),
        ("a=${foo}, b=${foo}", "a=bar, b=bar"),
        ("${ foo }", "bar"),
        ("${empty}", ""),
        ("${missing}", "${missing}"),
        ("x ${missing} ${foo}", "x ${missing} bar"),
        ("${missing:spam}", "spam"),
        ("${missing:}", ""),
        ("${foo:spam}", "bar"),
        ("${missing:http://host:8080/x}", "http://host:8080/x"),
        ("${missing:${foo}}", "bar"),
        ("${missing:${other:deep}}", "deep"),
        ("${missing:${other}}", "${other}"),
        ("${${name}}", "bar"),
        ("${${name}:d}", "bar"),
        ("${chained}", "bar-1:2"),
        ("${colon}", "1:2"),
        ("${escaped}", "${foo}"),
        ("\\${foo}", "${foo}"),
        ("\\\\${foo}", "${foo}"),
        ("${missing:\\${foo}}", "${foo}"),
        ("${unterminated", "${unterminated"),
        ("${unterminated ${foo}", "${unterminated bar"),
        ("${}", "${}"),
        ("$foo {foo} $ {foo}", "$foo {foo} $ {foo}"),
        ("${x{y}z:d}", "d"),
        ("multi\nline ${foo}\n", "multi\nline bar\n"),
        ("ünïcödé ${foo} ✓", "ünïcödé bar ✓"),
    ],
)
def test_resolution_table(text: str, expected: str) -> None:
    """Each row: Spring's non-strict resolution of the text against a fixed set of values."""
    assert resolve(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${a}", "${a}"),
        ("${b}", "${b}"),
        ("${a} and ${b}", "${a} and ${b}"),
        ("${b} and ${a}", "${b} and ${a}"),
        ("${self}", "${self}"),
        ("${a:default}", "${a:default}"),
        ("${uses.cycle}", "x${a}x"),
    ],
)
def test_cycles_are_left_unresolved(text: str, expected: str) -> None:
    """A circular reference terminates and every key on the cycle renders as written, in any order."""
    assert resolve(text) == expected


def test_os_environment_is_never_consulted(monkeypatch: pytest.MonkeyPatch) -> None:
    """``${HOME}`` stays as-is: values come only from the lookup, never from os.environ."""
    monkeypatch.setenv("HOME", "/root")
    monkeypatch.setenv("RENDER_TEST_VAR", "leak")
    assert resolve("${HOME} ${RENDER_TEST_VAR}") == "${HOME} ${RENDER_TEST_VAR}"


def test_each_key_is_looked_up_once() -> None:
    """Resolution caches keys, so a value referenced many times costs one lookup."""
    calls: list[str] = []

    def lookup(key: str) -> str | None:
        calls.append(key)
        return {"x": "${y}", "y": "v"}.get(key)

    assert resolve_placeholders("${x}" * 50 + "${nope}" * 3, lookup) == "v" * 50 + "${nope}" * 3
    assert sorted(calls) == ["nope", "x", "y"]


def test_shared_subexpressions_do_not_blow_up_work() -> None:
    """A chain where every level references the previous one twice resolves in linear time."""
    values = {"k0": ""} | {f"k{i}": f"${{k{i - 1}}}${{k{i - 1}}}" for i in range(1, 60)}
    assert resolve_placeholders("[${k59}]", values.get) == "[]"


def test_exponential_expansion_is_rejected() -> None:
    """A billion-laughs style value raises InvalidConfiguration instead of exhausting memory."""
    values = {"k0": "lol"} | {f"k{i}": f"${{k{i - 1}}}${{k{i - 1}}}" for i in range(1, 40)}
    with pytest.raises(InvalidConfiguration, match="adds more than"):
        resolve_placeholders("${k39}", values.get)


def test_resolver_shares_its_cache_across_texts() -> None:
    """One PlaceholderResolver looks each key up once across all the texts it resolves."""
    calls: list[str] = []

    def lookup(key: str) -> str | None:
        calls.append(key)
        return {"x": "${y}", "y": "v"}.get(key)

    resolver = PlaceholderResolver(lookup)
    assert [resolver.resolve(text) for text in ("${x}", "<${x}>", "${y}", "${z}", "${z}")] == [
        "v",
        "<v>",
        "v",
        "${z}",
        "${z}",
    ]
    assert sorted(calls) == ["x", "y", "z"]


def test_resolver_bounds_growth_over_all_texts() -> None:
    """Growth is budgeted across texts: many modest expansions together hit the limit."""
    resolver = PlaceholderResolver({"big": "x" * 1000}.get, max_expansion=5000)
    for _ in range(5):
        assert resolver.resolve("${big}") == "x" * 1000
    with pytest.raises(InvalidConfiguration, match="adds more than 5000 characters"):
        resolver.resolve("${big}")


def test_resolver_does_not_charge_shrinking_texts() -> None:
    """Resolving a placeholder to something shorter leaves the budget untouched."""
    resolver = PlaceholderResolver({"small": "s"}.get, max_expansion=10)
    for _ in range(100):
        assert resolver.resolve("${small}") == "s"


def test_deep_chains_are_rejected_not_a_recursion_error() -> None:
    """A reference chain deeper than MAX_DEPTH raises InvalidConfiguration, not RecursionError."""
    values = {f"k{i}": f"${{k{i + 1}}}" for i in range(5000)}
    with pytest.raises(InvalidConfiguration, match="nest deeper than"):
        resolve_placeholders("${k0}", values.get)


def test_deeply_nested_text_is_rejected_not_a_recursion_error() -> None:
    """Placeholders nested thousands deep in the text itself raise InvalidConfiguration."""
    with pytest.raises(InvalidConfiguration, match="nest deeper than"):
        resolve_placeholders("${" * 5000 + "x" + "}" * 5000, VALUES.get)


def test_chains_within_the_depth_limit_resolve() -> None:
    """A chain just inside MAX_DEPTH still resolves fully."""
    depth = MAX_DEPTH - 1
    values = {f"k{i}": f"${{k{i + 1}}}" for i in range(depth)} | {f"k{depth}": "end"}
    assert resolve_placeholders("${k0}", values.get) == "end"


def test_many_unterminated_placeholders_stay_fast() -> None:
    """Hostile text with many unmatched ``${`` is processed linearly and left as-is."""
    text = "${" * 200_000
    assert resolve_placeholders(text, VALUES.get) == text


def test_lookup_from_sources_prefers_the_first_source() -> None:
    """The highest-precedence (first) source that has the key supplies its value."""
    lookup = lookup_from_sources(
        [PropertySource.of("high", {"a": "high"}), PropertySource.of("low", {"a": "low", "b": "low-b"})]
    )
    assert (lookup("a"), lookup("b"), lookup("c")) == ("high", "low-b", None)


def test_lookup_from_sources_finds_empty_values() -> None:
    """An empty value is a value: it shadows lower sources and resolves to ``""``."""
    lookup = lookup_from_sources([PropertySource.of("high", {"a": ""}), PropertySource.of("low", {"a": "x"})])
    assert resolve_placeholders("[${a:default}]", lookup) == "[]"


@pytest.mark.parametrize(
    ("value", "expected"),
    [(True, "true"), (False, "false"), (0, "0"), (-42, "-42"), (2**64, "18446744073709551616")],
)
def test_lookup_renders_values_as_java_tostring(value: bool | int, expected: str) -> None:
    """Typed YAML values are substituted the way Java prints them."""
    lookup = lookup_from_sources([PropertySource.of("s", {"v": value})])
    assert resolve_placeholders("${v}", lookup) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, "true"),
        (False, "false"),
        (7, "7"),
        ("text", "text"),
        (1.0, "1.0"),
        (-2.5, "-2.5"),
        (0.0, "0.0"),
        (-0.0, "-0.0"),
        (100.0, "100.0"),
        (123.456, "123.456"),
        (0.001, "0.001"),
        (0.0001, "1.0E-4"),
        (1e-5, "1.0E-5"),
        (2.5e-7, "2.5E-7"),
        (9999999.0, "9999999.0"),
        (1e7, "1.0E7"),
        (1e10, "1.0E10"),
        (1.5e300, "1.5E300"),
        (0.1 + 0.2, "0.30000000000000004"),
        (float("nan"), "NaN"),
        (float("inf"), "Infinity"),
        (float("-inf"), "-Infinity"),
    ],
)
def test_java_string(value: bool | int | float | str, expected: str) -> None:
    """Each row: the text Java's toString (Double.toString for floats) gives for the value."""
    assert java_string(value) == expected
