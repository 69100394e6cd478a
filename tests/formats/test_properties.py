"""Specs for reading .properties files the way Spring Boot's OriginTrackedPropertiesLoader does."""

from __future__ import annotations

import pytest
from config_client.wire import PropertyValue

from config_server.errors import InvalidConfiguration
from config_server.formats import Document, parse_document_file


def _parse(text: str | bytes) -> list[Document]:
    data = text.encode("iso-8859-1") if isinstance(text, str) else text
    return parse_document_file("repo/app.properties", data)


def _one(text: str | bytes) -> dict[str, PropertyValue]:
    documents = _parse(text)
    assert len(documents) == 1
    return dict(documents[0].properties)


def _values(text: str | bytes) -> dict[str, str | int | float | bool]:
    return {k: v.value for k, v in _one(text).items()}


def _error(text: str | bytes) -> InvalidConfiguration:
    with pytest.raises(InvalidConfiguration) as info:
        _parse(text)
    assert info.value.path == "repo/app.properties"
    return info.value


@pytest.mark.parametrize(
    ("line", "key", "value"),
    [
        ("a=b", "a", "b"),
        ("a:b", "a", "b"),
        ("a b", "a", "b"),
        ("a\tb", "a", "b"),
        ("a   =   hello world", "a", "hello world"),
        ("a = b = c", "a", "b = c"),
        ("a : b", "a", "b"),
        ("a  :  :b", "a", ":b"),
        ("a   b=c", "a", "b=c"),
        ("   indented=yes", "indented", "yes"),
        ("a=trailing  ", "a", "trailing  "),
        ("a=", "a", ""),
        ("a", "a", ""),
        ("a=1", "a", "1"),
        ("a=true", "a", "true"),
        (r"a\=b=c", "a=b", "c"),
        (r"a\:b:c", "a:b", "c"),
        (r"a\ b c", "a b", "c"),
        (r"a=x\=y", "a", "x=y"),
        (r"a=tab\there", "a", "tab\there"),
        (r"a=cr\rlf\n", "a", "cr\rlf\n"),
        (r"a=form\ffeed", "a", "form\ffeed"),
        (r"a=\q\z", "a", "qz"),
        (r"a=back\\slash", "a", "back\\slash"),
        (r"a=\ leading", "a", " leading"),
        (r"a=trailing\ ", "a", "trailing "),
        (r"a=x\u0026y", "a", "x&y"),
        (r"a=\u00E9\u00e9", "a", "éé"),
        (r"a=\ud83d\ude00", "a", "\U0001f600"),
        (r"\u0061=b", "a", "b"),
        ("a=not # a comment", "a", "not # a comment"),
        ("a=é", "a", "é"),
    ],
)
def test_keys_separators_and_escapes(line: str, key: str, value: str) -> None:
    """Keys, separators and escapes are read as Java and Boot read them."""
    assert _values(line + "\n") == {key: value}


def test_iso_8859_1_bytes_are_latin1_characters() -> None:
    """Bytes are ISO-8859-1: a UTF-8 'é' reads as two characters, as Java reads it."""
    assert _values(b"a=caf\xe9\nb=caf\xc3\xa9\n") == {"a": "café", "b": "cafÃ©"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a=one \\\n    two\n", {"a": "one two"}),
        ("a=\\\n  x\nb=y\n", {"a": "x", "b": "y"}),
        ("a=x\\\\\nb=y\n", {"a": "x\\", "b": "y"}),
        ("a=x\\\\\\\n y\n", {"a": "x\\y"}),
        ("a=x\\\n# not a comment\n", {"a": "x# not a comment"}),
        ("a=x\\", {"a": "x"}),
        ("a\\\n  b=c\n", {"ab": "c"}),
        ("# comment ending \\\nb=c\n", {"b": "c"}),
        ("a=x\\\n\nb=y\n", {"a": "x", "b": "y"}),
        ("list[]=a,\\\n   b\n", {"list[0]": "a", "list[1]": "b"}),
    ],
)
def test_line_continuations(text: str, expected: dict[str, str]) -> None:
    """A trailing odd backslash continues the entry; the next line's leading blanks are dropped."""
    assert _values(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("# comment\n! bang\n  # indented\na=1\n", {"a": "1"}),
        ("#a=1\n!b=2\nc=3\n", {"c": "3"}),
        ("\n\n   \na=1\n\n", {"a": "1"}),
        ("=orphan\na=1\n", {"a": "1"}),
        ("a=1\r\nb=2\rc=3\n", {"a": "1", "b": "2", "c": "3"}),
    ],
)
def test_comments_blank_lines_and_line_endings(text: str, expected: dict[str, str]) -> None:
    """Comments, blank lines and empty keys add nothing; CRLF, CR and LF all end lines."""
    assert _values(text) == expected


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("foods[]=Apple,Orange,Mango", {"foods[0]": "Apple", "foods[1]": "Orange", "foods[2]": "Mango"}),
        ("foods[] = a, b", {"foods[0]": "a", "foods[1]": "b"}),
        ("foods[]=a\\,b,c", {"foods[0]": "a,b", "foods[1]": "c"}),
        ("foods[]=a,", {"foods[0]": "a"}),
        ("foods[]=a,,b", {"foods[0]": "a", "foods[1]": "", "foods[2]": "b"}),
        ("foods[]=", {"foods[0]": ""}),
        ("languages[perl]=Elite", {"languages[perl]": "Elite"}),
    ],
)
def test_list_shorthand(line: str, expected: dict[str, str]) -> None:
    """key[]=a,b,c expands to indexed keys, split on unescaped commas (Boot's shorthand)."""
    assert _values(line + "\n") == expected


