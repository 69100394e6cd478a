"""Specification of the merged .properties / .yml / .json renderings (reference §4.3, §4.4, §3.5)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import pytest
import yaml
from config_client.wire import PropertySource, Scalar
from hypothesis import given, settings
from hypothesis import strategies as st

from config_server.errors import InvalidConfiguration
from config_server.formats.render import (
    MAX_NESTING,
    merge_for_rendering,
    render_json,
    render_properties,
    render_yaml,
)


def sources(*maps: Mapping[str, Scalar]) -> list[PropertySource]:
    """Property sources from plain maps, highest precedence first (as in an Environment)."""
    return [PropertySource.of(f"source-{i}", values) for i, values in enumerate(maps)]


def flatten(node: Any, path: str = "") -> dict[str, Any]:
    """Spring's YAML flattening (``a.b``, ``a[0]``), skipping the nulls that fill list gaps."""
    flat: dict[str, Any] = {}
    if isinstance(node, dict):
        for key, sub in node.items():
            flat |= flatten(sub, f"{path}.{key}" if path else str(key))
    elif isinstance(node, list):
        for index, sub in enumerate(node):
            flat |= flatten(sub, f"{path}[{index}]")
    elif node is not None:
        flat[path] = node
    return flat


# ---------------------------------------------------------------------------------------------
# Merging (§4.3 steps 1-4)


def test_merge_takes_the_highest_value_at_the_first_seen_position() -> None:
    """A non-indexed key keeps the position where the lowest source put it, with the highest value."""
    merged = merge_for_rendering(sources({"A": "Z", "S": 3, "new": 1}, {"A": "Y", "S": 2, "Y": 0}))
    assert list(merged.items()) == [("A", "Z"), ("S", 3), ("Y", 0), ("new", 1)]


def test_merge_replaces_an_indexed_group_wholesale() -> None:
    """A higher source defining any key of an array replaces the lower array; no element-wise merge."""
    merged = merge_for_rendering(
        sources({"a.b[0]": "f", "a.b[1]": "h"}, {"a.b[0]": "c", "a.b[1]": "d", "a.b[2]": "z"})
    )
    assert merged == {"a.b[0]": "f", "a.b[1]": "h"}


def test_merge_groups_by_the_text_before_the_first_bracket() -> None:
    """Bracketed map keys share their prefix's group, so ``a.b[hello]`` is replaced with ``a.b[0]``."""
    merged = merge_for_rendering(
        sources({"a.b[0]": "new", "a.bc[0]": "kept?"}, {"a.b[hello]": "old", "a.bc[1]": "low"})
    )
    assert merged == {"a.b[0]": "new", "a.bc[0]": "kept?"}


def test_merge_keeps_lower_groups_that_higher_sources_do_not_touch() -> None:
    """Arrays only present in a lower source survive, alongside the higher source's arrays."""
    merged = merge_for_rendering(sources({"x[0]": 1}, {"y[0]": 2, "y[1]": 3}))
    assert merged == {"y[0]": 2, "y[1]": 3, "x[0]": 1}


def test_merge_puts_indexed_keys_after_non_indexed_ones() -> None:
    """All indexed keys follow the non-indexed keys, whatever the source order."""
    merged = merge_for_rendering(sources({"list[0]": "a", "z": 1, "list[1]": "b", "b": 2}))
    assert list(merged) == ["z", "b", "list[0]", "list[1]"]


def test_merge_removes_spring_profiles() -> None:
    """The legacy ``spring.profiles`` key is never rendered."""
    merged = merge_for_rendering(sources({"spring.profiles": "dev", "spring.application.name": "x"}))
    assert merged == {"spring.application.name": "x"}


def test_overrides_source_wins_everywhere() -> None:
    """The ``overrides`` source (first, §3.5) beats every file in all three renderings."""
    env = [PropertySource.of("overrides", {"foo": "forced"}), *sources({"foo": "file", "bar": "b"})]
    assert render_properties(env) == "foo: forced\nbar: b"
    assert render_yaml(env) == "foo: forced\nbar: b\n"
    assert render_json(env) == '{"foo":"forced","bar":"b"}'


def test_merge_of_nothing_is_empty() -> None:
    """No sources (or only empty ones) merge to an empty map."""
    assert merge_for_rendering([]) == {}
    assert merge_for_rendering(sources({}, {})) == {}


# ---------------------------------------------------------------------------------------------
# .yml: every row of the reference table and the other EnvironmentControllerTests strings


