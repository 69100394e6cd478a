"""Property: the server's .yml and .properties renderings agree with what the client builds.

The client's view of an Environment is ``config_client.merge.merge_sources`` over the property
sources it decodes from the wire (``AsyncConfigClient._build``, without local file and environment
overrides). Parsing the server's renderings of the same Environment back with the client's own
readers (``config_client.localfile``, Spring's flattening rules) must give exactly that view.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from config_client.keys import format_key, parse_key
from config_client.localfile import parse_properties, parse_yaml
from config_client.merge import merge_sources
from config_client.snapshot import Snapshot
from config_client.wire import Environment, PropertySource, Scalar
from hypothesis import example, given, settings
from hypothesis import strategies as st

from config_server.errors import InvalidConfiguration
from config_server.formats.render import java_string, render_properties, render_yaml

# Fragments that make every class of key the grammar distinguishes: indexes at the start, after a
# dot and after text, text right after an index, bracketed names, stray brackets, empty names.
_FRAGMENTS = st.sampled_from(
    ["a", "b", "ab", "2", "x y", "é", "名", ".", "..", "[0]", "[1]", "[12]", "[x]", "[", "]", "[1]a", "-"]
)
_ODD = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=3)
# format_key(parse_key(k)): the spelling a rendering reads back as, so keys are compared exactly
# (a[01] and a[0].[x] read back as a[1] and a[0][x]; test_render covers those two spellings).
_KEYS = st.lists(st.one_of(_FRAGMENTS, _FRAGMENTS, _ODD), min_size=1, max_size=5).map(
    lambda parts: format_key(parse_key("".join(parts)))
)
_SCALARS = st.one_of(
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(st.characters(exclude_categories=["Cs"]), max_size=8),
)
_SOURCES = st.lists(st.dictionaries(_KEYS, _SCALARS, max_size=6), max_size=3)


def client_view(environment: Environment) -> Snapshot:
    """What config_client builds from ``environment`` after receiving it over the wire."""
    received = Environment.from_json(json.loads(json.dumps(environment.to_json())))
    return Snapshot(merge_sources(received.property_sources), environment=received, origin="server")


def typed(values: Mapping[str, Scalar]) -> dict[str, tuple[type, Scalar]]:
    return {key: (type(value), value) for key, value in values.items()}


def element_conflict(keys: list[str]) -> bool:
    """Whether some list element is both a value and a structure, or both a list and a map."""
    paths = [parse_key(key) for key in keys]
    for first in paths:
        for second in paths:
            for depth in range(1, min(len(first), len(second)) + 1):
                if first[:depth] != second[:depth]:
                    break
                if not isinstance(first[depth - 1], int):
                    continue
                if len(first) == depth < len(second):
                    return True
                if min(len(first), len(second)) > depth and (
                    isinstance(first[depth], int) != isinstance(second[depth], int)
                ):
                    return True
    return False


def properties_safe(text: str) -> bool:
    """Whether ``text`` survives Spring's unescaped ``key: value`` lines unchanged."""
    return not any(ch in text for ch in "\\=: \t\f#!") and len(f"x{text}x".splitlines()) == 1


@settings(max_examples=120, deadline=None)
@given(_SOURCES)
@example([{"[0]": False, "[0][x]": False}])  # a compound key glues a bracketed name
@example([{"[0][x]": False, "[0]": False}])  # and so does a structure moved aside for a value
def test_yaml_and_properties_read_back_as_the_client_view(maps: list[dict[str, Scalar]]) -> None:
    """Random environments: both renderings, parsed back, equal the client's merged snapshot."""
    sources = tuple(PropertySource.of(f"source-{i}", values) for i, values in enumerate(maps))
    environment = Environment("app", ("default",), None, None, None, sources)
    view = client_view(environment)

    text = render_properties(sources, resolve=False)
    assert text == "\n".join(f"{key}: {java_string(value)}" for key, value in view.items())
    if all(properties_safe(key) and properties_safe(java_string(value)) for key, value in view.items()):
        assert parse_properties(text) == {key: java_string(value) for key, value in view.items()}

    try:
        rendered = render_yaml(sources, resolve=False, strip_document=False)
    except InvalidConfiguration as exc:
        assert "at list element" in str(exc)
        assert element_conflict(list(view))
        return
    read_back = parse_yaml(rendered)
    assert view.keys() <= read_back.keys()
    assert typed({key: read_back[key] for key in view}) == typed(view)
    extra = {key: value for key, value in read_back.items() if key not in view}
    # Only the nulls that fill list gaps may appear beyond the client's keys.
    assert all(value == "" and isinstance(parse_key(key)[-1], int) for key, value in extra.items())
