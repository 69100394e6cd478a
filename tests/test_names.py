"""Validation of untrusted names, profiles, labels and resource paths."""

from __future__ import annotations

import pytest

from config_server.errors import InvalidRequest
from config_server.names import env_request, parse_labels, parse_names, parse_profiles, parse_resource_path


def test_slash_placeholder_is_restored_in_names_and_labels() -> None:
    """(_) stands for / in application names and labels."""
    req = env_request("foo(_)app", "dev,mysql", "feature(_)puff")
    assert req.name == "foo/app"
    assert req.label == "feature/puff"
    assert req.profiles == ("dev", "mysql")
    assert req.profiles_raw == "dev,mysql"


def test_comma_names_and_labels_are_split() -> None:
    """Several applications and several labels may be asked for at once."""
    assert parse_names("orders,shared") == ("orders,shared", ("orders", "shared"))
    assert parse_labels("v1,v2") == ("v1,v2", ("v1", "v2"))
    assert parse_labels(None) == (None, (None,))


@pytest.mark.parametrize(
    "label",
    [
        "..",
        "../../etc/passwd",
        "%2e%2e",
        "a#b",
        "(_)etc",
        "--upload-pack=touch /tmp/x",
        "-x",
        "a\x00b",
        "a\\b",
        "x" * 300,
        "a,,b",
        "a,",
    ],
)
def test_hostile_labels_are_rejected(label: str) -> None:
    """Traversal, fragments, option injection, control characters and oversize labels are a 400."""
    with pytest.raises(InvalidRequest):
        parse_labels(label)


@pytest.mark.parametrize("name", ["..", "a/../b", "%2e%2e", "a#b", "(_)x", "-rf", "a,,b", "", "x\ty"])
def test_hostile_names_are_rejected(name: str) -> None:
    """Application names follow the same rules as labels."""
    with pytest.raises(InvalidRequest):
        parse_names(name)


@pytest.mark.parametrize(
    "profiles",
    [
        "bar,..,foo",
        "..",
        "%2e%2e",
        "bar%2Ffoo",
        "bar/foo",
        ",dev",
        "dev,",
        "-dev",
        "dev-",
        "_dev",
        "dev$",
        "a b",
    ],
)
def test_invalid_profiles_are_rejected(profiles: str) -> None:
    """Profiles are letters, digits and - _ . + @, starting and ending with a letter or digit."""
    with pytest.raises(InvalidRequest):
        parse_profiles(profiles)


@pytest.mark.parametrize(
    "profiles", ["dev", "dev,mysql", "eu-west-1", "v1.2", "a+b", "team@x", "prod_eu", "Größe"]
)
def test_valid_profiles_are_accepted(profiles: str) -> None:
    """Ordinary profile names, including Unicode letters, pass."""
    assert parse_profiles(profiles) == tuple(profiles.split(","))


@pytest.mark.parametrize(
    "path",
    ["../secret", "a/../../b", "/etc/passwd", "WEB-INF/web.xml", "a//b", "./a", "file:/etc/passwd", "a#b"],
)
def test_hostile_resource_paths_are_rejected(path: str) -> None:
    """Resource paths cannot leave the repository or name special locations."""
    with pytest.raises(InvalidRequest):
        parse_resource_path(path)


def test_resource_paths_may_contain_directories() -> None:
    """Nested paths and (_) are fine."""
    assert parse_resource_path("nginx/nginx.conf") == "nginx/nginx.conf"
    assert parse_resource_path("nginx(_)nginx.conf") == "nginx/nginx.conf"