@pytest.mark.parametrize(
    ("maps", "expected"),
    [
        pytest.param([{"a.b.c": "d"}], "a:\n  b:\n    c: d\n", id="vanilla"),
        pytest.param([{"a.b.c": "e"}, {"a.b.c": "d"}], "a:\n  b:\n    c: e\n", id="override"),
        pytest.param(
            [{"A": "Z", "S": 3}, {"A": "Y", "S": 2, "Y": 0}], "A: Z\nS: 3\nY: 0\n", id="override-multiple"
        ),
        pytest.param([{"a.b[0]": "c", "a.b[1]": "d"}], "a:\n  b:\n  - c\n  - d\n", id="array"),
        pytest.param(
            [{"a.b[0]": "f", "a.b[1]": "h"}, {"a.b[0]": "c", "a.b[1]": "d", "a.b[2]": "z"}],
            "a:\n  b:\n  - f\n  - h\n",
            id="arrayOverridenInYaml",
        ),
        pytest.param([{"b[0].c": "d", "b[1].c": "d"}], "b:\n- c: d\n- c: d\n", id="array-of-maps-top"),
        pytest.param(
            [{"x.a.b[0].c": "d", "x.a.b[1].c": "d"}],
            "x:\n  a:\n    b:\n    - c: d\n    - c: d\n",
            id="array-of-maps-nested",
        ),
        pytest.param(
            [{"a.b[0].c": "d", "a.b[0].d": "e", "a.b[1].c": "d"}],
            "a:\n  b:\n  - c: d\n    d: e\n  - c: d\n",
            id="array-of-object",
        ),
        pytest.param([{"document": "blah"}], "blah\n", id="text-at-top-level"),
        pytest.param([{"document[0]": "c", "document[1]": "d"}], "- c\n- d\n", id="array-at-top-level"),
        pytest.param(
            [{"document[0].a": "c", "document[1].a": "d"}], "- a: c\n- a: d\n", id="maps-at-top-level"
        ),
        pytest.param([], "{}\n", id="empty-environment"),
        pytest.param([{}], "{}\n", id="empty-source"),
        pytest.param(
            [{"org.springframework": "WARN", "org.springframework.cloud": "ERROR"}],
            "org:\n  springframework: WARN\n  springframework.cloud: ERROR\n",
            id="compound-key",
        ),
        pytest.param(
            [{"a.test": "e", "a.b[hello]": "c", "a.b[world]": "d", "a.b[world]d": "f"}],
            "a:\n  test: e\n  b[hello]: c\n  b[world]: d\n  b[world]d: f\n",
            id="brackets-in-keys",
        ),
    ],
)
def test_yaml_table(maps: list[dict[str, Scalar]], expected: str) -> None:
    """Each row: the exact YAML Spring's EnvironmentController renders for these sources."""
    assert render_yaml(sources(*maps), resolve=False) == expected


def test_yaml_placeholder_with_default_not_resolved_when_asked() -> None:
    """With resolve=False the placeholder text is kept verbatim."""
    env = sources({"a.b.c": "${foo:spam}"})
    assert render_yaml(env, resolve=False) == "a:\n  b:\n    c: ${foo:spam}\n"


def test_yaml_placeholder_default_used_when_key_undefined(monkeypatch: pytest.MonkeyPatch) -> None:
    """With resolve=True an undefined key takes its default, even if the OS environment defines it."""
    monkeypatch.setenv("foo", "from-os")
    assert render_yaml(sources({"a.b.c": "${foo:spam}"})) == "a:\n  b:\n    c: spam\n"


def test_yaml_placeholders_resolved_from_the_environment() -> None:
    """``${foo}`` resolves against the environment's own sources (placeholdersResolvedInYaml)."""
    env = sources({"a.b.c": "${foo}"}, {"foo": "bar"})
    assert yaml.safe_load(render_yaml(env)) == {"foo": "bar", "a": {"b": {"c": "bar"}}}
    assert yaml.safe_load(render_yaml(env, resolve=False))["a"]["b"]["c"] == "${foo}"


def test_yaml_placeholders_never_resolved_from_os_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """``${foo}`` and ``${HOME}`` stay as-is when only the OS environment defines them."""
    monkeypatch.setenv("foo", "bar")
    monkeypatch.setenv("HOME", "/root")
    assert (
        render_yaml(sources({"a.b.c": "${foo}", "h": "${HOME}"})) == "a:\n  b:\n    c: ${foo}\nh: ${HOME}\n"
    )


