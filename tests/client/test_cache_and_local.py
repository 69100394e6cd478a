"""The last-known-good cache (atomic, private, optionally encrypted) and local-file parsing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from config_client import CacheError, LocalFileError
from config_client.cache import LastGoodCache, load_fernet
from config_client.localfile import parse_properties, parse_yaml, read_local_file
from config_client.wire import Environment, PropertySource
from cryptography.fernet import Fernet

ENV = Environment("orders", ("prod",), None, "v1", "", (PropertySource.of("s", {"password": "hunter2"}),))


def test_save_replaces_the_file_and_load_reads_it_back(tmp_path: Path) -> None:
    """A second save replaces the first atomically and leaves no temporary file."""
    cache = LastGoodCache(tmp_path, identity="x", name="orders-prod")
    cache.save(ENV, etag='"1"')
    newer = Environment("orders", ("prod",), None, "v2", "", ())
    cache.save(newer, etag='"2"')
    assert cache.load() == newer
    assert os.listdir(tmp_path) == [cache.path.name]


def test_a_corrupt_cache_file_is_a_cache_error(tmp_path: Path) -> None:
    """Truncated or foreign content is refused clearly."""
    cache = LastGoodCache(tmp_path, identity="x", name="orders")
    cache.path.write_text('{"format": "config-client-cache/1", "environment": {"na')
    with pytest.raises(CacheError, match="corrupt"):
        cache.load()


def test_encrypted_cache_hides_secrets_and_needs_the_right_key(tmp_path: Path) -> None:
    """With a Fernet key the file holds no plaintext; another key cannot read it."""
    key = Fernet.generate_key().decode()
    cache = LastGoodCache(tmp_path, identity="x", name="o", cipher=load_fernet("K", {"K": key}))
    cache.save(ENV, etag=None)
    assert b"hunter2" not in cache.path.read_bytes()
    assert cache.load() == ENV
    other = Fernet.generate_key().decode()
    wrong = LastGoodCache(tmp_path, identity="x", name="o", cipher=load_fernet("K", {"K": other}))
    with pytest.raises(CacheError, match="wrong key"):
        wrong.load()


@pytest.mark.parametrize(("environ", "problem"), [({}, "is not set"), ({"K": "short"}, "Fernet key")])
def test_a_missing_or_malformed_key_is_a_cache_error(environ: dict[str, str], problem: str) -> None:
    """The error names the variable, never its content."""
    with pytest.raises(CacheError, match=problem) as info:
        load_fernet("K", environ)
    assert "short" not in str(info.value)


@pytest.mark.parametrize(
    ("text", "flat"),
    [
        ("a:\n  b: 1\n  c: [x, yes]\n", {"a.b": 1, "a.c[0]": "x", "a.c[1]": True}),
        ("d: 2024-01-01\nn: ~\ne: []\n", {"d": "2024-01-01", "n": "", "e": ""}),
        ("s:\n  1: one\n  '[k]': v\n", {"s[1]": "one", "s[k]": "v"}),
        ("- a\n- b\n", {"document[0]": "a", "document[1]": "b"}),
        ("", {}),
    ],
)
def test_yaml_flattens_like_spring_boot(text: str, flat: dict[str, object]) -> None:
    """YAML 1.1 types without timestamps, nulls as "", lists as [n], non-string keys as [k]."""
    assert parse_yaml(text) == flat


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        ("a: 1\na: 2\n", 2, "duplicate key"),
        ("a: [\n", 2, "expected"),
        ("a: 1\n---\nb: 2\n", None, "more than one"),
        ("a: &x [*x]\n", None, "nested too deeply"),
    ],
)
def test_bad_yaml_names_file_and_line(text: str, line: int | None, problem: str) -> None:
    """Parse errors are LocalFileErrors with the line when known."""
    with pytest.raises(LocalFileError, match=problem) as info:
        parse_yaml(text, name="dev.yml")
    assert info.value.line == line and info.value.path == "dev.yml"


@pytest.mark.parametrize(
    ("text", "flat"),
    [
        ("a.b = hello  \n", {"a.b": "hello  "}),
        ("c:d\ne f\n# comment\n! also\n", {"c": "d", "e": "f"}),
        ("k = one \\\n    two\n", {"k": "one two"}),
        ("h=\\u0041\\tB\nkey\\ with\\ space=1\n", {"h": "A\tB", "key with space": "1"}),
    ],
)
def test_properties_parse_like_java(text: str, flat: dict[str, str]) -> None:
    """Separators, continuations, comments and escapes follow java.util.Properties."""
    assert parse_properties(text) == flat


def test_local_file_errors_are_clear(tmp_path: Path) -> None:
    """A missing file, a wrong suffix and a bad escape each say what is wrong."""
    with pytest.raises(LocalFileError, match="no such file"):
        read_local_file(tmp_path / "absent.yml")
    with pytest.raises(LocalFileError, match="unsupported file type"):
        read_local_file(tmp_path / "conf.toml")
    bad = tmp_path / "bad.properties"
    bad.write_text("ok=1\nx=\\u12\n")
    with pytest.raises(LocalFileError, match="escape") as info:
        read_local_file(bad)
    assert info.value.line == 2
