"""Specification of ``reencrypt_text``: {cipher} values move to the primary key, nothing else changes."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from config_server.crypto import KeyRing, SymmetricEncryptor, reencrypt_text
from config_server.errors import DecryptionFailed, InvalidConfiguration, InvalidRequest

OLD = SymmetricEncryptor("old-key")


@pytest.fixture
def ring() -> KeyRing:
    """'old' was the only key (values carry no prefix); 'new' is now primary."""
    return KeyRing(keys={"old": OLD, "new": SymmetricEncryptor("new-key")}, default="old", primary="new")


def _old(text: str) -> str:
    return OLD.encrypt(text)


def _rest(text: str) -> str:
    """The text with every ciphertext replaced by a placeholder, to compare everything else."""
    return re.sub(r"\{cipher\}(\{key:\w+\})?[0-9a-f]{32,}", "<C>", text)


def test_yaml_keeps_comments_quotes_and_order(ring: KeyRing) -> None:
    """YAML: quoted values are rewritten in their own quoting style; the rest is byte-identical."""
    text = (
        "# database settings\n"
        "db:\n"
        f"  password: '{{cipher}}{_old('s1')}'   # rotated yearly\n"
        "  user: app\n"
        f'  token: "{{cipher}}{_old("s2")}"\n'
        "list:\n"
        f"  - '{{cipher}}{_old('s3')}'\n"
        "  - plain\n"
        f"flow: {{a: '{{cipher}}{_old('s4')}', b: 2}}\n"
        "---\n"
        f"other: '{{cipher}}{_old('s5')}'\n"
    )
    new, count = reencrypt_text(text, ring, kind="yml")
    assert count == 5
    assert _rest(new) == _rest(text)
    assert "password: '{cipher}{key:new}" in new and 'token: "{cipher}{key:new}' in new
    docs = list(yaml.safe_load_all(new))
    values = [
        docs[0]["db"]["password"],
        docs[0]["db"]["token"],
        docs[0]["list"][0],
        docs[0]["flow"]["a"],
        docs[1]["other"],
    ]
    assert [ring.decrypt(v.removeprefix("{cipher}")) for v in values] == ["s1", "s2", "s3", "s4", "s5"]


def test_yaml_anchor_is_rewritten_once(ring: KeyRing) -> None:
    """An anchored value referenced by an alias is rewritten at the anchor only."""
    text = f"a: &pw '{{cipher}}{_old('x')}'\nb: *pw\n"
    new, count = reencrypt_text(text, ring, kind="yaml")
    assert count == 1 and new.endswith("b: *pw\n")


def test_yaml_block_scalar_is_refused(ring: KeyRing) -> None:
    """A {cipher} value in a block scalar cannot be rewritten safely: InvalidConfiguration with line."""
    text = f"a: 1\nb: |\n  {{cipher}}{_old('x')}\n"
    with pytest.raises(InvalidConfiguration) as info:
        reencrypt_text(text, ring, kind="yml", name="app.yml")
    assert info.value.line == 2 and info.value.path == "app.yml"


def test_properties_keep_comments_and_separators(ring: KeyRing) -> None:
    """.properties: every separator style works; comments and other lines stay byte-identical."""
    text = (
        "# comment with {cipher}abcd in it\n"
        "! bang comment\n"
        f"a={{cipher}}{_old('1')}\n"
        f"b : {{cipher}}{_old('2')}\r\n"
        f"c {{cipher}}{_old('3')}\n"
        "  \n"
        f"   d:{{cipher}}{_old('4')}\n"
        "plain=value\n"
        f"key\\ with\\ space={{cipher}}{_old('5')}"
    )
    new, count = reencrypt_text(text, ring, kind="properties")
    assert count == 5
    assert _rest(new) == _rest(text)
    assert new.count("{cipher}{key:new}") == 5 and "abcd" in new


def test_properties_continuation_is_rewritten_as_one_value(ring: KeyRing) -> None:
    """A value continued over lines with a backslash is replaced as a whole."""
    ct = _old("long")
    text = f"a={{cipher}}{ct[:20]}\\\n    {ct[20:]}\nb=2\n"
    new, count = reencrypt_text(text, ring, kind="properties")
    assert count == 1 and new.endswith("\nb=2\n") and new.count("\n") == 2
    value = new.split("\n")[0].removeprefix("a=")
    assert ring.decrypt(value.removeprefix("{cipher}")) == "long"


def test_json_values_only(ring: KeyRing) -> None:
    """JSON: string values (not keys) are rewritten; formatting stays."""
    text = (
        "{\n"
        f'  "password": "{{cipher}}{_old("p")}",\n'
        f'  "{{cipher}}not-a-value": 1,\n'
        f'  "list": ["{{cipher}}{_old("q")}", "x \\" y"]\n'
        "}\n"
    )
    new, count = reencrypt_text(text, ring, kind="json")
    assert count == 2
    assert _rest(new) == _rest(text)
    data = json.loads(new)
    assert ring.decrypt(data["password"].removeprefix("{cipher}")) == "p"


def test_values_already_on_the_primary_are_left_alone(ring: KeyRing) -> None:
    """Idempotent: a second run changes nothing."""
    text = f"a: '{{cipher}}{_old('x')}'\n"
    once, first = reencrypt_text(text, ring, kind="yml")
    twice, second = reencrypt_text(once, ring, kind="yml")
    assert (first, second) == (1, 0) and twice == once


def test_undecryptable_value_names_the_line_and_changes_nothing(ring: KeyRing) -> None:
    """A value no key can decrypt fails the whole file with its line number."""
    text = f"a={{cipher}}{_old('x')}\nb={{cipher}}{'00' * 32}\n"
    with pytest.raises(DecryptionFailed, match=r"app.properties, line 2"):
        reencrypt_text(text, ring, kind="properties", name="app.properties")


@pytest.mark.parametrize(
    ("kind", "text"),
    [("yml", "a: b: c\n"), ("json", '{"a": }'), ("properties", "a=\\u12G4\n")],
)
def test_unparseable_file_is_invalid_configuration(ring: KeyRing, kind: str, text: str) -> None:
    """Broken YAML, JSON or \\u escapes raise InvalidConfiguration with a line."""
    with pytest.raises(InvalidConfiguration) as info:
        reencrypt_text(text, ring, kind=kind, name=f"f.{kind}")
    assert info.value.line == 1


def test_unknown_kind(ring: KeyRing) -> None:
    """Only .yml/.yaml/.properties/.json can be rewritten."""
    with pytest.raises(InvalidRequest):
        reencrypt_text("a=b", ring, kind="toml")


@pytest.mark.parametrize("kind", ["yml", "properties", "json"])
def test_file_without_cipher_values_is_unchanged(ring: KeyRing, kind: str) -> None:
    """No {cipher} values: same text, count 0."""
    text = {"yml": "a: 1 # c\n", "properties": "a=1\n# c\n", "json": '{"a": 1}'}[kind]
    assert reencrypt_text(text, ring, kind=kind) == (text, 0)