def test_yaml_nested_arrays_of_objects() -> None:
    """Nested lists, lists of maps and gaps build the structure of nestedArraysOfObjectInYaml."""
    env = sources(
        {
            "a.b[0].c": "x",
            "a.b[2].e[0].d": "z",
            "a.b[0].d[2]": "yy",
            "a.b[0].d[0]": "xx",
            "a.b[2].c": "y",
            "a.b[3][0]": "r",
            "a.b[3][1]": "s",
        }
    )
    assert yaml.safe_load(render_yaml(env)) == {
        "a": {"b": [{"c": "x", "d": ["xx", None, "yy"]}, None, {"e": [{"d": "z"}], "c": "y"}, ["r", "s"]]}
    }


def test_yaml_gaps_are_null() -> None:
    """Missing list elements are written as ``null``."""
    assert render_yaml(sources({"a[2]": "x"})) == "a:\n- null\n- null\n- x\n"


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (("org.springframework", "WARN"), ("org.springframework.cloud", "ERROR")),
        (("org.springframework.cloud", "ERROR"), ("org.springframework", "WARN")),
    ],
)
def test_compound_keys_do_not_depend_on_order(first: tuple[str, str], second: tuple[str, str]) -> None:
    """A key that is both a value and a prefix renders the same whichever comes first; nothing is lost."""
    assert render_yaml(sources(dict([first, second]))) == (
        "org:\n  springframework: WARN\n  springframework.cloud: ERROR\n"
    )


def test_compound_keys_chain() -> None:
    """``a``, ``a.b`` and ``a.b.c`` all set: each longer key stays whole beside the shorter."""
    env = sources({"a": 1, "a.b": 2, "a.b.c": 3, "a.b.d.e": 4})
    assert yaml.safe_load(render_yaml(env)) == {"a": 1, "a.b": 2, "a.b.c": 3, "a.b.d": {"e": 4}}


def test_value_then_list_under_the_same_key() -> None:
    """A lower file's ``a: 1`` and a higher file's ``a: [x]`` both survive, the list as ``a[0]``."""
    env = sources({"a[0]": "x", "a[1]": "y"}, {"a": 1})
    assert render_yaml(env) == "a: 1\na[0]: x\na[1]: y\n"
    assert render_json(env) == '{"a":1,"a[0]":"x","a[1]":"y"}'


def test_map_then_list_under_the_same_key() -> None:
    """A map and a list under one key: the list elements become compound keys beside the map."""
    env = sources({"a[0]": "x"}, {"a.b": 1})
    assert yaml.safe_load(render_yaml(env)) == {"a": {"b": 1}, "a[0]": "x"}


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"a[0]": "x", "a[0].b": "y"}, "needs a map at list element"),
        ({"a[0].b": "y", "a[0]": "x"}, "needs a value at list element"),
        ({"a[0][0]": "y", "a[0].b": "x"}, "needs a map at list element"),
    ],
)
def test_conflicting_list_elements_are_rejected(values: dict[str, str], message: str) -> None:
    """A list element that is both a value and a structure raises InvalidConfiguration naming the source."""
    env = [PropertySource.of("repo/app.properties", values)]
    with pytest.raises(InvalidConfiguration, match=message) as caught:
        render_yaml(env)
    assert caught.value.path == "repo/app.properties"
    with pytest.raises(InvalidConfiguration, match=message):
        render_json(env)


def test_huge_list_index_is_rejected() -> None:
    """An index that would allocate millions of empty elements raises instead of exhausting memory."""
    env = [PropertySource.of("evil.properties", {"a[999999999]": "x"})]
    with pytest.raises(InvalidConfiguration, match="too many empty elements") as caught:
        render_yaml(env)
    assert caught.value.path == "evil.properties"


def test_many_sparse_lists_share_one_gap_budget() -> None:
    """Many keys each with a large gap are bounded in total, not per list."""
    env = sources({f"k{i}[5000]": "x" for i in range(20)})
    with pytest.raises(InvalidConfiguration, match="too many empty elements"):
        render_json(env)


def test_moderate_gaps_are_fine() -> None:
    """A sparse but reasonable index still renders with nulls in the gap."""
    assert json.loads(render_json(sources({"a[99]": "x"})))["a"] == [None] * 99 + ["x"]


def test_deep_nesting_renders() -> None:
    """A key nesting MAX_NESTING levels renders to a structure that reads back identically."""
    key = ".".join(f"k{i}" for i in range(MAX_NESTING))
    env = sources({key: "deep"})
    assert flatten(yaml.safe_load(render_yaml(env))) == {key: "deep"}
    assert flatten(json.loads(render_json(env))) == {key: "deep"}


