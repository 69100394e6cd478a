"""The pure rules: Spring's key order, flattening, settings validation, token checks, error table."""

from __future__ import annotations

from typing import Any

import hvac.exceptions
import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st

from config_server.errors import ConfigServerError, Forbidden, InvalidRequest, NotFound, Unavailable
from config_server.secret import Secret
from config_server.vault.client import check_token
from config_server.vault.errors import translate_errors
from config_server.vault.kv import flatten_secret, vault_keys
from config_server.vault.settings import VaultSettings


@pytest.mark.parametrize(
    ("apps", "profiles", "default_key", "expected"),
    [
        # The reference's SpringVaultEnvironmentRepositoryTests examples (§7).
        (["myapp"], [], "application", ["myapp", "application"]),
        (["myapp"], ["pr1"], "application", ["myapp,pr1", "application,pr1", "myapp", "application"]),
        (
            ["myapp"],
            ["pr1", "pr2"],
            "application",
            ["myapp,pr2", "application,pr2", "myapp,pr1", "application,pr1", "myapp", "application"],
        ),
        (["myapp", "yourapp"], [], "mydefaultkey", ["yourapp", "myapp", "mydefaultkey"]),
        # Edge cases of the same algorithm.
        (["myapp"], ["default"], "application", ["myapp", "application"]),
        (["myapp"], ["pr1", "pr1"], "application", ["myapp,pr1", "application,pr1", "myapp", "application"]),
        (["application"], [], "application", ["application"]),
        (["myapp"], [], "", ["myapp"]),
        (["myapp"], ["pr1", "default"], "", ["myapp,pr1", "myapp"]),
        (["team/myapp"], [], "application", ["team/myapp", "application"]),
    ],
)
def test_vault_keys_follow_spring_order(
    apps: list[str], profiles: list[str], default_key: str, expected: list[str]
) -> None:
    """Keys are profiles (outer, reversed) by applications (inner, reversed), highest first."""
    assert list(vault_keys(apps, profiles, default_key=default_key)) == expected


def test_vault_keys_use_the_configured_separator() -> None:
    """The profile separator joins application and profile."""
    assert vault_keys(["a"], ["p"], separator="-") == ("a-p", "application-p", "a", "application")


@pytest.mark.parametrize(
    ("apps", "profiles"),
    [
        (["../sys/policy"], []),
        (["a/../../sys"], []),
        (["./a"], []),
        (["/abs"], []),
        (["a/"], []),
        (["a//b"], []),
        (["a?list=true"], []),
        (["a#frag"], []),
        (["a%2e%2e"], []),
        (["a b"], []),
        (["a\nb"], []),
        (["a\\b"], []),
        ([""], []),
        (["x" * 300], []),
        (["myapp"], ["../../sys"]),
        (["myapp"], ["p/.."]),
        (["myapp"], [""]),
    ],
)
def test_hostile_names_are_rejected_before_vault_is_asked(apps: list[str], profiles: list[str]) -> None:
    """A name that is not a plain Vault path segment is InvalidRequest."""
    with pytest.raises(InvalidRequest, match="Invalid Vault key"):
        vault_keys(apps, profiles)


@pytest.mark.parametrize(
    ("secret", "expected"),
    [
        ({"foo": "bar", "baz": "bam"}, [("baz", "bam"), ("foo", "bar")]),
        ({"a": {"b": {"c": 1}}}, [("a.b.c", 1)]),
        ({"list": [1, "two", True]}, [("list[0]", 1), ("list[1]", "two"), ("list[2]", True)]),
        ({"a": [{"b": 1}, [2, 3]]}, [("a[0].b", 1), ("a[1][0]", 2), ("a[1][1]", 3)]),
        ({"n": None, "e": [], "m": {}}, [("e", ""), ("n", "")]),
        ({"map": {"[k.x]": 1}}, [("map[k.x]", 1)]),
        ({"f": 1.5, "z": 0}, [("f", 1.5), ("z", 0)]),
        # Java sorts by UTF-16 code unit: upper case before lower, '.' before letters.
        ({"b": 1, "B": 2, "a.b": 3, "a": {"a": 4}}, [("B", 2), ("a.a", 4), ("a.b", 3), ("b", 1)]),
        ({"\U0001f600": 1, "\uff01": 2}, [("\U0001f600", 1), ("\uff01", 2)]),
    ],
)
def test_flatten_matches_spring_yaml_flattening(
    secret: dict[str, Any], expected: list[tuple[str, Any]]
) -> None:
    """Secrets flatten like YAML (a.b, a[0]) and come out sorted by key."""
    assert [(k, v.value) for k, v in flatten_secret(secret).items()] == expected


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=10,
)