def test_repeated_key_keeps_its_first_position_and_last_value() -> None:
    """A key written twice is not an error: the last value wins, as in Java."""
    props = _one("a=1\nb=2\na=3\n")
    assert list(props) == ["a", "b"]
    assert props["a"] == PropertyValue("3", "3:3")


@pytest.mark.parametrize(
    ("text", "key", "origin"),
    [
        ("test=properties\n", "test", "1:6"),
        ("\nblah   =   hello world\n", "blah", "2:12"),
        ("hello   world\n", "hello", "1:9"),
        ("  test-colon-separator: my-property\n", "test-colon-separator", "1:25"),
        ("a=1\nfoo\n", "foo", "2:4"),
        ("a=\n", "a", "1:3"),
        ("a = \n", "a", "1:5"),
        ("k=\\\nfoo\n", "k", "2:1"),
        ("k=\\\n   foo\n", "k", "2:4"),
        ("x\\=y=z\n", "x=y", "1:6"),
        ("foods[]=Apple,\\\nOrange\n", "foods[1]", "2:1"),
        ("c=1\r\nd=2\r\n", "d", "2:3"),
    ],
)
def test_origin_is_where_the_value_starts(text: str, key: str, origin: str) -> None:
    """The origin is the 1-based line:column of the value's first character in the file."""
    assert _one(text)[key].origin == origin


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        ("a=1\nb=\\u12\n", 2, 3),
        ("a=\\u12G4\n", 1, 3),
        ("a=x\\u", 1, 4),
        ("k\\uzzzz=v\n", 1, 2),
    ],
)
def test_malformed_unicode_escape_is_an_error_with_its_position(text: str, line: int, column: int) -> None:
    """A \\u not followed by four hex digits is an error naming its line and column."""
    error = _error(text)
    assert (error.line, error.column) == (line, column)
    assert "\\uXXXX" in error.problem


def test_lone_surrogate_escape_is_an_error() -> None:
    """Half of a UTF-16 surrogate pair cannot be represented and is refused."""
    assert _error("a=1\nb=\\ud83d\n").line == 2


def test_documents_split_on_separator_lines_with_activation() -> None:
    """#--- and !--- split documents; on-profile (a comma list) is read per document."""
    documents = _parse(
        "a=base\n"
        "#---\n"
        "spring.config.activate.on-profile=dev, cloud\n"
        "a=dev\n"
        "!---\n"
        "spring.config.activate.on-profile=prod\n"
        "a=prod\n"
    )
    assert [d.properties["a"].value for d in documents] == ["base", "dev", "prod"]
    assert [d.on_profile for d in documents] == [None, ("dev", "cloud"), ("prod",)]
    assert documents[2].properties["a"].origin == "7:3"


@pytest.mark.parametrize(
    ("text", "sizes"),
    [
        pytest.param("a=1\n#---\nb=2\n", [1, 1], id="hash"),
        pytest.param("a=1\n!---\nb=2\n", [1, 1], id="bang"),
        pytest.param("a=1\n#--- \t \nb=2\n", [1, 1], id="trailing-blanks"),
        pytest.param("a=1\n \t#---\nb=2\n", [2], id="leading-blanks-is-a-comment"),
        pytest.param("a=1\n#--- comment\nb=2\n", [2], id="trailing-text-is-a-comment"),
        pytest.param("a=1\n#----\nb=2\n", [2], id="four-hyphens-is-a-comment"),
        pytest.param("a=1\n# note\n#---\nb=2\n", [2], id="after-same-prefix-comment"),
        pytest.param("a=1\n! note\n#---\nb=2\n", [1, 1], id="after-other-prefix-comment"),
        pytest.param("a=1\n#---\n# note\nb=2\n", [2], id="comment-after-cancels"),
        pytest.param("a=1\n#---\n\nb=2\n", [1, 1], id="blank-line-after"),
        pytest.param("#---\na=1\n#---\n#---\nb=2\n#---\n", [1, 1], id="empty-documents-skipped"),
        pytest.param("a=1\n#---\nb=\\\n#---\nc=3\n", [1, 2], id="continued-line-is-no-separator"),
    ],
)
def test_document_separator_rules(text: str, sizes: list[int]) -> None:
    """Separators follow Boot: exact line, no leading blanks, not next to a same-prefix comment."""
    assert [len(d.properties) for d in _parse(text)] == sizes


@pytest.mark.parametrize("text", ["", "\n\n", "# only comments\n! here\n", "#---\n!---\n", "=x\n"])
def test_files_without_entries_give_no_documents(text: str) -> None:
    """A file with no entries has no documents."""
    assert _parse(text) == []


@pytest.mark.parametrize(
    ("data", "line"),
    [
        (b"a=1\nb=\x00\x01\x02\n", 2),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", 3),
    ],
    ids=["nul", "png"],
)
def test_binary_content_is_refused(data: bytes, line: int) -> None:
    """A NUL byte marks a binary file: InvalidConfiguration with the line."""
    assert _error(data).line == line


def test_a_huge_line_is_refused() -> None:
    """A single line over the limit is refused with its line number."""
    assert _error("a=1\nb=" + "x" * (1024 * 1024 + 10) + "\n").line == 2