def test_too_deep_nesting_is_rejected() -> None:
    """A key nesting thousands of levels raises InvalidConfiguration, not RecursionError."""
    env = [PropertySource.of("deep.yml", {"a" + ".a" * 5000: "x"})]
    with pytest.raises(InvalidConfiguration, match="nests deeper than"):
        render_yaml(env)
    with pytest.raises(InvalidConfiguration, match="nests deeper than"):
        render_json(env)


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("[1].topic", {"[1]": {"topic": "v"}}),
        ("service.configuration[1].topic", {"service": {"configuration": [None, {"topic": "v"}]}}),
        ("a[0][x]", {"a": [{"[x]": "v"}]}),
        ("a[x.y].z", {"a[x.y]": {"z": "v"}}),
        ("a[1", {"a[1": "v"}),
        ("a[]", {"a[]": "v"}),
        ("a[-1]", {"a[-1]": "v"}),
        ("a..b", {"a": {"": {"b": "v"}}}),
        ("a.", {"a": {"": "v"}}),
        ("", {"": "v"}),
        ("a[0]b", {"a[0]b": "v"}),
        ("2[1]a", {"2[1]a": "v"}),
        ("a.[0]", {"a": {"": ["v"]}}),
        ("[0][1]", {"[0]": [None, "v"]}),
        ("x[1234567890]", {"x[1234567890]": "v"}),
        (".a", {".a": "v"}),
        ("a.[x]", {"a.[x]": "v"}),
    ],
)
def test_unusual_keys_render_without_loss(key: str, expected: dict[str, Any]) -> None:
    """Leading brackets, non-numeric brackets and empty segments are kept rather than rejected."""
    assert yaml.safe_load(render_yaml(sources({key: "v"}))) == expected
    assert json.loads(render_json(sources({key: "v"}))) == expected


def test_two_spellings_of_one_list_element_are_both_kept() -> None:
    """``a[01]`` is element 1 like ``a[1]``; the later of the two stays whole instead of overwriting."""
    env = sources({"a[1]": "x", "a[01]": "y"})
    assert yaml.safe_load(render_yaml(env)) == {"a": [None, "x"], "a[01]": "y"}
    assert json.loads(render_json(sources({"a[01]": "y"}))) == {"a": [None, "y"]}


@pytest.mark.parametrize(
    "text", ["true", "False", "yes", "on", "1", "0x1f", "1e3", "", "null", "~", "- x", "2024-01-01"]
)
def test_yaml_quotes_strings_that_look_like_other_types(text: str) -> None:
    """A string YAML would read as a bool, number, null or date is quoted, as a value and as a key."""
    rendered = render_yaml(sources({"k": text, f"m.{text}": "v"}))
    assert yaml.safe_load(rendered) == {"k": text, "m": {text: "v"}}


def test_yaml_writes_typed_values_natively() -> None:
    """Booleans, integers and floats are written as YAML natives, not strings."""
    assert (
        render_yaml(sources({"b": True, "i": 8080, "f": 1.5, "n": -3})) == "b: true\ni: 8080\nf: 1.5\nn: -3\n"
    )


def test_yaml_unicode_is_not_escaped() -> None:
    """Non-ASCII text is written as-is (UTF-8), in keys and values."""
    assert render_yaml(sources({"grüße.名前": "héllo ✓ 😀"})) == "grüße:\n  名前: héllo ✓ 😀\n"


def test_yaml_multiline_values_are_literal_blocks() -> None:
    """Multi-line strings use a literal block and read back unchanged."""
    rendered = render_yaml(sources({"cert": "line1\nline2\n", "x": "a\nb"}))
    assert rendered == "cert: |\n  line1\n  line2\nx: |-\n  a\n  b\n"
    assert yaml.safe_load(rendered) == {"cert": "line1\nline2\n", "x": "a\nb"}


def test_yaml_resolves_placeholders_per_value() -> None:
    """Each string value is resolved on its own; multi-line and type-like results stay strings."""
    env = sources({"cert": "${pem}", "port": "${p}", "ref": "${gone:fallback}"}, {"pem": "l1\nl2", "p": 8080})
    assert yaml.safe_load(render_yaml(env)) == {
        "cert": "l1\nl2",
        "port": "8080",
        "ref": "fallback",
        "pem": "l1\nl2",
        "p": 8080,
    }