@given(st.dictionaries(st.text(max_size=4), _json, max_size=5))
def test_flattened_keys_are_sorted_and_values_scalar(secret: dict[str, Any]) -> None:
    """Whatever the JSON, keys come out sorted and every value is a scalar."""
    flat = {k: v.value for k, v in flatten_secret(secret).items()}
    keys = list(flat)
    assert keys == sorted(keys, key=lambda k: k.encode("utf-16-be", "surrogatepass"))
    assert all(isinstance(v, (str, int, float, bool)) for v in flat.values())


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"url": "127.0.0.1:8200"}, "http"),
        ({"url": "ftp://vault"}, "http"),
        ({"url": "http://user:pw@vault:8200"}, "credentials"),
        ({"url": "http://vault:8200?x=1"}, "query"),
        ({"kv_version": 3}, "kv_version"),
        ({"kv_mount": ""}, "kv_mount"),
        ({"kv_mount": "/secret"}, "kv_mount"),
        ({"kv_mount": "a/../b"}, "kv_mount"),
        ({"profile_separator": ""}, "profile_separator"),
        ({"profile_separator": "/"}, "profile_separator"),
        ({"token": Secret("t"), "role_id": "r"}, "not both"),
        ({"secret_id": Secret("s")}, "needs a role_id"),
        ({"token": Secret("")}, "empty"),
        ({"timeout": 0}, "timeout"),
        ({"stale_ttl": -1}, "stale_ttl"),
    ],
)
def test_settings_reject_inconsistent_values(kwargs: dict[str, Any], problem: str) -> None:
    """Malformed or contradictory Vault settings fail at construction with a clear message."""
    args = {"url": "http://127.0.0.1:8200", **kwargs}
    with pytest.raises(ValueError, match=problem):
        VaultSettings(**args)


@pytest.mark.parametrize(
    ("kwargs", "method"),
    [
        ({}, "none"),
        ({"token": Secret("t")}, "token"),
        ({"role_id": "r", "secret_id": Secret("s")}, "approle"),
        ({"role_id": "r"}, "approle"),
    ],
)
def test_settings_name_the_auth_method(kwargs: dict[str, Any], method: str) -> None:
    """The server's identity is a token, an AppRole, or none (callers' tokens only)."""
    assert VaultSettings(url="http://127.0.0.1:8200", **kwargs).auth_method == method


def test_settings_repr_hides_credentials() -> None:
    """The settings' repr shows neither the token nor the AppRole secret id."""
    text = repr(VaultSettings(url="http://v:8200", role_id="r", secret_id=Secret("hunter2-secret-id")))
    assert "hunter2" not in text
    text = repr(VaultSettings(url="http://v:8200", token=Secret("hvs.sekret-token")))
    assert "sekret" not in text


@pytest.mark.parametrize(
    ("token", "message"),
    [
        (None, "Missing required header: X-Config-Token"),
        ("", "Missing required header: X-Config-Token"),
        ("has space", "Malformed X-Config-Token header"),
        ("line\r\nX-Evil: 1", "Malformed X-Config-Token header"),
        ("tok\u00e9n", "Malformed X-Config-Token header"),
        ("t" * 5000, "Malformed X-Config-Token header"),
    ],
)
def test_check_token_rejects_missing_and_malformed_tokens(token: str | None, message: str) -> None:
    """A caller token must be present and printable ASCII; the message never repeats it."""
    with pytest.raises(InvalidRequest) as info:
        check_token(token)
    assert info.value.message == message


def test_check_token_accepts_vault_token_shapes() -> None:
    """Real token formats pass through unchanged."""
    for token in ("hvs.CAESIJ1x", "s.abcDEF123", "b.AAAAAQ-_x", "root"):
        assert check_token(token) == token


@pytest.mark.parametrize(
    ("raised", "expected", "message"),
    [
        (requests.exceptions.ConnectionError("refused"), Unavailable, "Vault is unavailable: cannot connect"),
        (requests.exceptions.ReadTimeout("slow"), Unavailable, "Vault is unavailable: the request timed out"),
        (
            requests.exceptions.JSONDecodeError("x", "doc", 0),
            Unavailable,
            "Vault is unavailable: bad response",
        ),
        (hvac.exceptions.VaultDown("sealed"), Unavailable, "Vault is unavailable: sealed or down"),
        (hvac.exceptions.InternalServerError("boom"), Unavailable, "Vault is unavailable: HTTP 500"),
        (hvac.exceptions.BadGateway(), Unavailable, "Vault is unavailable: HTTP 502"),
        (hvac.exceptions.RateLimitExceeded(), Unavailable, "Vault is unavailable: HTTP 429"),
        (hvac.exceptions.Forbidden("permission denied"), Forbidden, "Vault refused the token"),
        (hvac.exceptions.Unauthorized(), Forbidden, "Vault refused the token"),
        (hvac.exceptions.InvalidPath(), NotFound, "Vault has no such path"),
        (hvac.exceptions.InvalidRequest("bad"), ConfigServerError, "Vault rejected the request: HTTP 400"),
    ],
)
def test_translate_errors_maps_hvac_and_requests_errors(
    raised: Exception, expected: type[ConfigServerError], message: str
) -> None:
    """Each hvac/requests failure becomes one config_server error, chained to the original."""
    with pytest.raises(expected) as info, translate_errors():
        raise raised
    assert type(info.value) is expected
    assert info.value.message.startswith(message)
    assert info.value.__cause__ is raised


def test_translate_errors_keeps_vaults_text_out_of_messages() -> None:
    """Vault's own error text (which can echo request data) does not reach the message."""
    with pytest.raises(ConfigServerError) as info, translate_errors():
        raise hvac.exceptions.InvalidRequest("value 'topsecret' is invalid", errors=["topsecret"])
    assert "topsecret" not in info.value.message
