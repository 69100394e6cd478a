"""Specs for arbitrary input: every format either parses or raises InvalidConfiguration."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config_server.errors import InvalidConfiguration
from config_server.formats import EXTENSIONS, parse_document_file

# Characters that steer the parsers into their interesting corners.
_SYNTAX = st.text(alphabet=st.sampled_from(list("ab1 :-,[]{}&*!|>'\"#\\=\n\t?<.~%@`u0x")), max_size=80)


def _parses_or_refuses(path: str, data: bytes) -> None:
    try:
        documents = parse_document_file(path, data)
    except InvalidConfiguration as exc:
        assert exc.path == path
        assert exc.line is None or exc.line >= 1
    else:
        for document in documents:
            assert document.properties


@pytest.mark.parametrize("extension", EXTENSIONS)
@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=200))
def test_random_bytes(extension: str, data: bytes) -> None:
    """Random bytes give documents or InvalidConfiguration, never another exception."""
    _parses_or_refuses(f"fuzz.{extension}", data)


@pytest.mark.parametrize("extension", EXTENSIONS)
@settings(max_examples=150, deadline=None)
@given(text=_SYNTAX)
def test_random_syntax(extension: str, text: str) -> None:
    """Random strings of syntax characters give documents or InvalidConfiguration."""
    _parses_or_refuses(f"fuzz.{extension}", text.encode())