def test_expansion_budget_is_shared_by_all_values() -> None:
    """A large value referenced from thousands of keys is bounded per rendering, not per value."""
    big = "x" * 100_000
    env = [PropertySource.of("evil.yml", {f"k{i}": "${big}" for i in range(200)} | {"big": big})]
    with pytest.raises(InvalidConfiguration, match="adds more than"):
        render_yaml(env)
    with pytest.raises(InvalidConfiguration, match="adds more than"):
        render_json(env)
    assert render_yaml(env, resolve=False).count("${big}") == 200


def test_placeholders_see_raw_sources_not_the_merged_view() -> None:
    """Lookups use every source in precedence order, even array elements the merge replaced."""
    env = sources({"list[0]": "new", "x": "${list[1]}"}, {"list[0]": "old0", "list[1]": "old1"})
    assert json.loads(render_json(env)) == {"x": "old1", "list": ["new"]}


@pytest.mark.parametrize(
    ("document", "expected"),
    [("blah", "blah\n"), (42, "42\n"), (True, "true\n"), ("true", "'true'\n"), ("a\nb", "|-\n  a\n  b\n")],
)
def test_yaml_document_scalars(document: Scalar, expected: str) -> None:
    """A lone ``document`` scalar is written bare, without PyYAML's ``...`` end marker."""
    rendered = render_yaml(sources({"document": document}))
    assert rendered == expected
    assert yaml.safe_load(rendered) == document


def test_yaml_document_kept_when_stripping_is_off() -> None:
    """strip_document=False keeps the ``document`` key (strip-document-from-yaml=false)."""
    assert render_yaml(sources({"document": "blah"}), strip_document=False) == "document: blah\n"


def test_yaml_document_not_stripped_beside_other_keys() -> None:
    """``document`` is only unwrapped when it is the only top-level key."""
    assert render_yaml(sources({"document": "blah", "other": 1})) == "document: blah\nother: 1\n"


# ---------------------------------------------------------------------------------------------
# .properties


def test_properties_lines_without_trailing_newline() -> None:
    """``key: value`` lines joined by newlines, no trailing newline, values via Java toString."""
    env = sources({"a": "x", "b": True, "c": 1.0, "d": 1e10, "e": 3, "f": "${missing}"})
    assert render_properties(env) == "a: x\nb: true\nc: 1.0\nd: 1.0E10\ne: 3\nf: ${missing}"


def test_properties_empty_environment_is_empty_text() -> None:
    """No properties render as the empty string."""
    assert render_properties([]) == ""


def test_properties_placeholders_resolved() -> None:
    """placeholdersResolvedInProperties: ``a.b.c: bar`` when another source defines foo."""
    env = sources({"a.b.c": "${foo}"}, {"foo": "bar"})
    assert render_properties(env) == "foo: bar\na.b.c: bar"
    assert render_properties(env, resolve=False) == "foo: bar\na.b.c: ${foo}"


def test_properties_not_resolved_from_os_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """placeholdersNotResolvedInPropertiesFromSystemProperties: exactly ``a.b.c: ${foo}``."""
    monkeypatch.setenv("foo", "bar")
    env = sources({"a.b.c": "${foo}"})
    assert render_properties(env) == "a.b.c: ${foo}"
    assert render_properties(env, resolve=False) == "a.b.c: ${foo}"


@pytest.mark.parametrize(("resolve", "expected"), [(False, "a.b.c: ${foo:spam}"), (True, "a.b.c: spam")])
def test_properties_placeholder_default(resolve: bool, expected: str) -> None:
    """A default is used only when resolving."""
    assert render_properties(sources({"a.b.c": "${foo:spam}"}), resolve=resolve) == expected


def test_properties_escaped_placeholder_is_literal() -> None:
    """``\\${foo}`` in a value renders as a literal ``${foo}``."""
    assert render_properties(sources({"a": "\\${foo}", "foo": "bar"})) == "a: ${foo}\nfoo: bar"


def test_properties_are_not_escaped() -> None:
    """Values are written raw: no escaping of ``:``, ``=``, ``#`` or non-ASCII."""
    assert (
        render_properties(sources({"url": "http://h:1/?a=b#c", "ü": "✓"})) == "url: http://h:1/?a=b#c\nü: ✓"
    )


# ---------------------------------------------------------------------------------------------
# .json


def test_json_nested_arrays_of_objects() -> None:
    """nestedArraysOfObjectInJson: the exact compact string."""
    env = sources(
        {"a.b[0].c": "x", "a.b[0].d[0]": "xx", "a.b[0].d[1]": "yy", "a.b[1].c": "y", "a.b[1].e[0].d": "z"}
    )
    assert (
        render_json(env, resolve=False) == '{"a":{"b":[{"c":"x","d":["xx","yy"]},{"c":"y","e":[{"d":"z"}]}]}}'
    )


def test_json_empty_environment() -> None:
    """An empty environment renders as ``{}``."""
    assert render_json([]) == "{}"


def test_json_placeholders_resolved() -> None:
    """placeholdersResolvedInJson: ``{"a":{"b":{"c":"bar"}},"foo":"bar"}`` (key order not significant)."""
    env = sources({"a.b.c": "${foo}"}, {"foo": "bar"})
    assert json.loads(render_json(env)) == {"a": {"b": {"c": "bar"}}, "foo": "bar"}
    assert json.loads(render_json(env, resolve=False)) == {"a": {"b": {"c": "${foo}"}}, "foo": "bar"}


def test_json_not_resolved_from_os_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """placeholdersNotResolvedInJsonFromSystemProperties: exactly ``{"a":{"b":{"c":"${foo}"}}}``."""
    monkeypatch.setenv("foo", "bar")
    assert render_json(sources({"a.b.c": "${foo}"})) == '{"a":{"b":{"c":"${foo}"}}}'


@pytest.mark.parametrize(
    ("resolve", "expected"),
    [(False, '{"a":{"b":{"c":"${foo:spam}"}}}'), (True, '{"a":{"b":{"c":"spam"}}}')],
)
def test_json_placeholder_default(resolve: bool, expected: str) -> None:
    """A default is used only when resolving."""
    assert render_json(sources({"a.b.c": "${foo:spam}"}), resolve=resolve) == expected


def test_json_multiline_values_are_escaped() -> None:
    """Newlines inside values are written as ``\\n`` escapes."""
    assert render_json(sources({"a": "l1\nl2"})) == '{"a":"l1\\nl2"}'


def test_json_is_utf8_not_ascii_escaped() -> None:
    """Non-ASCII text stays as-is rather than ``\\u`` escapes."""
    assert render_json(sources({"名前": "héllo ✓"})) == '{"名前":"héllo ✓"}'


def test_json_lone_surrogates_stay_encodable() -> None:
    """A lone surrogate (from a ``\\uD800`` properties escape) is kept as a JSON escape."""
    rendered = render_json(sources({"a": "x\ud800y"}))
    assert rendered == '{"a":"x\\ud800y"}'
    rendered.encode("utf-8")


def test_json_types_and_non_finite_floats() -> None:
    """Typed values stay typed; NaN and infinities become the strings Jackson writes."""
    env = sources({"b": False, "i": 1, "f": 0.5, "nan": math.nan, "inf": -math.inf})
    assert render_json(env) == '{"b":false,"i":1,"f":0.5,"nan":"NaN","inf":"-Infinity"}'


# ---------------------------------------------------------------------------------------------
# Round trip: what the renderings write reads back as the merged map


_NAMES = st.one_of(
    st.sampled_from(["a", "b", "true", "1", "null", "~", "yes", "x y", "k:v", "#c", "é", "名", " s"]),
    st.text(st.characters(exclude_categories=["Cs"], exclude_characters=".[]"), min_size=1, max_size=8),
).filter(lambda name: name not in ("document", "spring"))
_SCALARS = st.one_of(
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(st.characters(exclude_categories=["Cs"]), max_size=20),
)
_NESTED = st.recursive(
    _SCALARS,
    lambda children: (
        st.lists(children, min_size=1, max_size=3) | st.dictionaries(_NAMES, children, min_size=1, max_size=3)
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(_NAMES, _NESTED, max_size=4))
def test_yaml_and_json_read_back_as_the_merged_map(structure: dict[str, Any]) -> None:
    """Any flat map derived from a nested structure reads back from .yml and .json as itself."""
    merged = merge_for_rendering(sources(flatten(structure)))
    typed = {key: (type(value), value) for key, value in merged.items()}
    from_yaml = flatten(yaml.safe_load(render_yaml(sources(merged), resolve=False)))
    from_json = flatten(json.loads(render_json(sources(merged), resolve=False)))
    assert {key: (type(value), value) for key, value in from_yaml.items()} == typed
    assert {key: (type(value), value) for key, value in from_json.items()} == typed
